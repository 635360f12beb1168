//! Any S3-compatible store, through the official SDK. One file per concern:
//! presigning for clients (`presign`), the objects completion inspects and
//! moves (`objects`), multipart uploads (`multipart`), bucket administration
//! (`bucket`, `listing`, `encryption`), and the SDK's errors (`errors`).

mod bucket;
mod credentials;
mod encryption;
mod errors;
mod listing;
mod multipart;
mod objects;
mod presign;
pub mod signer;

use std::time::Duration;

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{Region, RequestChecksumCalculation, ResponseChecksumValidation};
use bytes::Bytes;
use time::OffsetDateTime;
use url::Url;

use self::errors::{classify, is_not_found, not_implemented};
use super::{
    Capabilities, ObjectHead, ObjectReader, ObjectStore, OpenMultipart, PartLimits, PartTarget,
    PresignedPart, PresignedPost, PresignedPut, Sse, StagedObject, StorageError, StoredPart,
    UploadTarget,
};
use crate::secret::Secret;
use credentials::CachedCredentials;
use signer::Signer;

pub use crate::storage::encoding::encode_key;

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
}

fn url_target(s: &S3StoreSettings) -> Result<UrlTarget, StorageError> {
    let base = match s.public_endpoint.as_ref().or(s.endpoint.as_ref()) {
        Some(url) => url.clone(),
        None => Url::parse(&format!("https://s3.{}.amazonaws.com", s.region))
            .map_err(|e| StorageError::Other(e.into()))?,
    };
    let host = base
        .host_str()
        .ok_or_else(|| StorageError::Other(format!("endpoint {base} has no host").into()))?;
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
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            family: "S3",
            post_forms: true,
            encryption: true,
            signed_checksums: true,
            s3_multipart: true,
            lifecycle_rules: true,
            bare_put: true,
        }
    }

    fn part_limits(&self) -> PartLimits {
        PartLimits::S3
    }

    fn location(&self) -> String {
        format!("bucket {:?}", self.settings.bucket)
    }

    async fn presign_put(&self, target: &UploadTarget<'_>) -> Result<PresignedPut, StorageError> {
        self.sign_put(target).await
    }

    async fn presign_post(&self, target: &UploadTarget<'_>) -> Result<PresignedPost, StorageError> {
        self.sign_post(target).await
    }

    async fn presign_get(
        &self,
        key: &str,
        filename: &str,
        expires_in: Duration,
    ) -> Result<String, StorageError> {
        self.sign_get(key, filename, expires_in).await
    }

    async fn create_multipart(
        &self,
        key: &str,
        content_type: &str,
        sse: Option<&Sse>,
    ) -> Result<String, StorageError> {
        self.create_multipart_upload(key, content_type, sse).await
    }

    async fn presign_parts(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[PartTarget<'_>],
        expires_in: Duration,
    ) -> Result<Vec<PresignedPart>, StorageError> {
        self.sign_parts(key, upload_id, parts, expires_in).await
    }

    async fn list_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<StoredPart>, StorageError> {
        self.list_all_parts(key, upload_id).await
    }

    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        _content_type: &str,
        parts: &[(u32, String)],
    ) -> Result<(), StorageError> {
        self.complete_multipart_upload(key, upload_id, parts).await
    }

    async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StorageError> {
        self.abort_multipart_upload(key, upload_id).await
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectHead>, StorageError> {
        self.head_object(key).await
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
        self.read_first_bytes(key, etag, len).await
    }

    async fn copy(
        &self,
        from: &str,
        to: &str,
        etag: &str,
        sse: Option<&Sse>,
    ) -> Result<(), StorageError> {
        self.copy_object(from, to, etag, sse).await
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.delete_object(key).await
    }

    async fn configure_bucket(&self, origins: &[String], days: u32) -> Result<(), StorageError> {
        self.apply_bucket_rules(origins, days).await
    }

    async fn cors_allows(&self, origin: &str) -> Result<Option<bool>, StorageError> {
        self.bucket_cors_allows(origin).await
    }

    async fn list_multipart_uploads(
        &self,
        before: OffsetDateTime,
        limit: usize,
    ) -> Result<Option<Vec<OpenMultipart>>, StorageError> {
        self.open_multipart_uploads(before, limit).await
    }

    async fn list_staged(&self, limit: usize) -> Result<Vec<StagedObject>, StorageError> {
        self.staged_objects(limit).await
    }

    async fn applies_sse(&self, sse: &Sse) -> Result<bool, StorageError> {
        self.probe_sse(sse).await
    }

    async fn ping(&self) -> Result<(), StorageError> {
        self.head_bucket().await
    }
}
