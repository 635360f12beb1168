use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ErrorCode;

/// An error body in the shape of RFC 9457 (`application/problem+json`).
///
/// `code` is the stable, machine-readable part: clients branch on it, never on
/// `title` or `detail`, which are for people and may be reworded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// A URI naming the problem type; `about:blank` when `code` says it all.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// Stable machine code, e.g. `content_type_not_allowed`.
    pub code: ErrorCode,
    /// What went wrong in this request, for a person to read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request field at fault, when one is (`contentType`, `size`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}
