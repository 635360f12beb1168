//! What readiness and `/metrics` ask of the dependencies.

use super::Uploads;
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

    /// Jobs in each state, over every node.
    pub async fn queue_depth(&self) -> Result<QueueDepth, DbError> {
        self.db.jobs().depth().await
    }
}
