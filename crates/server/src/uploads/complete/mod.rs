//! Completion: check what actually landed in storage against what was declared,
//! then make it the upload's object, or reject it and delete it.
//!
//! Single uploads are replay-safe by verify-then-promote: presigned requests
//! only ever write to the upload's staging key, and the verified version is
//! copied to the final key under `x-amz-copy-source-if-match` with the ETag that
//! was checked. Replaying the URL afterwards rewrites staging, never the final
//! object. Multipart uploads write the final key directly: once storage has
//! assembled the parts, the upload id is gone and no part URL works any more.
//!
//! Steps: `claim` (one completer at a time), `single` or `multipart` (find
//! the object), `check` (size and sniffed type, then promote or reject), and
//! `finish` (record the outcome and queue post-processing).

mod check;
mod multipart;

use std::time::Duration;

use uploadgate_api::{CompletedPart, Processing, UploadStatus};

use super::{UploadError, Uploads};
use crate::db::{self, NewJob, Transition, Upload};
use crate::metrics::ProfileLabels;

/// How long one completion may hold an upload before another may take over
/// (a node that died mid-way). Assembling or copying large objects takes a while.
const COMPLETION_LEASE: Duration = Duration::from_secs(300);
/// How long a request waits for a concurrent completion before giving up.
const WAIT_FOR_OTHER: Duration = Duration::from_secs(25);
const POLL: Duration = Duration::from_millis(100);

enum Claim {
    Ours(Upload),
    SettledByAnother(Upload),
}

impl Uploads {
    /// Completes `upload` (its owner already checked), whichever door asked:
    /// verifies it and returns it `completed` or `rejected`. Completing twice
    /// gives the same answer.
    ///
    /// Runs in a task of its own: a client that hangs up mid-way (Ctrl-C, a
    /// dropped connection) does not cancel it, so the completion it started
    /// finishes and its claim is settled, instead of blocking every retry until
    /// the claim expires. The retry then finds the answer waiting.
    pub async fn complete(
        &self,
        upload: Upload,
        client_parts: Option<Vec<CompletedPart>>,
    ) -> Result<Upload, UploadError> {
        let this = self.clone();
        tokio::spawn(async move { this.complete_here(upload, client_parts.as_deref()).await })
            .await
            .map_err(|e| UploadError::Internal(format!("completion task failed: {e}")))?
    }

    async fn complete_here(
        &self,
        upload: Upload,
        client_parts: Option<&[CompletedPart]>,
    ) -> Result<Upload, UploadError> {
        match upload.status {
            UploadStatus::Completed | UploadStatus::Rejected => return Ok(upload),
            status if status.is_in_progress() => {}
            other => return Err(UploadError::NotPending(other)),
        }
        let upload = match self.claim(upload).await? {
            Claim::Ours(upload) => upload,
            Claim::SettledByAnother(upload) => return Ok(upload),
        };
        let id = upload.id;
        let result = match upload.multipart.clone() {
            Some(multipart) => {
                self.complete_multipart(upload, &multipart, client_parts)
                    .await
            }
            None => self.complete_single(upload).await,
        };
        if result.is_err() {
            // Let a retry (this client's or another node's) start over at once.
            if let Err(err) = self.db.release_completion(id).await {
                tracing::warn!(upload = %id, %err, "could not release a completion claim");
            }
        }
        result
    }

    /// Takes the upload's completion claim in the database, so that two requests or
    /// nodes never assemble, verify or delete the same object at once. Whoever does
    /// not get it waits for the other's outcome and returns that.
    async fn claim(&self, mut upload: Upload) -> Result<Claim, UploadError> {
        let deadline = tokio::time::Instant::now() + WAIT_FOR_OTHER;
        loop {
            let now = db::now();
            if self
                .db
                .claim_completion(upload.id, now, now + COMPLETION_LEASE)
                .await?
            {
                return Ok(Claim::Ours(upload));
            }
            tokio::time::sleep(POLL).await;
            upload = self
                .db
                .find(upload.id, &upload.owner)
                .await?
                .ok_or(UploadError::NotFound)?;
            match upload.status {
                UploadStatus::Completed | UploadStatus::Rejected => {
                    return Ok(Claim::SettledByAnother(upload));
                }
                status if status.is_in_progress() => {}
                other => return Err(UploadError::NotPending(other)),
            }
            if tokio::time::Instant::now() > deadline {
                return Err(UploadError::CompletionInProgress);
            }
        }
    }

    async fn complete_single(&self, upload: Upload) -> Result<Upload, UploadError> {
        let Some(head) = self.store.head(&upload.staging_key).await? else {
            // A previous attempt may have promoted the object and died before recording it.
            if self.store.head(&upload.key).await?.is_some() {
                return self
                    .finish(upload, UploadStatus::Completed, None, None)
                    .await;
            }
            return Err(UploadError::NothingUploaded);
        };
        let staging = upload.staging_key.clone();
        self.check_and_finish(upload, &staging, head).await
    }

    /// Records the outcome unless another request recorded a final one first, whose
    /// outcome wins. A concurrent non-final move (pending to uploading, when a part is
    /// signed meanwhile) is retried from the state it left.
    async fn finish(
        &self,
        mut upload: Upload,
        to: UploadStatus,
        reject_reason: Option<String>,
        size: Option<u64>,
    ) -> Result<Upload, UploadError> {
        let change = Transition {
            to,
            at: db::now(),
            reject_reason: reject_reason.clone(),
            // Only fills in a size nobody declared; a declared one was just checked equal.
            size: size.filter(|_| upload.size.is_none()),
            enqueue: (to == UploadStatus::Completed)
                .then(|| NewJob::pipeline(self.config.processors(&upload.profile)))
                .flatten(),
        };
        for _ in 0..3 {
            if self
                .db
                .transition(upload.id, upload.status, &change)
                .await?
            {
                self.metrics.upload(&upload.profile, to.as_str());
                if let (UploadStatus::Completed, Some(bytes)) = (to, upload.size.or(change.size)) {
                    self.metrics
                        .bytes_completed
                        .get_or_create(&ProfileLabels {
                            profile: upload.profile.clone(),
                        })
                        .inc_by(bytes);
                }
                if change.enqueue.is_some() {
                    upload.processing = Some(Processing::started());
                    self.work.notify_waiters();
                }
                upload.status = to;
                upload.reject_reason = reject_reason;
                if upload.size.is_none() {
                    upload.size = change.size;
                }
                if to == UploadStatus::Completed {
                    upload.completed_at = Some(change.at);
                }
                return Ok(upload);
            }
            upload = self
                .db
                .find(upload.id, &upload.owner)
                .await?
                .ok_or(UploadError::NotFound)?;
            if upload.status.is_final() {
                return Ok(upload);
            }
        }
        Err(UploadError::ConcurrentUpdate)
    }
}
