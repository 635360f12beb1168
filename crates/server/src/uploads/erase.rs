//! Erasing a user (a right-to-erasure request): every upload they had when it
//! was asked for, in every state, is deleted and its tombstone stripped of
//! anything personal. It runs in the background (`crate::erasures`) in
//! bounded batches under a lease, so it survives a crash and shows progress.

use uploadgate_api::{JobState, UploadStatus};
use uuid::Uuid;

use super::{Reason, UploadError, Uploads};
use crate::db::{self, Erasure, Upload};

/// Uploads counted for an erasure's progress, at most: a count that costs no
/// more than a few batches.
const COUNT_UP_TO: u32 = 10_000;

/// An erasure and how far it got.
#[derive(Debug, Clone)]
pub struct ErasureProgress {
    pub erasure: Erasure,
    /// Uploads still to erase (up to `COUNT_UP_TO`).
    pub remaining: u64,
}

/// What one batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Batch {
    /// Uploads looked at.
    pub seen: u32,
    pub erased: u64,
    /// Uploads left for a later pass: being completed or processed at that
    /// moment, or their objects could not be deleted yet.
    pub deferred: u64,
    /// The last upload looked at: where the next batch of this pass starts.
    pub last: Option<Uuid>,
}

impl Uploads {
    /// Starts erasing `user` (or moves the cutoff of the erasure of `user`
    /// still running to now).
    pub async fn request_erasure(&self, user: &str) -> Result<ErasureProgress, UploadError> {
        let erasure = self.db.deletions().request_erasure(user, db::now()).await?;
        tracing::info!(erasure = %erasure.id, "erasure of a user requested");
        self.work.notify_waiters();
        self.progress(erasure).await
    }

    pub async fn erasure(&self, id: &str) -> Result<ErasureProgress, UploadError> {
        let id = Uuid::parse_str(id).map_err(|_| UploadError::NoSuch("erasure"))?;
        let erasure = self
            .db
            .deletions()
            .erasure(id)
            .await?
            .ok_or(UploadError::NoSuch("erasure"))?;
        self.progress(erasure).await
    }

    async fn progress(&self, erasure: Erasure) -> Result<ErasureProgress, UploadError> {
        let remaining = if erasure.finished_at.is_some() {
            0
        } else {
            self.db
                .deletions()
                .count_to_erase(&erasure, COUNT_UP_TO)
                .await?
        };
        Ok(ErasureProgress { erasure, remaining })
    }

    /// Erases up to `size` of the uploads `erasure` still has to erase,
    /// those after `after` in id order.
    pub async fn erase_batch(
        &self,
        erasure: &Erasure,
        after: Option<Uuid>,
        size: u32,
    ) -> Result<Batch, UploadError> {
        let mut batch = Batch::default();
        for upload in self
            .db
            .deletions()
            .still_to_erase(erasure, after, size)
            .await?
        {
            batch.seen += 1;
            batch.last = Some(upload.id);
            if self.erase_one(upload).await? {
                batch.erased += 1;
            } else {
                batch.deferred += 1;
            }
        }
        Ok(batch)
    }

    /// False when `upload` must wait for a later batch.
    async fn erase_one(&self, upload: Upload) -> Result<bool, UploadError> {
        let upload = match upload.status {
            UploadStatus::Pending | UploadStatus::Uploading => match self.abort(upload).await {
                Ok(aborted) => aborted,
                // Completing right now, or it moved on: the next batch sees where it ended.
                Err(
                    UploadError::CompletionInProgress
                    | UploadError::ConcurrentUpdate
                    | UploadError::Finished(_),
                ) => return Ok(false),
                Err(err) => return Err(err),
            },
            _ => upload,
        };
        let tombstone = match upload.status {
            UploadStatus::Deleted => upload,
            _ => match self.tombstone(upload, Reason::Erasure).await {
                Ok(tombstone) => tombstone,
                Err(UploadError::ConcurrentUpdate) => return Ok(false),
                Err(err) => return Err(err),
            },
        };
        // A job still running may write to storage after this purge; it
        // purges again when it ends, which needs the keys a scrub would
        // take. So the scrub waits for a later batch. (The deletion dropped
        // the queued ones.)
        let jobs = self.db.jobs().jobs_of(tombstone.id).await?;
        if jobs.iter().any(|job| job.state == JobState::Running) {
            self.purge(&tombstone, false).await?;
            return Ok(false);
        }
        self.purge(&tombstone, true).await
    }
}
