use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uploadgate_api::{UploadList, UploadStatus};
use uuid::Uuid;

use crate::db::ListFilter;
use crate::http::extract::{ListAs, Query};
use crate::http::routes::responses::Unauthorized;
use crate::http::{ApiError, AppState};
use crate::uploads::{UploadError, check_metadata};

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only uploads in this state.
    status: Option<String>,
    /// Only uploads of this profile.
    profile: Option<String>,
    /// Only uploads created at or after this instant (RFC 3339).
    #[serde(rename = "createdAfter")]
    #[param(rename = "createdAfter")]
    created_after: Option<String>,
    /// Only uploads created before this instant (RFC 3339).
    #[serde(rename = "createdBefore")]
    #[param(rename = "createdBefore")]
    created_before: Option<String>,
    /// Only uploads whose metadata has this entry: `key=value`.
    metadata: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// `nextCursor` of the previous page.
    cursor: Option<String>,
}

/// The caller's uploads, newest first. With an API key: the uploads of the
/// user `Uploadgate-User` names, or every user's (`admin` scope).
#[utoipa::path(get, path = "/v1/uploads", tag = "uploads", params(ListParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = UploadList),
        (status = 400, body = uploadgate_api::Problem, content_type = "application/problem+json"),
        Unauthorized))]
pub async fn list_uploads(
    State(state): State<AppState>,
    ListAs(user): ListAs,
    Query(params): Query<ListParams>,
) -> Result<Json<UploadList>, ApiError> {
    let status = params
        .status
        .as_deref()
        .map(|s| {
            UploadStatus::parse(s).ok_or_else(|| {
                ApiError::invalid_field("status", format!("status: unknown state {s:?}"))
            })
        })
        .transpose()?;
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid_field(
            "limit",
            format!("limit: must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let before = params
        .cursor
        .as_deref()
        .map(|c| {
            Uuid::parse_str(c).map_err(|_| {
                ApiError::invalid_field("cursor", "cursor: not a cursor from this API")
            })
        })
        .transpose()?;

    let instant = |field: &'static str, value: Option<&str>| {
        value
            .map(|v| {
                OffsetDateTime::parse(v, &Rfc3339).map_err(|_| {
                    ApiError::invalid_field(field, format!("{field}: an RFC 3339 instant"))
                })
            })
            .transpose()
    };
    let metadata = params
        .metadata
        .as_deref()
        .map(|entry| {
            let (key, value) = entry.split_once('=').unwrap_or((entry, ""));
            let pair = BTreeMap::from([(key.to_owned(), value.to_owned())]);
            check_metadata(&pair).map_err(UploadError::from)?;
            Ok::<_, ApiError>((key.to_owned(), value.to_owned()))
        })
        .transpose()?;

    // One extra row tells whether another page exists.
    let filter = ListFilter {
        status,
        profile: params.profile,
        created_from: instant("createdAfter", params.created_after.as_deref())?,
        created_until: instant("createdBefore", params.created_before.as_deref())?,
        metadata,
        before,
        limit: limit + 1,
    };
    let mut items = state.uploads.list(user.as_ref(), &filter).await?;
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_cursor = more
        .then(|| items.last().map(|u| u.id.to_string()))
        .flatten();
    Ok(Json(UploadList { items, next_cursor }))
}
