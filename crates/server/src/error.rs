//! The API's one error type and the one place it becomes an HTTP response.
//!
//! Client errors explain themselves. Server errors are logged with their cause
//! and answered with a generic body: internal messages never leave the process.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use uploadgate_api::Problem;

use crate::auth::AuthError;
use crate::db::DbError;
use crate::storage::StorageError;

/// Seconds a client should wait before retrying after a 503.
const RETRY_AFTER_SECS: u64 = 5;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    field: Option<String>,
    /// What to log for a 5xx; never sent.
    cause: Option<String>,
    /// Seconds for `Retry-After` (429 and 503).
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            field: None,
            cause: None,
            retry_after: None,
        }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// The request body or query names `field` as the culprit.
    pub fn invalid_field(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::bad_request("invalid_field", detail).with_field(field)
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    /// Also what another user's upload looks like: its existence is not revealed.
    pub fn upload_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "upload_not_found", "no such upload")
    }

    /// Also what another user's job looks like.
    pub fn job_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "job_not_found", "no such dead job")
    }

    /// A route that is off until configured (e.g. storage events without a secret).
    pub fn not_enabled(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_enabled", detail)
    }

    pub fn route_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such route")
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this route does not take that method",
        )
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }

    pub fn payload_too_large(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", detail)
    }

    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            detail,
        )
    }

    /// Over a rate limit; the same call succeeds after `wait`.
    pub fn too_many_requests(wait: std::time::Duration, detail: &str) -> Self {
        let secs = crate::rate_limit::retry_after_secs(wait);
        let mut err = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("{detail}; retry in {secs} s"),
        );
        err.retry_after = Some(secs);
        err
    }

    /// Over a per-user quota: retrying will not help until usage goes down.
    pub fn quota_exceeded(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "quota_exceeded", detail)
    }

    /// A dependency is down; the client may retry.
    pub fn unavailable(what: &'static str, cause: impl ToString) -> Self {
        let mut err = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            format!("{what} is unavailable, retry shortly"),
        );
        err.cause = Some(cause.to_string());
        err.retry_after = Some(RETRY_AFTER_SECS);
        err
    }

    pub fn internal(cause: impl ToString) -> Self {
        let mut err = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "internal error; it has been logged",
        );
        err.cause = Some(cause.to_string());
        err
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }
}

impl From<DbError> for ApiError {
    fn from(err: DbError) -> Self {
        match err {
            DbError::Unavailable(_) => Self::unavailable("the database", err),
            DbError::Other(_) => Self::internal(err),
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::Unavailable(_) => Self::unavailable("storage", err),
            StorageError::Changed => Self::conflict(
                "object_changed",
                "the object changed while it was being verified; complete again",
            ),
            StorageError::NoSuchUpload => Self::conflict(
                "multipart_upload_gone",
                "storage no longer has this multipart upload (aborted or expired)",
            ),
            StorageError::InvalidParts(detail) => Self::conflict(
                "invalid_parts",
                format!("storage refused the parts: {detail}"),
            ),
            StorageError::Other(_) => Self::internal(err),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        Self::unauthorized(err.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(
                status = self.status.as_u16(),
                code = self.code,
                cause = self.cause.as_deref().unwrap_or(""),
                "request failed"
            );
        }
        let problem = Problem {
            kind: "about:blank".into(),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            code: self.code.to_owned(),
            detail: Some(self.detail),
            field: self.field,
        };
        let mut response = (self.status, Json(problem)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn server_errors_do_not_leak_their_cause() {
        let response = ApiError::internal("password=hunter2 at db.rs:12").into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .expect("body");
        let text = String::from_utf8_lossy(&body);
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("internal_error"));
    }

    #[test]
    fn unavailable_dependencies_ask_for_a_retry() {
        let response = ApiError::unavailable("storage", "connect refused").into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key(header::RETRY_AFTER));
    }
}
