//! Post-processing: workers that take jobs from the database queue and run the
//! profile's processors, one job per processor, in order.
//!
//! Nothing here is on the request path: completing an upload only queues its
//! first job (in the same transaction). Each finished job queues the next one
//! in the transaction that records its results, so a crash at any point leaves
//! either the job to run again or its successor queued, never neither.

pub(crate) mod clamd;
mod metadata;
mod scan;
mod sniff;
mod thumbnail;
mod worker;

use uploadgate_api::Processing;

pub use worker::{run_workers, spawn};

use crate::config::Processor;
use crate::db::{DbError, Job, Upload};
use crate::storage::StorageError;
use crate::uploads::Uploads;

/// Why a processor did not finish.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// Worth another attempt later (storage or clamd unreachable).
    #[error("{0}")]
    Retry(String),
    /// Will fail the same way every time: dead-letter at once.
    #[error("{0}")]
    Permanent(String),
}

impl From<StorageError> for ProcessError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::Other(_) => Self::Permanent(err.to_string()),
            _ => Self::Retry(err.to_string()),
        }
    }
}

impl From<DbError> for ProcessError {
    fn from(err: DbError) -> Self {
        Self::Retry(err.to_string())
    }
}

/// Runs `job`'s processor on `upload`, recording its results in `processing`.
async fn run(
    uploads: &Uploads,
    job: &Job,
    upload: &Upload,
    processing: &mut Processing,
) -> Result<(), ProcessError> {
    match job.kind {
        Processor::Sniff => sniff::run(uploads, upload, processing).await,
        Processor::Metadata => metadata::run(uploads, upload, processing).await,
        Processor::Scan => scan::run(uploads, upload, processing).await,
        Processor::Thumbnail => thumbnail::run(uploads, upload, processing).await,
    }
}
