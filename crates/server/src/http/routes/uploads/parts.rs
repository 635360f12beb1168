use axum::extract::{Path, State};
use uploadgate_api::{SignParts, SignedPart, SignedParts};

use crate::http::extract::{AuthUser, ClientIp, Json};
use crate::http::routes::responses::{
    BadJsonBody, RateLimited, Unauthorized, Unavailable, UploadNotFound,
};
use crate::http::{ApiError, AppState};

/// Presigns part uploads. Cheap and repeatable: a client whose URL expired asks again.
#[utoipa::path(post, path = "/v1/uploads/{id}/parts", tag = "uploads", request_body = SignParts,
    params(("id" = String, Path, description = "Upload id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = SignedParts),
        (status = 400, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "A part number outside 1..partCount, or a bad checksum"),
        (status = 409, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Not a multipart upload, or no longer in progress"),
        Unauthorized, UploadNotFound, BadJsonBody, RateLimited, Unavailable))]
pub async fn sign_parts(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    Json(req): Json<SignParts>,
) -> Result<Json<SignedParts>, ApiError> {
    state
        .rate_limits
        .admit_n(&user, ip, req.part_numbers.len())?;
    let upload = state.uploads.find_own(&user, &id).await?;
    let signed = state
        .uploads
        .sign_layout_parts(&upload, &req.part_numbers, req.checksums_sha256.as_ref())
        .await?;
    Ok(Json(SignedParts {
        parts: signed
            .parts
            .into_iter()
            .map(|part| SignedPart {
                part_number: part.part_number,
                url: part.url,
                headers: part.headers,
                expires_at: signed.expires_at,
            })
            .collect(),
    }))
}
