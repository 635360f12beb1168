use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// Body of `POST /v1/uploads`: what the client intends to upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUpload {
    /// The name the user gave the file. Shown back to them, never used as a storage path.
    #[schema(example = "holiday.jpg")]
    pub filename: String,
    /// Declared media type; storage will only accept a body sent with exactly this type.
    #[schema(example = "image/jpeg")]
    pub content_type: String,
    /// Exact size in bytes; storage will only accept a body of exactly this length.
    #[schema(example = 482_113)]
    pub size: u64,
    /// Upload profile whose policy applies; `default` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Base64 SHA-256 digest of the whole file, as in S3's `x-amz-checksum-sha256`.
    /// When given, a body with another digest is refused: by storage where it
    /// checks signed checksums (S3), else at completion (Azure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_sha256: Option<String>,
    /// `PUT` (default) for a presigned URL, `POST` for an HTML form policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<UploadMethod>,
    /// Free-form string pairs kept with the record for the application's use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
}

/// How the client asked to send the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum UploadMethod {
    Put,
    Post,
}

/// Where an upload stands. Only `completed` uploads can be downloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UploadStatus {
    /// Authorized; the client may send the bytes.
    Pending,
    /// A multipart upload with at least one part signed.
    Uploading,
    /// Verified by the server and promoted to its final key.
    Completed,
    /// What landed did not match what was declared; the object was deleted.
    Rejected,
    /// Cancelled by the user.
    Aborted,
    /// Never completed before its deadline.
    Expired,
    /// Deleted after it finished: a tombstone whose objects are gone from
    /// storage (`deletedAt` says when).
    Deleted,
}

impl UploadStatus {
    pub const ALL: [UploadStatus; 7] = [
        Self::Pending,
        Self::Uploading,
        Self::Completed,
        Self::Rejected,
        Self::Aborted,
        Self::Expired,
        Self::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Uploading => "uploading",
            Self::Completed => "completed",
            Self::Rejected => "rejected",
            Self::Aborted => "aborted",
            Self::Expired => "expired",
            Self::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }

    /// Pending or uploading: it may still take parts, complete or be aborted.
    pub fn is_in_progress(self) -> bool {
        matches!(self, Self::Pending | Self::Uploading)
    }

    /// No transition leaves these states.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Rejected | Self::Aborted | Self::Expired | Self::Deleted
        )
    }
}

/// The request the client must make to send the bytes straight to storage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "method")]
pub enum UploadInstructions {
    /// `PUT` the body to `url` with exactly these headers.
    #[serde(rename = "PUT")]
    Put {
        url: String,
        headers: BTreeMap<String, String>,
    },
    /// `POST` a `multipart/form-data` form to `url`: these fields first, then the file as `file`.
    #[serde(rename = "POST")]
    Post {
        url: String,
        fields: BTreeMap<String, String>,
    },
    /// Send the file in `partCount` parts of `partSize` bytes (the last may be shorter).
    #[serde(rename = "MULTIPART", rename_all = "camelCase")]
    Multipart { part_size: u64, part_count: u32 },
}

/// An upload as the API reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadRecord {
    pub id: Uuid,
    /// The user it belongs to (what an API key listing everybody's uploads
    /// needs to tell them apart).
    pub owner: String,
    pub status: UploadStatus,
    /// The object's final key in the bucket.
    pub key: String,
    pub profile: String,
    pub filename: String,
    pub content_type: String,
    /// Bytes. Absent only for uploads whose client did not declare a size (Uppy
    /// through the Companion routes) until they are verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// After this instant a pending upload can no longer be sent.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub completed_at: Option<OffsetDateTime>,
    /// When it was deleted, once `status` is `deleted`.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub deleted_at: Option<OffsetDateTime>,
    /// Multipart uploads only: bytes per part (all but the last).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_size: Option<u64>,
    /// Multipart uploads only: how many parts make the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_count: Option<u32>,
    /// Multipart uploads in progress, in `GET /v1/uploads/{id}`: the parts storage
    /// holds now. A resuming client sends only the others. Absent when storage no
    /// longer holds the multipart upload (being completed, or aborted or expired there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded_parts: Option<Vec<UploadedPart>>,
    /// Why verification refused the upload, when `status` is `rejected`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject_reason: Option<String>,
    /// Post-processing of a completed upload, when its profile has processors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing: Option<crate::Processing>,
    /// How to send the bytes; present only in the answer to `POST /v1/uploads`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<UploadInstructions>,
}

/// One page of `GET /v1/uploads`, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadList {
    pub items: Vec<UploadRecord>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The filters and page of `GET /v1/uploads`; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub status: Option<UploadStatus>,
    pub profile: Option<String>,
    /// Created at or after this instant.
    pub created_after: Option<OffsetDateTime>,
    /// Created before this instant.
    pub created_before: Option<OffsetDateTime>,
    /// One metadata entry the uploads must have: (key, value).
    pub metadata: Option<(String, String)>,
    pub limit: Option<u32>,
    /// `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

impl ListQuery {
    /// The query string's pairs, by the names the server reads.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let instant = |t: &OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        };
        [
            ("status", self.status.map(|s| s.as_str().to_owned())),
            ("profile", self.profile.clone()),
            ("createdAfter", self.created_after.as_ref().map(instant)),
            ("createdBefore", self.created_before.as_ref().map(instant)),
            (
                "metadata",
                self.metadata.as_ref().map(|(k, v)| format!("{k}={v}")),
            ),
            ("limit", self.limit.map(|n| n.to_string())),
            ("cursor", self.cursor.clone()),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name, value?)))
        .collect()
    }
}

/// A short-lived URL to read a completed upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DownloadLink {
    pub url: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// A part that storage holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadedPart {
    pub part_number: u32,
    pub size: u64,
    pub etag: String,
}

/// Body of `POST /v1/uploads/{id}/parts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignParts {
    /// Parts to sign, 1-based, each within the upload's `partCount`.
    pub part_numbers: Vec<u32>,
    /// Base64 SHA-256 of some parts, keyed by part number ("1"): storage then
    /// refuses a part with other content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksums_sha256: Option<BTreeMap<String, String>>,
}

/// Presigned part uploads, in the order asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignedParts {
    pub parts: Vec<SignedPart>,
}

/// `PUT` the part's exact bytes to `url` with these headers; read `ETag`
/// from the answer (Azure's answers carry none: that is fine).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignedPart {
    pub part_number: u32,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// Optional body of `POST /v1/uploads/{id}/complete`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompleteUpload {
    /// The parts as the client saw them; each ETag must match what storage holds.
    /// When absent, the server completes with the parts storage lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<Vec<CompletedPart>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompletedPart {
    pub part_number: u32,
    /// Quoted or not; empty when storage answered without one (Azure).
    pub etag: String,
}
