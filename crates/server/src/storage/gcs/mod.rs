//! Google Cloud Storage, natively: clients get V4 signed URLs (`signer`,
//! `GOOG4-RSA-SHA256`, signed with the service account's key) for one
//! object each; the server's own calls go to the JSON API with OAuth2
//! access tokens from the same account (`credentials`). One file per
//! concern: what clients are handed (`presign`), the objects completion
//! inspects and moves (`objects`), parts and their composition (`parts`),
//! the bucket's CORS rules (`bucket`), and GCS's errors (`errors`).

mod bucket;
pub mod credentials;
mod errors;
mod objects;
mod parts;
mod presign;
pub mod signer;

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::{Method, Response};
use time::OffsetDateTime;
use url::Url;

use self::credentials::{AccessTokens, ServiceAccount};
use self::errors::unreachable;
use super::encoding::{push_percent_encoded, push_query};
use super::{
    Capabilities, ObjectHead, ObjectReader, ObjectStore, OpenMultipart, PartLimits, PartTarget,
    PresignedPart, PresignedPost, PresignedPut, Sse, StagedObject, StorageError, StoredPart,
    UploadTarget, own_upload_id,
};

/// Every call but a streamed read gives up after this long.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const FAMILY: &str = "Google Cloud Storage";
/// Google's own endpoint, for the JSON API and signed URLs alike.
pub const DEFAULT_ENDPOINT: &str = "https://storage.googleapis.com";

#[derive(Debug, Clone)]
pub struct GcsSettings {
    pub bucket: String,
    /// The service account's key file (JSON, as the console downloads it).
    pub credentials: PathBuf,
    /// `https://storage.googleapis.com` unless set (an emulator, a private
    /// endpoint).
    pub endpoint: Option<Url>,
    /// Every object name uploadgate uses starts with this (`""` or ending in `/`).
    pub key_prefix: String,
}

/// One bucket of Google Cloud Storage.
#[derive(Debug)]
pub struct GcsStore {
    http: reqwest::Client,
    tokens: AccessTokens,
    bucket: String,
    key_prefix: String,
    /// `scheme://host[:port]` and the endpoint's own path (if any).
    base: String,
    /// The endpoint's own path: `""` unless it has one.
    base_path: String,
    scheme: String,
    /// `host[:port]` as URLs carry it.
    authority: String,
}

impl GcsStore {
    pub fn connect(settings: GcsSettings) -> Result<Self, StorageError> {
        let path = &settings.credentials;
        let text = std::fs::read_to_string(path).map_err(|e| {
            StorageError::Other(
                format!("cannot read gcs.credentials {}: {e}", path.display()).into(),
            )
        })?;
        let account = ServiceAccount::from_key_file(&text).map_err(|e| {
            StorageError::Other(format!("gcs.credentials {}: {e}", path.display()).into())
        })?;
        let endpoint = match settings.endpoint {
            Some(url) => url,
            None => Url::parse(DEFAULT_ENDPOINT).expect("a URL"),
        };
        let host = endpoint.host_str().ok_or_else(|| {
            StorageError::Other(format!("endpoint {endpoint} has no host").into())
        })?;
        let authority = match endpoint.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(OPERATION_TIMEOUT)
            .build()
            .map_err(|e| StorageError::Other(e.into()))?;
        Ok(Self {
            tokens: AccessTokens::new(account, http.clone()),
            http,
            bucket: settings.bucket,
            key_prefix: settings.key_prefix,
            base: format!(
                "{}://{authority}{}",
                endpoint.scheme(),
                endpoint.path().trim_end_matches('/')
            ),
            base_path: endpoint.path().trim_end_matches('/').to_owned(),
            scheme: endpoint.scheme().to_owned(),
            authority,
        })
    }

    fn signer(&self) -> &signer::ServiceAccountSigner {
        &self.tokens.account().signer
    }

    /// The object name: uploadgate's keys live under `key_prefix`.
    fn object_name(&self, key: &str) -> String {
        format!("{}{key}", self.key_prefix)
    }

    /// The JSON API URL of `key`'s object (its name one path segment), with
    /// `tail` after it (`/compose`, `""`).
    fn object_url(&self, key: &str, tail: &str) -> String {
        let mut url = format!("{}/storage/v1/b/{}/o/", self.base, self.bucket);
        push_percent_encoded(&mut url, &self.object_name(key), b"-._~");
        url.push_str(tail);
        url
    }

    fn bucket_url(&self) -> String {
        format!("{}/storage/v1/b/{}", self.base, self.bucket)
    }

    /// Sends one call with the server's access token and returns GCS's
    /// answer, whatever its status; only a request that got no answer fails here.
    async fn send(&self, call: Call<'_>) -> Result<Response, StorageError> {
        let token = self.tokens.get().await?;
        let mut url = call.url;
        push_query(&mut url, call.query);
        let mut request = self
            .http
            .request(call.method, url)
            .bearer_auth(token.expose());
        if !call.streamed {
            request = request.timeout(OPERATION_TIMEOUT);
        }
        if let Some(range) = call.range {
            request = request.header(reqwest::header::RANGE, range);
        }
        request = match call.body {
            Body::None => request.header(reqwest::header::CONTENT_LENGTH, 0),
            Body::Json(value) => request.json(&value),
            Body::Bytes(bytes, content_type) => request
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(bytes),
        };
        request.send().await.map_err(unreachable)
    }
}

