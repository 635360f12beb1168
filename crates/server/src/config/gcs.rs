//! `[gcs]`: a Google Cloud Storage bucket, used instead of S3 when
//! `gcs.bucket` is set.

use std::path::PathBuf;

use serde::Deserialize;
use url::Url;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GcsConfig {
    /// The bucket's name; none: no GCS store.
    pub bucket: Option<String>,
    /// The service account's key file, whose key signs URLs and whose
    /// tokens authorize the server's calls.
    pub credentials: Option<PathBuf>,
    /// Default `https://storage.googleapis.com`; an emulator's in tests.
    pub endpoint: Option<Url>,
    /// As `s3.key_prefix`: every object name uploadgate uses starts with it.
    pub key_prefix: String,
}

impl GcsConfig {
    pub(super) fn validate(&self) -> Result<(), String> {
        let Some(bucket) = &self.bucket else {
            return Ok(());
        };
        // GCS's rules: 3-63 characters (222 with dots), lowercase letters,
        // digits, `-`, `_` and `.`, starting and ending with a letter or digit.
        let edge_ok =
            |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let longest = if bucket.contains('.') { 222 } else { 63 };
        if !(3..=longest).contains(&bucket.len())
            || !bucket.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
            })
            || !edge_ok(bucket.bytes().next())
            || !edge_ok(bucket.bytes().last())
        {
            return Err(format!(
                "gcs.bucket {bucket:?} is not a bucket name (3 to 63 lowercase letters, digits, '-', '_' and '.')"
            ));
        }
        if self.credentials.is_none() {
            return Err(
                "gcs.bucket is set without gcs.credentials (UPLOADGATE_GCS_CREDENTIALS): the service account's key file signs uploads"
                    .into(),
            );
        }
        super::check_key_prefix("gcs.key_prefix", &self.key_prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_gcs_rules_and_need_credentials() {
        let named = |bucket: &str| GcsConfig {
            bucket: Some(bucket.into()),
            credentials: Some("key.json".into()),
            ..GcsConfig::default()
        };
        assert!(named("uploads").validate().is_ok());
        assert!(named("my_uploads.example.com").validate().is_ok());
        for bad in ["ab", "Uploads", "-uploads", "uploads-", "up/loads"] {
            assert!(named(bad).validate().is_err(), "{bad}");
        }
        let without = GcsConfig {
            credentials: None,
            ..named("uploads")
        };
        assert!(
            without
                .validate()
                .expect_err("no key file")
                .contains("UPLOADGATE_GCS_CREDENTIALS")
        );
    }
}
