//! An upload whose multipart upload storage no longer holds, although its
//! record says it is still being sent: storage assembled it (by a completion
//! that died before recording the outcome) or dropped it (aborted, expired).
//! An assembled object is verified and the upload completed (or rejected)
//! then and there, by whoever finds it: a status read, a Companion part
//! signing, or the janitor, which finishes every completion whose claim ran
//! out unreleased. Nobody has to call `complete` again, and a client resuming from
//! the parts storage holds does not wait for parts it can never send.

use super::{UploadError, Uploads};
use crate::db::{self, Upload};

impl Uploads {
    /// Called when storage answered "no such multipart upload" for `upload`:
    /// the upload completed or rejected when its object is at the final key,
    /// `None` when storage holds nothing of it (it cannot be resumed; the
    /// janitor expires it).
    pub(super) async fn converge(&self, upload: &Upload) -> Result<Option<Upload>, UploadError> {
        if !upload.status.is_in_progress() || upload.multipart.is_none() {
            return Ok(None);
        }
        // Only storage's assembly writes the final key of a multipart upload.
        if self.store.head(&upload.key).await?.is_none() {
            return Ok(None);
        }
        tracing::info!(upload = %upload.id, "storage assembled an upload nobody recorded: verifying it now");
        // The completion that sees the object there verifies it like any other.
        Ok(Some(self.complete(upload.clone(), None).await?))
    }

    /// Finishes up to `limit` completions a crash cut short, for uploads
    /// nobody asks about any more: their claim ran out unreleased, so their
    /// completer died, perhaps after storage assembled the object. Each is
    /// completed as its client asked (an object already at the final key is
    /// verified, not assembled again). Returns how many ended completed or
    /// rejected, and how many could not be finished (each logged; its claim
    /// is released, so it is not tried again until someone completes it).
    pub async fn finish_cut_short_completions(
        &self,
        limit: u32,
    ) -> Result<(u32, u32), UploadError> {
        let (mut finished, mut failed) = (0, 0);
        for upload in self.db.cut_short_completions(db::now(), limit).await? {
            let id = upload.id;
            match self.complete(upload, None).await {
                Ok(done) => {
                    tracing::info!(upload = %id, status = done.status.as_str(), "janitor: finished a completion a crash cut short");
                    finished += 1;
                }
                Err(err) => {
                    tracing::warn!(upload = %id, %err, "janitor: cannot finish a completion a crash cut short");
                    failed += 1;
                }
            }
        }
        Ok((finished, failed))
    }
}
