//! Events on the Standard Webhooks specification, received by a real HTTP
//! endpoint and verified by the official `standardwebhooks` library (npm),
//! not by uploadgate's own code; the delivery log and redelivery.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uploadgate_server::auth::Scope;
use uploadgate_server::config::Processor;
use uploadgate_server::secret::Secret;
use uploadgate_testkit::{
    PDF, PNG, TestApp, TestAppBuilder, id_of, problem, put_as_instructed, strings,
};

use crate::deletion::{erase, erased};
use crate::processing::{fast_workers, processed};
use crate::webhook_receiver::{Delivery, Receiver, Reply};

/// A `whsec_` secret made of `byte` repeated.
fn secret(byte: u8) -> String {
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode([byte; 32])
    )
}

/// Events to `receiver`, signed with `secrets`, retried quickly.
fn builder(receiver: &Receiver, secrets: &[String], events: Option<&[&str]>) -> TestAppBuilder {
    let url = receiver.url.parse().expect("url");
    let secrets: Vec<Secret> = secrets.iter().map(|s| Secret::new(s.clone())).collect();
    let events = events.map(|e| e.iter().map(|s| (*s).to_owned()).collect());
    TestApp::builder()
        .profile("p", |p| {
            p.content_types = strings(["*/*"]);
            p.processors = vec![Processor::Metadata];
        })
        .profile("plain", |p| p.content_types = strings(["image/png"]))
        .configure(fast_workers)
        .configure(move |c| {
            let hooks = &mut c.webhooks;
            hooks.url = Some(url);
            hooks.secrets = secrets;
            hooks.events = events;
            hooks.timeout = Duration::from_secs(2);
            hooks.backoff = Duration::from_millis(100);
            hooks.max_backoff = Duration::from_millis(400);
            hooks.max_attempts = 3;
        })
}

/// The event type of a delivery, read from its verified payload.
fn verified_type(delivery: &Delivery, secret: &str) -> String {
    let payload = delivery
        .verify(secret)
        .unwrap_or_else(|why| panic!("refused: {why}: {delivery:?}"));
    payload["type"].as_str().expect("type").to_owned()
}

async fn admin_get(app: &TestApp, key: &str, path: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .bearer_auth(key)
        .send()
        .await
        .expect("get")
}

/// Waits until every delivery in the log is settled (none pending).
async fn settled_log(app: &TestApp, key: &str) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let log: Value = admin_get(app, key, "/v1/webhooks/deliveries")
            .await
            .json()
            .await
            .expect("json");
        let items = log["items"].as_array().expect("items").clone();
        if items.iter().all(|d| d["state"] != "pending") {
            return items;
        }
        assert!(tokio::time::Instant::now() < deadline, "{log}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn every_event_is_signed_and_verifies_with_the_official_library() {
    let receiver = Receiver::start(&[]).await;
    let app = builder(&receiver, &[secret(1)], None).start().await;
    let completed = app
        .upload(
            "alice",
            Some("p"),
            "application/octet-stream",
            b"some bytes",
        )
        .await;
    let id = completed.id.to_string();
    processed(&app, "alice", &id).await;
    // Declared a PNG, sent a PDF: rejected.
    let rejected = app
        .create(
            "alice",
            json!({"filename": "a.png", "contentType": "image/png", "size": PDF.len(), "profile": "plain"}),
        )
        .await;
    put_as_instructed(&app.client, &rejected, PDF.to_vec(), &[]).await;
    app.complete("alice", &id_of(&rejected)).await;
    assert_eq!(
        app.delete("alice", &format!("/v1/uploads/{id}"))
            .await
            .status(),
        StatusCode::OK
    );

    let deliveries = receiver.wait_for(4).await;
    let mut by_type = BTreeMap::new();
    for delivery in &deliveries {
        assert!(delivery.id.starts_with("msg_"), "{delivery:?}");
        let payload = delivery.verify(&secret(1)).expect("verifies");
        // Another secret, or a changed body, does not.
        assert!(delivery.verify(&secret(2)).is_err());
        let mut forged = delivery.clone();
        forged.body = delivery.body.slice(..delivery.body.len() - 1);
        assert!(forged.verify(&secret(1)).is_err());
        assert!(payload["timestamp"].is_string(), "{payload}");
        by_type.insert(payload["type"].as_str().expect("type").to_owned(), payload);
    }
    let types: Vec<&str> = by_type.keys().map(String::as_str).collect();
    assert_eq!(
        types,
        [
            "processing.ready",
            "upload.completed",
            "upload.deleted",
            "upload.rejected"
        ]
    );
    assert_eq!(by_type["upload.completed"]["data"]["id"], id.as_str());
    assert_eq!(by_type["upload.completed"]["data"]["status"], "completed");
    assert_eq!(
        by_type["processing.ready"]["data"]["processing"]["state"],
        "ready"
    );
    assert!(by_type["processing.ready"]["data"]["processing"]["sha256"].is_string());
    assert_eq!(by_type["upload.deleted"]["data"]["status"], "deleted");
    assert!(by_type["upload.deleted"]["data"]["deletedAt"].is_string());
    assert_eq!(by_type["upload.rejected"]["data"]["status"], "rejected");
    assert!(by_type["upload.rejected"]["data"]["rejectReason"].is_string());
}

