//! The dead-letter queue, seen from its owner.

use uuid::Uuid;

use super::{UploadError, Uploads};
use crate::auth::Principal;
use crate::db;

impl Uploads {
    /// Queues one of the caller's dead-lettered jobs again, with fresh
    /// attempts; false when `id` is not a dead job of theirs.
    pub async fn retry_dead_job(&self, user: &Principal, id: &str) -> Result<bool, UploadError> {
        let Ok(id) = Uuid::parse_str(id) else {
            return Ok(false);
        };
        let queued = self.db.jobs().retry_dead(&user.user, id, db::now()).await?;
        if queued {
            self.work.notify_waiters();
        }
        Ok(queued)
    }
}
