//! The simple door: the two-call contract of the common "presigned URL" tutorial,
//! so that a front end written for it works against uploadgate unchanged.
//!
//! `POST /api/upload/generate-url` `{fileName, fileType, fileSize}` answers
//! `{presignedUrl, objectKey, expiresIn}`; the client PUTs the file there with
//! only `Content-Type` set; `POST /api/upload/complete` `{objectKey}` verifies
//! it. Another door into the same house: bearer tokens, profiles, quotas, rate
//! limits and verification are API v1's. Only the error shape is the
//! tutorial's, `{error, code}`, since its client shows `errorData.error`.

mod complete;
mod generate_url;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderValue, header};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;
use uploadgate_api::{ErrorCode, Problem};

use crate::http::extract::Json;
use crate::http::{ApiError, AppState};

/// A problem body is a few hundred bytes; anything larger is not one of ours.
const MAX_PROBLEM_BYTES: usize = 64 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/generate-url", post(generate_url::generate_url))
        .route("/complete", post(complete::complete))
        // Here, so that the layer below gives them the door's shape too.
        .method_not_allowed_fallback(|| async {
            ApiError::new(ErrorCode::MethodNotAllowed, "this route takes POST")
        })
        .fallback(|| async {
            ApiError::new(
                ErrorCode::NotFound,
                "no such route: POST /api/upload/generate-url or /api/upload/complete",
            )
        })
        // Extractor rejections (a bad token, a malformed body) are problem
        // bodies too, so the shape is changed after the handler, in one place.
        .layer(map_response(tutorial_errors))
}

/// Rewrites a problem+json answer as `{error, code}` with the same status and
/// headers (`Retry-After`, `WWW-Authenticate`); the detail is the problem's,
/// which never holds a 5xx's cause.
async fn tutorial_errors(response: Response) -> Response {
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value == "application/problem+json");
    if !is_problem {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_PROBLEM_BYTES).await else {
        let body = json!({"error": "the error could not be read", "code": "internal_error"});
        return (parts.status, Json(body)).into_response();
    };
    let Ok(problem) = serde_json::from_slice::<Problem>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let body = json!({
        "error": problem.detail.unwrap_or(problem.title),
        "code": problem.code,
    });
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body.to_string()))
}
