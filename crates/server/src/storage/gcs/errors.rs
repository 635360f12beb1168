//! GCS's answers sorted into what uploadgate decides on, by HTTP status and
//! the JSON error's `reason` (never by message text, which may echo names).

use reqwest::{Response, StatusCode};
use serde::Deserialize;

use crate::storage::StorageError;

/// GCS's refusal of a call: its status and first error reason.
#[derive(Debug)]
pub(super) struct Refusal {
    pub status: StatusCode,
    pub reason: String,
    what: &'static str,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Google Cloud Storage answered {} {} to {}",
            self.status.as_u16(),
            self.reason,
            self.what
        )
    }
}

impl std::error::Error for Refusal {}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    #[serde(default)]
    reason: String,
}

impl Refusal {
    /// Reads the refusal from `response` (which it consumes: the reason is in the body).
    pub(super) async fn of(response: Response, what: &'static str) -> Self {
        let status = response.status();
        let reason = response
            .bytes()
            .await
            .ok()
            .and_then(|body| serde_json::from_slice::<ErrorBody>(&body).ok())
            .and_then(|body| body.error.errors.into_iter().next())
            .map(|item| item.reason)
            .filter(|reason| !reason.is_empty())
            .unwrap_or_else(|| "(no reason)".to_owned());
        Self {
            status,
            reason,
            what,
        }
    }

    pub(super) fn into_error(self) -> StorageError {
        match self.status {
            StatusCode::PRECONDITION_FAILED => StorageError::Changed,
            status if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS => {
                StorageError::Unavailable(Box::new(self))
            }
            _ => StorageError::Other(Box::new(self)),
        }
    }
}

/// What a refused call becomes.
pub(super) async fn refused(response: Response, what: &'static str) -> StorageError {
    Refusal::of(response, what).await.into_error()
}

/// A request that got no answer (refused connection, timeout): worth retrying.
pub(super) fn unreachable(err: reqwest::Error) -> StorageError {
    StorageError::Unavailable(Box::new(err.without_url()))
}
