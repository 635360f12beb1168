//! The API's one error type and the one place every failure becomes an HTTP
//! response: a status and a problem+json body whose `code` is an `ErrorCode`.
//!
//! Client errors explain themselves. Server errors are logged with their cause
//! and answered with a generic body: internal messages never leave the process.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use uploadgate_api::{ErrorCode, Problem};

use crate::auth::AuthError;
use crate::db::DbError;
use crate::rate_limit::Limited;
use crate::storage::StorageError;
use crate::uploads::{Invalid, UploadError};

/// Seconds a client should wait before retrying after a 503.
const RETRY_AFTER_SECS: u64 = 5;

#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    detail: String,
    field: Option<String>,
    /// What to log for a 5xx; never sent.
    cause: Option<String>,
    /// Seconds for `Retry-After` (429 and 503).
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            field: None,
            cause: None,
            retry_after: None,
        }
    }

    /// The request body or query names `field` as the culprit.
    pub fn invalid_field(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidField, detail).with_field(field)
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, detail)
    }

    /// Also what another user's job looks like.
    pub fn job_not_found() -> Self {
        Self::new(ErrorCode::JobNotFound, "no such dead job")
    }

    /// A dependency is down; the client may retry.
    pub fn unavailable(what: &'static str, cause: impl ToString) -> Self {
        let mut err = Self::new(
            ErrorCode::ServiceUnavailable,
            format!("{what} is unavailable, retry shortly"),
        );
        err.cause = Some(cause.to_string());
        err.retry_after = Some(RETRY_AFTER_SECS);
        err
    }

    pub fn internal(cause: impl ToString) -> Self {
        let mut err = Self::new(
            ErrorCode::InternalError,
            "internal error; it has been logged",
        );
        err.cause = Some(cause.to_string());
        err
    }

    /// `upload`, unless verification rejected it: then 422 `upload_rejected`
    /// saying why, for the doors whose clients read a rejection as an error.
    pub fn unless_rejected(upload: crate::db::Upload) -> Result<crate::db::Upload, Self> {
        if upload.status != uploadgate_api::UploadStatus::Rejected {
            return Ok(upload);
        }
        Err(Self::new(
            ErrorCode::UploadRejected,
            upload.reject_reason.unwrap_or_default(),
        ))
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }
}

impl From<UploadError> for ApiError {
    fn from(err: UploadError) -> Self {
        use ErrorCode as C;
        let detail = err.to_string();
        let code = match err {
            UploadError::Invalid(invalid) => return invalid.into(),
            UploadError::Storage(err) => return err.into(),
            UploadError::Db(err) => return err.into(),
            UploadError::Internal(cause) => return Self::internal(cause),
            UploadError::NotFound => C::UploadNotFound,
            UploadError::NoSuch(_) => C::NotFound,
            UploadError::QuotaExceeded(_) => C::QuotaExceeded,
            UploadError::NotPermitted(_) => C::NotPermitted,
            UploadError::NotEnabled(_) => C::NotEnabled,
            UploadError::TokenLimitReached => C::TokenLimitReached,
            UploadError::NotMultipart => C::NotMultipart,
            UploadError::ClientChosenParts => C::ClientChosenParts,
            UploadError::NotPending(_) => C::UploadNotPending,
            UploadError::Finished(_) => C::UploadFinished,
            UploadError::NotCompleted(_) => C::UploadNotCompleted,
            UploadError::Quarantined => C::UploadQuarantined,
            UploadError::Deleted => C::UploadDeleted,
            UploadError::ScanPending => C::ScanPending,
            UploadError::ScanFailed => C::ScanFailed,
            UploadError::Expired => C::UploadExpired,
            UploadError::CompletionInProgress => C::CompletionInProgress,
            UploadError::CreationInProgress => C::CreationInProgress,
            UploadError::IdempotencyKeyReused => C::IdempotencyKeyReused,
            UploadError::ConcurrentUpdate => C::ConcurrentUpdate,
            UploadError::NothingUploaded => C::ObjectMissing,
            UploadError::MissingParts(_) => C::MissingParts,
            UploadError::InvalidParts(_) => C::InvalidParts,
            UploadError::EtagMismatch { .. } => C::EtagMismatch,
        };
        let mut err = Self::new(code, detail);
        if matches!(code, C::CompletionInProgress | C::CreationInProgress) {
            // The other request ends, or its lease runs out, shortly.
            err.retry_after = Some(RETRY_AFTER_SECS);
        }
        err
    }
}

