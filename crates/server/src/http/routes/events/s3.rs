use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::Value;
use uploadgate_api::{ErrorCode, EventsAccepted};

use super::s3_records::records;
use super::{apply, authorize};
use crate::http::extract::Json;
use crate::http::{ApiError, AppState};

/// Storage says an object was created: complete the upload it belongs to,
/// exactly as if its client had called `complete` (which it may never do).
/// Authenticated by the shared `events.secret`, as `Authorization: Bearer
/// SECRET` or the bare secret (MinIO's `auth_token`). Duplicate, late and
/// unrelated events are harmless: they match nothing or an upload already settled.
#[utoipa::path(post, path = "/v1/events/s3", tag = "events",
    request_body(content = Object, description = "An S3 event notification (`Records`), an SNS notification wrapping one, or MinIO's webhook body"),
    responses(
        (status = 200, body = EventsAccepted),
        (status = 401, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Wrong or missing secret"),
        (status = 404, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "events.secret is not configured"),
        (status = 503, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "The database or storage is unavailable; send the event again")))]
pub async fn s3_event(
    State(state): State<AppState>,
    headers: HeaderMap,
    // Any content type: SNS delivers JSON as text/plain.
    body: Bytes,
) -> Result<Json<EventsAccepted>, ApiError> {
    authorize(&state, &headers)?;
    let body: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(ErrorCode::InvalidJson, format!("body is not JSON: {e}")))?;
    Ok(Json(apply(&state, records(&body)).await?))
}
