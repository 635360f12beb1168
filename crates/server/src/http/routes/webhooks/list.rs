use axum::extract::State;
use serde::Deserialize;
use uploadgate_api::{DeliveryList, DeliveryState, EventType};

use crate::auth::Scope;
use crate::db::DeliveryFilter;
use crate::http::extract::{Backend, Json, Query};
use crate::http::routes::paging;
use crate::http::routes::responses::{Unauthorized, Unavailable};
use crate::http::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryParams {
    /// `pending`, `delivered` or `failed`.
    state: Option<String>,
    /// An event type, e.g. `upload.completed`.
    event: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// `nextCursor` of the previous page.
    cursor: Option<String>,
}

/// The webhook delivery log, newest first: each event, where its delivery
/// stands, its attempts and the endpoint's last answer. Takes an API key
/// with the `admin` scope.
#[utoipa::path(get, path = "/v1/webhooks/deliveries", tag = "webhooks", params(DeliveryParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = DeliveryList),
        (status = 400, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "A bad filter"),
        (status = 403, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Not an API key with the admin scope (`not_permitted`)"),
        Unauthorized, Unavailable))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    backend: Backend,
    Query(params): Query<DeliveryParams>,
) -> Result<Json<DeliveryList>, ApiError> {
    backend.require(Scope::Admin)?;
    let page = paging::page(params.limit, params.cursor.as_deref())?;
    let filter = DeliveryFilter {
        state: params
            .state
            .map(|s| {
                DeliveryState::parse(&s).ok_or_else(|| {
                    ApiError::invalid_field("state", format!("state: unknown {s:?}"))
                })
            })
            .transpose()?,
        event: params
            .event
            .map(|e| {
                EventType::parse(&e).ok_or_else(|| {
                    ApiError::invalid_field("event", format!("event: unknown {e:?}"))
                })
            })
            .transpose()?,
        page,
    };
    let listed = state.uploads.deliveries(&filter).await?;
    Ok(Json(DeliveryList {
        items: listed.items,
        next_cursor: listed.next_cursor,
    }))
}
