//! Runs erasures of users in the background: claims one under a lease,
//! erases it batch by batch (renewing the lease with each batch's progress)
//! until nothing it covers is left. A node that dies mid-erasure loses only
//! its lease; another node, or this one restarted, carries on.

use std::time::Duration;

use tokio::sync::watch;

use crate::db;
use crate::uploads::Uploads;

/// Uploads per batch: one lease renewal and one progress write each. Each
/// upload takes about ten storage calls, so a batch fits the lease even
/// against a slow store.
const BATCH: u32 = 10;

/// How long a runner holds an erasure without reporting progress: what a
/// node that dies mid-erasure delays it by.
const LEASE: Duration = Duration::from_secs(60);

/// How long after its (latest) request an erasure may end: an upload created
/// just before may still be on its way into the database (inserts are
/// grouped).
const SETTLE: Duration = Duration::from_secs(2);

/// How often idle runners look for an erasure another node was asked for.
const POLL: Duration = Duration::from_secs(5);

/// Pause before another pass over uploads that had to wait (being
/// completed or processed), or for the request to settle.
const PAUSE: Duration = Duration::from_millis(500);

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

/// Erases `erasure` to the end, or until its lease is lost. It goes through
/// the uploads in passes, in id order; it ends after a pass from the start
/// finds nothing left.
async fn run(uploads: &Uploads, claimed: db::Erasure) {
    let mut after = None;
    loop {
        // Asking again moves the cutoff: read it afresh.
        let erasure = match uploads.db.deletions().erasure(claimed.id).await {
            Ok(Some(current)) => db::Erasure {
                lease: claimed.lease,
                ..current
            },
            Ok(None) => return,
            Err(err) => {
                tracing::warn!(erasure = %claimed.id, %err, "cannot read an erasure");
                return;
            }
        };
        let batch = match uploads.erase_batch(&erasure, after, BATCH).await {
            Ok(batch) => batch,
            Err(err) => {
                // Its lease runs out and a later claim carries on from here.
                tracing::warn!(erasure = %erasure.id, %err, "an erasure batch failed");
                return;
            }
        };
        let settled = db::now() - erasure.requested_at >= SETTLE;
        let finished = after.is_none() && batch.seen == 0 && settled;
        let pass_over = batch.seen < BATCH;
        after = if pass_over { None } else { batch.last };
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
        if pass_over && batch.erased == 0 {
            // A pass that moved nothing: what is left is waiting on something.
            tokio::time::sleep(PAUSE).await;
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
        .forget_deliveries_of(&erasure.owner)
        .await
}
