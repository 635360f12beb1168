//! An `ObjectStore` that times every call to the store and counts its failures.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use time::OffsetDateTime;

use super::{
    Capabilities, ObjectHead, ObjectReader, ObjectStore, OpenMultipart, PartLimits, PartTarget,
    PresignedPart, PresignedPost, PresignedPut, Sse, StagedObject, StorageError, StoredPart,
    UploadTarget,
};
use crate::metrics::{Metrics, StorageErrorLabels, StorageLabels};

#[derive(Debug)]
pub struct MeteredStore {
    inner: Arc<dyn ObjectStore>,
    metrics: Arc<Metrics>,
}

impl MeteredStore {
    pub fn new(inner: Arc<dyn ObjectStore>, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }

    async fn timed<T>(
        &self,
        op: &'static str,
        call: impl Future<Output = Result<T, StorageError>>,
    ) -> Result<T, StorageError> {
        let started = Instant::now();
        let result = call.await;
        self.metrics
            .storage_seconds
            .get_or_create(&StorageLabels { op })
            .observe(started.elapsed().as_secs_f64());
        let kind = match &result {
            Err(StorageError::Unavailable(_)) => Some("unavailable"),
            Err(StorageError::Other(_)) => Some("refused"),
            _ => None,
        };
        if let Some(kind) = kind {
            self.metrics
                .storage_errors
                .get_or_create(&StorageErrorLabels { op, kind })
                .inc();
        }
        result
    }
}

/// Presigning is local computation, so only calls that reach the store are timed.
#[async_trait]
impl ObjectStore for MeteredStore {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn part_limits(&self) -> PartLimits {
        self.inner.part_limits()
    }

    fn location(&self) -> String {
        self.inner.location()
    }

    async fn presign_put(&self, target: &UploadTarget<'_>) -> Result<PresignedPut, StorageError> {
        self.inner.presign_put(target).await
    }

    async fn presign_post(&self, target: &UploadTarget<'_>) -> Result<PresignedPost, StorageError> {
        self.inner.presign_post(target).await
    }

    async fn presign_get(
        &self,
        key: &str,
        filename: &str,
        expires_in: Duration,
    ) -> Result<String, StorageError> {
        self.inner.presign_get(key, filename, expires_in).await
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectHead>, StorageError> {
        self.timed("head", self.inner.head(key)).await
    }

    async fn open(&self, key: &str) -> Result<Option<ObjectReader>, StorageError> {
        self.timed("open", self.inner.open(key)).await
    }

    async fn put(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
        sse: Option<&Sse>,
    ) -> Result<(), StorageError> {
        self.timed("put", self.inner.put(key, body, content_type, sse))
            .await
    }

    async fn read_start(&self, key: &str, etag: &str, len: u64) -> Result<Bytes, StorageError> {
        self.timed("read_start", self.inner.read_start(key, etag, len))
            .await
    }

    async fn copy(
        &self,
        from: &str,
        to: &str,
        etag: &str,
        sse: Option<&Sse>,
    ) -> Result<(), StorageError> {
        self.timed("copy", self.inner.copy(from, to, etag, sse))
            .await
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.timed("delete", self.inner.delete(key)).await
    }

    async fn create_multipart(
        &self,
        key: &str,
        content_type: &str,
        sse: Option<&Sse>,
    ) -> Result<String, StorageError> {
        self.timed(
            "create_multipart",
            self.inner.create_multipart(key, content_type, sse),
        )
        .await
    }

    async fn presign_parts(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[PartTarget<'_>],
        expires_in: Duration,
    ) -> Result<Vec<PresignedPart>, StorageError> {
        self.inner
            .presign_parts(key, upload_id, parts, expires_in)
            .await
    }

    async fn list_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<StoredPart>, StorageError> {
        self.timed("list_parts", self.inner.list_parts(key, upload_id))
            .await
    }

    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        content_type: &str,
        parts: &[(u32, String)],
    ) -> Result<(), StorageError> {
        self.timed(
            "complete_multipart",
            self.inner
                .complete_multipart(key, upload_id, content_type, parts),
        )
        .await
    }

    async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StorageError> {
        self.timed(
            "abort_multipart",
            self.inner.abort_multipart(key, upload_id),
        )
        .await
    }

    async fn configure_bucket(&self, origins: &[String], days: u32) -> Result<(), StorageError> {
        self.timed(
            "configure_bucket",
            self.inner.configure_bucket(origins, days),
        )
        .await
    }

    async fn cors_allows(&self, origin: &str) -> Result<Option<bool>, StorageError> {
        self.timed("cors_allows", self.inner.cors_allows(origin))
            .await
    }

    async fn list_multipart_uploads(
        &self,
        before: OffsetDateTime,
        limit: usize,
    ) -> Result<Option<Vec<OpenMultipart>>, StorageError> {
        self.timed(
            "list_multipart_uploads",
            self.inner.list_multipart_uploads(before, limit),
        )
        .await
    }

    async fn list_staged(&self, limit: usize) -> Result<Vec<StagedObject>, StorageError> {
        self.timed("list_staged", self.inner.list_staged(limit))
            .await
    }

    async fn applies_sse(&self, sse: &Sse) -> Result<bool, StorageError> {
        self.timed("applies_sse", self.inner.applies_sse(sse)).await
    }

    async fn ping(&self) -> Result<(), StorageError> {
        self.timed("ping", self.inner.ping()).await
    }
}
