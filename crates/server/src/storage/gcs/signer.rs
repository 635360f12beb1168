//! Google Cloud Storage V4 signed URLs (`GOOG4-RSA-SHA256`), signed locally
//! with a service account's RSA key: what clients upload and download with.
//! Proven against the conformance cases Google publishes for its client
//! libraries (`testdata/`), which fake-gcs-server cannot do: it checks no
//! signature.

use rsa::RsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey as _;
use rsa::signature::{SignatureEncoding as _, Signer as _};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::storage::encoding::percent_encode;

/// GCS's scope for every V4 signature: the location is always `auto`.
const SCOPE_TAIL: &str = "auto/storage/goog4_request";
/// The payload hash when the body is not signed (the usual case).
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// Google's limit on `X-Goog-Expires`: seven days.
pub const MAX_EXPIRES_IN: u64 = 7 * 24 * 3600;

/// A service account's key, ready to sign; never printed.
pub struct ServiceAccountSigner {
    email: String,
    key: SigningKey<rsa::sha2::Sha256>,
}

impl std::fmt::Debug for ServiceAccountSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountSigner")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// One request to sign.
#[derive(Debug, Clone, Copy)]
pub struct V4Request<'a> {
    pub method: &'a str,
    /// `https` or `http` (an emulator).
    pub scheme: &'a str,
    /// Where the URL points, with a port if any.
    pub authority: &'a str,
    /// The `host` header as signed: clients send it without the default port.
    pub host: &'a str,
    /// URL-encoded, from the first `/` (`/bucket/object` or `/object`).
    pub path: &'a str,
    /// Extra query parameters, not encoded.
    pub query: &'a [(&'a str, &'a str)],
    /// Headers the client must send (besides `host`), all signed.
    pub headers: &'a [(&'a str, &'a str)],
    pub expires_in: u64,
    pub at: OffsetDateTime,
}

/// A signed URL, with what was signed (for tests and debugging).
#[derive(Debug, Clone)]
pub struct V4Signed {
    pub url: String,
    pub canonical_request: String,
    pub string_to_sign: String,
}

impl ServiceAccountSigner {
    /// From the key file's `client_email` and `private_key` (PKCS#8 PEM).
    pub fn new(email: &str, private_key_pem: &str) -> Result<Self, String> {
        let key = RsaPrivateKey::from_pkcs8_pem(private_key_pem).map_err(|_| {
            "the service account's private_key is not a PKCS#8 RSA key (use the key file as downloaded)"
                .to_owned()
        })?;
        Ok(Self {
            email: email.to_owned(),
            key: SigningKey::new(key),
        })
    }

    pub fn email(&self) -> &str {
        &self.email
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 of `data`: V4's signature, and RS256's
    /// (the JWT the token grant sends).
    pub fn sign_bytes(&self, data: &[u8]) -> Vec<u8> {
        self.key.sign(data).to_vec()
    }

    pub fn sign(&self, request: &V4Request<'_>) -> V4Signed {
        let timestamp = request
            .at
            .format(format_description!(
                "[year][month][day]T[hour][minute][second]Z"
            ))
            .expect("a UTC time formats");
        let date = &timestamp[..8];
        let credential = format!("{}/{date}/{SCOPE_TAIL}", self.email);

        // Header names lowercased and sorted; values trimmed, inner runs of
        // whitespace collapsed to one space.
        let mut headers: Vec<(String, String)> = request
            .headers
            .iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), collapse(value)))
            .collect();
        headers.push(("host".into(), request.host.to_owned()));
        headers.sort();
        let signed_headers = headers
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>()
            .join(";");
        let payload = headers
            .iter()
            .find(|(name, _)| name == "x-goog-content-sha256")
            .map_or(UNSIGNED_PAYLOAD, |(_, value)| value.as_str())
            .to_owned();

        let expires = request.expires_in.to_string();
        let mut query: Vec<(String, String)> = [
            ("X-Goog-Algorithm", "GOOG4-RSA-SHA256"),
            ("X-Goog-Credential", credential.as_str()),
            ("X-Goog-Date", timestamp.as_str()),
            ("X-Goog-Expires", expires.as_str()),
            ("X-Goog-SignedHeaders", signed_headers.as_str()),
        ]
        .into_iter()
        .chain(request.query.iter().copied())
        .map(|(name, value)| (encode(name), encode(value)))
        .collect();
        query.sort();
        let query = query
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("&");

        let mut canonical_headers = String::new();
        for (name, value) in &headers {
            canonical_headers.push_str(name);
            canonical_headers.push(':');
            canonical_headers.push_str(value);
            canonical_headers.push('\n');
        }
        let canonical_request = format!(
            "{}\n{}\n{query}\n{canonical_headers}\n{signed_headers}\n{payload}",
            request.method, request.path
        );
        let string_to_sign = format!(
            "GOOG4-RSA-SHA256\n{timestamp}\n{date}/{SCOPE_TAIL}\n{}",
            hex::encode(Sha256::digest(canonical_request.as_bytes()))
        );
        let signature = hex::encode(self.sign_bytes(string_to_sign.as_bytes()));
        V4Signed {
            url: format!(
                "{}://{}{}?{query}&X-Goog-Signature={signature}",
                request.scheme, request.authority, request.path
            ),
            canonical_request,
            string_to_sign,
        }
    }
}

