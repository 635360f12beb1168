//! The sweep, every `janitor.interval`: expire uploads that were abandoned
//! (verifying those whose bytes landed but whose client never said so), then
//! abort multipart uploads storage holds that no record owns. What happens to
//! each upload is the domain's (`Uploads::expire`, `Uploads::abort_orphans`).

use tokio::sync::watch;

use crate::db;
use crate::uploads::{Expiry, PURGE_GRACE, UploadError, Uploads};

/// Uploads handled per database round trip.
const PAGE: u32 = 100;

/// Client-sized uploads checked against their profile's size per sweep.
const OVERSIZED_LIMIT: u32 = 10_000;

/// Open multipart uploads (and staged objects) looked at per sweep; the rest
/// wait for the next one.
const RECONCILE_LIMIT: usize = 10_000;

/// How long settled webhook deliveries stay in the log.
const DELIVERY_LOG_KEPT: time::Duration = time::Duration::days(30);

/// Uploads deleted for retention per sweep; the rest wait for the next one.
const RETENTION_LIMIT: u32 = 10_000;

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sweep {
    /// Completions a crash cut short (their claim ran out unreleased),
    /// finished: completed or rejected.
    pub completions_finished: u32,
    pub expired: u32,
    /// Uploads past their deadline whose bytes had landed (their client never
    /// called `complete`, e.g. Uppy's form uploads): verified instead of expired.
    pub verified: u32,
    /// Storage calls that failed; the lifecycle rules or a later sweep catch up.
    pub cleanup_failures: u32,
    /// Multipart uploads in storage that no upload in progress owned, aborted.
    pub orphans_aborted: u32,
    /// Uploads in client-sized parts whose parts passed their profile's
    /// `max_size`, aborted.
    pub oversized_aborted: u32,
    /// Staged objects no upload in progress waits for, deleted.
    pub staged_deleted: u32,
    /// Whether the store could list its multipart uploads (the embedded one cannot).
    pub reconciled: bool,
    /// Completed uploads past their profile's `retain_for`, deleted.
    pub retention_deleted: u32,
    /// Deleted uploads whose objects were purged on a second try.
    pub purges_retried: u32,
    /// Replacements (`replace = true`) a completion recorded but did not finish.
    pub replacements_finished: u32,
}

/// Expires every upload past its deadline plus the grace period, then aborts
/// multipart uploads storage holds that no upload in progress owns.
pub async fn sweep(uploads: &Uploads) -> Result<Sweep, UploadError> {
    let mut report = Sweep::default();
    let (finished, failures) = uploads.finish_cut_short_completions(PAGE).await?;
    report.completions_finished = finished;
    report.cleanup_failures += failures;
    let cutoff = db::now() - uploads.config.janitor.grace;
    loop {
        let stale = uploads.stale(cutoff, PAGE).await?;
        let mut progressed = false;
        for upload in &stale {
            match uploads.expire(upload).await? {
                Expiry::Verified => report.verified += 1,
                Expiry::Expired { cleanup_failures } => {
                    report.expired += 1;
                    report.cleanup_failures += cleanup_failures;
                }
                Expiry::Left => continue,
            }
            progressed = true;
        }
        // A short page is the last; a page with no progress would repeat forever.
        if stale.len() < PAGE as usize || !progressed {
            break;
        }
    }
    let (oversized, failures) = uploads.abort_oversized(OVERSIZED_LIMIT).await?;
    report.oversized_aborted = oversized;
    report.cleanup_failures += failures;
    let (staged, failures) = uploads
        .delete_stale_staging(cutoff, RECONCILE_LIMIT)
        .await?;
    report.staged_deleted = staged;
    report.cleanup_failures += failures;
    // Scoped upload tokens that expired a day ago cannot be used any more.
    uploads
        .db
        .access()
        .drop_grants(db::now() - time::Duration::days(1))
        .await?;
    uploads
        .db
        .idempotency()
        .drop_keys(db::now() - crate::uploads::KEY_LIFETIME)
        .await?;
    uploads
        .db
        .webhooks()
        .drop_deliveries(db::now() - DELIVERY_LOG_KEPT)
        .await?;
    report.retention_deleted = uploads.delete_past_retention(RETENTION_LIMIT).await?;
    report.replacements_finished = uploads
        .finish_replacements(db::now() - PURGE_GRACE, PAGE)
        .await?;
    report.purges_retried = uploads.retry_purges(db::now() - PURGE_GRACE, PAGE).await?;
    let orphans = uploads.abort_orphans(cutoff, RECONCILE_LIMIT).await?;
    report.orphans_aborted = orphans.aborted;
    report.cleanup_failures += orphans.failures;
    report.reconciled = orphans.listed;
    Ok(report)
}

/// Sweeps every `interval` until `stop` turns true. A sweep cut short by `stop`
/// loses nothing: its claim expires and the next sweep, on any node, redoes it.
pub fn spawn(uploads: Uploads, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    let interval = uploads.config.janitor.interval;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                _ = stop.changed() => return,
            }
            let started = std::time::Instant::now();
            let result = tokio::select! {
                result = sweep(&uploads) => result,
                _ = stop.changed() => return,
            };
            uploads
                .metrics
                .janitor_seconds
                .observe(started.elapsed().as_secs_f64());
            match result {
                Ok(report)
                    if report.completions_finished > 0
                        || report.expired > 0
                        || report.verified > 0
                        || report.orphans_aborted > 0
                        || report.oversized_aborted > 0
                        || report.staged_deleted > 0
                        || report.retention_deleted > 0
                        || report.purges_retried > 0
                        || report.replacements_finished > 0 =>
                {
                    tracing::info!(
                        completions_finished = report.completions_finished,
                        expired = report.expired,
                        verified = report.verified,
                        orphans_aborted = report.orphans_aborted,
                        oversized_aborted = report.oversized_aborted,
                        staged_deleted = report.staged_deleted,
                        retention_deleted = report.retention_deleted,
                        purges_retried = report.purges_retried,
                        replacements_finished = report.replacements_finished,
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
