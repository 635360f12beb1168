use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse as _, Response};
use serde_json::Value;
use uploadgate_api::{ErrorCode, EventGridValidation};

use super::azure_events::{GridEvent, events};
use super::{apply, authorize};
use crate::http::extract::Json;
use crate::http::{ApiError, AppState};

/// Azure says a blob was created (Event Grid's `Microsoft.Storage.BlobCreated`,
/// in the Event Grid schema): complete the upload it belongs to, exactly as
/// `/v1/events/s3` does. Authenticated by the shared `events.secret`, sent by
/// the subscription as a delivery property (`Authorization: Bearer SECRET`),
/// the validation handshake included: its code is echoed only to a caller
/// that knows the secret.
#[utoipa::path(post, path = "/v1/events/azure", tag = "events",
    request_body(content = Object, description = "An Event Grid delivery: an array of events in the Event Grid schema"),
    responses(
        (status = 200, body = uploadgate_api::EventsAccepted, description = "The events applied; or, for a subscription validation event, `EventGridValidation`"),
        (status = 401, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Wrong or missing secret"),
        (status = 404, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "events.secret is not configured"),
        (status = 503, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "The database or storage is unavailable; Event Grid delivers again")))]
pub async fn azure_event(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    let body: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(ErrorCode::InvalidJson, format!("body is not JSON: {e}")))?;
    let mut records = Vec::new();
    for event in events(&body) {
        match event {
            GridEvent::Validation(code) => {
                return Ok(Json(EventGridValidation {
                    validation_response: code,
                })
                .into_response());
            }
            GridEvent::Blob(created) => records.push(created),
        }
    }
    Ok(Json(apply(&state, records).await?).into_response())
}
