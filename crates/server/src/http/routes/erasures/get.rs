use axum::extract::{Path, State};
use uploadgate_api::Erasure;

use crate::auth::Scope;
use crate::http::extract::{Backend, Json};
use crate::http::routes::responses::{ErasureNotFound, Unauthorized, Unavailable};
use crate::http::{ApiError, AppState};

/// How far an erasure got: uploads erased so far and still to erase.
#[utoipa::path(get, path = "/v1/erasures/{id}", tag = "erasures",
    params(("id" = String, Path, description = "Erasure id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Erasure),
        (status = 403, body = uploadgate_api::Problem, content_type = "application/problem+json", description = "Not an API key with the uploads scope (`not_permitted`)"),
        Unauthorized, ErasureNotFound, Unavailable))]
pub async fn get_erasure(
    State(state): State<AppState>,
    backend: Backend,
    Path(id): Path<String>,
) -> Result<Json<Erasure>, ApiError> {
    backend.require(Scope::Uploads)?;
    Ok(Json(super::view(state.uploads.erasure(&id).await?)))
}
