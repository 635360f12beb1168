mod encryption;
mod listing;
mod objects;

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{Region, RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use bytes::Bytes;
use url::Url;

use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, CompletedMultipartUpload,
    CompletedPart, CorsConfiguration, CorsRule, ExpirationStatus, LifecycleExpiration,
    LifecycleRule, LifecycleRuleFilter,
};
use time::OffsetDateTime;

use super::signer::{Batch, PostPolicy, Presign, Signer, percent_encode};
use super::{
    CachedCredentials, ObjectHead, ObjectReader, ObjectStore, OpenMultipart, PartTarget,
    PresignedPart, PresignedPost, PresignedPut, Sse, StorageError, StoredPart, UploadTarget,
    unquote_etag,
};
use crate::keys::STAGING_PREFIX;
use crate::secret::Secret;

/// Every storage call gives up after this long, so a stuck store cannot pin requests.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct S3StoreSettings {
    /// Where uploadgate itself reaches the store; `None` means AWS S3.
    pub endpoint: Option<Url>,
    /// Where clients reach the store, when that differs from `endpoint`.
    pub public_endpoint: Option<Url>,
    pub bucket: String,
    pub region: String,
    pub force_path_style: bool,
    /// `None`: the standard AWS credential chain.
    pub credentials: Option<(String, Secret)>,
    /// Every key uploadgate uses starts with this (`""` or ending in `/`), so
    /// one bucket can hold several deployments or other data.
    pub key_prefix: String,
}

/// Any S3-compatible store, through the official SDK; presigning is done here
/// with `aws-sigv4` so no SDK default (like a CRC32 of an empty body) sneaks in.
#[derive(Debug)]
pub struct S3Store {
    client: Client,
    credentials: CachedCredentials,
    signer: Signer,
    /// `scheme://host[:port]` and path prefix clients reach objects under.
    target: UrlTarget,
    settings: S3StoreSettings,
}

/// Where presigned requests point, worked out once from the settings.
#[derive(Debug)]
struct UrlTarget {
    origin: String,
    host: String,
    /// Path before the key: `/bucket/` (path style) or `/` (virtual host), plus
    /// any path the endpoint itself has.
    prefix: String,
}

impl S3Store {
    pub async fn connect(settings: S3StoreSettings) -> Result<Self, StorageError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()));
        if let Some((id, secret)) = &settings.credentials {
            loader = loader.credentials_provider(Credentials::new(
                id.clone(),
                secret.expose().to_owned(),
                None,
                None,
                "uploadgate-config",
            ));
        }
        let sdk = loader.load().await;
        let provider: SharedCredentialsProvider = sdk
            .credentials_provider()
            .ok_or_else(|| StorageError::Other("no AWS credential provider is available".into()))?;

        let mut config = aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(settings.force_path_style)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(OPERATION_TIMEOUT)
                    .connect_timeout(CONNECT_TIMEOUT)
                    .build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(3));
        if let Some(endpoint) = &settings.endpoint {
            config = config.endpoint_url(endpoint.as_str().trim_end_matches('/'));
        }
        let target = url_target(&settings)?;
        Ok(Self {
            client: Client::from_conf(config.build()),
            credentials: CachedCredentials::new(provider),
            signer: Signer::new(settings.region.clone()),
            target,
            settings,
        })
    }

    /// The key in the bucket: uploadgate's keys live under `key_prefix`.
    fn full_key(&self, key: &str) -> String {
        format!("{}{key}", self.settings.key_prefix)
    }

    fn path(&self, key: &str) -> String {
        format!("{}{}", self.target.prefix, encode_key(&self.full_key(key)))
    }

    /// A signing batch for now, with the current credentials.
    async fn batch(&self) -> Result<Batch, StorageError> {
        let credentials = self.credentials.get().await?;
        self.signer
            .at(&credentials, SystemTime::now())
            .map_err(|e| StorageError::Other(e.to_string()))
    }

    /// Presigns one request for `key` with the current credentials.
    async fn presign(
        &self,
        method: &str,
        key: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        expires_in: Duration,
    ) -> Result<String, StorageError> {
        let batch = self.batch().await?;
        Ok(batch.presign(&Presign {
            method,
            origin: &self.target.origin,
            host: &self.target.host,
            path: &self.path(key),
            query,
            headers,
            expires_in,
        }))
    }
}

