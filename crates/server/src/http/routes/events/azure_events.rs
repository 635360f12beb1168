//! Event Grid's deliveries (its own schema: a JSON array of events), reduced
//! to what matters: a subscription's validation handshake, or which blob was
//! created in which container.

use serde_json::Value;

use super::Created;

/// One event of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GridEvent {
    /// `Microsoft.EventGrid.SubscriptionValidationEvent`: answer with its code.
    Validation(String),
    /// A blob was created (`Some`), or another event (`None`).
    Blob(Option<Created>),
}

/// Every event of `body` (an array, or one event on its own).
pub fn events(body: &Value) -> Vec<GridEvent> {
    let one = std::slice::from_ref(body);
    let all = body.as_array().map_or(one, Vec::as_slice);
    all.iter().map(event).collect()
}

fn event(event: &Value) -> GridEvent {
    let data = event.get("data");
    match event.get("eventType").and_then(Value::as_str) {
        Some("Microsoft.EventGrid.SubscriptionValidationEvent") => {
            match data
                .and_then(|d| d.get("validationCode"))
                .and_then(Value::as_str)
            {
                Some(code) => GridEvent::Validation(code.to_owned()),
                None => GridEvent::Blob(None),
            }
        }
        Some("Microsoft.Storage.BlobCreated") => GridEvent::Blob(
            event
                .get("subject")
                .and_then(Value::as_str)
                .and_then(blob_of),
        ),
        _ => GridEvent::Blob(None),
    }
}

/// `/blobServices/default/containers/{container}/blobs/{name}`: the blob
/// name as it is (Event Grid does not encode the subject).
fn blob_of(subject: &str) -> Option<Created> {
    let rest = subject.strip_prefix("/blobServices/default/containers/")?;
    let (container, name) = rest.split_once("/blobs/")?;
    (!container.is_empty() && !name.is_empty()).then(|| Created {
        bucket: container.to_owned(),
        key: name.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn blob_creations_validations_and_other_events_are_told_apart() {
        let body = json!([
            {"eventType": "Microsoft.Storage.BlobCreated",
             "subject": "/blobServices/default/containers/uploads/blobs/prod/staging/a b.png",
             "data": {"api": "PutBlob", "contentLength": 3}},
            {"eventType": "Microsoft.Storage.BlobDeleted",
             "subject": "/blobServices/default/containers/uploads/blobs/x"},
            {"eventType": "Microsoft.Storage.BlobCreated", "subject": "/elsewhere"},
        ]);
        assert_eq!(
            events(&body),
            [
                GridEvent::Blob(Some(Created {
                    bucket: "uploads".into(),
                    key: "prod/staging/a b.png".into()
                })),
                GridEvent::Blob(None),
                GridEvent::Blob(None),
            ]
        );
        let handshake = json!({"eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
                               "data": {"validationCode": "512d38b6"}});
        assert_eq!(
            events(&handshake),
            [GridEvent::Validation("512d38b6".into())]
        );
        assert_eq!(events(&json!("nonsense")), [GridEvent::Blob(None)]);
    }
}
