//! Runs erasures of users in the background: claims one under a lease,
//! erases it batch by batch (renewing the lease with each batch's progress)
//! until nothing it covers is left. A node that dies mid-erasure loses only
//! its lease; another node, or this one restarted, carries on.

use std::time::Duration;

use tokio::sync::watch;

use crate::db;
use crate::uploads::Uploads;

/// Uploads per batch: one lease renewal and one progress write each.
const BATCH: u32 = 100;

/// How long a runner holds an erasure without reporting progress.
const LEASE: Duration = Duration::from_secs(60);

/// How often idle runners look for an erasure another node was asked for.
const POLL: Duration = Duration::from_secs(5);

/// Pause before retrying uploads that had to wait (being completed).
const DEFERRED_PAUSE: Duration = Duration::from_secs(1);

pub fn spawn(uploads: Uploads, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while !*stop.borrow() {
            let now = db::now();
            let claimed = uploads.db.deletions().claim_erasure(now, now + LEASE).await;
            match claimed {
                Ok(Some(erasure)) => {
                    tokio::select! {
                        () = run(&uploads, erasure) => {}
                        _ = stop.changed() => return,
                    }
                }
                Ok(None) => {
                    tokio::select! {
                        () = uploads.work.notified() => {}
                        () = tokio::time::sleep(POLL) => {}
                        _ = stop.changed() => return,
                    }
                }
                Err(err) => {
                    tracing::warn!(%err, "cannot claim an erasure");
                    tokio::select! {
                        () = tokio::time::sleep(POLL) => {}
                        _ = stop.changed() => return,
                    }
                }
            }
        }
    })
}

/// Erases `erasure` to the end, or until its lease is lost.
async fn run(uploads: &Uploads, erasure: db::Erasure) {
    loop {
        let batch = match uploads.erase_batch(&erasure, BATCH).await {
            Ok(batch) => batch,
            Err(err) => {
                // Its lease runs out and a later claim carries on from here.
                tracing::warn!(erasure = %erasure.id, %err, "an erasure batch failed");
                return;
            }
        };
        let finished = batch.erased == 0 && batch.deferred == 0;
        if finished && let Err(err) = forget(uploads, &erasure).await {
            tracing::warn!(erasure = %erasure.id, %err, "cannot forget what an erased user left outside their uploads");
            return;
        }
        let now = db::now();
        match uploads
            .db
            .deletions()
            .record_erasure(&erasure, batch.erased, finished, now, now + LEASE)
            .await
        {
            Ok(true) if finished => {
                tracing::info!(erasure = %erasure.id, "erasure finished");
                return;
            }
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(erasure = %erasure.id, "lost an erasure's lease; leaving it to its new runner");
                return;
            }
            Err(err) => {
                tracing::warn!(erasure = %erasure.id, %err, "cannot record an erasure's progress");
                return;
            }
        }
        if batch.erased == 0 {
            tokio::time::sleep(DEFERRED_PAUSE).await;
        }
    }
}

/// What an erased user left outside their uploads: the Idempotency-Keys they
/// sent, and the webhook deliveries that carried their files' names and
/// metadata (the erasure's own `upload.deleted` ones, written without them, stay).
async fn forget(uploads: &Uploads, erasure: &db::Erasure) -> Result<(), db::DbError> {
    uploads
        .db
        .idempotency()
        .drop_keys_of(&erasure.owner)
        .await?;
    uploads
        .db
        .webhooks()
        .forget_deliveries_of(&erasure.owner, erasure.requested_at)
        .await
}
