//! What a profile keeps: `retain_for` (the janitor deletes completed uploads
//! older than that) and `replace` (a user's newest upload of the profile
//! replaces the earlier ones). Both delete as `DELETE /v1/uploads/{id}` does.

use std::time::Duration;

use time::OffsetDateTime;
use uploadgate_api::UploadStatus;

use super::{Reason, UploadError, Uploads};
use crate::db::{self, ListFilter, Page, Upload};

/// Completed uploads of one user and profile looked at per replacement:
/// normally there is one (the one replaced).
const REPLACE_PAGE: u32 = 100;

/// How long a tombstone's purge is left to the request that deleted it
/// before the janitor tries again.
pub const PURGE_GRACE: Duration = Duration::from_secs(60);

impl Uploads {
    /// Deletes up to `limit` completed uploads that their profile's
    /// `retain_for` no longer keeps; returns how many.
    pub async fn delete_past_retention(&self, limit: u32) -> Result<u32, UploadError> {
        let mut deleted = 0;
        for (name, profile) in &self.config.profiles {
            let Some(keep) = profile.retain_for else {
                continue;
            };
            let filter = ListFilter {
                status: Some(UploadStatus::Completed),
                profile: Some(name.clone()),
                created_until: Some(db::now() - keep),
                page: Page {
                    before: None,
                    limit: limit.saturating_sub(deleted),
                },
                ..ListFilter::default()
            };
            if filter.page.limit == 0 {
                break;
            }
            for upload in self.db.list(None, &filter).await? {
                match self.delete(upload, Reason::Retention).await {
                    Ok(_) => deleted += 1,
                    // Deleted by someone else meanwhile: nothing left to do.
                    Err(UploadError::ConcurrentUpdate) => {}
                    Err(err) => return Err(err),
                }
            }
        }
        Ok(deleted)
    }

    /// After `completed` (just recorded) when its profile has `replace`: the
    /// user's newest upload of the profile, by creation, is the one kept.
    /// Earlier ones are deleted; so is `completed` itself if a newer one
    /// completed first. Two completions at once agree: the one that looks
    /// last sees both. Returns `completed` as it now stands.
    pub(super) async fn replace_previous(&self, completed: Upload) -> Result<Upload, UploadError> {
        if !self.replaces(&completed.profile) {
            return Ok(completed);
        }
        let filter = ListFilter {
            status: Some(UploadStatus::Completed),
            profile: Some(completed.profile.clone()),
            page: Page {
                before: None,
                limit: REPLACE_PAGE,
            },
            ..ListFilter::default()
        };
        let others: Vec<Upload> = self
            .db
            .list(Some(&completed.owner), &filter)
            .await?
            .into_iter()
            .filter(|u| u.id != completed.id)
            .collect();
        let superseded = others.iter().any(|u| u.id > completed.id);
        for older in others.into_iter().filter(|u| u.id < completed.id) {
            match self.delete(older, Reason::Replaced).await {
                Ok(_) | Err(UploadError::ConcurrentUpdate) => {}
                Err(err) => return Err(err),
            }
        }
        let now = if superseded {
            self.delete(completed, Reason::Replaced).await?
        } else {
            completed
        };
        self.db.deletions().settle_replacement(now.id).await?;
        Ok(now)
    }

    /// Finishes replacements a completion recorded but did not get to (it
    /// crashed, or storage failed), for uploads completed before `before`;
    /// returns how many were finished.
    pub async fn finish_replacements(
        &self,
        before: OffsetDateTime,
        limit: u32,
    ) -> Result<u32, UploadError> {
        let mut done = 0;
        for completed in self
            .db
            .deletions()
            .pending_replacements(before, limit)
            .await?
        {
            if self.replaces(&completed.profile) {
                self.replace_previous(completed).await?;
            } else {
                // The profile no longer asks for it.
                self.db.deletions().settle_replacement(completed.id).await?;
            }
            done += 1;
        }
        Ok(done)
    }

    /// Purges again tombstones deleted before `before` whose objects were
    /// not confirmed gone (a storage failure, or a crash between the deletion
    /// and its purge); returns how many are now clean.
    pub async fn retry_purges(
        &self,
        before: OffsetDateTime,
        limit: u32,
    ) -> Result<u32, UploadError> {
        let mut purged = 0;
        let pending = self.db.deletions().unpurged(before, limit).await?;
        for tombstone in pending {
            if self.purge(&tombstone, false).await? {
                purged += 1;
            }
        }
        Ok(purged)
    }
}
