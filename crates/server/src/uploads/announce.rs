//! Webhook events: what the transition that commits a state records for the
//! application, in the same transaction (see `db::webhooks`).

use uploadgate_api::{EventType, WebhookEvent};
use uuid::Uuid;

use super::Uploads;
use super::view::record;
use crate::db::{self, NewDelivery, Upload};

impl Uploads {
    /// The delivery announcing `event` about `upload` as it stands once the
    /// change commits; none when no endpoint is configured or subscribed.
    pub fn announce(&self, event: EventType, upload: &Upload) -> Vec<NewDelivery> {
        if !self.config.webhooks.wants(event) {
            return Vec::new();
        }
        let body = WebhookEvent {
            event_type: event,
            timestamp: db::now(),
            data: record(upload),
        };
        match serde_json::to_string(&body) {
            Ok(payload) => vec![NewDelivery {
                id: format!("msg_{}", Uuid::now_v7().simple()),
                event,
                upload_id: upload.id,
                owner: upload.owner.clone(),
                payload,
                // Only a scrub empties the key.
                scrubbed: upload.key.is_empty(),
                unless_deleted: matches!(
                    event,
                    EventType::ProcessingReady
                        | EventType::ProcessingQuarantined
                        | EventType::ProcessingFailed
                ),
            }],
            Err(err) => {
                // A record always serializes; should it not, the state still changes.
                tracing::error!(upload = %upload.id, %err, "cannot serialize a webhook event");
                Vec::new()
            }
        }
    }
}

/// `upload` as an erased tombstone shows it: nothing personal.
pub fn scrubbed(upload: &Upload) -> Upload {
    Upload {
        filename: String::new(),
        content_type: String::new(),
        key: String::new(),
        staging_key: String::new(),
        checksum_sha256: None,
        metadata: Default::default(),
        reject_reason: None,
        processing: None,
        multipart: None,
        ..upload.clone()
    }
}
