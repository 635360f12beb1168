//! What responses add to a stored upload's processing results.

use uploadgate_api::{Job as JobRecord, UploadRecord};

use super::url_ttl;
use crate::app::AppState;
use crate::db::Job;
use crate::error::ApiError;

/// Short-lived GET links to the upload's thumbnails (presigned locally: no
/// call to the store).
pub async fn with_thumbnail_links(
    state: &AppState,
    record: &mut UploadRecord,
) -> Result<(), ApiError> {
    let Some(processing) = record.processing.as_mut() else {
        return Ok(());
    };
    let ttl = url_ttl(state, &record.profile);
    for thumbnail in &mut processing.thumbnails {
        let name = thumbnail.key.rsplit('/').next().unwrap_or("thumbnail");
        thumbnail.url = Some(state.store.presign_get(&thumbnail.key, name, ttl).await?);
    }
    Ok(())
}

/// The upload's jobs, so a client sees which step runs, retries or failed.
pub async fn with_jobs(state: &AppState, record: &mut UploadRecord) -> Result<(), ApiError> {
    let Some(processing) = record.processing.as_mut() else {
        return Ok(());
    };
    processing.jobs = state
        .jobs
        .jobs_of(record.id)
        .await?
        .into_iter()
        .map(job_record)
        .collect();
    Ok(())
}

pub fn job_record(job: Job) -> JobRecord {
    JobRecord {
        id: job.id,
        upload_id: job.upload_id,
        kind: job.kind,
        state: job.state,
        attempts: job.attempts,
        last_error: job.last_error,
        run_at: job.run_at,
    }
}
