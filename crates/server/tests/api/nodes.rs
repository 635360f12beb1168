//! Several API nodes behind a load balancer: one database, one store, no
//! in-process state that matters.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use uploadgate_testkit::{TestApp, assert_stored, id_of, strings};

const MIB: usize = 1024 * 1024;

#[tokio::test]
async fn two_nodes_share_one_upload_from_creation_to_completion() {
    let app = TestApp::builder()
        .profile("video", |p| {
            p.content_types = strings(["application/octet-stream"]);
            p.max_size = 100 * uploadgate_testkit::MIB;
            p.multipart_threshold = 5 * uploadgate_testkit::MIB;
            p.part_size = Some(5 * uploadgate_testkit::MIB);
        })
        .start()
        .await;
    let second = app.second_node().await;
    let bytes: Vec<u8> = (0..11 * MIB).map(|i| (i % 253) as u8).collect();

    // Created on the first node...
    let record = app
        .create("alice", json!({"filename": "x.bin", "contentType": "application/octet-stream", "size": bytes.len(), "profile": "video"}))
        .await;
    let id = id_of(&record);

    // ...parts signed by the second...
    let signed: Value = app
        .client
        .post(second.url(&format!("/v1/uploads/{id}/parts")))
        .bearer_auth(app.token("alice"))
        .json(&json!({"partNumbers": [1, 2, 3]}))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    for (i, part) in signed["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .enumerate()
    {
        let chunk = bytes[i * 5 * MIB..bytes.len().min((i + 1) * 5 * MIB)].to_vec();
        let response = uploadgate_testkit::put_part_as_instructed(&app.client, part, chunk)
            .await
            .expect("put");
        assert_stored(&response);
    }

    // ...completed on both at once: one completion, the same answer twice.
    let first = app.complete("alice", &id);
    let other = app
        .client
        .post(second.url(&format!("/v1/uploads/{id}/complete")))
        .bearer_auth(app.token("alice"))
        .send();
    let (first, other) = tokio::join!(first, other);
    let other = other.expect("send");
    let (first_status, other_status) = (first.status(), other.status());
    let first: Value = first.json().await.expect("json");
    let other: Value = other.json().await.expect("json");
    assert_eq!(first_status, StatusCode::OK, "{first}");
    assert_eq!(other_status, StatusCode::OK, "{other}");
    assert_eq!(first["status"], "completed");
    assert_eq!(other["status"], "completed");
    assert_eq!(
        first["completedAt"], other["completedAt"],
        "one completion recorded"
    );

    let downloaded = app.download("alice", &id).await;
    assert_eq!(Sha256::digest(&downloaded), Sha256::digest(&bytes));
}
