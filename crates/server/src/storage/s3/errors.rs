//! The SDK's failures sorted into what uploadgate decides on: a lost
//! precondition, a missing multipart upload, refused parts, an outage worth
//! retrying, or a refusal that needs an operator. Decided by S3 error codes and
//! HTTP statuses, never by message text; the SDK error stays the source.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::storage::StorageError;

/// An SDK error, displayed with its whole context (the SDK's own `Display`
/// says only "service error").
#[derive(Debug)]
struct SdkFailure {
    message: String,
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl std::fmt::Display for SdkFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SdkFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.source.as_ref())
    }
}

/// Whether the store answered 501: it does not implement the call at all
/// (s3s-fs for ListMultipartUploads and encryption), which is no outage.
pub(super) fn not_implemented<E>(err: &SdkError<E, HttpResponse>) -> bool {
    err.raw_response()
        .is_some_and(|r| r.status().as_u16() == 501)
}

/// Sorts an SDK failure into: precondition lost, worth retrying, or needs an operator.
/// A 404: no such key (HEAD has no body to carry an error code).
pub(super) fn is_not_found<E>(err: &SdkError<E, HttpResponse>) -> bool {
    err.raw_response()
        .is_some_and(|r| r.status().as_u16() == 404)
}

pub(super) fn classify<E>(err: SdkError<E, HttpResponse>) -> StorageError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let kind = kind(&err);
    let failure = || {
        Box::new(SdkFailure {
            message: DisplayErrorContext(&err).to_string(),
            source: Box::new(err),
        })
    };
    match kind {
        Kind::Changed => StorageError::Changed,
        Kind::NoSuchUpload => StorageError::NoSuchUpload,
        Kind::InvalidParts(detail) => StorageError::InvalidParts(detail),
        Kind::Unavailable => StorageError::Unavailable(failure()),
        Kind::Other => StorageError::Other(failure()),
    }
}

enum Kind {
    Changed,
    NoSuchUpload,
    InvalidParts(String),
    Unavailable,
    Other,
}

fn kind<E>(err: &SdkError<E, HttpResponse>) -> Kind
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::ServiceError(ctx) => {
            // Some stores (Garage) answer some errors with a bare status and no
            // body, so the status speaks where the code is missing.
            let status = ctx.raw().status().as_u16();
            match (ctx.err().code(), status) {
                (Some("PreconditionFailed"), _) | (None, 412) => Kind::Changed,
                (Some("NoSuchUpload"), _) => Kind::NoSuchUpload,
                (Some("InvalidPart" | "InvalidPartOrder" | "EntityTooSmall"), _) => {
                    Kind::InvalidParts(ctx.err().message().unwrap_or_default().to_owned())
                }
                (Some("SlowDown" | "ServiceUnavailable" | "InternalError"), _) => Kind::Unavailable,
                (_, 429 | 500..=599) => Kind::Unavailable,
                _ => Kind::Other,
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            Kind::Unavailable
        }
        _ => Kind::Other,
    }
}
