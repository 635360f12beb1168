use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use uploadgate_api::{CreateUpload, UploadRecord};

use crate::http::extract::{AuthUser, ClientIp, Json};
use crate::http::routes::responses::{BadJsonBody, RateLimited, Unauthorized, Unavailable};
use crate::http::{ApiError, AppState};
use crate::uploads::{Created, record};

/// The header that makes creation safe to retry.
const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Set on an answer an earlier request with the same key made.
const REPLAYED: &str = "idempotent-replayed";

/// Authorizes an upload: checks it against the profile, records it, and answers
/// with the presigned request that sends the bytes straight to storage. With an
/// `Idempotency-Key` (1 to 255 visible ASCII characters, kept per user for 24
/// hours), a repeated request answers with the upload the first one created,
/// with fresh URLs while it is pending, and `Idempotent-Replayed: true`.
#[utoipa::path(post, path = "/v1/uploads", tag = "uploads", request_body = CreateUpload,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retrying this request safe: the same key answers with the same upload")),
    security(("bearer" = [])),
    responses(
        (status = 201, body = UploadRecord, description = "Authorized; `upload` says how to send the bytes"),
        (status = 400, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Refused by the profile or malformed"),
        (status = 403, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Over a per-user quota (`quota_exceeded`)"),
        (status = 409, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "A request with the same `Idempotency-Key` is still creating its upload (`creation_in_progress`)"),
        (status = 422, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "The `Idempotency-Key` was used for another body (`idempotency_key_reused`)"),
        Unauthorized, BadJsonBody, RateLimited, Unavailable))]
pub async fn create_upload(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Json(req): Json<CreateUpload>,
) -> Result<(StatusCode, HeaderMap, Json<UploadRecord>), ApiError> {
    state.rate_limits.admit(&user, ip)?;
    let key = idempotency_key(&headers)?;
    let created = match key {
        Some(key) => state.uploads.create_once(&user, key, req).await?,
        None => {
            let (upload, instructions) = state.uploads.create(&user, req).await?;
            Created {
                upload,
                instructions: Some(instructions),
                replayed: false,
            }
        }
    };
    let mut response = record(&created.upload);
    response.upload = created.instructions;
    let mut headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/uploads/{}", created.upload.id)) {
        headers.insert(header::LOCATION, location);
    }
    if created.replayed {
        headers.insert(REPLAYED, HeaderValue::from_static("true"));
    }
    Ok((StatusCode::CREATED, headers, Json(response)))
}

/// The request's `Idempotency-Key`, if it sends a valid one.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .filter(|key| (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()))
        .map(Some)
        .ok_or_else(|| {
            ApiError::invalid_field(
                "Idempotency-Key",
                "Idempotency-Key: 1 to 255 visible ASCII characters",
            )
        })
}
