//! Completion: check what actually landed in storage against what was declared,
//! then make it the upload's object, or reject it and delete it.
//!
//! What is checked is the object at the upload's final key, which only
//! uploadgate writes: presigned requests write a single upload to its staging
//! key, which completion copies to the final key before checking the copy, so
//! a second PUT racing the completion changes nothing that was checked (on
//! any store, whether it honours `x-amz-copy-source-if-match` or not), and a
//! replayed URL rewrites staging, never the final object. Multipart uploads
//! are assembled at the final key by storage, on uploadgate's request alone;
//! once assembled, the upload id is gone and no part URL works any more.
//!
//! Every step can be interrupted by a crash and redone: an object already at
//! the final key (copied or assembled by a completion that died) is checked
//! and recorded like a new one. The claim that keeps two completers apart is
//! a short lease its holder renews, so a dead holder's is taken over within
//! `COMPLETION_LEASE`.
//!
//! Steps: `claim` (one completer at a time), `single` or `multipart` (bring
//! the object to the final key), `check` (size and sniffed type of what is
//! there: keep it or reject and delete it), and `finish` (record the outcome
//! and queue post-processing).

mod check;
mod multipart;

use std::time::Duration;

use uploadgate_api::{CompletedPart, EventType, Processing, UploadStatus};

use uuid::Uuid;

use super::{UploadError, Uploads};
use crate::db::{self, NewJob, Transition, Upload};
use crate::lease;
use crate::metrics::ProfileLabels;

/// How long a completion holds an upload without renewing its claim; a node
/// that died mid-way is taken over after at most this long. A live one
/// renews it (assembling or copying a large object takes longer).
pub const COMPLETION_LEASE: Duration = Duration::from_secs(20);
/// How long a request waits for a concurrent completion before giving up.
const WAIT_FOR_OTHER: Duration = Duration::from_secs(25);
const POLL: Duration = Duration::from_millis(100);