/// RFC 3986: all but unreserved characters percent-encoded.
fn encode(text: &str) -> String {
    percent_encode(text, b"-._~")
}

/// Trimmed, with every run of spaces and tabs inside made one space.
fn collapse(value: &str) -> String {
    value
        .split([' ', '\t'])
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::storage::encoding::encode_key;

    const CASES: &str = include_str!("testdata/v4_signatures.json");
    const ACCOUNT: &str = include_str!("testdata/test_service_account.not-a-test.json");

    fn signer() -> ServiceAccountSigner {
        let account: Value = serde_json::from_str(ACCOUNT).expect("key file");
        ServiceAccountSigner::new(
            account["client_email"].as_str().expect("email"),
            account["private_key"].as_str().expect("key"),
        )
        .expect("the test key")
    }

    /// Where a case's URL points and which host it signs, from its fields as
    /// a client library reads them: `hostname`, else the client's endpoint,
    /// else the emulator's, else `storage.{universe domain}`. The libraries
    /// sign the host without its port (GCS itself is reached on the default
    /// port, where a client's `Host` header has none); the URL keeps it.
    fn target(case: &Value) -> (String, String, String) {
        let text = |name: &str| case.get(name).and_then(Value::as_str);
        let strip = |url: &str| -> (Option<String>, String) {
            match url.split_once("://") {
                Some((scheme, rest)) => (Some(scheme.to_owned()), rest.to_owned()),
                None => (None, url.to_owned()),
            }
        };
        let universe = format!(
            "storage.{}",
            text("universeDomain").unwrap_or("googleapis.com")
        );
        let (scheme, authority) = if let Some(hostname) = text("hostname") {
            (None, hostname.to_owned())
        } else if let Some(endpoint) = text("clientEndpoint") {
            strip(endpoint)
        } else if let Some(emulator) = text("emulatorHostname") {
            strip(emulator)
        } else {
            (None, universe)
        };
        let host = authority.split(':').next().unwrap_or_default().to_owned();
        let scheme = text("scheme")
            .map(str::to_owned)
            .or(scheme)
            .unwrap_or_else(|| "https".into());
        (scheme, authority, host)
    }

    #[test]
    fn every_published_v4_case_signs_as_google_expects() {
        let cases: Value = serde_json::from_str(CASES).expect("cases");
        let signer = signer();
        let (mut ran, mut skipped) = (0, 0);
        for case in cases["signingV4Tests"].as_array().expect("cases") {
            let text = |name: &str| case.get(name).and_then(Value::as_str);
            let description = text("description").expect("description");
            let bucket = text("bucket").expect("bucket");
            let url = text("expectedUrl").expect("url");
            let canonical = text("expectedCanonicalRequest").expect("canonical request");
            if description == "Universe domain with virtual hosted style" {
                // This case signs a path its URL does not have (the bucket
                // is in both the host and the canonical path), so no server
                // would verify it: it cannot apply. Checked, so that a fixed
                // case stops being skipped.
                let url_path = url
                    .split_once(".com")
                    .and_then(|(_, p)| p.split('?').next());
                let signed_path = canonical.lines().nth(1);
                assert_ne!(url_path, signed_path, "{description} was fixed: run it");
                skipped += 1;
                continue;
            }
            let (scheme, mut authority, mut host) = target(case);
            let object = text("object").map(encode_key);
            let path = match text("urlStyle") {
                Some("VIRTUAL_HOSTED_STYLE") => {
                    authority = format!("{bucket}.{authority}");
                    host = format!("{bucket}.{host}");
                    format!("/{}", object.unwrap_or_default())
                }
                Some("BUCKET_BOUND_HOSTNAME") => {
                    authority = text("bucketBoundHostname").expect("hostname").to_owned();
                    host.clone_from(&authority);
                    format!("/{}", object.unwrap_or_default())
                }
                _ => match object {
                    Some(object) => format!("/{bucket}/{object}"),
                    None => format!("/{bucket}"),
                },
            };
            let pairs = |name: &str| -> Vec<(String, String)> {
                case.get(name)
                    .and_then(Value::as_object)
                    .map(|map| {
                        map.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().expect("a string").to_owned()))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let (headers, query) = (pairs("headers"), pairs("queryParameters"));
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let query: Vec<(&str, &str)> = query
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let at = OffsetDateTime::parse(
                text("timestamp").expect("timestamp"),
                &time::format_description::well_known::Rfc3339,
            )
            .expect("a timestamp");
            let signed = signer.sign(&V4Request {
                method: text("method").expect("method"),
                scheme: &scheme,
                authority: &authority,
                host: &host,
                path: &path,
                query: &query,
                headers: &headers,
                expires_in: case["expiration"].as_u64().expect("expiration"),
                at,
            });
            assert_eq!(
                signed.canonical_request, canonical,
                "{description}: canonical request"
            );
            assert_eq!(
                signed.string_to_sign,
                text("expectedStringToSign").expect("string to sign"),
                "{description}: string to sign"
            );
            assert_eq!(signed.url, url, "{description}: URL");
            ran += 1;
        }
        assert_eq!(
            (ran, skipped),
            (28, 1),
            "every published case ran or was explained"
        );
    }

    #[test]
    fn a_key_that_is_not_pkcs8_is_refused_without_echoing_it() {
        let err = ServiceAccountSigner::new(
            "a@b",
            "-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----",
        )
        .expect_err("refused");
        assert!(!err.contains("secret"), "{err}");
    }
}