fn url_target(s: &S3StoreSettings) -> Result<UrlTarget, StorageError> {
    let base = match s.public_endpoint.as_ref().or(s.endpoint.as_ref()) {
        Some(url) => url.clone(),
        None => Url::parse(&format!("https://s3.{}.amazonaws.com", s.region))
            .map_err(|e| StorageError::Other(e.to_string()))?,
    };
    let host = base
        .host_str()
        .ok_or_else(|| StorageError::Other(format!("endpoint {base} has no host")))?;
    // Bucket names with dots break TLS on virtual hosts.
    let path_style = s.force_path_style || s.bucket.contains('.');
    let host = if path_style {
        host.to_owned()
    } else {
        format!("{}.{host}", s.bucket)
    };
    let host = match base.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    };
    let base_path = base.path().trim_end_matches('/');
    let prefix = if path_style {
        format!("{base_path}/{}/", encode_key(&s.bucket))
    } else {
        format!("{base_path}/")
    };
    Ok(UrlTarget {
        origin: format!("{}://{host}", base.scheme()),
        host,
        prefix,
    })
}

#[async_trait]
impl ObjectStore for S3Store {
    async fn presign_put(&self, target: &UploadTarget<'_>) -> Result<PresignedPut, StorageError> {
        let length = target.size.to_string();
        let mut signed = vec![
            ("content-length", length.as_str()),
            ("content-type", target.content_type),
        ];
        if let Some(checksum) = target.checksum_sha256 {
            signed.push(("x-amz-checksum-sha256", checksum));
        }
        if let Some(sse) = target.sse {
            signed.extend(sse.headers());
        }
        let url = self
            .presign("PUT", target.key, &[], &signed, target.expires_in)
            .await?;
        // Browsers set Content-Length themselves and refuse to be told it.
        let headers = signed
            .iter()
            .filter(|(name, _)| *name != "content-length")
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        Ok(PresignedPut { url, headers })
    }

    async fn presign_post(&self, target: &UploadTarget<'_>) -> Result<PresignedPost, StorageError> {
        let batch = self.batch().await?;
        let fields = batch
            .post_policy(&PostPolicy {
                bucket: &self.settings.bucket,
                key: &self.full_key(target.key),
                content_type: target.content_type,
                min_size: target.min_size,
                max_size: target.size,
                checksum_sha256: target.checksum_sha256,
                expires_in: target.expires_in,
                sse: target.sse,
            })
            .map_err(|e| StorageError::Other(e.to_string()))?;
        // A POST goes to the bucket itself; the key travels as a form field.
        Ok(PresignedPost {
            url: format!("{}{}", self.target.origin, self.target.prefix),
            fields: fields.into_iter().collect(),
        })
    }

    async fn presign_get(
        &self,
        key: &str,
        filename: &str,
        expires_in: Duration,
    ) -> Result<String, StorageError> {
        let disposition = attachment(filename);
        self.presign(
            "GET",
            key,
            &[("response-content-disposition", &disposition)],
            &[],
            expires_in,
        )
        .await
    }

    async fn create_multipart(
        &self,
        key: &str,
        content_type: &str,
        sse: Option<&Sse>,
    ) -> Result<String, StorageError> {
        let out = self
            .client
            .create_multipart_upload()
            .set_server_side_encryption(sse.map(encryption::algorithm))
            .set_ssekms_key_id(sse.and_then(Sse::kms_key_id).map(str::to_owned))
            .bucket(&self.settings.bucket)
            .key(self.full_key(key))
            .content_type(content_type)
            .send()
            .await
            .map_err(classify)?;
        out.upload_id()
            .map(str::to_owned)
            .ok_or_else(|| StorageError::Other("storage returned no upload id".into()))
    }

