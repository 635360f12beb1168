//! `POST /v1/uploads` with an `Idempotency-Key`: a retried request gets the
//! first one's upload back, never a second upload or multipart upload.

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use uploadgate_testkit::{MIB, TestApp, assert_stored, problem, put_as_instructed};

async fn create(app: &TestApp, user: &str, key: &str, body: &Value) -> Response {
    app.client
        .post(app.url("/v1/uploads"))
        .bearer_auth(app.token(user))
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .expect("create")
}

fn png(size: u64) -> Value {
    json!({"filename": "a.png", "contentType": "image/png", "size": size})
}

#[tokio::test]
async fn a_repeated_creation_answers_with_the_first_upload() {
    let app = TestApp::start().await;
    let first = create(&app, "alice", "k-1", &png(8)).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.expect("json");

    let again = create(&app, "alice", "k-1", &png(8)).await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.expect("json");
    assert_eq!(again["id"], first["id"]);
    // Its fresh URL sends the bytes as the first one would have.
    let stored = put_as_instructed(
        &app.client,
        &again,
        uploadgate_testkit::PNG[..8].to_vec(),
        &[],
    )
    .await;
    assert_stored(&stored);
    let listed = app.get_json("alice", "/v1/uploads").await;
    assert_eq!(
        listed["items"].as_array().expect("items").len(),
        1,
        "one upload"
    );

    // Another user's same key is theirs alone.
    let bobs: Value = create(&app, "bob", "k-1", &png(8))
        .await
        .json()
        .await
        .expect("json");
    assert_ne!(bobs["id"], first["id"]);

    // The same key with another body is refused, and creates nothing.
    let other = create(&app, "alice", "k-1", &png(9)).await;
    assert_eq!(other.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem(other).await["code"], "idempotency_key_reused");

    // A refused creation leaves its key free for the corrected request.
    let refused = create(
        &app,
        "alice",
        "k-2",
        &json!({"filename": "a.exe", "contentType": "application/x-msdownload", "size": 8}),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        create(&app, "alice", "k-2", &png(8)).await.status(),
        StatusCode::CREATED
    );

    for bad in ["", &"k".repeat(256), "tab\there"] {
        let response = app
            .client
            .post(app.url("/v1/uploads"))
            .bearer_auth(app.token("alice"))
            .header("idempotency-key", bad)
            .json(&png(8))
            .send()
            .await
            .expect("create");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad:?}");
        assert_eq!(problem(response).await["field"], "Idempotency-Key");
    }
}

#[tokio::test]
async fn concurrent_retries_of_a_multipart_creation_make_one_upload_in_storage() {
    let app = TestApp::builder()
        .profile("video", |p| {
            p.content_types = vec!["video/mp4".into()];
            p.max_size = 100 * MIB;
            p.multipart_threshold = 5 * MIB;
        })
        .start()
        .await;
    let body = json!({"filename": "v.mp4", "contentType": "video/mp4", "size": 20 * MIB, "profile": "video"});
    let attempts = (0..8).map(|_| create(&app, "carol", "same", &body));
    let answers = futures::future::join_all(attempts).await;
    let mut ids = Vec::new();
    for answer in answers {
        match answer.status() {
            StatusCode::CREATED => {
                let record: Value = answer.json().await.expect("json");
                assert_eq!(record["upload"]["method"], "MULTIPART", "{record}");
                ids.push(record["id"].as_str().expect("id").to_owned());
            }
            StatusCode::CONFLICT => {
                assert!(answer.headers().contains_key("retry-after"));
                assert_eq!(problem(answer).await["code"], "creation_in_progress");
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(!ids.is_empty());
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let listed = app.get_json("carol", "/v1/uploads").await;
    assert_eq!(listed["items"].as_array().expect("items").len(), 1);
    // Only the request that won the key started a multipart upload: storage
    // holds that one and no orphan from the requests that lost.
    let record = app.record(&ids[0]).await;
    let multipart = record.multipart.expect("a multipart upload");
    if uploadgate_testkit::engines::s3_store() {
        assert_eq!(app.open_multipart_uploads().await, [multipart.upload_id]);
    }
    // (Azure starts nothing in storage until a block is sent: no orphan to make.)
}
