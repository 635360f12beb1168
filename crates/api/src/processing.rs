//! What happens to an upload after it is verified: the processors' results and
//! the jobs that produce them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// Where post-processing of a completed upload stands. `status` stays the
/// transfer's lifecycle (a completed upload is verified), so clients that only
/// wait for `completed` keep working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProcessingState {
    /// Jobs are queued or running.
    Processing,
    /// Every processor has run; the file is clean as far as the scan can tell.
    Ready,
    /// The virus scan found something: the object was moved out of the serving
    /// prefix (or deleted) and is not downloadable.
    Quarantined,
    /// A job failed for good (dead-lettered); see `jobs` for the error.
    Failed,
}

impl ProcessingState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Processing => "processing",
            Self::Ready => "ready",
            Self::Quarantined => "quarantined",
            Self::Failed => "failed",
        }
    }
}

/// Results the processors recorded, and the state they leave the upload in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Processing {
    pub state: ProcessingState,
    /// Media type found from the content (`sniff`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected_type: Option<String>,
    /// Hex SHA-256 of the stored object, computed by reading it (`metadata`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<ScanResult>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thumbnails: Vec<Thumbnail>,
    /// Why a processor left its work undone without failing (e.g. an image too
    /// large to thumbnail).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The upload's jobs, in the order they ran; only in responses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jobs: Vec<Job>,
}

impl Processing {
    /// Nothing found yet.
    pub fn started() -> Self {
        Self {
            state: ProcessingState::Processing,
            detected_type: None,
            sha256: None,
            width: None,
            height: None,
            scan: None,
            thumbnails: Vec::new(),
            notes: Vec::new(),
            jobs: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScanResult {
    /// `clean` or `infected`.
    pub verdict: String,
    /// The signature ClamAV matched, when infected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Thumbnail {
    /// The configured bounding size in pixels, e.g. `200`.
    pub size: u32,
    pub width: u32,
    pub height: u32,
    pub content_type: String,
    pub key: String,
    /// A short-lived GET URL; only in responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Done,
    /// Out of attempts: dead-lettered until retried (`POST /v1/jobs/{id}/retry`).
    Dead,
}

impl JobState {
    pub const ALL: [JobState; 4] = [Self::Queued, Self::Running, Self::Done, Self::Dead];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == s)
    }
}

/// One processor's run for one upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    /// Stable across attempts: a webhook's delivery id.
    pub id: Uuid,
    pub upload_id: Uuid,
    /// The processor: `sniff`, `metadata`, `scan`, `thumbnail` or `webhook`.
    pub kind: String,
    pub state: JobState,
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When it runs next (queued) or ran last.
    #[serde(with = "time::serde::rfc3339")]
    pub run_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobList {
    pub items: Vec<Job>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// What `POST /v1/events/s3` (or `/v1/events/azure`) did with a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventsAccepted {
    /// Records that completed (or had already completed) an upload.
    pub matched: u32,
    /// Records about other keys, other buckets or other events.
    pub ignored: u32,
}

/// The answer to Event Grid's subscription validation handshake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventGridValidation {
    /// The `validationCode` of the validation event, echoed.
    pub validation_response: String,
}
