use axum::extract::State;
use serde::Deserialize;
use uploadgate_api::{JobList, JobState};

use crate::http::extract::{Json, ListAs, Query};
use crate::http::routes::paging;
use crate::http::routes::responses::Unauthorized;
use crate::http::{ApiError, AppState};
use crate::uploads::job_record;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JobParams {
    /// `queued`, `running`, `done` or `dead` (the default: the dead-letter queue).
    state: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// `nextCursor` of the previous page.
    cursor: Option<String>,
}

/// The caller's jobs in one state, newest first; by default the
/// dead-lettered ones, which `POST /v1/jobs/{id}/retry` queues again.
#[utoipa::path(get, path = "/v1/jobs", tag = "jobs", params(JobParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = JobList),
        (status = 400, body = uploadgate_api::Problem, content_type = "application/problem+json"),
        Unauthorized))]
pub async fn list_jobs(
    State(state): State<AppState>,
    ListAs(user): ListAs,
    Query(params): Query<JobParams>,
) -> Result<Json<JobList>, ApiError> {
    let wanted = match params.state.as_deref() {
        None => JobState::Dead,
        Some(s) => JobState::parse(s)
            .ok_or_else(|| ApiError::invalid_field("state", format!("state: unknown {s:?}")))?,
    };
    let page = paging::page(params.limit, params.cursor.as_deref())?;
    let listed = state
        .uploads
        .jobs_in_state(user.as_ref(), wanted, &page)
        .await?;
    Ok(Json(JobList {
        items: listed.items.into_iter().map(job_record).collect(),
        next_cursor: listed.next_cursor,
    }))
}