/// The JSON body of a successful answer to `what`, as `T`.
async fn read_json<T: serde::de::DeserializeOwned>(
    response: Response,
    what: &'static str,
) -> Result<T, StorageError> {
    let text = response
        .bytes()
        .await
        .map_err(|e| StorageError::Unavailable(e.without_url().into()))?;
    serde_json::from_slice(&text).map_err(|e| StorageError::Other(format!("{what}: {e}").into()))
}

enum Body {
    None,
    Json(serde_json::Value),
    Bytes(Bytes, String),
}

/// One call of the server's own.
struct Call<'a> {
    method: Method,
    url: String,
    /// Not encoded.
    query: &'a [(&'a str, &'a str)],
    body: Body,
    range: Option<String>,
    /// A read of a whole object, which may take longer than one operation.
    streamed: bool,
}

impl<'a> Call<'a> {
    fn new(method: Method, url: String, query: &'a [(&'a str, &'a str)]) -> Self {
        Self {
            method,
            url,
            query,
            body: Body::None,
            range: None,
            streamed: false,
        }
    }

    fn json(mut self, value: serde_json::Value) -> Self {
        self.body = Body::Json(value);
        self
    }
}

#[async_trait]
impl ObjectStore for GcsStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            family: FAMILY,
            post_forms: false,
            encryption: false,
            // GCS checks MD5 and CRC32C, never a SHA-256: completion computes it.
            signed_checksums: false,
            s3_multipart: false,
            lifecycle_rules: false,
            // The size bound is a signed header the client must send.
            bare_put: false,
        }
    }

    fn part_limits(&self) -> PartLimits {
        PartLimits::GCS
    }

    fn location(&self) -> String {
        format!("bucket {:?}", self.bucket)
    }

    async fn presign_put(&self, target: &UploadTarget<'_>) -> Result<PresignedPut, StorageError> {
        Sse::refused_by(target.sse, FAMILY)?;
        Ok(self.sign_put(target))
    }

    async fn presign_post(&self, _: &UploadTarget<'_>) -> Result<PresignedPost, StorageError> {
        Err(StorageError::Other(
            "uploadgate signs no POST forms for Google Cloud Storage: upload with PUT".into(),
        ))
    }

    async fn presign_get(
        &self,
        key: &str,
        filename: &str,
        expires_in: Duration,
    ) -> Result<String, StorageError> {
        Ok(self.sign_get(key, filename, expires_in))
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectHead>, StorageError> {
        Ok(self.metadata(key).await?.map(|object| object.head()))
    }

    async fn read_start(&self, key: &str, etag: &str, len: u64) -> Result<Bytes, StorageError> {
        self.read_first_bytes(key, etag, len).await
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
        Sse::refused_by(sse, FAMILY)?;
        self.put_object(key, body, content_type).await
    }

    async fn copy(
        &self,
        from: &str,
        to: &str,
        etag: &str,
        sse: Option<&Sse>,
    ) -> Result<(), StorageError> {
        Sse::refused_by(sse, FAMILY)?;
        self.rewrite(from, to, etag).await
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.delete_object(key, None).await
    }

    async fn create_multipart(
        &self,
        _key: &str,
        _content_type: &str,
        sse: Option<&Sse>,
    ) -> Result<String, StorageError> {
        Sse::refused_by(sse, FAMILY)?;
        Ok(own_upload_id::new())
    }

    async fn presign_parts(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[PartTarget<'_>],
        expires_in: Duration,
    ) -> Result<Vec<PresignedPart>, StorageError> {
        self.sign_parts(key, upload_id, parts, expires_in)
    }

    async fn list_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<StoredPart>, StorageError> {
        self.held_parts(key, upload_id).await
    }

    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        content_type: &str,
        parts: &[(u32, String)],
    ) -> Result<(), StorageError> {
        self.compose_parts(key, upload_id, content_type, parts)
            .await
    }

    async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StorageError> {
        self.drop_parts(key, upload_id).await
    }

    async fn configure_bucket(&self, origins: &[String], _days: u32) -> Result<(), StorageError> {
        self.set_cors(origins).await
    }

    async fn cors_allows(&self, origin: &str) -> Result<Option<bool>, StorageError> {
        self.cors_rules_allow(origin).await.map(Some)
    }

    async fn list_multipart_uploads(
        &self,
        _before: OffsetDateTime,
        _limit: usize,
    ) -> Result<Option<Vec<OpenMultipart>>, StorageError> {
        // Parts are objects under the staging prefix: `list_staged` finds them.
        Ok(None)
    }

    async fn list_staged(&self, limit: usize) -> Result<Vec<StagedObject>, StorageError> {
        self.staged_objects(limit).await
    }

    async fn applies_sse(&self, _sse: &Sse) -> Result<bool, StorageError> {
        Ok(false)
    }

    async fn ping(&self) -> Result<(), StorageError> {
        self.bucket_exists().await
    }
}