impl From<Invalid> for ApiError {
    fn from(invalid: Invalid) -> Self {
        use ErrorCode as C;
        let (code, field) = match &invalid {
            Invalid::UnknownProfile(_) => (C::UnknownProfile, "profile"),
            Invalid::Filename(_) => (C::InvalidFilename, "filename"),
            Invalid::ContentType(_) => (C::InvalidContentType, "contentType"),
            Invalid::ContentTypeNotAllowed { .. } => (C::ContentTypeNotAllowed, "contentType"),
            Invalid::EmptyFile => (C::EmptyFile, "size"),
            Invalid::FileTooLarge { .. } => (C::FileTooLarge, "size"),
            Invalid::Checksum => (C::InvalidChecksum, "checksumSha256"),
            Invalid::Metadata(_) => (C::InvalidMetadata, "metadata"),
            Invalid::MultipartRequired { .. } => (C::MultipartRequired, "method"),
            Invalid::ChecksumPerPart => (C::ChecksumPerPart, "checksumSha256"),
            Invalid::NoPartLayout(_) => (C::NoPartLayout, "size"),
            Invalid::Field { field, .. } => (C::InvalidField, *field),
        };
        Self::new(code, invalid.to_string()).with_field(field)
    }
}

impl From<DbError> for ApiError {
    fn from(err: DbError) -> Self {
        if err.is_unavailable() {
            Self::unavailable("the database", err)
        } else {
            Self::internal(err)
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::Unavailable(_) => Self::unavailable("storage", err),
            StorageError::Changed => Self::new(
                ErrorCode::ObjectChanged,
                "the object changed while it was being verified; complete again",
            ),
            StorageError::NoSuchUpload => Self::new(
                ErrorCode::MultipartUploadGone,
                "storage no longer has this multipart upload (aborted or expired)",
            ),
            StorageError::InvalidParts(detail) => Self::new(
                ErrorCode::InvalidParts,
                format!("storage refused the parts: {detail}"),
            ),
            StorageError::Other(_) => Self::internal(err),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::Unavailable => Self::unavailable("the database", err),
            _ => Self::unauthorized(err.to_string()),
        }
    }
}

/// Over a rate limit; the same call succeeds after the wait, unless it asks
/// for more than a burst allows at all.
impl From<Limited> for ApiError {
    fn from(limited: Limited) -> Self {
        if let Limited::Batch { .. } = limited {
            return Self::invalid_field("partNumbers", format!("partNumbers: {limited}"));
        }
        let secs = limited.retry_after_secs();
        let mut err = Self::new(
            ErrorCode::RateLimited,
            format!("{limited}; retry in {secs} s"),
        );
        err.retry_after = Some(secs);
        err
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(
                status = status.as_u16(),
                code = self.code.as_str(),
                cause = self.cause.as_deref().unwrap_or(""),
                "request failed"
            );
        }
        let problem = Problem {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            code: self.code,
            detail: Some(self.detail),
            field: self.field,
        };
        let mut response = (status, Json(problem)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
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

    #[test]
    fn every_domain_refusal_has_its_code_and_status() {
        let cases = [
            (UploadError::NotFound, ErrorCode::UploadNotFound),
            (UploadError::NoSuch("erasure"), ErrorCode::NotFound),
            (
                UploadError::Finished(uploadgate_api::UploadStatus::Completed),
                ErrorCode::UploadFinished,
            ),
            (
                UploadError::CompletionInProgress,
                ErrorCode::CompletionInProgress,
            ),
            (
                UploadError::MissingParts(vec![2, 3]),
                ErrorCode::MissingParts,
            ),
            (Invalid::EmptyFile.into(), ErrorCode::EmptyFile),
            (StorageError::Changed.into(), ErrorCode::ObjectChanged),
            (
                UploadError::Internal("a task panicked".into()),
                ErrorCode::InternalError,
            ),
        ];
        for (err, code) in cases {
            let api = ApiError::from(err);
            assert_eq!(api.code(), code);
            assert_eq!(api.status().as_u16(), code.status());
        }
    }
}
