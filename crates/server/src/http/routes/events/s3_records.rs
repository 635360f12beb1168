//! The shapes storage event notifications arrive in, reduced to what matters:
//! which object was created in which bucket.

use serde_json::Value;

use super::Created;

/// Every record of `body`, created or not: AWS's `{"Records": [...]}` (also
/// what MinIO's webhook sends, with `EventName` and `Key` beside it), or that
/// document as the `Message` string of an SNS notification. Records of other
/// events come back as `None`.
pub fn records(body: &Value) -> Vec<Option<Created>> {
    if body.get("Type").and_then(Value::as_str) == Some("Notification")
        && let Some(message) = body.get("Message").and_then(Value::as_str)
    {
        return serde_json::from_str::<Value>(message)
            .map(|inner| records(&inner))
            .unwrap_or_default();
    }
    body.get("Records")
        .and_then(Value::as_array)
        .map(|records| records.iter().map(created).collect())
        .unwrap_or_default()
}

fn created(record: &Value) -> Option<Created> {
    let name = record.get("eventName")?.as_str()?;
    // AWS names them `ObjectCreated:Put`, MinIO `s3:ObjectCreated:Put`.
    if !name.trim_start_matches("s3:").starts_with("ObjectCreated:") {
        return None;
    }
    let s3 = record.get("s3")?;
    let bucket = s3.get("bucket")?.get("name")?.as_str()?;
    let key = s3.get("object")?.get("key")?.as_str()?;
    Some(Created {
        bucket: bucket.to_owned(),
        key: decode_key(key)?,
    })
}

fn decode_key(raw: &str) -> Option<String> {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|key| key.into_owned())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn aws(event: &str, key: &str) -> Value {
        json!({"Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "eventName": event,
            "s3": {"bucket": {"name": "uploads"}, "object": {"key": key, "size": 3}}
        }]})
    }

    #[test]
    fn aws_records_sns_envelopes_and_minio_are_read() {
        let expected = vec![Some(Created {
            bucket: "uploads".into(),
            key: "staging/a b+c".into(),
        })];
        let direct = aws("ObjectCreated:Put", "staging/a+b%2Bc");
        assert_eq!(records(&direct), expected);
        let sns = json!({"Type": "Notification", "Message": direct.to_string()});
        assert_eq!(records(&sns), expected);
        let mut minio = aws("s3:ObjectCreated:Put", "staging/a+b%2Bc");
        minio["EventName"] = json!("s3:ObjectCreated:Put");
        minio["Key"] = json!("uploads/staging/a b+c");
        assert_eq!(records(&minio), expected);
    }

    #[test]
    fn other_events_and_shapes_are_not_creations() {
        assert_eq!(records(&aws("ObjectRemoved:Delete", "k")), vec![None]);
        assert!(records(&json!({"Event": "s3:TestEvent"})).is_empty());
        assert!(records(&json!({"Type": "Notification", "Message": "not json"})).is_empty());
        assert_eq!(records(&json!({"Records": [{"eventName": 3}]})), vec![None]);
    }
}
