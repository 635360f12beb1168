//! Storage says an object was created: complete the upload it belongs to,
//! exactly as if its client had called `complete` (which it may never do).

use super::{UploadError, Uploads};

/// What one "object created" notification did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOutcome {
    /// It completed (or had completed) an upload.
    Applied,
    /// It matched no upload in progress, or one whose own completion decides.
    Ignored,
}

impl Uploads {
    /// Completes the upload whose final or staging key is `key` in `bucket`
    /// (or Azure container).
    /// Duplicate, late and unrelated events are harmless: they match nothing
    /// or an upload already settled. Fails only when storage or the database
    /// is down, so that the sender delivers the event again.
    pub async fn object_created(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<EventOutcome, UploadError> {
        let (ours, prefix) = self.config.store_location();
        if bucket != ours {
            return Ok(EventOutcome::Ignored);
        }
        let Some(key) = key.strip_prefix(prefix) else {
            return Ok(EventOutcome::Ignored);
        };
        let Some(upload) = self.db.find_by_stored_key(key).await? else {
            return Ok(EventOutcome::Ignored);
        };
        if !(upload.status.is_in_progress()
            || upload.status == uploadgate_api::UploadStatus::Completed)
        {
            return Ok(EventOutcome::Ignored);
        }
        let id = upload.id;
        match self.complete(upload, None).await {
            Ok(_) => Ok(EventOutcome::Applied),
            Err(err) if err.is_server_side() => Err(err),
            // An event older than the upload's state (its object since replaced
            // or gone): the upload's own completion decides.
            Err(err) => {
                tracing::info!(upload = %id, reason = %err, "storage event not applied");
                Ok(EventOutcome::Ignored)
            }
        }
    }
}
