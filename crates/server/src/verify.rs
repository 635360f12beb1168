//! Completion: check what actually landed in storage against what was declared,
//! then make it the upload's object, or reject it and delete it.
//!
//! Single uploads are replay-safe by verify-then-promote: presigned requests
//! only ever write to the upload's staging key, and the verified version is
//! copied to the final key under `x-amz-copy-source-if-match` with the ETag that
//! was checked. Replaying the URL afterwards rewrites staging, never the final
//! object. Multipart uploads write the final key directly: once storage has
//! assembled the parts, the upload id is gone and no part URL works any more.

use std::time::Duration;

use uploadgate_api::{CompletedPart, Processing, UploadStatus};

use crate::app::AppState;
use crate::config::DEFAULT_PROFILE;
use crate::db::{self, Multipart, NewJob, Transition, Upload};
use crate::error::ApiError;
use crate::metrics::ProfileLabels;
use crate::multipart::{check_client_parts, missing_parts, usable_parts};
use crate::sniff;
use crate::storage::{ObjectHead, StorageError, unquote_etag};

/// At most this many missing part numbers are named in an error.
const MAX_NAMED_PARTS: usize = 50;

/// `complete` in a task of its own: a client that hangs up mid-way (Ctrl-C, a
/// dropped connection) does not cancel it, so the completion it started finishes
/// and its claim is settled, instead of blocking every retry until the claim
/// expires. The retry then finds the answer waiting.
pub async fn complete_detached(
    state: &AppState,
    upload: Upload,
    client_parts: Option<Vec<CompletedPart>>,
) -> Result<Upload, ApiError> {
    let state = state.clone();
    tokio::spawn(async move { complete(&state, upload, client_parts.as_deref()).await })
        .await
        .map_err(ApiError::internal)?
}

async fn complete(
    state: &AppState,
    upload: Upload,
    client_parts: Option<&[CompletedPart]>,
) -> Result<Upload, ApiError> {
    match upload.status {
        UploadStatus::Completed | UploadStatus::Rejected => return Ok(upload),
        UploadStatus::Pending | UploadStatus::Uploading => {}
        other => {
            return Err(not_pending(other));
        }
    }
    let upload = match claim(state, upload).await? {
        Claim::Ours(upload) => upload,
        Claim::SettledByAnother(upload) => return Ok(upload),
    };
    let id = upload.id;
    let result = match upload.multipart.clone() {
        Some(multipart) => complete_multipart(state, upload, &multipart, client_parts).await,
        None => complete_single(state, upload).await,
    };
    if result.is_err() {
        // Let a retry (this client's or another node's) start over at once.
        if let Err(err) = state.db.release_completion(id).await {
            tracing::warn!(upload = %id, %err, "could not release a completion claim");
        }
    }
    result
}

fn not_pending(status: UploadStatus) -> ApiError {
    ApiError::conflict(
        "upload_not_pending",
        format!(
            "the upload is {} and can no longer complete",
            status.as_str()
        ),
    )
}

/// How long one completion may hold an upload before another may take over
/// (a node that died mid-way). Assembling or copying large objects takes a while.
const COMPLETION_LEASE: Duration = Duration::from_secs(300);
/// How long a request waits for a concurrent completion before answering 409.
const WAIT_FOR_OTHER: Duration = Duration::from_secs(25);
const POLL: Duration = Duration::from_millis(100);

enum Claim {
    Ours(Upload),
    SettledByAnother(Upload),
}

/// Takes the upload's completion claim in the database, so that two requests or
/// nodes never assemble, verify or delete the same object at once. Whoever does
/// not get it waits for the other's outcome and returns that.
async fn claim(state: &AppState, mut upload: Upload) -> Result<Claim, ApiError> {
    let deadline = tokio::time::Instant::now() + WAIT_FOR_OTHER;
    loop {
        let now = db::now();
        if state
            .db
            .claim_completion(upload.id, now, now + COMPLETION_LEASE)
            .await?
        {
            return Ok(Claim::Ours(upload));
        }
        tokio::time::sleep(POLL).await;
        upload = state
            .db
            .find(upload.id, &upload.owner)
            .await?
            .ok_or_else(ApiError::upload_not_found)?;
        match upload.status {
            UploadStatus::Completed | UploadStatus::Rejected => {
                return Ok(Claim::SettledByAnother(upload));
            }
            UploadStatus::Pending | UploadStatus::Uploading => {}
            other => {
                return Err(not_pending(other));
            }
        }
        if tokio::time::Instant::now() > deadline {
            return Err(ApiError::conflict(
                "completion_in_progress",
                "another request is completing this upload; ask again shortly",
            ));
        }
    }
}

