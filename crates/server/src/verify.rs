//! Completion: check what actually landed in storage against what was declared,
//! then promote it out of staging, or reject it and delete it.
//!
//! Replay safety comes from verify-then-promote: presigned requests only ever
//! write to the upload's staging key, and the verified version is copied to the
//! final key under `x-amz-copy-source-if-match` with the ETag that was checked.
//! Replaying the presigned URL afterwards rewrites staging, never the final object.

use uploadgate_api::UploadStatus;

use crate::app::AppState;
use crate::db::{self, Transition, Upload};
use crate::error::ApiError;
use crate::sniff;

pub async fn complete(state: &AppState, upload: Upload) -> Result<Upload, ApiError> {
    match upload.status {
        UploadStatus::Completed | UploadStatus::Rejected => return Ok(upload),
        UploadStatus::Pending => {}
        other => {
            return Err(ApiError::conflict(
                "upload_not_pending",
                format!(
                    "the upload is {} and can no longer complete",
                    other.as_str()
                ),
            ));
        }
    }

    let Some(head) = state.store.head(&upload.staging_key).await? else {
        // A previous attempt may have promoted the object and died before recording it.
        if state.store.head(&upload.key).await?.is_some() {
            return finish(state, upload, UploadStatus::Completed, None).await;
        }
        return Err(ApiError::conflict(
            "object_missing",
            "nothing has been uploaded for this upload yet",
        ));
    };

    if head.size != upload.size {
        let reason = format!(
            "size mismatch: declared {} bytes, received {}",
            upload.size, head.size
        );
        return reject(state, upload, reason).await;
    }
    let start = state
        .store
        .read_start(&upload.staging_key, &head.etag, sniff::SNIFF_LEN)
        .await?;
    if let Err(reason) = sniff::check(&upload.content_type, &start) {
        return reject(state, upload, reason).await;
    }

    state
        .store
        .copy(&upload.staging_key, &upload.key, &head.etag)
        .await?;
    if let Err(err) = state.store.delete(&upload.staging_key).await {
        tracing::warn!(upload = %upload.id, %err, "could not delete a promoted staging object");
    }
    finish(state, upload, UploadStatus::Completed, None).await
}

async fn reject(state: &AppState, upload: Upload, reason: String) -> Result<Upload, ApiError> {
    tracing::info!(upload = %upload.id, %reason, "upload rejected");
    state.store.delete(&upload.staging_key).await?;
    finish(state, upload, UploadStatus::Rejected, Some(reason)).await
}

/// Records the outcome unless another request recorded one first, whose outcome wins.
async fn finish(
    state: &AppState,
    mut upload: Upload,
    to: UploadStatus,
    reject_reason: Option<String>,
) -> Result<Upload, ApiError> {
    let change = Transition {
        to,
        at: db::now(),
        reject_reason: reject_reason.clone(),
    };
    if state
        .db
        .transition(upload.id, upload.status, &change)
        .await?
    {
        upload.status = to;
        upload.reject_reason = reject_reason;
        if to == UploadStatus::Completed {
            upload.completed_at = Some(change.at);
        }
        return Ok(upload);
    }
    state
        .db
        .find(upload.id, &upload.owner)
        .await?
        .ok_or_else(ApiError::upload_not_found)
}
