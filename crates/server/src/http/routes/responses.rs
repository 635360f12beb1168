//! Problem responses many operations share, declared once for the OpenAPI
//! document (each handler lists the ones it can answer).

use std::collections::BTreeMap;

use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder, response::Response};
use utoipa::{IntoResponses, ToSchema as _};

/// One `application/problem+json` response with `description`.
fn problem(status: u16, description: &str) -> BTreeMap<String, RefOr<Response>> {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name(uploadgate_api::Problem::name())))
        .build();
    let response = ResponseBuilder::new()
        .description(description)
        .content("application/problem+json", content)
        .build();
    BTreeMap::from([(status.to_string(), RefOr::T(response))])
}

/// 401: the bearer token.
pub struct Unauthorized;

impl IntoResponses for Unauthorized {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        problem(401, "Missing, invalid or expired token")
    }
}

/// 404: the upload in the path.
pub struct UploadNotFound;

impl IntoResponses for UploadNotFound {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        problem(404, "No such upload, or not the caller's")
    }
}

/// 404: the erasure in the path.
pub struct ErasureNotFound;

impl IntoResponses for ErasureNotFound {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        problem(404, "No such erasure")
    }
}

/// 404: the webhook delivery in the path.
pub struct DeliveryNotFound;

impl IntoResponses for DeliveryNotFound {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        problem(404, "No such delivery")
    }
}

/// 413 and 415: the JSON body.
pub struct BadJsonBody;

impl IntoResponses for BadJsonBody {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let mut responses = problem(413, "Body too large");
        responses.extend(problem(415, "Body is not JSON"));
        responses
    }
}

/// 429: a rate limit.
pub struct RateLimited;

impl IntoResponses for RateLimited {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        problem(429, "Over a rate limit; retry after Retry-After")
    }
}

/// 503: the database or storage.
pub struct Unavailable;

impl IntoResponses for Unavailable {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        problem(
            503,
            "The database or storage is unavailable; retry after Retry-After",
        )
    }
}
