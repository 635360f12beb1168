//! Expires uploads that were abandoned and frees what they left in storage.
//!
//! Safe with several nodes sweeping at once: an upload is only expired after
//! taking its completion claim (so never while someone completes it) and through
//! a conditional transition (so exactly one node does it).

use std::time::Duration;

use tokio::sync::watch;
use uploadgate_api::UploadStatus;

use crate::app::AppState;
use crate::db::{self, DbError, Transition};

/// Uploads handled per database round trip.
const PAGE: u32 = 100;
/// The claim a sweep holds while it expires one upload.
const CLAIM: Duration = Duration::from_secs(60);

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sweep {
    pub expired: u32,
    /// Storage calls that failed; the lifecycle rules or a later sweep catch up.
    pub cleanup_failures: u32,
}

/// Expires every upload past its deadline plus the grace period.
pub async fn sweep(state: &AppState) -> Result<Sweep, DbError> {
    let mut report = Sweep::default();
    let cutoff = db::now() - state.config.janitor.grace;
    loop {
        let stale = state.db.stale(cutoff, PAGE).await?;
        let mut progressed = false;
        for upload in &stale {
            let now = db::now();
            // Someone is completing it right now: leave it to them.
            if !state
                .db
                .claim_completion(upload.id, now, now + CLAIM)
                .await?
            {
                continue;
            }
            let change = Transition::to(UploadStatus::Expired, now);
            if !state
                .db
                .transition(upload.id, upload.status, &change)
                .await?
            {
                state.db.release_completion(upload.id).await?;
                continue;
            }
            progressed = true;
            report.expired += 1;
            state.metrics.upload(&upload.profile, "expired");
            if let Some(multipart) = &upload.multipart
                && let Err(err) = state
                    .store
                    .abort_multipart(&upload.key, &multipart.upload_id)
                    .await
            {
                tracing::warn!(upload = %upload.id, %err, "janitor: could not abort a multipart upload");
                report.cleanup_failures += 1;
            }
            if let Err(err) = state.store.delete(&upload.staging_key).await {
                tracing::warn!(upload = %upload.id, %err, "janitor: could not delete a staged object");
                report.cleanup_failures += 1;
            }
        }
        // A short page is the last; a page with no progress would repeat forever.
        if stale.len() < PAGE as usize || !progressed {
            return Ok(report);
        }
    }
}

/// Sweeps every `interval` until `stop` turns true.
pub fn spawn(state: AppState, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    let interval = state.config.janitor.interval;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                _ = stop.changed() => return,
            }
            match sweep(&state).await {
                Ok(report) if report.expired > 0 => {
                    tracing::info!(
                        expired = report.expired,
                        cleanup_failures = report.cleanup_failures,
                        "janitor sweep"
                    );
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(%err, "janitor sweep failed"),
            }
        }
    })
}
