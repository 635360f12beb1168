//! Object storage as uploadgate needs it: presign for clients, inspect and
//! move for itself. `ObjectStore` is the core every backend implements (S3
//! and S3-compatible stores under `s3/`, Azure Blob Storage under `azure/`,
//! Google Cloud Storage under `gcs/`);
//! what only some stores do is declared in `Capabilities`, and the shape of
//! their multipart uploads in `PartLimits`.

mod azure;
mod capabilities;
mod connect;
pub mod encoding;
pub mod gcs;
mod metered;
mod own_upload_id;
mod s3;
mod sse;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

pub use azure::{AzureSettings, AzureStore};
pub use capabilities::{Capabilities, PartLimits};
pub use connect::{Connected, Embedded, connect_store};
pub use gcs::{GcsSettings, GcsStore};
pub use metered::MeteredStore;
pub use s3::{S3Store, S3StoreSettings, signer};
pub use sse::Sse;

/// What a presigned single-request upload is bound to.
#[derive(Debug, Clone)]
pub struct UploadTarget<'a> {
    pub key: &'a str,
    pub content_type: &'a str,
    /// Exact size for a PUT; the largest accepted for a POST form.
    pub size: u64,
    /// Smallest size a POST form accepts (equal to `size` when it is known).
    pub min_size: u64,
    pub checksum_sha256: Option<&'a str>,
    pub expires_in: Duration,
    /// Encryption the request must ask for.
    pub sse: Option<&'a Sse>,
}

#[derive(Debug, Clone)]
pub struct PresignedPut {
    pub url: String,
    /// Exactly the headers the client must send; all of them are signed.
    pub headers: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct PresignedPost {
    pub url: String,
    pub fields: BTreeMap<String, String>,
}

/// What a HEAD tells about a stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectHead {
    pub size: u64,
    pub etag: String,
    pub content_type: Option<String>,
}

/// A stored object opened for reading from its first byte.
pub struct ObjectReader {
    pub size: u64,
    pub etag: String,
    pub body: std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>>,
}

/// What reading a whole object reads at a time.
const READ_CHUNK: usize = 256 * 1024;

impl ObjectReader {
    /// Reads the whole object, handing each chunk to `each`, and returns its
    /// SHA-256. Fails unless exactly `size` bytes came: a short read is an
    /// outage to retry, never a different file.
    pub async fn sha256(&mut self, mut each: impl FnMut(&[u8])) -> std::io::Result<[u8; 32]> {
        use sha2::Digest as _;
        use tokio::io::AsyncReadExt as _;
        let mut hasher = sha2::Sha256::new();
        let mut chunk = vec![0; READ_CHUNK];
        let mut read = 0u64;
        loop {
            let n = self.body.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            hasher.update(&chunk[..n]);
            each(&chunk[..n]);
            read += n as u64;
        }
        if read != self.size {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("read {read} bytes of a {}-byte object", self.size),
            ));
        }
        Ok(hasher.finalize().into())
    }
}

impl std::fmt::Debug for ObjectReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectReader")
            .field("size", &self.size)
            .field("etag", &self.etag)
            .finish_non_exhaustive()
    }
}

/// One part of a multipart upload to presign.
#[derive(Debug, Clone, Copy)]
pub struct PartTarget<'a> {
    pub part_number: u32,
    /// Signed as Content-Length when known; Uppy's client chooses its own part sizes.
    pub size: Option<u64>,
    pub checksum_sha256: Option<&'a str>,
}

#[derive(Debug, Clone)]
pub struct PresignedPart {
    pub part_number: u32,
    pub url: String,
    pub headers: BTreeMap<String, String>,
}

/// A part storage holds for an unfinished multipart upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPart {
    pub part_number: u32,
    pub size: u64,
    pub etag: String,
    pub last_modified: Option<time::OffsetDateTime>,
}

/// An object under the staging prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedObject {
    pub key: String,
    pub last_modified: Option<time::OffsetDateTime>,
}

/// A multipart upload storage holds open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenMultipart {
    pub key: String,
    pub upload_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The multipart upload is gone: completed, aborted, or expired by the store.
    #[error("no such multipart upload")]
    NoSuchUpload,
    /// Storage refused to assemble the parts (missing, too small, wrong ETag).
    #[error("storage refused the parts: {0}")]
    InvalidParts(String),
    /// The object changed between two calls that were meant to see the same version.
    #[error("object changed while being read")]
    Changed,
    /// Storage could not be reached or answered with a server error; worth retrying.
    #[error("storage unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// Storage refused the request (credentials, bucket, signing); needs an operator.
    #[error("storage error: {0}")]
    Other(#[source] BoxError),
}

