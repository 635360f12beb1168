//! Aborting an upload that has not completed: for a multipart upload, storage
//! drops its parts and refuses further ones. Aborting twice is harmless.

use uploadgate_api::UploadStatus;

use super::{UploadError, Uploads};
use crate::db::{self, Transition, Upload};
use crate::storage::StorageError;

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
        let change = Transition::to(UploadStatus::Aborted, db::now());
        if !self
            .db
            .transition(upload.id, upload.status, &change)
            .await?
        {
            // Someone else moved it first (completed, say): report what it is now.
            let current = self
                .db
                .find(upload.id, &upload.owner)
                .await?
                .ok_or(UploadError::NotFound)?;
            if current.status != UploadStatus::Aborted {
                return Err(UploadError::Finished(current.status));
            }
            self.release_storage(&current).await?;
            return Ok(current);
        }
        self.release_storage(&upload).await?;
        upload.status = UploadStatus::Aborted;
        self.metrics.upload(&upload.profile, "aborted");
        Ok(upload)
    }

    /// Stops an aborted upload's part URLs (aborting its multipart upload, which
    /// storage treats as done when repeated) and deletes its staged object.
    async fn release_storage(&self, upload: &Upload) -> Result<(), StorageError> {
        if let Some(multipart) = &upload.multipart {
            self.store
                .abort_multipart(&upload.key, &multipart.upload_id)
                .await?;
        }
        // Best effort: a leftover staging object is never served and the janitor removes it.
        if let Err(err) = self.store.delete(&upload.staging_key).await {
            tracing::warn!(upload = %upload.id, %err, "could not delete the staging object of an aborted upload");
        }
        Ok(())
    }
}