#[tokio::test]
async fn two_secrets_while_rotating_each_verify() {
    let receiver = Receiver::start(&[]).await;
    let app = builder(
        &receiver,
        &[secret(1), secret(2)],
        Some(&["upload.completed"]),
    )
    .start()
    .await;
    app.upload("alice", Some("plain"), "image/png", PNG).await;
    let delivery = receiver.wait_for(1).await.remove(0);
    assert_eq!(delivery.signature.split(' ').count(), 2, "{delivery:?}");
    for key in [secret(1), secret(2)] {
        assert_eq!(verified_type(&delivery, &key), "upload.completed");
    }
    assert!(delivery.verify(&secret(3)).is_err());
}

#[tokio::test]
async fn only_subscribed_events_are_recorded_and_sent() {
    let receiver = Receiver::start(&[]).await;
    let app = builder(&receiver, &[secret(1)], Some(&["upload.deleted"]))
        .start()
        .await;
    let key = app.api_key("ops", &[Scope::Admin]).await;
    // Completed, then processed by a job, then deleted: every event this
    // upload will ever have is in the outbox once the deletion answered.
    let upload = app.upload("alice", Some("p"), "image/png", PNG).await;
    let id = upload.id.to_string();
    processed(&app, "alice", &id).await;
    app.delete("alice", &format!("/v1/uploads/{id}")).await;
    let delivery = receiver.wait_for(1).await.remove(0);
    assert_eq!(verified_type(&delivery, &secret(1)), "upload.deleted");
    let log = settled_log(&app, &key).await;
    let events: Vec<&str> = log
        .iter()
        .map(|d| d["event"].as_str().expect("event"))
        .collect();
    assert_eq!(events, ["upload.deleted"]);
    // Deliveries are sent only from the outbox, and every one it holds has
    // been attempted: no later delivery can come, so no wait is needed.
    assert_eq!(receiver.deliveries().len(), 1);
}

