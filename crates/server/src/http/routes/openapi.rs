//! The OpenAPI document: this base (info, schemas, security, tags) plus the
//! operations `routes::api` collects from the handlers it routes.

use std::sync::OnceLock;

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "uploadgate",
        description = "Authorizes, presigns, tracks and verifies direct-to-S3 uploads. \
                       Errors are application/problem+json with a stable `code`."
    ),
    components(schemas(
        uploadgate_api::CreateUpload,
        uploadgate_api::UploadRecord,
        uploadgate_api::UploadInstructions,
        uploadgate_api::UploadList,
        uploadgate_api::UploadStatus,
        uploadgate_api::UploadMethod,
        uploadgate_api::DownloadLink,
        uploadgate_api::Problem,
        uploadgate_api::ErrorCode,
        uploadgate_api::SignParts,
        uploadgate_api::SignedParts,
        uploadgate_api::SignedPart,
        uploadgate_api::UploadedPart,
        uploadgate_api::CompleteUpload,
        uploadgate_api::CompletedPart,
        uploadgate_api::Processing,
        uploadgate_api::ProcessingState,
        uploadgate_api::ScanResult,
        uploadgate_api::Thumbnail,
        uploadgate_api::Job,
        uploadgate_api::JobState,
        uploadgate_api::JobList,
        uploadgate_api::EventsAccepted,
        uploadgate_api::CreateUploadToken,
        uploadgate_api::UploadToken,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "uploads", description = "Authorize, complete and read uploads"),
        (name = "jobs", description = "Post-processing jobs and the dead-letter queue"),
        (name = "events", description = "Notifications from the object store"),
        (name = "tokens", description = "Scoped upload tokens, minted with an API key"),
        (name = "erasures", description = "Erasing everything a user uploaded, with an API key"),
        (name = "health", description = "Probes for orchestrators"),
    )
)]
#[derive(Debug)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A user's JWT (signed with uploadgate's secret, by a trusted \
                         identity provider, or a scoped upload token), or an API key \
                         (`ugk_...`) of the application's backend, which names the user it \
                         acts for in an `Uploadgate-User` header.",
                    ))
                    .build(),
            ),
        );
    }
}

/// What the document holds besides the operations.
pub(super) fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The whole document, built once.
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOC.get_or_init(|| super::api().split_for_parts().1)
}

/// `GET /openapi.json`
pub async fn serve() -> Json<&'static utoipa::openapi::OpenApi> {
    Json(document())
}
