use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::UploadRecord;

/// What a webhook event announces. Each is sent only once the state it
/// announces is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum EventType {
    /// Verified and promoted to its final key.
    #[serde(rename = "upload.completed")]
    UploadCompleted,
    /// What landed did not match what was declared; `rejectReason` says why.
    #[serde(rename = "upload.rejected")]
    UploadRejected,
    /// Deleted (by its owner, the application, retention, replacement or an
    /// erasure); its objects are leaving storage.
    #[serde(rename = "upload.deleted")]
    UploadDeleted,
    /// Never completed before its deadline.
    #[serde(rename = "upload.expired")]
    UploadExpired,
    /// Every processor ran; the file is clean as far as the scan can tell.
    #[serde(rename = "processing.ready")]
    ProcessingReady,
    /// The virus scan flagged the file; it is not downloadable.
    #[serde(rename = "processing.quarantined")]
    ProcessingQuarantined,
    /// A processor failed for good (dead-lettered).
    #[serde(rename = "processing.failed")]
    ProcessingFailed,
}

impl EventType {
    pub const ALL: [EventType; 7] = [
        Self::UploadCompleted,
        Self::UploadRejected,
        Self::UploadDeleted,
        Self::UploadExpired,
        Self::ProcessingReady,
        Self::ProcessingQuarantined,
        Self::ProcessingFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UploadCompleted => "upload.completed",
            Self::UploadRejected => "upload.rejected",
            Self::UploadDeleted => "upload.deleted",
            Self::UploadExpired => "upload.expired",
            Self::ProcessingReady => "processing.ready",
            Self::ProcessingQuarantined => "processing.quarantined",
            Self::ProcessingFailed => "processing.failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// The body of every webhook delivery, as the Standard Webhooks
/// specification lays it out. Signed in the `webhook-signature` header
/// (`v1,` and the base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}`
/// under the endpoint's `whsec_` secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WebhookEvent {
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// When the announced change was made (recorded with it, in the same
    /// transaction).
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    /// The upload as it stood then (without links). After an erasure, the
    /// tombstone keeps no filename, type, metadata or key.
    pub data: UploadRecord,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Out of attempts; `POST .../redeliver` tries again.
    Failed,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 3] = [Self::Pending, Self::Delivered, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// One event's delivery to the configured endpoint, and how its attempts went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDelivery {
    /// The `webhook-id` header: the same on every attempt and redelivery, so
    /// the receiver can drop duplicates.
    pub id: String,
    pub event: EventType,
    pub upload_id: uuid::Uuid,
    pub state: DeliveryState,
    pub attempts: u32,
    /// The HTTP status of the last answer; absent when there was none
    /// (unreachable, timed out) or no attempt yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<u16>,
    /// Why the last attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_attempt_at: Option<OffsetDateTime>,
    /// When it is tried next, while pending.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub next_attempt_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A page of deliveries, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryList {
    pub items: Vec<WebhookDelivery>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
