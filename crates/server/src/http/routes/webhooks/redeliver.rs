use axum::extract::{Path, State};
use axum::http::StatusCode;
use uploadgate_api::WebhookDelivery;

use crate::auth::Scope;
use crate::http::extract::{Backend, Json};
use crate::http::routes::responses::{DeliveryNotFound, Unauthorized, Unavailable};
use crate::http::{ApiError, AppState};

/// Sends a delivery again, now, whatever its state, with the same
/// `webhook-id` (a receiver that had it drops the copy). Takes an API key
/// with the `admin` scope.
#[utoipa::path(post, path = "/v1/webhooks/deliveries/{id}/redeliver", tag = "webhooks",
    params(("id" = String, Path, description = "The delivery's id (its webhook-id)")),
    security(("bearer" = [])),
    responses(
        (status = 202, body = WebhookDelivery, description = "Queued"),
        (status = 403, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Not an API key with the admin scope (`not_permitted`)"),
        Unauthorized, DeliveryNotFound, Unavailable))]
pub async fn redeliver(
    State(state): State<AppState>,
    backend: Backend,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<WebhookDelivery>), ApiError> {
    backend.require(Scope::Admin)?;
    let delivery = state.uploads.redeliver(&id).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery)))
}