    async fn presign_parts(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[PartTarget<'_>],
        expires_in: Duration,
    ) -> Result<Vec<PresignedPart>, StorageError> {
        let batch = self.batch().await?;
        let path = self.path(key);
        let mut signed = Vec::with_capacity(parts.len());
        for part in parts {
            let number = part.part_number.to_string();
            let length = part.size.map(|n| n.to_string());
            let mut headers: Vec<(&str, &str)> = Vec::with_capacity(2);
            if let Some(length) = &length {
                headers.push(("content-length", length));
            }
            if let Some(checksum) = part.checksum_sha256 {
                headers.push(("x-amz-checksum-sha256", checksum));
            }
            let url = batch.presign(&Presign {
                method: "PUT",
                origin: &self.target.origin,
                host: &self.target.host,
                path: &path,
                query: &[("partNumber", &number), ("uploadId", upload_id)],
                headers: &headers,
                expires_in,
            });
            signed.push(PresignedPart {
                part_number: part.part_number,
                url,
                headers: part
                    .checksum_sha256
                    .map(|c| [("x-amz-checksum-sha256".to_owned(), c.to_owned())].into())
                    .unwrap_or_default(),
            });
        }
        Ok(signed)
    }

    async fn list_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<StoredPart>, StorageError> {
        let mut parts = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .client
                .list_parts()
                .bucket(&self.settings.bucket)
                .key(self.full_key(key))
                .upload_id(upload_id)
                .set_part_number_marker(marker.clone())
                .send()
                .await
                .map_err(classify)?;
            for part in out.parts() {
                let (Some(number), Some(etag)) = (part.part_number(), part.e_tag()) else {
                    continue;
                };
                parts.push(StoredPart {
                    part_number: u32::try_from(number).unwrap_or(0),
                    size: part.size().and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
                    etag: etag.to_owned(),
                    last_modified: part
                        .last_modified()
                        .and_then(|t| OffsetDateTime::from_unix_timestamp(t.secs()).ok()),
                });
            }
            let next = out.next_part_number_marker().map(str::to_owned);
            // Some stores (s3s-fs) never page; others may omit the marker on the last page.
            if out.is_truncated() != Some(true) || next.is_none() || next == marker {
                break;
            }
            marker = next;
        }
        // Stores do not all sort; callers rely on it.
        parts.sort_by_key(|p| p.part_number);
        parts.dedup_by_key(|p| p.part_number);
        Ok(parts)
    }

    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> Result<(), StorageError> {
        let completed = parts
            .iter()
            .map(|(number, etag)| {
                CompletedPart::builder()
                    .part_number(i32::try_from(*number).unwrap_or(i32::MAX))
                    .e_tag(etag)
                    .build()
            })
            .collect();
        self.client
            .complete_multipart_upload()
            .bucket(&self.settings.bucket)
            .key(self.full_key(key))
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(completed))
                    .build(),
            )
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StorageError> {
        match self
            .client
            .abort_multipart_upload()
            .bucket(&self.settings.bucket)
            .key(self.full_key(key))
            .upload_id(upload_id)
            .send()
            .await
            .map_err(classify)
        {
            Ok(_) | Err(StorageError::NoSuchUpload) => Ok(()),
            Err(err) => Err(err),
        }
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectHead>, StorageError> {
        let result = self
            .client
            .head_object()
            .bucket(&self.settings.bucket)
            .key(self.full_key(key))
            .send()
            .await;
        match result {
            Ok(out) => Ok(Some(ObjectHead {
                size: out
                    .content_length()
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or(0),
                etag: out.e_tag().unwrap_or_default().to_owned(),
                content_type: out.content_type().map(str::to_owned),
            })),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(classify(err)),
        }
    }

    async fn open(&self, key: &str) -> Result<Option<ObjectReader>, StorageError> {
        self.open_object(key).await
    }

    async fn put(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
        sse: Option<&Sse>,
    ) -> Result<(), StorageError> {
        self.put_object(key, body, content_type, sse).await
    }

    async fn read_start(&self, key: &str, etag: &str, len: u64) -> Result<Bytes, StorageError> {
        let out = self
            .client
            .get_object()
            .bucket(&self.settings.bucket)
            .key(self.full_key(key))
            .if_match(etag)
            .range(format!("bytes=0-{}", len.saturating_sub(1)))
            .send()
            .await
            .map_err(classify)?;
        // Not every store honours If-Match on GET (s3s-fs does not): check the
        // version that was actually read, too.
        if out.e_tag().map(unquote_etag) != Some(unquote_etag(etag)) {
            return Err(StorageError::Changed);
        }
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| StorageError::Unavailable(e.to_string()))?;
        Ok(body.into_bytes())
    }

    async fn copy(
        &self,
        from: &str,
        to: &str,
        etag: &str,
        sse: Option<&Sse>,
    ) -> Result<(), StorageError> {
        self.client
            .copy_object()
            .set_server_side_encryption(sse.map(encryption::algorithm))
            .set_ssekms_key_id(sse.and_then(Sse::kms_key_id).map(str::to_owned))
            .bucket(&self.settings.bucket)
            .key(self.full_key(to))
            .copy_source(format!(
                "{}/{}",
                self.settings.bucket,
                encode_key(&self.full_key(from))
            ))
            .copy_source_if_match(etag)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self
            .client
            .delete_object()
            .bucket(&self.settings.bucket)
            .key(self.full_key(key))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err) if is_not_found(&err) => Ok(()),
            Err(err) => Err(classify(err)),
        }
    }

    async fn configure_bucket(&self, origins: &[String], days: u32) -> Result<(), StorageError> {
        let rule = CorsRule::builder()
            .set_allowed_origins(Some(origins.to_vec()))
            .set_allowed_methods(Some(
                ["GET", "HEAD", "PUT", "POST"].map(String::from).to_vec(),
            ))
            .allowed_headers("*")
            .expose_headers("ETag")
            .max_age_seconds(3600)
            .build()
            .map_err(|e| StorageError::Other(e.to_string()))?;
        self.client
            .put_bucket_cors()
            .bucket(&self.settings.bucket)
            .cors_configuration(
                CorsConfiguration::builder()
                    .cors_rules(rule)
                    .build()
                    .map_err(|e| StorageError::Other(e.to_string()))?,
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
            .map_err(|e| StorageError::Other(e.to_string()))?;
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
            .map_err(|e| StorageError::Other(e.to_string()))?;
        self.client
            .put_bucket_lifecycle_configuration()
            .bucket(&self.settings.bucket)
            .lifecycle_configuration(
                BucketLifecycleConfiguration::builder()
                    .rules(abort)
                    .rules(staging)
                    .build()
                    .map_err(|e| StorageError::Other(e.to_string()))?,
            )
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn cors_allows(&self, origin: &str) -> Result<Option<bool>, StorageError> {
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

    async fn list_multipart_uploads(
        &self,
        before: OffsetDateTime,
        limit: usize,
    ) -> Result<Option<Vec<OpenMultipart>>, StorageError> {
        self.open_multipart_uploads(before, limit).await
    }

    async fn applies_sse(&self, sse: &Sse) -> Result<bool, StorageError> {
        self.probe_sse(sse).await
    }

    async fn ping(&self) -> Result<(), StorageError> {
        self.client
            .head_bucket()
            .bucket(&self.settings.bucket)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}

/// Whether the store answered 501: it does not implement the call at all
/// (s3s-fs for ListMultipartUploads and encryption), which is no outage.
fn not_implemented<E>(err: &SdkError<E, HttpResponse>) -> bool {
    err.raw_response()
        .is_some_and(|r| r.status().as_u16() == 501)
}

/// Sorts an SDK failure into: precondition lost, worth retrying, or needs an operator.
/// A 404: no such key (HEAD has no body to carry an error code).
fn is_not_found<E>(err: &SdkError<E, HttpResponse>) -> bool {
    err.raw_response()
        .is_some_and(|r| r.status().as_u16() == 404)
}

fn classify<E>(err: SdkError<E, HttpResponse>) -> StorageError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let message = DisplayErrorContext(&err).to_string();
    match &err {
        SdkError::ServiceError(ctx) => {
            // Some stores (Garage) answer some errors with a bare status and no
            // body, so the status speaks where the code is missing.
            let status = ctx.raw().status().as_u16();
            match (ctx.err().code(), status) {
                (Some("PreconditionFailed"), _) | (None, 412) => StorageError::Changed,
                (Some("NoSuchUpload"), _) => StorageError::NoSuchUpload,
                (Some("InvalidPart" | "InvalidPartOrder" | "EntityTooSmall"), _) => {
                    StorageError::InvalidParts(ctx.err().message().unwrap_or_default().to_owned())
                }
                (Some("SlowDown" | "ServiceUnavailable" | "InternalError"), _) => {
                    StorageError::Unavailable(message)
                }
                (_, 429 | 500..=599) => StorageError::Unavailable(message),
                _ => StorageError::Other(message),
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            StorageError::Unavailable(message)
        }
        _ => StorageError::Other(message),
    }
}

/// Percent-encodes a key for a URL path, keeping `/` as the separator.
/// Encoding all but RFC 3986 unreserved characters makes the path identical to
/// its SigV4 canonical form, so client and store agree on what was signed.
pub fn encode_key(key: &str) -> String {
    percent_encode(key, b"-._~/")
}

/// `Content-Disposition: attachment` with an ASCII fallback and the exact UTF-8 name.
fn attachment(filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = percent_encode(filename, b"-._~");
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_encoded_like_their_canonical_form() {
        assert_eq!(
            encode_key("uploads/a~b/x y+z.png"),
            "uploads/a~b/x%20y%2Bz.png"
        );
    }

    #[test]
    fn attachment_names_cannot_break_out_of_the_header() {
        let header = attachment("evil\".html\r\nSet-Cookie: x");
        assert!(!header.contains('\r') && !header.contains('\n'));
        assert!(header.starts_with("attachment; filename=\"evil_.html__Set-Cookie: x\""));
    }
}
