use std::collections::BTreeMap;

use axum::extract::State;
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uploadgate_api::{UploadList, UploadStatus};

use crate::db::ListFilter;
use crate::http::extract::{Json, ListAs, Query};
use crate::http::routes::paging;
use crate::http::routes::responses::Unauthorized;
use crate::http::{ApiError, AppState};
use crate::uploads::{UploadError, check_metadata};

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
    let page = paging::page(params.limit, params.cursor.as_deref())?;

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

    let filter = ListFilter {
        status,
        profile: params.profile,
        created_from: instant("createdAfter", params.created_after.as_deref())?,
        created_until: instant("createdBefore", params.created_before.as_deref())?,
        metadata,
        page,
    };
    let listed = state.uploads.list(user.as_ref(), &filter).await?;
    Ok(Json(UploadList {
        items: listed.items,
        next_cursor: listed.next_cursor,
    }))
}
