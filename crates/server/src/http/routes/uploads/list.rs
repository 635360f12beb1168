use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use uploadgate_api::{UploadList, UploadStatus};
use uuid::Uuid;

use crate::db::ListFilter;
use crate::http::extract::{ListAs, Query};
use crate::http::routes::responses::Unauthorized;
use crate::http::{ApiError, AppState};

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only uploads in this state.
    status: Option<String>,
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

    // One extra row tells whether another page exists.
    let filter = ListFilter {
        status,
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