/// The error a storage failure came from (the SDK's, or a description).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One bucket (S3) or container (Azure) that uploads land in. Calls a
/// backend cannot make (see `capabilities`) fail with `StorageError::Other`;
/// the server refuses what would need them before it gets that far.
#[async_trait]
pub trait ObjectStore: Send + Sync + std::fmt::Debug {
    /// What this store does beyond the core.
    fn capabilities(&self) -> Capabilities;
    /// How this store's multipart uploads may be cut.
    fn part_limits(&self) -> PartLimits;
    /// Where uploads land, for messages: `bucket "uploads"`, `container "uploads"`.
    fn location(&self) -> String;
    async fn presign_put(&self, target: &UploadTarget<'_>) -> Result<PresignedPut, StorageError>;
    async fn presign_post(&self, target: &UploadTarget<'_>) -> Result<PresignedPost, StorageError>;
    /// A GET URL that makes browsers download (not render) the object under `filename`.
    async fn presign_get(
        &self,
        key: &str,
        filename: &str,
        expires_in: Duration,
    ) -> Result<String, StorageError>;
    /// `None` when no object has this key.
    async fn head(&self, key: &str) -> Result<Option<ObjectHead>, StorageError>;
    /// Up to `len` first bytes of the object, failing with `Changed` unless its ETag is `etag`.
    async fn read_start(&self, key: &str, etag: &str, len: u64) -> Result<Bytes, StorageError>;
    /// Streams the whole object; `None` when no object has this key.
    async fn open(&self, key: &str) -> Result<Option<ObjectReader>, StorageError>;
    /// Writes a small object the server made itself (a thumbnail).
    async fn put(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
        sse: Option<&Sse>,
    ) -> Result<(), StorageError>;
    /// Copies `from` to `to` inside the bucket (encrypted with `sse`, as a copy
    /// does not keep its source's encryption), unless `from` no longer has ETag `etag`.
    async fn copy(
        &self,
        from: &str,
        to: &str,
        etag: &str,
        sse: Option<&Sse>,
    ) -> Result<(), StorageError>;
    /// Deleting a missing key succeeds.
    async fn delete(&self, key: &str) -> Result<(), StorageError>;
    /// Starts a multipart upload of `key`, encrypted with `sse`; returns its upload id.
    async fn create_multipart(
        &self,
        key: &str,
        content_type: &str,
        sse: Option<&Sse>,
    ) -> Result<String, StorageError>;
    async fn presign_parts(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[PartTarget<'_>],
        expires_in: Duration,
    ) -> Result<Vec<PresignedPart>, StorageError>;
    /// Every part storage holds (all pages), sorted by part number.
    async fn list_parts(&self, key: &str, upload_id: &str)
    -> Result<Vec<StoredPart>, StorageError>;
    /// Assembles `parts` (number, ETag), which must be sorted, into an
    /// object of `content_type` (a store that takes the type at the end,
    /// like Azure, sets it here).
    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        content_type: &str,
        parts: &[(u32, String)],
    ) -> Result<(), StorageError>;
    /// Aborting an upload that is already gone succeeds.
    async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StorageError>;
    /// Applies what browsers and tidiness need to the bucket: CORS rules for
    /// `origins` (PUT/POST/GET, `ETag` exposed), and a lifecycle that aborts
    /// multipart uploads and expires staged objects left for `days` days.
    async fn configure_bucket(&self, origins: &[String], days: u32) -> Result<(), StorageError>;
    /// Whether the bucket's CORS rules let `origin` PUT and read `ETag`;
    /// `None` when the store cannot say (no bucket CORS API).
    async fn cors_allows(&self, origin: &str) -> Result<Option<bool>, StorageError>;
    /// Up to `limit` multipart uploads the bucket holds that were started before
    /// `before`, in any prefix; `None` when the store cannot list them.
    async fn list_multipart_uploads(
        &self,
        before: time::OffsetDateTime,
        limit: usize,
    ) -> Result<Option<Vec<OpenMultipart>>, StorageError>;
    /// Up to `limit` objects under the staging prefix.
    async fn list_staged(&self, limit: usize) -> Result<Vec<StagedObject>, StorageError>;
    /// Whether the store really applies `sse`: writes a small probe object with
    /// it and reads back what the store says it did.
    async fn applies_sse(&self, sse: &Sse) -> Result<bool, StorageError>;
    /// Cheap round trip proving the bucket is reachable with our credentials.
    async fn ping(&self) -> Result<(), StorageError>;
}

/// An ETag as compared: without quotes or the weak marker, as clients and stores
/// disagree on both.
pub fn unquote_etag(etag: &str) -> &str {
    etag.trim_start_matches("W/").trim_matches('"')
}
