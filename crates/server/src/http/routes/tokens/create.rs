use axum::extract::State;
use axum::http::StatusCode;
use uploadgate_api::{CreateUploadToken, UploadToken};

use crate::auth::{Scope, UploadTokenRequest};
use crate::http::extract::{Backend, Json};
use crate::http::routes::responses::{BadJsonBody, Unauthorized, Unavailable};
use crate::http::{ApiError, AppState};

/// Mints a short-lived bearer token for one user, restricted to one profile,
/// and optionally to a number of files and of bytes, with metadata pinned
/// into every upload it creates. The application's backend asks for it (an
/// API key with the `tokens` scope) and hands it to the user's browser.
#[utoipa::path(post, path = "/v1/upload-tokens", tag = "tokens", request_body = CreateUploadToken,
    security(("bearer" = [])),
    responses(
        (status = 201, body = UploadToken, description = "The token, shown once"),
        (status = 400, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Unknown profile, bad limits or metadata"),
        (status = 403, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Not an API key with the tokens scope (`not_permitted`)"),
        Unauthorized, BadJsonBody, Unavailable))]
pub async fn create_upload_token(
    State(state): State<AppState>,
    backend: Backend,
    Json(req): Json<CreateUploadToken>,
) -> Result<(StatusCode, Json<UploadToken>), ApiError> {
    let key = backend.require(Scope::Tokens)?;
    let user = req.user.clone();
    let (grant, expires_at) = state.uploads.open_grant(req, &key).await?;
    let profile = grant.profile.clone();
    let token = state
        .tokens
        .mint_upload_token(&UploadTokenRequest {
            user: user.clone(),
            grant,
            expires_at,
        })
        .map_err(ApiError::internal)?;
    Ok((
        StatusCode::CREATED,
        Json(UploadToken {
            token,
            user,
            profile,
            expires_at,
        }),
    ))
}
