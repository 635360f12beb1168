use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use uploadgate_api::{CreateUpload, UploadRecord};

use crate::http::extract::{AuthUser, ClientIp, Json};
use crate::http::routes::responses::{JsonBody, RateLimited, Unauthorized, Unavailable};
use crate::http::{ApiError, AppState};
use crate::uploads::record;

/// Authorizes an upload: checks it against the profile, records it, and answers
/// with the presigned request that sends the bytes straight to storage.
#[utoipa::path(post, path = "/v1/uploads", tag = "uploads", request_body = CreateUpload,
    security(("bearer" = [])),
    responses(
        (status = 201, body = UploadRecord, description = "Authorized; `upload` says how to send the bytes"),
        (status = 400, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Refused by the profile or malformed"),
        (status = 403, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Over a per-user quota (`quota_exceeded`)"),
        Unauthorized, JsonBody, RateLimited, Unavailable))]
pub async fn create_upload(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ClientIp(ip): ClientIp,
    Json(req): Json<CreateUpload>,
) -> Result<(StatusCode, HeaderMap, axum::Json<UploadRecord>), ApiError> {
    state.rate_limits.admit(&user.user, user.rate_address(ip))?;
    let (upload, instructions) = state.uploads.create(&user, req).await?;
    let mut response = record(&upload);
    response.upload = Some(instructions);
    let mut headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/uploads/{}", upload.id)) {
        headers.insert(header::LOCATION, location);
    }
    Ok((StatusCode::CREATED, headers, axum::Json(response)))
}
