//! What readiness and `/metrics` ask of the dependencies.

use super::{UploadError, Uploads};
use crate::db::{DbError, QueueDepth};
use crate::storage::StorageError;

impl Uploads {
    pub async fn ping_database(&self) -> Result<(), DbError> {
        self.db.ping().await
    }

    pub async fn ping_storage(&self) -> Result<(), StorageError> {
        self.store.ping().await
    }

    /// Whether the bucket's CORS rules let `origin` upload and read `ETag`;
    /// `None` when the store cannot say.
    pub async fn bucket_cors_allows(&self, origin: &str) -> Result<Option<bool>, StorageError> {
        self.store.cors_allows(origin).await
    }

    /// Refuses Companion's routes, which speak S3's POST forms and upload
    /// ids, on a store that has neither (Azure).
    pub fn companion_served(&self) -> Result<(), UploadError> {
        let can = self.store.capabilities();
        if can.s3_multipart && can.post_forms {
            return Ok(());
        }
        Err(UploadError::NotEnabled(format!(
            "Companion's S3 routes need an S3 store, and this server stores in {}: \
             upload through API v1 (/v1/uploads)",
            can.family
        )))
    }

    /// Jobs in each state, over every node.
    pub async fn queue_depth(&self) -> Result<QueueDepth, DbError> {
        self.db.jobs().depth().await
    }
}