async fn complete_single(state: &AppState, upload: Upload) -> Result<Upload, ApiError> {
    let Some(head) = state.store.head(&upload.staging_key).await? else {
        // A previous attempt may have promoted the object and died before recording it.
        if state.store.head(&upload.key).await?.is_some() {
            return finish(state, upload, UploadStatus::Completed, None, None).await;
        }
        return Err(ApiError::conflict(
            "object_missing",
            "nothing has been uploaded for this upload yet",
        ));
    };
    let staging = upload.staging_key.clone();
    check_and_finish(state, upload, &staging, head).await
}

async fn complete_multipart(
    state: &AppState,
    upload: Upload,
    multipart: &Multipart,
    client_parts: Option<&[CompletedPart]>,
) -> Result<Upload, ApiError> {
    let stored = match state
        .store
        .list_parts(&upload.key, &multipart.upload_id)
        .await
    {
        Ok(stored) => stored,
        Err(StorageError::NoSuchUpload) => {
            // Assembled by an earlier attempt that died before recording it?
            return match state.store.head(&upload.key).await? {
                Some(head) => {
                    let key = upload.key.clone();
                    check_and_finish(state, upload, &key, head).await
                }
                None => Err(StorageError::NoSuchUpload.into()),
            };
        }
        Err(err) => return Err(err.into()),
    };

    let usable = match &multipart.layout {
        Some(layout) => {
            let missing = missing_parts(layout, &stored);
            if !missing.is_empty() {
                return Err(missing_parts_error(&missing));
            }
            usable_parts(layout, &stored)
        }
        None => {
            let wanted: Vec<u32> = match client_parts {
                Some(given) => given.iter().map(|p| p.part_number).collect(),
                None => stored.iter().map(|p| p.part_number).collect(),
            };
            check_client_parts(&stored, &wanted)
                .map_err(|detail| ApiError::conflict("invalid_parts", detail))?
        }
    };
    for given in client_parts.into_iter().flatten() {
        let Some(held) = usable.iter().find(|p| p.part_number == given.part_number) else {
            return Err(ApiError::invalid_field(
                "parts",
                format!("parts: {} is not a part of this upload", given.part_number),
            ));
        };
        if unquote_etag(&held.etag) != unquote_etag(&given.etag) {
            return Err(ApiError::conflict(
                "etag_mismatch",
                format!(
                    "part {}: storage holds ETag {}, not {}",
                    given.part_number, held.etag, given.etag
                ),
            ));
        }
    }

    // The server, not the client, decides which parts make the object.
    let parts: Vec<(u32, String)> = usable
        .iter()
        .map(|p| (p.part_number, p.etag.clone()))
        .collect();
    state
        .store
        .complete_multipart(&upload.key, &multipart.upload_id, &parts)
        .await?;
    let head = state
        .store
        .head(&upload.key)
        .await?
        .ok_or_else(|| ApiError::internal("object missing right after completing its parts"))?;
    let key = upload.key.clone();
    check_and_finish(state, upload, &key, head).await
}

