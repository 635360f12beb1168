//! Keeping a lease while its work runs, the one way every holder does it: a
//! completion's claim on an upload, and a worker's on a job.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use time::OffsetDateTime;

use crate::db::{self, DbError};

/// Why a holder stopped holding its lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lost {
    /// Another holder has it: this one stalled past it.
    TakenOver,
    /// It ran out while the database could not be reached to renew it, so
    /// another holder may take it any moment.
    RanOut,
}

impl Display for Lost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Lost::TakenOver => "taken over by another holder",
            Lost::RanOut => "ran out while the database could not renew it",
        })
    }
}

/// Renews a lease of `length` through `renew` (given the new expiry; false
/// once the lease is no longer ours) at every quarter of its length, and
/// returns only when it is lost. A renewal that fails is tried again at the
/// next quarter: until the lease runs out nobody else can take the work, so
/// a database hiccup is no reason to stop, and three may fail in a row.
pub async fn keep<F, Fut>(subject: impl Display, length: Duration, mut renew: F) -> Lost
where
    F: FnMut(OffsetDateTime) -> Fut,
    Fut: Future<Output = Result<bool, DbError>>,
{
    let mut held_until = db::now() + length;
    loop {
        tokio::time::sleep(length / 4).await;
        let now = db::now();
        let until = now + length;
        // A renewal waiting on the database past the lease must not let the
        // work run on while another holder may have taken it.
        let left = Duration::try_from(held_until - now).unwrap_or_default();
        match tokio::time::timeout(left, renew(until)).await {
            Ok(Ok(true)) => held_until = until,
            Ok(Ok(false)) => return Lost::TakenOver,
            Ok(Err(err)) => tracing::warn!(%subject, %err, "cannot renew a lease"),
            Err(_) => tracing::warn!(%subject, "a lease renewal outlasted the lease"),
        }
        if db::now() >= held_until {
            return Lost::RanOut;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    const LENGTH: Duration = Duration::from_millis(200);

    #[tokio::test]
    async fn a_lease_is_held_through_failed_renewals_until_it_runs_out() {
        let tries = AtomicU32::new(0);
        let started = std::time::Instant::now();
        let lost = keep("test", LENGTH, |_| {
            tries.fetch_add(1, Ordering::Relaxed);
            async { Err(DbError::Invalid("down".into())) }
        })
        .await;
        assert_eq!(lost, Lost::RanOut);
        assert!(started.elapsed() >= LENGTH);
        assert!(
            tries.load(Ordering::Relaxed) >= 3,
            "gave up before the lease ran out"
        );
    }

    #[tokio::test]
    async fn a_lease_taken_over_ends_at_once_and_a_renewed_one_never() {
        assert_eq!(
            keep("test", LENGTH, |_| async { Ok(false) }).await,
            Lost::TakenOver
        );
        let renewed = keep("test", LENGTH, |_| async { Ok(true) });
        assert!(tokio::time::timeout(LENGTH * 3, renewed).await.is_err());
    }

    #[tokio::test]
    async fn a_renewal_that_hangs_past_the_lease_loses_it() {
        let started = std::time::Instant::now();
        let lost = keep("test", LENGTH, |_| std::future::pending()).await;
        assert_eq!(lost, Lost::RanOut);
        assert!(started.elapsed() < LENGTH * 2, "{:?}", started.elapsed());
    }
}
