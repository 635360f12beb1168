//! Deleting an upload after it finished: the record becomes a tombstone
//! (`deleted`, with `deleted_at`) and storage loses every object made for it.
//!
//! The tombstone is committed first and the objects go after, so whatever
//! runs at the same moment sees the deletion: a processing job that wrote a
//! thumbnail or a quarantined copy meanwhile finds the tombstone when it
//! ends and purges again (`processing::worker`), and a purge that failed or
//! died half-way is retried by the janitor (`purged_at` stays empty until
//! every object is confirmed gone). Usage drops with the status (the quota
//! triggers count only uploads in progress or completed).

use uploadgate_api::{EventType, UploadStatus};

use super::announce::scrubbed;
use super::{UploadError, Uploads};
use crate::auth::{Principal, Via};
use crate::db::{self, Transition, Upload};
use crate::keys;

/// Why an upload was deleted: what the metrics and logs say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Its owner or the application asked.
    Requested,
    /// Its profile's `retain_for` ran out.
    Retention,
    /// A newer upload of the same user replaced it (`replace = true`).
    Replaced,
    /// Its user is being erased.
    Erasure,
}

impl Reason {
    fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Retention => "retention",
            Self::Replaced => "replaced",
            Self::Erasure => "erasure",
        }
    }
}

impl Uploads {
    /// `DELETE /v1/uploads/{id}` by `user`: as `delete`, except that a scoped
    /// upload token, which sends files and does not manage them, may only
    /// cancel the uploads it started.
    /// With `cancel_only` (a client cancelling a transfer), a finished
    /// upload is left alone and answers `Finished`: a cancel that loses a
    /// race with the completion must not delete the file.
    pub async fn delete_by(
        &self,
        user: &Principal,
        upload: Upload,
        cancel_only: bool,
    ) -> Result<Upload, UploadError> {
        let finished = !matches!(
            upload.status,
            UploadStatus::Pending | UploadStatus::Uploading | UploadStatus::Aborted
        );
        if cancel_only {
            // Aborts, or answers `Finished` for an upload that is (or just became) finished.
            return self.abort(upload).await;
        }
        if finished && matches!(user.via, Via::UploadToken(_)) {
            return Err(UploadError::NotPermitted(
                "an upload token cancels the uploads it started; deleting files takes the user's own credentials".into(),
            ));
        }
        self.delete(upload, Reason::Requested).await
    }

    /// `DELETE /v1/uploads/{id}` (owner already checked): an upload in
    /// progress is aborted (so a client cancelling a transfer keeps working
    /// as before), an aborted one stays aborted, and a completed, rejected or
    /// expired one becomes a tombstone. Deleting again only purges again.
    pub async fn delete(&self, upload: Upload, reason: Reason) -> Result<Upload, UploadError> {
        if !matches!(
            upload.status,
            UploadStatus::Pending | UploadStatus::Uploading | UploadStatus::Aborted
        ) {
            return self.delete_finished(upload, reason).await;
        }
        let (id, owner) = (upload.id, upload.owner.clone());
        match self.abort(upload).await {
            // A completion won the race: it is a file now, deleted as one.
            Err(UploadError::Finished(_)) => {
                let current = self
                    .db
                    .find(id, &owner)
                    .await?
                    .ok_or(UploadError::NotFound)?;
                self.delete_finished(current, reason).await
            }
            other => other,
        }
    }

    /// `delete` of an upload that is no longer in progress.
    async fn delete_finished(&self, upload: Upload, reason: Reason) -> Result<Upload, UploadError> {
        match upload.status {
            UploadStatus::Completed | UploadStatus::Rejected | UploadStatus::Expired => {
                self.tombstone(upload, reason).await
            }
            UploadStatus::Deleted => {
                self.purge(&upload, false).await?;
                Ok(upload)
            }
            // Statuses never go back to in progress; should one, ask again.
            UploadStatus::Pending | UploadStatus::Uploading | UploadStatus::Aborted => {
                Err(UploadError::ConcurrentUpdate)
            }
        }
    }

    pub(super) async fn tombstone(
        &self,
        mut upload: Upload,
        reason: Reason,
    ) -> Result<Upload, UploadError> {
        let now = db::now();
        let mut after = Upload {
            status: UploadStatus::Deleted,
            deleted_at: Some(now),
            ..upload.clone()
        };
        if reason == Reason::Erasure {
            // What an erasure announces keeps nothing personal either.
            after = scrubbed(&after);
        }
        let change = Transition::to(UploadStatus::Deleted, now)
            .announcing(self.announce(EventType::UploadDeleted, &after));
        if !self
            .db
            .transition(upload.id, upload.status, &change)
            .await?
        {
            // Only a deletion moves a finished upload: another one got there first.
            let current = self.db.get(upload.id).await?.ok_or(UploadError::NotFound)?;
            if current.status != UploadStatus::Deleted {
                return Err(UploadError::ConcurrentUpdate);
            }
            self.purge(&current, false).await?;
            return Ok(current);
        }
        upload.status = UploadStatus::Deleted;
        upload.deleted_at = Some(now);
        self.metrics.upload(&upload.profile, "deleted");
        tracing::info!(upload = %upload.id, reason = reason.as_str(), "upload deleted");
        if self.purge(&upload, false).await? {
            upload.purged_at = Some(db::now());
        }
        Ok(upload)
    }

    /// Removes every object a deleted upload may have in storage: the file,
    /// its staged copy, its quarantined copy and its thumbnails (recorded or
    /// not). True once all are confirmed gone and the tombstone says so; a
    /// failed deletion is logged and left to the janitor. With `scrub`, the
    /// tombstone then keeps nothing personal (an erasure).
    pub async fn purge(&self, upload: &Upload, scrub: bool) -> Result<bool, UploadError> {
        if upload.status != UploadStatus::Deleted {
            return Err(UploadError::Internal(format!(
                "purge of upload {} in state {}",
                upload.id,
                upload.status.as_str()
            )));
        }
        // A scrubbed tombstone keeps only its staging key, where a presigned
        // URL still valid may write after the erasure.
        let mut objects = vec![upload.staging_key.clone()];
        if !upload.key.is_empty() {
            objects.extend([upload.key.clone(), keys::quarantine_key(upload.id)]);
            objects.extend(keys::thumbnail_keys(
                &upload.key,
                &self.config.thumbnails.sizes,
            ));
            if let Some(processing) = &upload.processing {
                objects.extend(processing.thumbnails.iter().map(|t| t.key.clone()));
            }
        }
        objects.retain(|key| !key.is_empty());
        objects.sort();
        objects.dedup();
        let keys: Vec<&String> = objects.iter().collect();
        if self.delete_objects(upload, &keys).await > 0 {
            // Whatever an earlier purge recorded, something is back.
            self.db.deletions().reopen_purge(upload.id).await?;
            return Ok(false);
        }
        Ok(self
            .db
            .deletions()
            .settle_purge(upload.id, db::now(), scrub)
            .await?)
    }
}
