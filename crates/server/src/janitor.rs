//! Expires uploads that were abandoned and frees what they left in storage;
//! verifies those whose bytes landed but whose client never said so.
//!
//! Safe with several nodes sweeping at once: an upload is only expired after
//! taking its completion claim (so never while someone completes it) and through
//! a conditional transition (so exactly one node does it).

use std::time::Duration;

use tokio::sync::watch;
use uploadgate_api::UploadStatus;

use crate::app::AppState;
use crate::db::{self, DbError, Transition, Upload};
use crate::keys;
use crate::verify;

/// Uploads handled per database round trip.
const PAGE: u32 = 100;
/// The claim a sweep holds while it expires one upload.
const CLAIM: Duration = Duration::from_secs(60);

/// Open multipart uploads looked at per sweep; the rest wait for the next one.
const RECONCILE_LIMIT: usize = 10_000;

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sweep {
    pub expired: u32,
    /// Uploads past their deadline whose bytes had landed (their client never
    /// called `complete`, e.g. Uppy's form uploads): verified instead of expired.
    pub verified: u32,
    /// Storage calls that failed; the lifecycle rules or a later sweep catch up.
    pub cleanup_failures: u32,
    /// Multipart uploads in storage that no upload in progress owned, aborted.
    pub orphans_aborted: u32,
    /// Whether the store could list its multipart uploads (the embedded one cannot).
    pub reconciled: bool,
}

/// Expires every upload past its deadline plus the grace period, then aborts
/// multipart uploads storage holds that no upload in progress owns.
pub async fn sweep(state: &AppState) -> Result<Sweep, DbError> {
    let mut report = expire(state).await?;
    reconcile(state, &mut report).await?;
    Ok(report)
}

async fn expire(state: &AppState) -> Result<Sweep, DbError> {
    let mut report = Sweep::default();
    let cutoff = db::now() - state.config.janitor.grace;
    loop {
        let stale = state.db.stale(cutoff, PAGE).await?;
        let mut progressed = false;
        for upload in &stale {
            if completed_late(state, upload).await {
                progressed = true;
                report.verified += 1;
                continue;
            }
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

/// Completes a single-request upload whose object is in staging: its URL
/// has expired, so what is there is final, and the sender is owed the same
/// verification as if it had called `complete`. False: nothing landed, or
/// verification could not run now (expire it, or try again next sweep).
async fn completed_late(state: &AppState, upload: &Upload) -> bool {
    if upload.multipart.is_some() {
        // Parts are only assembled on request; nobody asked.
        return false;
    }
    match state.store.head(&upload.staging_key).await {
        Ok(Some(_)) => {}
        Ok(None) => return false,
        Err(err) => {
            tracing::warn!(upload = %upload.id, %err, "janitor: cannot look for a staged object");
            return false;
        }
    }
    match verify::complete_detached(state, upload.clone(), None).await {
        Ok(done) => {
            tracing::info!(upload = %upload.id, status = done.status.as_str(), "janitor: verified an upload its client never completed");
            done.status.is_final()
        }
        Err(err) => {
            tracing::warn!(upload = %upload.id, code = err.code(), "janitor: cannot verify a staged upload");
            false
        }
    }
}

/// Aborts the multipart uploads older than the grace period that uploadgate
/// started (their key ends in an upload id) but no upload in progress owns: a
/// crash between starting one and recording it, or an abort that failed. Other
/// applications' uploads in a shared bucket are left alone.
async fn reconcile(state: &AppState, report: &mut Sweep) -> Result<(), DbError> {
    let before = db::now() - state.config.janitor.grace;
    let open = match state
        .store
        .list_multipart_uploads(before, RECONCILE_LIMIT)
        .await
    {
        Ok(Some(open)) => open,
        Ok(None) => return Ok(()),
        Err(err) => {
            tracing::warn!(%err, "janitor: cannot list multipart uploads");
            report.cleanup_failures += 1;
            return Ok(());
        }
    };
    report.reconciled = true;
    for upload in open {
        if keys::upload_id(&upload.key).is_none()
            || state
                .db
                .multipart_in_progress(&upload.key, &upload.upload_id)
                .await?
        {
            continue;
        }
        match state
            .store
            .abort_multipart(&upload.key, &upload.upload_id)
            .await
        {
            Ok(()) => report.orphans_aborted += 1,
            Err(err) => {
                tracing::warn!(key = %upload.key, %err, "janitor: could not abort an orphaned multipart upload");
                report.cleanup_failures += 1;
            }
        }
    }
    Ok(())
}

/// Sweeps every `interval` until `stop` turns true. A sweep cut short by `stop`
/// loses nothing: its claim expires and the next sweep, on any node, redoes it.
pub fn spawn(state: AppState, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    let interval = state.config.janitor.interval;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                _ = stop.changed() => return,
            }
            let result = tokio::select! {
                result = sweep(&state) => result,
                _ = stop.changed() => return,
            };
            match result {
                Ok(report)
                    if report.expired > 0 || report.verified > 0 || report.orphans_aborted > 0 =>
                {
                    tracing::info!(
                        expired = report.expired,
                        verified = report.verified,
                        orphans_aborted = report.orphans_aborted,
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
