//! Azure's answers sorted into what uploadgate decides on, by HTTP status and
//! the `x-ms-error-code` header (never by message text).

use reqwest::{Response, StatusCode};

use crate::storage::StorageError;

/// Azure's refusal of a call: its status and error code, which name the
/// problem without echoing the request.
#[derive(Debug)]
pub(super) struct Refusal {
    pub status: StatusCode,
    pub code: String,
    what: &'static str,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Azure answered {} {} to {}",
            self.status.as_u16(),
            self.code,
            self.what
        )
    }
}

impl std::error::Error for Refusal {}

impl Refusal {
    pub(super) fn of(response: &Response, what: &'static str) -> Self {
        Self {
            status: response.status(),
            code: response
                .headers()
                .get("x-ms-error-code")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("(no error code)")
                .to_owned(),
            what,
        }
    }

    pub(super) fn into_error(self) -> StorageError {
        match (self.status, self.code.as_str()) {
            // Another copy to the same blob still runs: try again later.
            (_, "PendingCopyOperation") => StorageError::Unavailable(Box::new(self)),
            (StatusCode::PRECONDITION_FAILED, "LeaseIdMissing" | "LeaseLost") => {
                StorageError::Other(Box::new(self))
            }
            (StatusCode::PRECONDITION_FAILED, _) => StorageError::Changed,
            (_, "InvalidBlockList" | "InvalidBlockId") => {
                StorageError::InvalidParts(self.to_string())
            }
            (status, _) if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS => {
                StorageError::Unavailable(Box::new(self))
            }
            _ => StorageError::Other(Box::new(self)),
        }
    }
}

/// A request that got no answer (refused connection, timeout): worth retrying.
pub(super) fn unreachable(err: reqwest::Error) -> StorageError {
    // Without the URL: the server's own calls carry no secret in it, but a
    // short message is all an operator needs.
    StorageError::Unavailable(Box::new(err.without_url()))
}
