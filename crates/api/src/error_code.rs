use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Every `code` a problem+json body can carry: the stable, machine-readable
/// half of an error. Each code always comes with the same HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    // 400: the request is malformed or the profile refuses it.
    /// The body could not be read (not UTF-8, cut short).
    InvalidBody,
    /// The body is not JSON, or not the JSON this route takes.
    InvalidJson,
    /// The query string does not parse.
    InvalidQuery,
    /// One field is wrong; `field` names it.
    InvalidField,
    UnknownProfile,
    InvalidFilename,
    /// Not a media type like `image/png`.
    InvalidContentType,
    /// A media type the profile does not accept.
    ContentTypeNotAllowed,
    EmptyFile,
    /// Larger than the profile's `max_size`.
    FileTooLarge,
    /// Not the base64 of a 32-byte SHA-256 digest.
    InvalidChecksum,
    InvalidMetadata,
    /// Over the profile's multipart threshold and asked for a POST form.
    MultipartRequired,
    /// A whole-file checksum for a file sent in parts.
    ChecksumPerPart,
    /// No part layout of at most 10,000 parts fits the size.
    NoPartLayout,
    // 401
    /// Missing, invalid or expired token.
    Unauthorized,
    // 403
    /// Over a per-user quota; retrying does not help until usage goes down.
    QuotaExceeded,
    /// Not what this credential may do: an API key without the scope, a
    /// scoped upload token outside its profile, a route for API keys only.
    NotPermitted,
    /// A scoped upload token has created all the files, or declared all the
    /// bytes, it allows (or has expired since).
    TokenLimitReached,
    // 404
    /// No such route.
    NotFound,
    /// No such upload, or not the caller's.
    UploadNotFound,
    /// No such dead job, or not the caller's.
    JobNotFound,
    /// A route that is off until configured (storage events without a secret).
    NotEnabled,
    // 405
    MethodNotAllowed,
    // 409: the upload is not in a state where this can happen.
    /// Already completed, rejected or expired: it cannot be aborted.
    UploadFinished,
    /// No longer in progress: it takes no more parts and cannot complete.
    UploadNotPending,
    /// Only completed uploads can be downloaded.
    UploadNotCompleted,
    /// The virus scan flagged the file.
    UploadQuarantined,
    /// The profile scans uploads and this one's scan has not said clean yet.
    ScanPending,
    /// The profile scans uploads and this one's scan failed.
    ScanFailed,
    /// Past its deadline; start a new upload.
    UploadExpired,
    /// Sent in one request, not in parts.
    NotMultipart,
    /// A multipart upload whose client chose its own part sizes (Uppy).
    ClientChosenParts,
    /// Another request is completing this upload; ask again shortly.
    CompletionInProgress,
    /// The upload kept changing while being completed; complete again.
    ConcurrentUpdate,
    /// Nothing has been uploaded yet.
    ObjectMissing,
    /// Parts missing from storage; `detail` names them.
    MissingParts,
    /// The parts do not make a valid object (uneven sizes, too small, refused by storage).
    InvalidParts,
    /// A part's ETag is not the one storage holds.
    EtagMismatch,
    /// The object changed while it was being verified; complete again.
    ObjectChanged,
    /// Storage no longer has the multipart upload (aborted or expired there).
    MultipartUploadGone,
    /// A creation under the same `Idempotency-Key` is still running; ask again shortly.
    CreationInProgress,
    // 410
    /// The upload was deleted; its record stays as a tombstone.
    UploadDeleted,
    // 413, 415, 422, 429
    BodyTooLarge,
    UnsupportedMediaType,
    /// What landed did not match what was declared (Companion routes).
    UploadRejected,
    /// This `Idempotency-Key` was used for another request body.
    IdempotencyKeyReused,
    /// Over a rate limit; retry after `Retry-After`.
    RateLimited,
    // 5xx: details are logged, never sent.
    InternalError,
    /// The database or storage is unavailable; retry after `Retry-After`.
    ServiceUnavailable,
    /// A code this client does not know yet (a newer server's); branch on the status.
    #[serde(other, skip_serializing)]
    Unknown,
}

impl ErrorCode {
    /// Every code a server sends (all but `Unknown`).
    pub const ALL: [ErrorCode; 50] = [
        Self::InvalidBody,
        Self::InvalidJson,
        Self::InvalidQuery,
        Self::InvalidField,
        Self::UnknownProfile,
        Self::InvalidFilename,
        Self::InvalidContentType,
        Self::ContentTypeNotAllowed,
        Self::EmptyFile,
        Self::FileTooLarge,
        Self::InvalidChecksum,
        Self::InvalidMetadata,
        Self::MultipartRequired,
        Self::ChecksumPerPart,
        Self::NoPartLayout,
        Self::Unauthorized,
        Self::QuotaExceeded,
        Self::NotPermitted,
        Self::TokenLimitReached,
        Self::NotFound,
        Self::UploadNotFound,
        Self::JobNotFound,
        Self::NotEnabled,
        Self::MethodNotAllowed,
        Self::UploadFinished,
        Self::UploadNotPending,
        Self::UploadNotCompleted,
        Self::UploadQuarantined,
        Self::ScanPending,
        Self::ScanFailed,
        Self::UploadExpired,
        Self::NotMultipart,
        Self::ClientChosenParts,
        Self::CompletionInProgress,
        Self::ConcurrentUpdate,
        Self::ObjectMissing,
        Self::MissingParts,
        Self::InvalidParts,
        Self::EtagMismatch,
        Self::ObjectChanged,
        Self::MultipartUploadGone,
        Self::CreationInProgress,
        Self::UploadDeleted,
        Self::BodyTooLarge,
        Self::UnsupportedMediaType,
        Self::UploadRejected,
        Self::IdempotencyKeyReused,
        Self::RateLimited,
        Self::InternalError,
        Self::ServiceUnavailable,
    ];

