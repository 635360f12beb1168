use std::time::Duration;

use uploadgate_api::ErrorCode;

/// Why a call or an upload failed, sorted by what the caller can do about it.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server refused the request for what it is (policy, quota, not
    /// found, conflict, bad token): retrying the same request will not help.
    #[error("{detail} ({status} {code})")]
    Refused {
        status: u16,
        /// `Unknown` when the body was not a problem, or a newer server's code.
        code: ErrorCode,
        detail: String,
    },
    /// The network or the server kept failing (connection errors, 5xx, 429)
    /// through every retry.
    #[error("gave up after {attempts} attempts: {last}")]
    Unavailable { attempts: u32, last: String },
    /// Storage refused a presigned request even after it was signed again.
    #[error("storage refused the upload: {0}")]
    Storage(String),
    /// Verification at completion found the file did not match what was declared.
    #[error("the server rejected the upload: {0}")]
    Rejected(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
    /// The server answered something this client does not understand.
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
}

impl ClientError {
    /// A request that could not reach its server, or broke off, tried once.
    /// The URL is left out of the message: a presigned one carries a signature.
    pub fn unreachable(err: reqwest::Error) -> Self {
        Self::Unavailable {
            attempts: 1,
            last: err.without_url().to_string(),
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

/// One failed attempt, before the retry policy decides.
#[derive(Debug)]
pub(crate) enum Attempt {
    /// Worth another try, after at least `after` when the server said so.
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    Fail(ClientError),
}
