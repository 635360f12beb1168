//! `/v1/events`: notifications from the object store, one route per store
//! family (S3's notifications, Azure's Event Grid, GCS's Pub/Sub pushes),
//! authenticated and
//! applied alike.

pub mod azure;
mod azure_events;
pub mod gcs;
pub mod s3;
mod s3_records;

use axum::http::HeaderMap;
use sha2::{Digest as _, Sha256};
use uploadgate_api::{ErrorCode, EventsAccepted};

use crate::http::{ApiError, AppState};
use crate::uploads::EventOutcome;

/// One "object created" notification: which object, in which bucket (or
/// Azure container).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub bucket: String,
    /// Decoded: S3 sends keys URL-encoded (`+` for a space).
    pub key: String,
}

/// The secret `Authorization` carries: `Bearer SECRET`, or the bare secret
/// (MinIO's `auth_token`).
fn bearer(headers: &HeaderMap) -> &str {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim())
        .unwrap_or_default()
}

/// Checks the shared `events.secret`, sent in `Authorization` (see `bearer`).
fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    authorize_secret(state, bearer(headers))
}

/// Checks that `given` is the shared `events.secret`.
fn authorize_secret(state: &AppState, given: &str) -> Result<(), ApiError> {
    let Some(secret) = &state.uploads.config.events.secret else {
        return Err(ApiError::new(
            ErrorCode::NotEnabled,
            "storage events are off: set events.secret (UPLOADGATE_EVENTS_SECRET)",
        ));
    };
    // Compared as digests: the time taken says nothing about the secret.
    if Sha256::digest(given.as_bytes()) != Sha256::digest(secret.expose().as_bytes()) {
        return Err(ApiError::unauthorized("wrong or missing events secret"));
    }
    Ok(())
}

/// Completes the upload of every creation in `records` (`None`: a record of
/// another event), as its client's `complete` would.
async fn apply(
    state: &AppState,
    records: Vec<Option<Created>>,
) -> Result<EventsAccepted, ApiError> {
    let mut accepted = EventsAccepted {
        matched: 0,
        ignored: 0,
    };
    for record in records {
        let outcome = match record {
            Some(created) => {
                state
                    .uploads
                    .object_created(&created.bucket, &created.key)
                    .await?
            }
            None => EventOutcome::Ignored,
        };
        if outcome == EventOutcome::Applied {
            accepted.matched += 1;
        } else {
            accepted.ignored += 1;
        }
    }
    Ok(accepted)
}
