//! Aborting an upload that has not completed: for a multipart upload, storage
//! drops its parts and refuses further ones. Aborting twice is harmless.
//!
//! An abort takes the completion claim, so it never runs beside a completion:
//! whichever comes first wins, and the other answers 409.

use std::time::Duration;

use uploadgate_api::UploadStatus;
use uuid::Uuid;

use super::{UploadError, Uploads};
use crate::db::{self, Transition, Upload};
use crate::storage::StorageError;

/// How long an abort holds the completion claim: a transition and three
/// storage calls.
const ABORT_CLAIM: Duration = Duration::from_secs(60);

impl Uploads {
    /// Aborts `upload` (its owner already checked), whichever door asked.
    pub async fn abort(&self, mut upload: Upload) -> Result<Upload, UploadError> {
        match upload.status {
            // A repeated abort also repeats the storage clean-up, so a retry after a
            // storage failure still stops the part URLs.
            UploadStatus::Aborted => {
                self.release_storage(&upload).await?;
                return Ok(upload);
            }
            status if status.is_in_progress() => {}
            finished => return Err(UploadError::Finished(finished)),
        }
        let now = db::now();
        let token = Uuid::new_v4();
        if !self
            .db
            .claim_completion(upload.id, token, now, now + ABORT_CLAIM)
            .await?
        {
            // Completing right now, or settled since it was read.
            let current = self
                .db
                .find(upload.id, &upload.owner)
                .await?
                .ok_or(UploadError::NotFound)?;
            return match current.status {
                UploadStatus::Aborted => Ok(current),
                status if status.is_in_progress() => Err(UploadError::CompletionInProgress),
                finished => Err(UploadError::Finished(finished)),
            };
        }
        let change = Transition::to(UploadStatus::Aborted, now).claimed(token);
        if !self
            .db
            .transition(upload.id, upload.status, &change)
            .await?
        {
            // Moved on meanwhile (a part signed: pending to uploading); ask again.
            self.db.release_completion(upload.id, token).await?;
            let current = self
                .db
                .find(upload.id, &upload.owner)
                .await?
                .ok_or(UploadError::NotFound)?;
            return Err(if current.status.is_in_progress() {
                UploadError::ConcurrentUpdate
            } else {
                UploadError::Finished(current.status)
            });
        }
        upload.status = UploadStatus::Aborted;
        self.metrics.upload(&upload.profile, "aborted");
        self.release_storage(&upload).await?;
        Ok(upload)
    }

    /// Frees what an upload that will never complete holds in storage: its
    /// multipart upload (so its part URLs stop working), its staged object,
    /// and an object at its final key (copied or assembled by a completion
    /// that died). Fails only when storage still takes parts; deletions that
    /// fail are logged and counted (the bucket's lifecycle rules and later
    /// sweeps catch up).
    pub(super) async fn release_storage(&self, upload: &Upload) -> Result<u32, StorageError> {
        if let Some(multipart) = &upload.multipart {
            self.store
                .abort_multipart(&upload.key, &multipart.upload_id)
                .await?;
        }
        Ok(self
            .delete_objects(upload, &[&upload.staging_key, &upload.key])
            .await)
    }

    /// Deletes `keys` of `upload` from storage; returns how many deletions
    /// failed (each logged; the caller decides who tries again).
    pub(super) async fn delete_objects(&self, upload: &Upload, keys: &[&String]) -> u32 {
        let mut failures = 0;
        for key in keys {
            if let Err(err) = self.store.delete(key).await {
                tracing::warn!(upload = %upload.id, status = upload.status.as_str(), %err, "could not delete an object of an upload");
                failures += 1;
            }
        }
        failures
    }
}
