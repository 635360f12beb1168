//! Sends webhook events on the Standard Webhooks specification
//! (standardwebhooks.com) from the outbox their transitions recorded:
//! `webhook-id`, `webhook-timestamp` and `webhook-signature` (`v1,` and the
//! base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`, once per configured
//! secret). Each delivery is claimed under a lease, so a node that dies
//! mid-attempt leaves it to another; failed attempts are retried with
//! backoff until `webhooks.max_attempts`, then the delivery is marked
//! failed until redelivered.

use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::db::{self, Attempt, Delivery};
use crate::retry_delay::{doubling, with_jitter};
use crate::uploads::Uploads;

/// Deliveries in flight per node: one slow endpoint does not hold up the rest.
const SENDERS: usize = 4;

/// How often idle senders look for due deliveries (other nodes record them too).
const POLL: Duration = Duration::from_secs(1);

pub const ID_HEADER: &str = "webhook-id";
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
pub const SIGNATURE_HEADER: &str = "webhook-signature";

/// Runs the senders until `stop`; none when no endpoint is configured.
pub fn spawn(uploads: Uploads, stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if uploads.config.webhooks.url.is_none() {
            return;
        }
        let mut senders = JoinSet::new();
        for _ in 0..SENDERS {
            senders.spawn(send_loop(uploads.clone(), stop.clone()));
        }
        while let Some(result) = senders.join_next().await {
            if let Err(err) = result {
                tracing::error!(%err, "a webhook sender ended abnormally");
            }
        }
    })
}

async fn send_loop(uploads: Uploads, mut stop: watch::Receiver<bool>) {
    let settings = &uploads.config.webhooks;
    // Long enough for one attempt, with room for the database write after it.
    let lease = settings.timeout + Duration::from_secs(30);
    while !*stop.borrow() {
        let now = db::now();
        match uploads.db.webhooks().claim_delivery(now, now + lease).await {
            Ok(Some(delivery)) => {
                // An attempt under way finishes before shutdown: it is short (`timeout`).
                let attempt = attempt(&uploads, &delivery).await;
                record(&uploads, &delivery, &attempt).await;
            }
            Ok(None) => {
                tokio::select! {
                    () = uploads.work.notified() => {}
                    () = tokio::time::sleep(POLL) => {}
                    _ = stop.changed() => {}
                }
            }
            Err(err) => {
                tracing::warn!(%err, "cannot claim a webhook delivery");
                tokio::select! {
                    () = tokio::time::sleep(POLL) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }
}

/// One attempt: POST the stored body, signed now.
async fn attempt(uploads: &Uploads, delivery: &Delivery) -> Attempt {
    let settings = &uploads.config.webhooks;
    let Some(url) = &settings.url else {
        return Attempt::Failed {
            status: None,
            error: "webhooks.url is not configured".into(),
            retry_at: None,
        };
    };
    let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let sent = uploads
        .http
        .post(url.clone())
        .timeout(settings.timeout)
        .header("content-type", "application/json")
        .header(ID_HEADER, &delivery.id)
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(
            SIGNATURE_HEADER,
            signature(
                &settings.keys(),
                &delivery.id,
                timestamp,
                delivery.payload.as_bytes(),
            ),
        )
        .body(delivery.payload.clone())
        .send()
        .await;
    let attempts = delivery.attempts + 1;
    let failed = |status: Option<u16>, error: String| Attempt::Failed {
        status,
        error,
        retry_at: (attempts < settings.max_attempts).then(|| {
            db::now() + with_jitter(doubling(settings.backoff, settings.max_backoff, attempts))
        }),
    };
    match sent {
        Ok(response) if response.status().is_success() => Attempt::Delivered {
            status: response.status().as_u16(),
        },
        Ok(response) => failed(
            Some(response.status().as_u16()),
            format!("the endpoint answered {}", response.status()),
        ),
        // Without the URL: it may carry a token of the application's.
        Err(err) => failed(None, format!("unreachable: {}", err.without_url())),
    }
}

async fn record(uploads: &Uploads, delivery: &Delivery, attempt: &Attempt) {
    let (outcome, level_warn) = match attempt {
        Attempt::Delivered { .. } => ("delivered", false),
        Attempt::Failed {
            retry_at: Some(_), ..
        } => ("retry", true),
        Attempt::Failed { retry_at: None, .. } => ("failed", true),
    };
    if level_warn {
        tracing::warn!(delivery = %delivery.id, event = delivery.event.as_str(), ?attempt, "webhook delivery failed");
    } else {
        tracing::info!(delivery = %delivery.id, event = delivery.event.as_str(), "webhook delivered");
    }
    uploads.metrics.webhook(delivery.event.as_str(), outcome);
    match uploads
        .db
        .webhooks()
        .record_attempt(delivery, attempt, db::now())
        .await
    {
        Ok(true) => {}
        // Redelivered meanwhile, or its lease ran out and another node took it.
        Ok(false) => {
            tracing::info!(delivery = %delivery.id, "a webhook attempt's outcome was superseded")
        }
        // The lease runs out and the delivery is attempted again.
        Err(err) => {
            tracing::warn!(delivery = %delivery.id, %err, "cannot record a webhook attempt")
        }
    }
}

/// A fresh signing secret: `whsec_` and 32 random bytes in base64.
pub fn new_secret() -> String {
    let key: [u8; 32] = rand::random();
    format!(
        "{}{}",
        crate::config::WEBHOOK_SECRET_PREFIX,
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

/// The `webhook-signature` value: one `v1,` signature per key, space-separated.
pub fn signature(keys: &[Vec<u8>], id: &str, timestamp: i64, body: &[u8]) -> String {
    keys.iter()
        .map(|key| {
            let mut mac = <Hmac<Sha256>>::new_from_slice(key).expect("HMAC takes any key length");
            mac.update(id.as_bytes());
            mac.update(b".");
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            format!(
                "v1,{}",
                base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_per_key_over_id_timestamp_and_body() {
        // The example of the Standard Webhooks specification's test suite:
        // secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, id msg_p5jXN8AQM9LWM0D4loKWxJek,
        // timestamp 1614265330, body {"test": 2432232314}.
        let key = base64::engine::general_purpose::STANDARD
            .decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .expect("base64");
        let signed = signature(
            std::slice::from_ref(&key),
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signed, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let both = signature(&[key.clone(), vec![1; 32]], "msg_1", 1, b"{}");
        assert_eq!(both.split(' ').count(), 2);
        assert!(both.starts_with(&signature(&[key], "msg_1", 1, b"{}")));
    }
}