enum Claim {
    /// Ours, under this token.
    Ours(Upload, Uuid),
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
        let (upload, token) = match self.claim(upload).await? {
            Claim::Ours(upload, token) => (upload, token),
            Claim::SettledByAnother(upload) => return Ok(upload),
        };
        let (id, owner) = (upload.id, upload.owner.clone());
        let work = async {
            match upload.multipart.clone() {
                Some(multipart) => {
                    self.complete_multipart(upload, &multipart, client_parts, token)
                        .await
                }
                None => self.complete_single(upload, token).await,
            }
        };
        let result = tokio::select! {
            biased;
            result = work => result,
            lost = lease::keep(format!("completion of {id}"), COMPLETION_LEASE, |until| {
                self.db.renew_completion(id, token, until)
            }) => {
                tracing::warn!(upload = %id, %lost, "stopped completing: the claim was lost");
                // Lost to another completer (this one stalled past the lease):
                // stop here and let its outcome stand.
                let now = self.db.find(id, &owner).await?.ok_or(UploadError::NotFound)?;
                return if now.status.is_final() {
                    Ok(now)
                } else {
                    tracing::warn!(upload = %id, "lost a completion claim to another completer");
                    Err(UploadError::CompletionInProgress)
                };
            }
        };
        match result {
            Ok(upload) if upload.status == UploadStatus::Completed => {
                Ok(self.replace_previous(upload.clone()).await.unwrap_or_else(|err| {
                    // The new file is there; the old one stays until deleted.
                    tracing::warn!(upload = %id, %err, "could not replace a user's earlier upload");
                    upload
                }))
            }
            Ok(upload) => Ok(upload),
            Err(err) => {
                // Let a retry (this client's or another node's) start over at once.
                if let Err(err) = self.db.release_completion(id, token).await {
                    tracing::warn!(upload = %id, %err, "could not release a completion claim");
                }
                Err(err)
            }
        }
    }

    /// Renews the claim right before a step that cannot be undone (deleting
    /// an object): one that stalled past its lease must not act.
    async fn confirm_claim(&self, id: Uuid, token: Uuid) -> Result<(), UploadError> {
        let until = db::now() + COMPLETION_LEASE;
        if self.db.renew_completion(id, token, until).await? {
            Ok(())
        } else {
            Err(UploadError::CompletionInProgress)
        }
    }

    /// Takes the upload's completion claim in the database, so that two requests or
    /// nodes never assemble, verify or delete the same object at once. Whoever does
    /// not get it waits for the other's outcome and returns that.
    async fn claim(&self, mut upload: Upload) -> Result<Claim, UploadError> {
        let deadline = tokio::time::Instant::now() + WAIT_FOR_OTHER;
        loop {
            let now = db::now();
            let token = Uuid::new_v4();
            if self
                .db
                .claim_completion(upload.id, token, now, now + COMPLETION_LEASE)
                .await?
            {
                return Ok(Claim::Ours(upload, token));
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

    /// A single-request upload: its staged object, copied to the final key
    /// and checked there.
    async fn complete_single(&self, upload: Upload, token: Uuid) -> Result<Upload, UploadError> {
        // Promoted by a completion that died before recording it: check what is there.
        if let Some(head) = self.store.head(&upload.key).await? {
            return self.check_and_finish(upload, head, token).await;
        }
        let Some(staged) = self.store.head(&upload.staging_key).await? else {
            return Err(UploadError::NothingUploaded);
        };
        // A size that cannot pass is refused before paying for a copy.
        if let Some(reason) = self.size_problem(&upload, staged.size) {
            return self.reject(upload, reason, token).await;
        }
        let sse = self.config.encryption(&upload.profile);
        self.store
            .copy(&upload.staging_key, &upload.key, &staged.etag, sse.as_ref())
            .await?;
        let head =
            self.store.head(&upload.key).await?.ok_or_else(|| {
                UploadError::Internal("object missing right after copying it".into())
            })?;
        self.check_and_finish(upload, head, token).await
    }

    /// Records the outcome, if `token` still holds the claim, unless another
    /// request recorded a final one first, whose outcome wins. A concurrent
    /// non-final move (pending to uploading, when a part is signed meanwhile)
    /// is retried from the state it left.
    async fn finish(
        &self,
        mut upload: Upload,
        to: UploadStatus,
        reject_reason: Option<String>,
        size: Option<u64>,
        token: Uuid,
    ) -> Result<Upload, UploadError> {
        let mut change = Transition {
            to,
            at: db::now(),
            reject_reason: reject_reason.clone(),
            // Only fills in a size nobody declared; a declared one was just checked equal.
            size: size.filter(|_| upload.size.is_none()),
            enqueue: (to == UploadStatus::Completed)
                .then(|| NewJob::pipeline(self.config.processors(&upload.profile)))
                .flatten(),
            claim: Some(token),
            announce: Vec::new(),
            replace_pending: to == UploadStatus::Completed && self.replaces(&upload.profile),
        };
        for _ in 0..3 {
            let after = settled(&upload, &change);
            let event = match to {
                UploadStatus::Completed => Some(EventType::UploadCompleted),
                UploadStatus::Rejected => Some(EventType::UploadRejected),
                _ => None,
            };
            change.announce = event.map_or_else(Vec::new, |e| self.announce(e, &after));
            if self
                .db
                .transition(upload.id, upload.status, &change)
                .await?
            {
                self.metrics.upload(&upload.profile, to.as_str());
                if let (UploadStatus::Completed, Some(bytes)) = (to, after.size) {
                    self.metrics
                        .bytes_completed
                        .get_or_create(&ProfileLabels {
                            profile: upload.profile.clone(),
                        })
                        .inc_by(bytes);
                }
                if change.enqueue.is_some() {
                    self.work.notify_waiters();
                }
                return Ok(after);
            }
            let before = upload.status;
            upload = self
                .db
                .find(upload.id, &upload.owner)
                .await?
                .ok_or(UploadError::NotFound)?;
            if upload.status.is_final() {
                return Ok(upload);
            }
            if upload.status == before {
                // Same state, yet no change: the claim is no longer ours.
                return Err(UploadError::CompletionInProgress);
            }
        }
        Err(UploadError::ConcurrentUpdate)
    }
}

/// `upload` as `change` leaves it.
fn settled(upload: &Upload, change: &Transition) -> Upload {
    let mut after = upload.clone();
    after.status = change.to;
    after.reject_reason = change.reject_reason.clone().or(after.reject_reason);
    after.size = after.size.or(change.size);
    if change.to == UploadStatus::Completed {
        after.completed_at = Some(change.at);
    }
    if change.enqueue.is_some() {
        after.processing = Some(Processing::started());
    }
    after
}
