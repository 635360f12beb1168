//! Per-user quotas, checked when an upload is created.
//!
//! Checked against the database, so every node sees the same usage. Two
//! creations racing past the same check can both land: a quota may be overshot
//! by what the rate limit lets through at once, never by more.

use super::{UploadError, Uploads};
use crate::db::{self, Upload, UsageQuery};

/// The window of `limits.max_bytes_per_day`.
const DAY: time::Duration = time::Duration::days(1);

impl Uploads {
    /// Refuses `upload` if recording it would take its owner over a quota.
    pub(super) async fn check_quota(&self, upload: &Upload) -> Result<(), UploadError> {
        let limits = &self.config.limits;
        if !limits.has_quotas() {
            return Ok(());
        }
        let query = UsageQuery {
            in_progress_up_to: limits.max_uploads_in_progress.unwrap_or(0),
            since: limits.max_bytes_per_day.map(|_| db::now() - DAY),
        };
        let usage = self.db.usage(&upload.owner, query).await?;
        // An undeclared size (Uppy) may become the profile's maximum: reserve that.
        let size = upload.size.unwrap_or(upload.reserved);
        if let Some(max) = limits.max_uploads_in_progress
            && usage.in_progress >= max
        {
            return Err(UploadError::QuotaExceeded(format!(
                "you have {} uploads in progress, the most allowed; complete or abort some first",
                usage.in_progress
            )));
        }
        if let Some(max) = limits.max_bytes_per_day
            && usage.bytes_last_day.saturating_add(size) > max
        {
            return Err(UploadError::QuotaExceeded(format!(
                "this upload ({size} bytes) would take you past {max} bytes in 24 hours \
             ({} used)",
                usage.bytes_last_day
            )));
        }
        if let Some(max) = limits.max_stored_bytes
            && usage.bytes_held.saturating_add(size) > max
        {
            return Err(UploadError::QuotaExceeded(format!(
                "this upload ({size} bytes) would take you past your {max} bytes of storage \
             ({} used)",
                usage.bytes_held
            )));
        }
        Ok(())
    }
}
