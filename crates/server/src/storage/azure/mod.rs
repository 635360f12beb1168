//! Azure Blob Storage, over its REST API: clients get service SAS URLs
//! (`sas`) for one blob each; the server's own calls are signed with Shared
//! Key (`shared_key`). One file per concern: what clients are handed
//! (`presign`), the blobs completion inspects and moves (`blobs`), block
//! uploads (`blocks`), listing (`listing`), the account's CORS rules
//! (`service`), and Azure's errors (`errors`).

mod blobs;
mod blocks;
mod errors;
mod listing;
mod presign;
mod sas;
mod service;
mod shared_key;

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::{Method, Response};
use time::OffsetDateTime;
use url::Url;

use self::errors::unreachable;
use self::sas::AccountKey;
use super::encoding::{encode_key, push_query};
use super::{
    Capabilities, ObjectHead, ObjectReader, ObjectStore, OpenMultipart, PartLimits, PartTarget,
    PresignedPart, PresignedPost, PresignedPut, Sse, StagedObject, StorageError, StoredPart,
    UploadTarget, own_upload_id,
};
use crate::secret::Secret;

/// The REST API version every call and SAS names: the one whose SAS layout
/// `sas` signs, and one Azurite knows.
const VERSION: &str = "2021-08-06";
/// Every call but a streamed read gives up after this long.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const FAMILY: &str = "Azure Blob Storage";

#[derive(Debug, Clone)]
pub struct AzureSettings {
    pub account: String,
    /// The account key (base64, as the portal shows it).
    pub key: Secret,
    pub container: String,
    /// `https://{account}.blob.core.windows.net` unless set (an emulator,
    /// a sovereign cloud, a private endpoint).
    pub endpoint: Option<Url>,
    /// Every blob name uploadgate uses starts with this (`""` or ending in `/`).
    pub key_prefix: String,
}

/// One container of an Azure storage account.
#[derive(Debug)]
pub struct AzureStore {
    http: reqwest::Client,
    key: AccountKey,
    account: String,
    container: String,
    key_prefix: String,
    /// `scheme://host[:port]`.
    origin: String,
    /// The endpoint's own path (`""`, or `/devstoreaccount1` on Azurite).
    base_path: String,
}

impl AzureStore {
    pub fn connect(settings: AzureSettings) -> Result<Self, StorageError> {
        let key = AccountKey::from_base64(settings.key.expose())
            .map_err(|e| StorageError::Other(e.into()))?;
        let endpoint = match settings.endpoint {
            Some(url) => url,
            None => Url::parse(&format!(
                "https://{}.blob.core.windows.net",
                settings.account
            ))
            .map_err(|e| StorageError::Other(format!("azure.account: {e}").into()))?,
        };
        let host = endpoint.host_str().ok_or_else(|| {
            StorageError::Other(format!("endpoint {endpoint} has no host").into())
        })?;
        let origin = match endpoint.port() {
            Some(port) => format!("{}://{host}:{port}", endpoint.scheme()),
            None => format!("{}://{host}", endpoint.scheme()),
        };
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(OPERATION_TIMEOUT)
            .build()
            .map_err(|e| StorageError::Other(e.into()))?;
        Ok(Self {
            http,
            key,
            account: settings.account,
            container: settings.container,
            key_prefix: settings.key_prefix,
            origin,
            base_path: endpoint.path().trim_end_matches('/').to_owned(),
        })
    }

    /// The blob name: uploadgate's keys live under `key_prefix`.
    fn blob_name(&self, key: &str) -> String {
        format!("{}{key}", self.key_prefix)
    }

    /// The URL path of `key`'s blob, encoded.
    fn blob_path(&self, key: &str) -> String {
        format!(
            "{}/{}/{}",
            self.base_path,
            self.container,
            encode_key(&self.blob_name(key))
        )
    }

