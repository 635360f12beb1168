//! What can go wrong with an upload, said in the domain's words. The HTTP
//! layer turns each variant into a status and a problem body, in one place
//! (`http::problem`); workers and the janitor decide on the variants directly.

use uploadgate_api::UploadStatus;

use crate::db::DbError;
use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// No such upload, or not the caller's: the two look the same.
    #[error("no such upload")]
    NotFound,
    /// Another resource the caller named (an erasure, a webhook delivery).
    #[error("no such {0}")]
    NoSuch(&'static str),
    /// The request breaks the profile's rules or is malformed.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// Recording it would take its owner over a quota.
    #[error("{0}")]
    QuotaExceeded(String),
    /// Not what this caller's credential allows.
    #[error("{0}")]
    NotPermitted(String),
    /// A door this server's store cannot serve (Companion's S3 routes on Azure).
    #[error("{0}")]
    NotEnabled(String),
    /// A scoped upload token has spent what it allows, or expired.
    #[error("this upload token has created all the files or bytes it allows, or has expired")]
    TokenLimitReached,
    #[error("this upload is sent in one request, not in parts")]
    NotMultipart,
    #[error(
        "this upload's client chooses its own part sizes; sign its parts through the route it was created by"
    )]
    ClientChosenParts,
    /// No longer in progress: takes no parts, cannot complete.
    #[error("the upload is {} and can no longer complete or take parts", .0.as_str())]
    NotPending(UploadStatus),
    /// Already settled: cannot be aborted.
    #[error("the upload is already {}", .0.as_str())]
    Finished(UploadStatus),
    #[error("only completed uploads can be downloaded; this one is {}", .0.as_str())]
    NotCompleted(UploadStatus),
    #[error("this upload was deleted")]
    Deleted,
    #[error("the virus scan flagged this file; it is quarantined and cannot be downloaded")]
    Quarantined,
    #[error(
        "this file is being scanned for viruses; it can be downloaded once the scan says clean"
    )]
    ScanPending,
    #[error("the virus scan of this file failed; it cannot be downloaded until a scan says clean")]
    ScanFailed,
    #[error("the upload ran past its deadline; start a new one")]
    Expired,
    #[error("another request is completing this upload; ask again shortly")]
    CompletionInProgress,
    #[error("a request with this Idempotency-Key is still creating its upload; ask again shortly")]
    CreationInProgress,
    #[error("this Idempotency-Key was used for another request; use a new key for a new upload")]
    IdempotencyKeyReused,
    #[error("the upload kept changing while being completed; complete again")]
    ConcurrentUpdate,
    #[error("nothing has been uploaded for this upload yet")]
    NothingUploaded,
    /// Part numbers of the layout storage does not hold, ascending.
    #[error("parts missing from storage: {}", name_parts(.0))]
    MissingParts(Vec<u32>),
    /// The parts a client chose do not make a valid object.
    #[error("{0}")]
    InvalidParts(String),
    #[error("part {part}: storage holds ETag {held}, not {given}")]
    EtagMismatch {
        part: u32,
        held: String,
        given: String,
    },
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Db(#[from] DbError),
    /// A broken invariant (a task that panicked, an object gone right after
    /// it was assembled): logged, answered as an internal error.
    #[error("{0}")]
    Internal(String),
}

impl UploadError {
    /// Worth retrying later as it is: the database or storage is down.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Self::Db(DbError::Unavailable(_)) | Self::Storage(StorageError::Unavailable(_))
        )
    }

    /// Not the request's fault: an outage or a broken invariant.
    pub fn is_server_side(&self) -> bool {
        match self {
            Self::Db(_) | Self::Internal(_) => true,
            Self::Storage(err) => {
                matches!(err, StorageError::Unavailable(_) | StorageError::Other(_))
            }
            _ => false,
        }
    }
}

/// A request that breaks the profile's rules or is malformed, and in which input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("there is no profile {0:?}")]
    UnknownProfile(String),
    #[error("{0}")]
    Filename(String),
    #[error("{0:?} is not a media type like image/png")]
    ContentType(String),
    #[error("{essence} is not allowed here; allowed: {}", .allowed.join(", "))]
    ContentTypeNotAllowed {
        essence: String,
        allowed: Vec<String>,
    },
    #[error("empty files are not accepted")]
    EmptyFile,
    #[error("{size} bytes is over this profile's limit of {max} bytes")]
    FileTooLarge { size: u64, max: u64 },
    #[error("checksumSha256 must be the base64 of a 32-byte SHA-256 digest")]
    Checksum,
    #[error("{0}")]
    Metadata(String),
    #[error("files over {threshold} bytes are sent in parts: leave method out")]
    MultipartRequired { threshold: u64 },
    #[error(
        "a file sent in parts is checked part by part: pass checksumsSha256 when signing parts"
    )]
    ChecksumPerPart,
    #[error("{0}")]
    NoPartLayout(String),
    /// Any other input, named by its request field.
    #[error("{detail}")]
    Field { field: &'static str, detail: String },
}

impl Invalid {
    pub fn field(field: &'static str, detail: impl Into<String>) -> Self {
        Self::Field {
            field,
            detail: detail.into(),
        }
    }
}

/// At most this many missing part numbers are named in an error.
const MAX_NAMED_PARTS: usize = 50;

fn name_parts(missing: &[u32]) -> String {
    let mut named: Vec<String> = missing
        .iter()
        .take(MAX_NAMED_PARTS)
        .map(u32::to_string)
        .collect();
    if missing.len() > MAX_NAMED_PARTS {
        named.push(format!("and {} more", missing.len() - MAX_NAMED_PARTS));
    }
    named.join(", ")
}