#[tokio::test]
async fn a_failing_endpoint_is_retried_under_one_id_logged_and_redelivered() {
    // Two failures, then a success; then three failures (out of attempts).
    let receiver = Receiver::start(&[
        Reply::Status(500),
        Reply::Status(503),
        Reply::Status(200),
        Reply::Status(500),
        Reply::Status(500),
        Reply::Status(500),
    ])
    .await;
    let app = builder(&receiver, &[secret(1)], Some(&["upload.completed"]))
        .start()
        .await;
    let key = app.api_key("ops", &[Scope::Admin]).await;
    let first = app.upload("alice", Some("plain"), "image/png", PNG).await;
    let attempts = receiver.wait_for(3).await;
    assert!(
        attempts.iter().all(|d| d.id == attempts[0].id),
        "one logical delivery"
    );
    for attempt in &attempts {
        // Each attempt is signed afresh, and verifies.
        assert_eq!(verified_type(attempt, &secret(1)), "upload.completed");
    }
    let second = app.upload("bob", Some("plain"), "image/png", PNG).await;
    receiver.wait_for(6).await;
    let log = settled_log(&app, &key).await;
    assert_eq!(log.len(), 2, "{log:?}");
    let (failed, delivered) = (&log[0], &log[1]);
    assert_eq!(delivered["uploadId"], first.id.to_string());
    assert_eq!(delivered["state"], "delivered");
    assert_eq!(delivered["attempts"], 3);
    assert_eq!(delivered["lastStatus"], 200);
    assert_eq!(failed["uploadId"], second.id.to_string());
    assert_eq!(failed["state"], "failed");
    assert_eq!(failed["attempts"], 3);
    assert_eq!(failed["lastStatus"], 500);
    assert_eq!(
        failed["lastError"],
        "the endpoint answered 500 Internal Server Error"
    );
    assert!(failed.get("nextAttemptAt").is_none(), "{failed}");

    let only_failed: Value = admin_get(&app, &key, "/v1/webhooks/deliveries?state=failed")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(only_failed["items"].as_array().map(Vec::len), Some(1));
    let bad = admin_get(&app, &key, "/v1/webhooks/deliveries?state=lost").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    // Redelivery: the log's API key only, and the same webhook-id.
    let id = failed["id"].as_str().expect("id");
    let path = format!("/v1/webhooks/deliveries/{id}/redeliver");
    let uploads_only = app.api_key("app", &[Scope::Uploads]).await;
    for credential in [uploads_only, app.token("alice")] {
        let refused = app
            .client
            .post(app.url(&path))
            .bearer_auth(credential)
            .send()
            .await
            .expect("redeliver");
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert_eq!(problem(refused).await["code"], "not_permitted");
    }
    let unknown = app
        .client
        .post(app.url("/v1/webhooks/deliveries/msg_nope/redeliver"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("redeliver");
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let queued = app
        .client
        .post(app.url(&path))
        .bearer_auth(&key)
        .send()
        .await
        .expect("redeliver");
    assert_eq!(queued.status(), StatusCode::ACCEPTED);
    let again = receiver.wait_for(7).await.remove(6);
    assert_eq!(again.id, id);
    assert_eq!(verified_type(&again, &secret(1)), "upload.completed");
    let log = settled_log(&app, &key).await;
    assert_eq!(log[0]["state"], "delivered", "{log:?}");
    assert_eq!(log[0]["attempts"], 1, "counted afresh");
}

#[tokio::test]
async fn an_endpoint_that_hangs_times_out_and_gets_the_event_again() {
    let receiver = Receiver::start(&[Reply::Hang]).await;
    let app = builder(&receiver, &[secret(1)], Some(&["upload.completed"]))
        .start()
        .await;
    let key = app.api_key("ops", &[Scope::Admin]).await;
    app.upload("alice", Some("plain"), "image/png", PNG).await;
    let attempts = receiver.wait_for(2).await;
    let statuses: Vec<Option<u16>> = attempts.iter().map(|d| d.status).collect();
    assert_eq!(statuses, [None, Some(200)]);
    assert_eq!(attempts[0].id, attempts[1].id);
    let log = settled_log(&app, &key).await;
    assert_eq!(log[0]["state"], "delivered", "{log:?}");
    assert_eq!(log[0]["attempts"], 2);
}

#[tokio::test]
async fn an_erasure_leaves_nothing_personal_in_the_events_or_their_log() {
    let receiver = Receiver::start(&[]).await;
    let app = builder(&receiver, &[secret(1)], None).start().await;
    let key = app.api_key("ops", &[Scope::Uploads, Scope::Admin]).await;
    let record = app
        .create(
            "alice",
            json!({"filename": "private-name.png", "contentType": "image/png",
                   "size": PNG.len(), "profile": "plain", "metadata": {"case": "c-42"}}),
        )
        .await;
    put_as_instructed(&app.client, &record, PNG.to_vec(), &[]).await;
    app.complete("alice", &id_of(&record)).await;
    let bobs = app.upload("bob", Some("plain"), "image/png", PNG).await;
    receiver.wait_for(2).await;

    let started: Value = erase(&app, &key, "alice").await;
    let location = format!("/v1/erasures/{}", started["id"].as_str().expect("id"));
    erased(&app, &key, &location).await;
    let deliveries = receiver.wait_for(3).await;
    let deleted = deliveries
        .iter()
        .find(|d| verified_type(d, &secret(1)) == "upload.deleted")
        .expect("upload.deleted");
    let body = String::from_utf8_lossy(&deleted.body);
    assert!(
        // Quoted: an id may hold "c-42" by chance.
        !body.contains("private-name") && !body.contains("\"c-42\""),
        "{body}"
    );

    // The log keeps the erasure's own event and bob's, nothing else of alice's.
    let log = settled_log(&app, &key).await;
    let kept: Vec<(String, String)> = log
        .iter()
        .map(|d| {
            (
                d["event"].as_str().expect("e").to_owned(),
                d["uploadId"].as_str().expect("u").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        kept,
        [
            ("upload.deleted".to_owned(), id_of(&record)),
            ("upload.completed".to_owned(), bobs.id.to_string()),
        ]
    );
    let stored = app
        .state()
        .uploads
        .db
        .webhooks()
        .deliveries(&uploadgate_server::db::DeliveryFilter {
            page: uploadgate_server::db::Page {
                before: None,
                limit: 100,
            },
            ..Default::default()
        })
        .await
        .expect("log");
    assert!(
        stored.iter().all(|d| !d.payload.contains("private-name")),
        "{stored:?}"
    );
}
