use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use uploadgate_api::Erasure;

use crate::auth::{Scope, check_user_id};
use crate::http::extract::{Backend, Json};
use crate::http::routes::responses::{Unauthorized, Unavailable};
use crate::http::{ApiError, AppState};

/// Erases a user (a right-to-erasure request): every upload they have, in
/// every state, is deleted from storage, and its record stays as a
/// tombstone with no filename, type, metadata, key or checksum. It runs in
/// the background in batches and survives restarts; follow it at the
/// `Location` given. Asking again while it runs returns the same erasure.
/// Takes an API key with the `uploads` scope.
#[utoipa::path(delete, path = "/v1/users/{user}/uploads", tag = "erasures",
    params(("user" = String, Path, description = "The user id, as tokens carry it")),
    security(("bearer" = [])),
    responses(
        (status = 202, body = Erasure, description = "Started (or already running)",
            headers(("location" = String, description = "Where to follow it"))),
        (status = 400, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Not a user id"),
        (status = 403, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Not an API key with the uploads scope (`not_permitted`)"),
        Unauthorized, Unavailable))]
pub async fn erase_user(
    State(state): State<AppState>,
    backend: Backend,
    Path(user): Path<String>,
) -> Result<Response, ApiError> {
    backend.require(Scope::Uploads)?;
    check_user_id(&user).map_err(|err| ApiError::invalid_field("user", err.to_string()))?;
    let erasure = super::view(state.uploads.request_erasure(&user).await?);
    let location = HeaderValue::from_str(&format!("/v1/erasures/{}", erasure.id))
        .map_err(ApiError::internal)?;
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(erasure),
    )
        .into_response())
}
