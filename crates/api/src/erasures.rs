use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// Where an erasure of a user stands (`DELETE /v1/users/{user}/uploads`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErasureState {
    /// Uploads remain to erase; it carries on in the background.
    Running,
    /// Every upload the user had when it was asked for is a stripped tombstone.
    Done,
}

/// An erasure of everything one user uploaded: each upload the user had
/// when it was asked for, in every state, is deleted from storage and its
/// record kept as a tombstone without filename, type, metadata, key or
/// checksum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Erasure {
    pub id: Uuid,
    pub user: String,
    pub state: ErasureState,
    /// Uploads created up to this instant are erased.
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub finished_at: Option<OffsetDateTime>,
    /// Uploads erased so far.
    pub erased: u64,
    /// Uploads still to erase (counted up to 10,000).
    pub remaining: u64,
}
