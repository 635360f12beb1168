//! Service SAS tokens for one blob, signed with the account key (no call to
//! Azure): what clients upload and download with. A SAS binds the blob, the
//! permissions, the expiry and (for downloads) the `Content-Disposition` the
//! answer carries; it cannot bind a size, a type or a checksum, which
//! completion checks instead.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;
use time::OffsetDateTime;
use time::macros::format_description;

use super::VERSION;
use crate::storage::encoding::percent_encode;

/// The decoded account key, ready to sign; never printed.
#[derive(Clone)]
pub(super) struct AccountKey {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccountKey(..)")
    }
}

impl AccountKey {
    /// The key as the portal shows it (base64).
    pub(super) fn from_base64(key: &str) -> Result<Self, String> {
        let bytes = STANDARD.decode(key.trim()).map_err(|_| {
            "the Azure account key is not base64 (copy it from the portal's Access keys)".to_owned()
        })?;
        Ok(Self {
            mac: <Hmac<Sha256>>::new_from_slice(&bytes).expect("HMAC takes any key length"),
        })
    }

    /// Base64 HMAC-SHA256 of `text`: the signature of both SAS and Shared Key.
    pub(super) fn sign(&self, text: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(text.as_bytes());
        STANDARD.encode(mac.finalize().into_bytes())
    }
}

/// What one blob SAS allows.
#[derive(Debug, Clone, Copy)]
pub(super) struct BlobSas<'a> {
    /// In Azure's canonical order: `r`, `c`, `w`, `d`.
    pub permissions: &'a str,
    pub expiry: OffsetDateTime,
    /// `/blob/{account}/{container}/{blob name}`, the name not encoded.
    pub resource: &'a str,
    /// The `Content-Disposition` a read answers with (`rscd`).
    pub disposition: Option<&'a str>,
}

impl AccountKey {
    /// The SAS query string (without `?`) for `sas`.
    pub(super) fn blob_sas(&self, sas: &BlobSas<'_>) -> String {
        let expiry = sas
            .expiry
            .format(format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
            ))
            .expect("a UTC time formats");
        let disposition = sas.disposition.unwrap_or_default();
        // Version 2020-12-06 and later: sixteen fields, unused ones empty
        // (start, identifier, IP, protocol, snapshot, encryption scope, and
        // the response headers but the disposition).
        let string_to_sign = [
            sas.permissions,
            "",
            &expiry,
            sas.resource,
            "",
            "",
            "",
            VERSION,
            "b",
            "",
            "",
            "",
            disposition,
            "",
            "",
            "",
        ]
        .join("\n");
        let signature = self.sign(&string_to_sign);
        let mut query = format!(
            "sv={VERSION}&se={}&sr=b&sp={}",
            percent_encode(&expiry, b"-._~"),
            sas.permissions
        );
        if let Some(disposition) = sas.disposition {
            query.push_str("&rscd=");
            query.push_str(&percent_encode(disposition, b"-._~"));
        }
        query.push_str("&sig=");
        query.push_str(&percent_encode(&signature, b"-._~"));
        query
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Azurite's well-known development key.
    const KEY: &str =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    #[test]
    fn a_key_that_is_not_base64_is_refused_without_echoing_it() {
        let err = AccountKey::from_base64("not base64 at all!").expect_err("refused");
        assert!(!err.contains("not base64 at all"), "{err}");
    }

    #[test]
    fn the_token_carries_what_was_signed_and_only_that() {
        let key = AccountKey::from_base64(KEY).expect("key");
        let expiry = OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("time");
        let token = key.blob_sas(&BlobSas {
            permissions: "cw",
            expiry,
            resource: "/blob/devstoreaccount1/uploads/staging/a b",
            disposition: None,
        });
        assert!(
            token.starts_with(&format!(
                "sv={VERSION}&se=2027-01-15T08%3A00%3A00Z&sr=b&sp=cw&sig="
            )),
            "{token}"
        );
        assert!(!token.contains("rscd"));
        let other = key.blob_sas(&BlobSas {
            permissions: "r",
            expiry,
            resource: "/blob/devstoreaccount1/uploads/staging/a b",
            disposition: Some("attachment; filename=\"a b\""),
        });
        assert!(other.contains("&rscd=attachment%3B%20filename%3D%22a%20b%22&sig="));
        assert_ne!(token.split("sig=").nth(1), other.split("sig=").nth(1));
    }
}
