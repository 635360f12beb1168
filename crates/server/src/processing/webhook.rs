//! `webhook`: POST the processed upload to the application, signed.
//!
//! Headers: `Uploadgate-Delivery` (the job id: the same on every retry, so the
//! receiver can drop duplicates), `Uploadgate-Timestamp` (Unix seconds) and
//! `Uploadgate-Signature: v1=<hex HMAC-SHA256 of "{timestamp}.{body}">`.

use hmac::{Hmac, KeyInit as _, Mac as _};
use serde::Serialize;
use sha2::Sha256;
use uploadgate_api::{Processing, UploadRecord};
use uuid::Uuid;

use super::ProcessError;
use crate::db::{Job, Upload};
use crate::uploads::Uploads;
use crate::uploads::record;

pub const DELIVERY_HEADER: &str = "uploadgate-delivery";
pub const TIMESTAMP_HEADER: &str = "uploadgate-timestamp";
pub const SIGNATURE_HEADER: &str = "uploadgate-signature";

/// What the application receives.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Delivery<'a> {
    /// `upload.processed`.
    event: &'static str,
    delivery_id: Uuid,
    upload: &'a UploadRecord,
}

pub async fn run(
    uploads: &Uploads,
    job: &Job,
    upload: &Upload,
    processing: &mut Processing,
) -> Result<(), ProcessError> {
    let settings = &uploads.config.webhook;
    let (Some(url), Some(secret)) = (&settings.url, &settings.secret) else {
        return Err(ProcessError::Permanent(
            "webhook.url is not configured".into(),
        ));
    };
    let mut upload = upload.clone();
    upload.processing = Some(processing.clone());
    let body = serde_json::to_vec(&Delivery {
        event: "upload.processed",
        delivery_id: job.id,
        upload: &record(&upload),
    })
    .map_err(|e| ProcessError::Permanent(e.to_string()))?;
    let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let response = uploads
        .http
        .post(url.clone())
        .timeout(settings.timeout)
        .header("content-type", "application/json")
        .header(DELIVERY_HEADER, job.id.to_string())
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(
            SIGNATURE_HEADER,
            signature(secret.expose().as_bytes(), timestamp, &body),
        )
        .body(body)
        .send()
        .await
        // Without the URL: it may carry a token of the application's.
        .map_err(|e| ProcessError::Retry(format!("webhook unreachable: {}", e.without_url())))?;
    if !response.status().is_success() {
        return Err(ProcessError::Retry(format!(
            "webhook answered {}",
            response.status()
        )));
    }
    Ok(())
}

/// The `Uploadgate-Signature` value for `body` sent at `timestamp`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256>>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// What a receiver does (see the docs): recompute and compare in constant time.
pub fn verify_signature(secret: &[u8], timestamp: i64, body: &[u8], header: &str) -> bool {
    let Some(given) = header
        .strip_prefix("v1=")
        .and_then(|hex_mac| hex::decode(hex_mac).ok())
    else {
        return false;
    };
    let mut mac = <Hmac<Sha256>>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_any_change_breaks_them() {
        let header = signature(b"0123456789abcdef", 1_700_000_000, b"{}");
        assert!(verify_signature(
            b"0123456789abcdef",
            1_700_000_000,
            b"{}",
            &header
        ));
        assert!(!verify_signature(
            b"0123456789abcdeF",
            1_700_000_000,
            b"{}",
            &header
        ));
        assert!(!verify_signature(
            b"0123456789abcdef",
            1_700_000_001,
            b"{}",
            &header
        ));
        assert!(!verify_signature(
            b"0123456789abcdef",
            1_700_000_000,
            b"{ }",
            &header
        ));
        assert!(!verify_signature(
            b"0123456789abcdef",
            1_700_000_000,
            b"{}",
            "v1=zz"
        ));
    }
}