    fn container_path(&self) -> String {
        format!("{}/{}", self.base_path, self.container)
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> String {
        let mut url = format!("{}{path}", self.origin);
        push_query(&mut url, query);
        url
    }

    /// Sends one Shared Key request and returns Azure's answer, whatever its
    /// status; only a request that got no answer fails here.
    async fn send(&self, call: Call<'_>) -> Result<Response, StorageError> {
        let mut headers = call.headers;
        let length = call.body.as_ref().map_or(0, Bytes::len);
        if call.method == Method::PUT || length > 0 {
            headers.insert(reqwest::header::CONTENT_LENGTH, length.into());
        }
        shared_key::authorize(
            &self.key,
            &self.account,
            &call.method,
            &call.path,
            call.query,
            &mut headers,
        );
        let mut request = self
            .http
            .request(call.method, self.url(&call.path, call.query))
            .headers(headers);
        if !call.streamed {
            request = request.timeout(OPERATION_TIMEOUT);
        }
        if let Some(body) = call.body {
            request = request.body(body);
        }
        request.send().await.map_err(unreachable)
    }
}

/// The XML body of a successful answer to `what`, as `T`.
async fn read_xml<T: serde::de::DeserializeOwned>(
    response: Response,
    what: &'static str,
) -> Result<T, StorageError> {
    let text = response
        .text()
        .await
        .map_err(|e| StorageError::Unavailable(e.without_url().into()))?;
    quick_xml::de::from_str(&text).map_err(|e| StorageError::Other(format!("{what}: {e}").into()))
}

/// One call of the server's own.
struct Call<'a> {
    method: Method,
    /// URL-encoded, from the first `/`.
    path: String,
    query: &'a [(&'a str, &'a str)],
    headers: HeaderMap,
    body: Option<Bytes>,
    /// A read of a whole blob, which may take longer than one operation.
    streamed: bool,
}

impl<'a> Call<'a> {
    fn new(method: Method, path: String, query: &'a [(&'a str, &'a str)]) -> Self {
        Self {
            method,
            path,
            query,
            headers: HeaderMap::new(),
            body: None,
            streamed: false,
        }
    }

    fn header(mut self, name: &'static str, value: &str) -> Result<Self, StorageError> {
        let value = reqwest::header::HeaderValue::from_str(value)
            .map_err(|_| StorageError::Other(format!("{name}: not a header value").into()))?;
        self.headers.insert(shared_key::name(name), value);
        Ok(self)
    }

    fn body(mut self, body: Bytes) -> Self {
        self.body = Some(body);
        self
    }
}

#[async_trait]
impl ObjectStore for AzureStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            family: FAMILY,
            post_forms: false,
            encryption: false,
            signed_checksums: false,
            s3_multipart: false,
            lifecycle_rules: false,
            bare_put: false,
        }
    }

    fn part_limits(&self) -> PartLimits {
        PartLimits::AZURE
    }

    fn location(&self) -> String {
        format!(
            "container {:?} of account {:?}",
            self.container, self.account
        )
    }

    async fn presign_put(&self, target: &UploadTarget<'_>) -> Result<PresignedPut, StorageError> {
        Sse::refused_by(target.sse, FAMILY)?;
        Ok(self.sign_put(target))
    }

    async fn presign_post(&self, _: &UploadTarget<'_>) -> Result<PresignedPost, StorageError> {
        Err(StorageError::Other(
            "Azure Blob Storage has no POST forms: upload with PUT".into(),
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
        self.head_blob(key).await
    }

    async fn read_start(&self, key: &str, etag: &str, len: u64) -> Result<Bytes, StorageError> {
        self.read_first_bytes(key, etag, len).await
    }

    async fn open(&self, key: &str) -> Result<Option<ObjectReader>, StorageError> {
        self.open_blob(key).await
    }

    async fn put(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
        sse: Option<&Sse>,
    ) -> Result<(), StorageError> {
        Sse::refused_by(sse, FAMILY)?;
        self.put_blob(key, body, content_type).await
    }

    async fn copy(
        &self,
        from: &str,
        to: &str,
        etag: &str,
        sse: Option<&Sse>,
    ) -> Result<(), StorageError> {
        Sse::refused_by(sse, FAMILY)?;
        self.copy_blob(from, to, etag).await
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.delete_blob(key, None).await
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
        self.sign_blocks(key, upload_id, parts, expires_in)
    }

    async fn list_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<StoredPart>, StorageError> {
        self.held_blocks(key, upload_id).await
    }

    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        content_type: &str,
        parts: &[(u32, String)],
    ) -> Result<(), StorageError> {
        self.commit_blocks(key, upload_id, content_type, parts)
            .await
    }

    async fn abort_multipart(&self, key: &str, _upload_id: &str) -> Result<(), StorageError> {
        self.drop_blocks(key).await
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
        // Uncommitted blocks carry no start time, and Azure drops them after
        // seven days by itself.
        Ok(None)
    }

    async fn list_staged(&self, limit: usize) -> Result<Vec<StagedObject>, StorageError> {
        self.staged_blobs(limit).await
    }

    async fn applies_sse(&self, _sse: &Sse) -> Result<bool, StorageError> {
        Ok(false)
    }

    async fn ping(&self) -> Result<(), StorageError> {
        self.container_exists().await
    }
}
