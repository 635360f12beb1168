//! `POST /v1/events/gcs`: Cloud Storage's Pub/Sub push notifications.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use uploadgate_api::{ErrorCode, EventsAccepted};

use super::{Created, apply, authorize_secret};
use crate::http::extract::Json;
use crate::http::{ApiError, AppState};

/// A Pub/Sub push delivery: one message.
#[derive(Debug, Deserialize)]
struct Push {
    message: Message,
}

#[derive(Debug, Deserialize)]
struct Message {
    #[serde(default)]
    attributes: Attributes,
}

/// What Cloud Storage's notifications set on every message.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Attributes {
    #[serde(default)]
    event_type: String,
    #[serde(default)]
    bucket_id: String,
    #[serde(default)]
    object_id: String,
}

#[derive(Debug, Deserialize)]
pub struct Token {
    token: Option<String>,
}

/// Cloud Storage says an object was finalized (a Pub/Sub push of an
/// `OBJECT_FINALIZE` notification): complete the upload it belongs to,
/// exactly as `/v1/events/s3` does. Authenticated by the shared
/// `events.secret`, which a push subscription sends in its endpoint's
/// query (`?token=SECRET`: Pub/Sub sets no other header but its own
/// OpenID token) or as `Authorization: Bearer SECRET`. Other event types
/// are acknowledged and ignored; a 2xx is Pub/Sub's acknowledgement.
#[utoipa::path(post, path = "/v1/events/gcs", tag = "events",
    params(("token" = Option<String>, Query, description = "The events secret, as a push endpoint carries it")),
    request_body(content = Object, description = "A Pub/Sub push delivery: `{message: {attributes: {eventType, bucketId, objectId}, data}, subscription}`"),
    responses(
        (status = 200, body = uploadgate_api::EventsAccepted, description = "The notification applied or ignored"),
        (status = 400, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Not a Pub/Sub push delivery"),
        (status = 401, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Wrong or missing secret"),
        (status = 404, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "events.secret is not configured"),
        (status = 503, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "The database or storage is unavailable; Pub/Sub delivers again")))]
pub async fn gcs_event(
    State(state): State<AppState>,
    Query(query): Query<Token>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<EventsAccepted>, ApiError> {
    let given = match &query.token {
        Some(token) => token.as_str(),
        None => super::bearer(&headers),
    };
    authorize_secret(&state, given)?;
    let push: Push = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidJson,
            format!("not a Pub/Sub push delivery: {e}"),
        )
    })?;
    let attributes = push.message.attributes;
    let record = (attributes.event_type == "OBJECT_FINALIZE" && !attributes.object_id.is_empty())
        .then_some(Created {
            bucket: attributes.bucket_id,
            key: attributes.object_id,
        });
    Ok(Json(apply(&state, vec![record]).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_push_reads_its_attributes() {
        let body = r#"{"message":{"attributes":{"eventType":"OBJECT_FINALIZE","bucketId":"uploads","objectId":"u/a/x.png","payloadFormat":"JSON_API_V1"},"data":"e30=","messageId":"1"},"subscription":"projects/p/subscriptions/s"}"#;
        let push: Push = serde_json::from_str(body).expect("parses");
        assert_eq!(push.message.attributes.object_id, "u/a/x.png");
        assert_eq!(push.message.attributes.event_type, "OBJECT_FINALIZE");
    }
}