/// Checks the object at `source` (size, sniffed type) and, when it passes, makes it
/// the upload's object: promoted from staging, or already in place for multipart.
async fn check_and_finish(
    state: &AppState,
    upload: Upload,
    source: &str,
    head: ObjectHead,
) -> Result<Upload, ApiError> {
    let size_problem = match upload.size {
        Some(declared) if declared != head.size => Some(format!(
            "size mismatch: declared {declared} bytes, received {}",
            head.size
        )),
        Some(_) => None,
        // Undeclared: hold it to the profile instead.
        None => {
            let max = profile_max_size(state, &upload.profile);
            (head.size == 0 || head.size > max).then(|| {
                format!(
                    "{} bytes is outside this profile's 1 to {max} bytes",
                    head.size
                )
            })
        }
    };
    if let Some(reason) = size_problem {
        return reject(state, upload, source, reason).await;
    }
    let start = state
        .store
        .read_start(source, &head.etag, sniff::SNIFF_LEN)
        .await?;
    if let Err(reason) = sniff::check(&upload.content_type, &start) {
        return reject(state, upload, source, reason).await;
    }
    if source != upload.key {
        let sse = state.config.encryption(&upload.profile);
        state
            .store
            .copy(source, &upload.key, &head.etag, sse.as_ref())
            .await?;
        if let Err(err) = state.store.delete(source).await {
            tracing::warn!(upload = %upload.id, %err, "could not delete a promoted staging object");
        }
    }
    finish(
        state,
        upload,
        UploadStatus::Completed,
        None,
        Some(head.size),
    )
    .await
}

fn profile_max_size(state: &AppState, profile: &str) -> u64 {
    state
        .config
        .profiles
        .get(profile)
        .or_else(|| state.config.profiles.get(DEFAULT_PROFILE))
        .map_or(0, |p| p.max_size)
}

fn missing_parts_error(missing: &[u32]) -> ApiError {
    let mut named: Vec<String> = missing
        .iter()
        .take(MAX_NAMED_PARTS)
        .map(u32::to_string)
        .collect();
    if missing.len() > MAX_NAMED_PARTS {
        named.push(format!("and {} more", missing.len() - MAX_NAMED_PARTS));
    }
    ApiError::conflict(
        "missing_parts",
        format!("parts missing from storage: {}", named.join(", ")),
    )
}

async fn reject(
    state: &AppState,
    upload: Upload,
    source: &str,
    reason: String,
) -> Result<Upload, ApiError> {
    tracing::info!(upload = %upload.id, %reason, "upload rejected");
    state.store.delete(source).await?;
    finish(state, upload, UploadStatus::Rejected, Some(reason), None).await
}

/// Records the outcome unless another request recorded a final one first, whose
/// outcome wins. A concurrent non-final move (pending to uploading, when a part is
/// signed meanwhile) is retried from the state it left.
async fn finish(
    state: &AppState,
    mut upload: Upload,
    to: UploadStatus,
    reject_reason: Option<String>,
    size: Option<u64>,
) -> Result<Upload, ApiError> {
    let change = Transition {
        to,
        at: db::now(),
        reject_reason: reject_reason.clone(),
        // Only fills in a size nobody declared; a declared one was just checked equal.
        size: size.filter(|_| upload.size.is_none()),
        enqueue: (to == UploadStatus::Completed)
            .then(|| NewJob::pipeline(state.config.processors(&upload.profile)))
            .flatten(),
    };
    for _ in 0..3 {
        if state
            .db
            .transition(upload.id, upload.status, &change)
            .await?
        {
            state.metrics.upload(&upload.profile, to.as_str());
            if let (UploadStatus::Completed, Some(bytes)) = (to, upload.size.or(change.size)) {
                state
                    .metrics
                    .bytes_completed
                    .get_or_create(&ProfileLabels {
                        profile: upload.profile.clone(),
                    })
                    .inc_by(bytes);
            }
            if change.enqueue.is_some() {
                upload.processing = Some(Processing::started());
                state.work.notify_waiters();
            }
            upload.status = to;
            upload.reject_reason = reject_reason;
            if upload.size.is_none() {
                upload.size = change.size;
            }
            if to == UploadStatus::Completed {
                upload.completed_at = Some(change.at);
            }
            return Ok(upload);
        }
        upload = state
            .db
            .find(upload.id, &upload.owner)
            .await?
            .ok_or_else(ApiError::upload_not_found)?;
        if upload.status.is_final() {
            return Ok(upload);
        }
    }
    Err(ApiError::conflict(
        "concurrent_update",
        "the upload kept changing while being completed; complete again",
    ))
}