    /// The HTTP status every response with this code has.
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidBody
            | Self::InvalidJson
            | Self::InvalidQuery
            | Self::InvalidField
            | Self::UnknownProfile
            | Self::InvalidFilename
            | Self::InvalidContentType
            | Self::ContentTypeNotAllowed
            | Self::EmptyFile
            | Self::FileTooLarge
            | Self::InvalidChecksum
            | Self::InvalidMetadata
            | Self::MultipartRequired
            | Self::ChecksumPerPart
            | Self::NoPartLayout => 400,
            Self::Unauthorized => 401,
            Self::QuotaExceeded | Self::NotPermitted | Self::TokenLimitReached => 403,
            Self::NotFound | Self::UploadNotFound | Self::JobNotFound | Self::NotEnabled => 404,
            Self::MethodNotAllowed => 405,
            Self::UploadFinished
            | Self::UploadNotPending
            | Self::UploadNotCompleted
            | Self::UploadQuarantined
            | Self::ScanPending
            | Self::ScanFailed
            | Self::UploadExpired
            | Self::NotMultipart
            | Self::ClientChosenParts
            | Self::CompletionInProgress
            | Self::ConcurrentUpdate
            | Self::ObjectMissing
            | Self::MissingParts
            | Self::InvalidParts
            | Self::EtagMismatch
            | Self::ObjectChanged
            | Self::MultipartUploadGone
            | Self::CreationInProgress => 409,
            Self::UploadDeleted => 410,
            Self::BodyTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::UploadRejected | Self::IdempotencyKeyReused => 422,
            Self::RateLimited => 429,
            Self::InternalError | Self::Unknown => 500,
            Self::ServiceUnavailable => 503,
        }
    }

    /// The code as it travels in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidBody => "invalid_body",
            Self::InvalidJson => "invalid_json",
            Self::InvalidQuery => "invalid_query",
            Self::InvalidField => "invalid_field",
            Self::UnknownProfile => "unknown_profile",
            Self::InvalidFilename => "invalid_filename",
            Self::InvalidContentType => "invalid_content_type",
            Self::ContentTypeNotAllowed => "content_type_not_allowed",
            Self::EmptyFile => "empty_file",
            Self::FileTooLarge => "file_too_large",
            Self::InvalidChecksum => "invalid_checksum",
            Self::InvalidMetadata => "invalid_metadata",
            Self::MultipartRequired => "multipart_required",
            Self::ChecksumPerPart => "checksum_per_part",
            Self::NoPartLayout => "no_part_layout",
            Self::Unauthorized => "unauthorized",
            Self::QuotaExceeded => "quota_exceeded",
            Self::NotPermitted => "not_permitted",
            Self::TokenLimitReached => "token_limit_reached",
            Self::NotFound => "not_found",
            Self::UploadNotFound => "upload_not_found",
            Self::JobNotFound => "job_not_found",
            Self::NotEnabled => "not_enabled",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::UploadFinished => "upload_finished",
            Self::UploadNotPending => "upload_not_pending",
            Self::UploadNotCompleted => "upload_not_completed",
            Self::UploadQuarantined => "upload_quarantined",
            Self::UploadDeleted => "upload_deleted",
            Self::ScanPending => "scan_pending",
            Self::ScanFailed => "scan_failed",
            Self::UploadExpired => "upload_expired",
            Self::NotMultipart => "not_multipart",
            Self::ClientChosenParts => "client_chosen_parts",
            Self::CompletionInProgress => "completion_in_progress",
            Self::ConcurrentUpdate => "concurrent_update",
            Self::ObjectMissing => "object_missing",
            Self::MissingParts => "missing_parts",
            Self::InvalidParts => "invalid_parts",
            Self::EtagMismatch => "etag_mismatch",
            Self::ObjectChanged => "object_changed",
            Self::MultipartUploadGone => "multipart_upload_gone",
            Self::CreationInProgress => "creation_in_progress",
            Self::BodyTooLarge => "body_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::UploadRejected => "upload_rejected",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::RateLimited => "rate_limited",
            Self::InternalError => "internal_error",
            Self::ServiceUnavailable => "service_unavailable",
            Self::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_travels_as_its_name_and_unknown_ones_are_read_as_unknown() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).expect("serialize");
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            let back: ErrorCode = serde_json::from_str(&json).expect("deserialize");
            assert_eq!(back, code);
        }
        let newer: ErrorCode = serde_json::from_str("\"a_code_from_the_future\"").expect("other");
        assert_eq!(newer, ErrorCode::Unknown);
    }

    #[test]
    fn codes_are_unique_and_statuses_are_errors() {
        let mut names: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ErrorCode::ALL.len());
        assert!(!names.contains(&"unknown"));
        assert!(
            ErrorCode::ALL
                .iter()
                .all(|c| (400..600).contains(&c.status()))
        );
    }
}
