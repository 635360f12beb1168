//! The OpenAPI document: this base (info, schemas, security, tags) plus the
//! operations `routes::api` collects from the handlers it routes.

use std::sync::OnceLock;

use crate::http::extract::Json;
use serde_json::json;
use uploadgate_api::EventType;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "uploadgate",
        description = "Authorizes, presigns, tracks and verifies direct-to-storage uploads (S3, Azure Blob Storage). \
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
        uploadgate_api::WebhookEvent,
        uploadgate_api::EventType,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "uploads", description = "Authorize, complete and read uploads"),
        (name = "jobs", description = "Post-processing jobs and the dead-letter queue"),
        (name = "events", description = "Notifications from the object store"),
        (name = "tokens", description = "Scoped upload tokens, minted with an API key"),
        (name = "erasures", description = "Erasing everything a user uploaded, with an API key"),
        (name = "webhooks", description = "The webhook delivery log, with an API key"),
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

/// The whole document, built once: the operations, and the webhooks (the
/// events uploadgate sends), which utoipa has no place for.
pub fn document() -> &'static serde_json::Value {
    static DOC: OnceLock<serde_json::Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = serde_json::to_value(super::api().split_for_parts().1)
            .expect("the OpenAPI document serializes");
        doc["webhooks"] = webhooks();
        doc
    })
}

/// One OpenAPI webhook per event type, each a `WebhookEvent` body signed on
/// the Standard Webhooks specification.
fn webhooks() -> serde_json::Value {
    let header = |name: &str, description: &str| {
        json!({"name": name, "in": "header", "required": true,
               "schema": {"type": "string"}, "description": description})
    };
    let events = EventType::ALL.into_iter().map(|event| {
        let operation = json!({
            "post": {
                "operationId": event.as_str(),
                "summary": summary(event),
                "description": "POSTed to `webhooks.url` once the state it announces is committed; \
                    retried with backoff until a 2xx. Verify it with any Standard Webhooks library \
                    and the endpoint's `whsec_` secret.",
                "parameters": [
                    header("webhook-id", "msg_...: the same on every attempt; drop duplicates by it"),
                    header("webhook-timestamp", "Unix seconds of this attempt"),
                    header("webhook-signature", "v1,<base64 HMAC-SHA256 of {id}.{timestamp}.{body}>, one per secret, space-separated"),
                ],
                "requestBody": {
                    "required": true,
                    "content": {"application/json": {"schema": {
                        "$ref": "#/components/schemas/WebhookEvent"
                    }}}
                },
                "responses": {"2XX": {"description": "Received; any other answer is retried"}}
            }
        });
        (event.as_str().to_owned(), operation)
    });
    serde_json::Value::Object(events.collect())
}

fn summary(event: EventType) -> &'static str {
    match event {
        EventType::UploadCompleted => "An upload was verified and promoted",
        EventType::UploadRejected => "What landed did not match what was declared",
        EventType::UploadDeleted => "An upload was deleted (its objects are leaving storage)",
        EventType::UploadExpired => "An upload never completed before its deadline",
        EventType::ProcessingReady => "Every processor ran",
        EventType::ProcessingQuarantined => "The virus scan flagged the file",
        EventType::ProcessingFailed => "A processor failed for good",
    }
}

/// `GET /openapi.json`
pub async fn serve() -> Json<&'static serde_json::Value> {
    Json(document())
}
