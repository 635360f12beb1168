//! An upload whose multipart upload storage no longer holds, although its
//! record says it is still being sent: storage assembled it (by a completion
//! that died before recording the outcome) or dropped it (aborted, expired).
//! An assembled object is verified and the upload completed (or rejected)
//! then and there, by whoever finds it: a status read, a part signing, the
//! janitor. Nobody has to call `complete` again, and a client resuming from
//! the parts storage holds does not wait for parts it can never send.

use super::{UploadError, Uploads};
use crate::db::Upload;

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
}
