//! Bucket administration: CORS and lifecycle rules, and reachability.

use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, CorsConfiguration, CorsRule,
    ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter,
};

use super::{S3Store, classify};
use crate::keys::STAGING_PREFIX;
use crate::storage::StorageError;

impl S3Store {
    pub(super) async fn apply_bucket_rules(
        &self,
        origins: &[String],
        days: u32,
    ) -> Result<(), StorageError> {
        let rule = CorsRule::builder()
            .set_allowed_origins(Some(origins.to_vec()))
            .set_allowed_methods(Some(
                ["GET", "HEAD", "PUT", "POST"].map(String::from).to_vec(),
            ))
            .allowed_headers("*")
            .expose_headers("ETag")
            .max_age_seconds(3600)
            .build()
            .map_err(|e| StorageError::Other(e.into()))?;
        self.client
            .put_bucket_cors()
            .bucket(&self.settings.bucket)
            .cors_configuration(
                CorsConfiguration::builder()
                    .cors_rules(rule)
                    .build()
                    .map_err(|e| StorageError::Other(e.into()))?,
            )
            .send()
            .await
            .map_err(classify)?;

        let days = i32::try_from(days).unwrap_or(i32::MAX);
        let abort = LifecycleRule::builder()
            .id("uploadgate-abort-incomplete-multipart")
            .status(ExpirationStatus::Enabled)
            .filter(
                LifecycleRuleFilter::builder()
                    .prefix(&self.settings.key_prefix)
                    .build(),
            )
            .abort_incomplete_multipart_upload(
                AbortIncompleteMultipartUpload::builder()
                    .days_after_initiation(days)
                    .build(),
            )
            .build()
            .map_err(|e| StorageError::Other(e.into()))?;
        let staging = LifecycleRule::builder()
            .id("uploadgate-expire-staging")
            .status(ExpirationStatus::Enabled)
            .filter(
                LifecycleRuleFilter::builder()
                    .prefix(self.full_key(STAGING_PREFIX))
                    .build(),
            )
            .expiration(LifecycleExpiration::builder().days(days).build())
            .build()
            .map_err(|e| StorageError::Other(e.into()))?;
        self.client
            .put_bucket_lifecycle_configuration()
            .bucket(&self.settings.bucket)
            .lifecycle_configuration(
                BucketLifecycleConfiguration::builder()
                    .rules(abort)
                    .rules(staging)
                    .build()
                    .map_err(|e| StorageError::Other(e.into()))?,
            )
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    pub(super) async fn bucket_cors_allows(
        &self,
        origin: &str,
    ) -> Result<Option<bool>, StorageError> {
        let out = match self
            .client
            .get_bucket_cors()
            .bucket(&self.settings.bucket)
            .send()
            .await
        {
            Ok(out) => out,
            Err(err) => {
                return match err.raw_response().map(|r| r.status().as_u16()) {
                    // No CORS configuration at all.
                    Some(404) => Ok(Some(false)),
                    Some(501) => Ok(None),
                    _ => Err(classify(err)),
                };
            }
        };
        Ok(Some(out.cors_rules().iter().any(|rule| {
            let origin_ok = rule
                .allowed_origins()
                .iter()
                .any(|o| o == "*" || o == origin);
            let put_ok = rule.allowed_methods().iter().any(|m| m == "PUT");
            let etag_ok = rule
                .expose_headers()
                .iter()
                .any(|h| h.eq_ignore_ascii_case("etag"));
            origin_ok && put_ok && etag_ok
        })))
    }

    pub(super) async fn head_bucket(&self) -> Result<(), StorageError> {
        let bucket = &self.settings.bucket;
        let Err(err) = self.client.head_bucket().bucket(bucket).send().await else {
            return Ok(());
        };
        // A HEAD answer has no body, so no error code: the status is all
        // there is to tell an operator what is wrong.
        let refusal = match err.raw_response().map(|r| r.status().as_u16()) {
            Some(404) => format!("bucket {bucket:?} does not exist"),
            Some(403) => format!("the store refused these credentials for bucket {bucket:?} (403)"),
            Some(301) => format!("bucket {bucket:?} is in another region than s3.region"),
            _ => return Err(classify(err)),
        };
        Err(StorageError::Other(refusal.into()))
    }
}
