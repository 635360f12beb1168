//! Large files in parts: parallel, resumable across a server restart, verified whole.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use uploadgate_server::config::Profile;
use uploadgate_testkit::{TestApp, assert_stored, id_of, part_etag, problem, strings};

const MIB: usize = 1024 * 1024;

/// MP4 up to 100 MiB, in 5 MiB parts above 5 MiB.
fn video_profile(p: &mut Profile) {
    p.content_types = strings(["video/mp4"]);
    p.max_size = 100 * uploadgate_testkit::MIB;
    p.multipart_threshold = 5 * uploadgate_testkit::MIB;
    p.part_size = Some(5 * uploadgate_testkit::MIB);
}

async fn app() -> TestApp {
    TestApp::builder()
        .profile("video", video_profile)
        .start()
        .await
}

/// `len` bytes that sniff as MP4 and differ from part to part.
fn video(len: usize) -> Vec<u8> {
    let mut state: u32 = 0x9E37_79B9;
    let mut bytes: Vec<u8> = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        })
        .collect();
    bytes[..12].copy_from_slice(b"\0\0\0\x18ftypmp42");
    bytes
}

async fn create(app: &TestApp, bytes: &[u8]) -> Value {
    let record = app
        .create(
            "alice",
            json!({"filename": "movie.mp4", "contentType": "video/mp4", "size": bytes.len(), "profile": "video"}),
        )
        .await;
    assert_eq!(record["upload"]["method"], "MULTIPART");
    record
}

/// `POST /v1/uploads/{id}/parts` for `partNumbers`, whatever the answer.
async fn request_parts(app: &TestApp, id: &str, numbers: Value) -> reqwest::Response {
    let body = json!({ "partNumbers": numbers });
    app.post_json("alice", &format!("/v1/uploads/{id}/parts"), &body)
        .await
}

async fn sign(app: &TestApp, id: &str, numbers: &[u32]) -> Vec<Value> {
    let response = request_parts(app, id, json!(numbers)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    body["parts"].as_array().expect("parts").clone()
}

fn strings_end(detail: &Value, end: &str) -> bool {
    detail.as_str().is_some_and(|d| d.ends_with(end))
}

fn part_bytes(bytes: &[u8], number: u32) -> Vec<u8> {
    let start = (number as usize - 1) * 5 * MIB;
    bytes[start..bytes.len().min(start + 5 * MIB)].to_vec()
}

async fn put_part(app: &TestApp, part: &Value, body: Vec<u8>) -> reqwest::Response {
    try_put_part(app, part, body).await.expect("PUT part")
}

async fn try_put_part(
    app: &TestApp,
    part: &Value,
    body: Vec<u8>,
) -> reqwest::Result<reqwest::Response> {
    uploadgate_testkit::put_part_as_instructed(&app.client, part, body).await
}

/// Storage refused the part: with a 4xx (403 from AWS and the embedded store for a bad
/// signature, 400 from Garage for an expired one, 404 for an aborted upload), or by
/// answering before the body was sent and closing the connection (Garage).
fn assert_refused(result: reqwest::Result<reqwest::Response>) {
    uploadgate_testkit::assert_refused_by_storage(result);
}

/// Sends the bytes of the part `part` was signed for, expecting storage to take them.
async fn send_ok(app: &TestApp, part: &Value, bytes: &[u8]) -> reqwest::Response {
    let number = u32::try_from(part["partNumber"].as_u64().expect("number")).expect("u32");
    let response = put_part(app, part, part_bytes(bytes, number)).await;
    assert_stored(&response);
    response
}

#[tokio::test]
async fn three_parts_upload_in_parallel_and_complete_byte_for_byte() {
    let app = app().await;
    let bytes = video(12 * MIB + 123);
    let record = create(&app, &bytes).await;
    assert_eq!(record["upload"]["partSize"], 5 * MIB);
    assert_eq!(record["upload"]["partCount"], 3);
    let id = id_of(&record);

    let parts = sign(&app, &id, &[1, 2, 3]).await;
    let uploads = parts.iter().map(|part| {
        let number = u32::try_from(part["partNumber"].as_u64().expect("number")).expect("u32");
        put_part(&app, part, part_bytes(&bytes, number))
    });
    let responses = futures::future::join_all(uploads).await;
    let mut completed = Vec::new();
    for (part, response) in parts.iter().zip(&responses) {
        assert_stored(response);
        completed.push(json!({"partNumber": part["partNumber"], "etag": part_etag(response)}));
    }
    let status = app.get_json("alice", &format!("/v1/uploads/{id}")).await;
    assert_eq!(status["status"], "uploading");
    assert_eq!(status["uploadedParts"].as_array().map(Vec::len), Some(3));

    let response = app
        .post_json(
            "alice",
            &format!("/v1/uploads/{id}/complete"),
            &json!({"parts": completed}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.expect("json")["status"],
        "completed"
    );
    assert_eq!(
        app.complete("alice", &id).await.status(),
        StatusCode::OK,
        "idempotent"
    );
    let downloaded = app.download("alice", &id).await;
    assert_eq!(Sha256::digest(&downloaded), Sha256::digest(&bytes));
}

#[tokio::test]
async fn an_interrupted_upload_resumes_after_a_restart_sending_only_missing_parts() {
    let mut app = app().await;
    let bytes = video(12 * MIB + 5);
    let id = id_of(&create(&app, &bytes).await);
    let parts = sign(&app, &id, &[1, 2, 3]).await;
    for number in [1, 3] {
        let response = put_part(
            &app,
            &parts[number as usize - 1],
            part_bytes(&bytes, number),
        )
        .await;
        assert_stored(&response);
    }

    app.restart().await;

    let status = app.get_json("alice", &format!("/v1/uploads/{id}")).await;
    assert_eq!(status["status"], "uploading");
    let held: Vec<u64> = status["uploadedParts"]
        .as_array()
        .expect("parts")
        .iter()
        .map(|p| p["partNumber"].as_u64().expect("number"))
        .collect();
    assert_eq!(held, [1, 3]);
    assert_eq!(status["uploadedParts"][1]["size"], 2 * MIB + 5);

    let again = sign(&app, &id, &[2]).await;
    send_ok(&app, &again[0], &bytes).await;
    let response = app.complete("alice", &id).await;
    assert_eq!(response.status(), StatusCode::OK);
    let downloaded = app.download("alice", &id).await;
    assert_eq!(Sha256::digest(&downloaded), Sha256::digest(&bytes));
}

#[tokio::test]
async fn completing_with_missing_parts_names_them() {
    let app = app().await;
    let bytes = video(12 * MIB);
    let id = id_of(&create(&app, &bytes).await);
    let parts = sign(&app, &id, &[1]).await;
    send_ok(&app, &parts[0], &bytes).await;
    let response = app.complete("alice", &id).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let problem = problem(response).await;
    assert_eq!(problem["code"], "missing_parts");
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .ends_with(": 2, 3"),
        "{problem}"
    );
}

#[tokio::test]
async fn storage_refuses_a_part_of_another_length_or_checksum() {
    if !uploadgate_testkit::engines::s3_store() {
        return;
    }
    let app = app().await;
    let bytes = video(12 * MIB);
    let id = id_of(&create(&app, &bytes).await);
    let parts = sign(&app, &id, &[1]).await;
    let short = part_bytes(&bytes, 1)[..5 * MIB - 1].to_vec();
    assert_refused(try_put_part(&app, &parts[0], short).await);

    let good = part_bytes(&bytes, 2);
    let checksum = BASE64.encode(Sha256::digest(&good));
    let response = app
        .post_json(
            "alice",
            &format!("/v1/uploads/{id}/parts"),
            &json!({"partNumbers": [2], "checksumsSha256": {"2": checksum}}),
        )
        .await;
    let signed: Value = response.json().await.expect("json");
    let part = &signed["parts"][0];
    assert_eq!(part["headers"]["x-amz-checksum-sha256"], json!(checksum));
    let mut corrupted = good.clone();
    corrupted[100] ^= 1;
    assert_eq!(
        put_part(&app, part, corrupted).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_stored(&put_part(&app, part, good).await);
}

/// Azure's version of the two tests above: a block URL binds no length or
/// checksum, so a block of another length lands, but completion counts only
/// blocks of the layout's lengths and names the rest missing; sent again
/// right, the upload completes byte for byte. A block sent after an abort
/// lands too (the SAS lives until its expiry) but is never assembled.
#[tokio::test]
async fn on_azure_odd_blocks_are_not_assembled_and_late_ones_never_become_the_file() {
    if !uploadgate_testkit::engines::azure_store() {
        return;
    }
    let app = app().await;
    let bytes = video(12 * MIB);
    let id = id_of(&create(&app, &bytes).await);
    let parts = sign(&app, &id, &[1, 2, 3]).await;
    assert!(parts.iter().all(|p| p["headers"] == json!({})), "{parts:?}");
    let short = part_bytes(&bytes, 1)[..5 * MIB - 1].to_vec();
    assert_stored(&put_part(&app, &parts[0], short).await);
    for part in &parts[1..] {
        send_ok(&app, part, &bytes).await;
    }
    let response = app.complete("alice", &id).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let missing = problem(response).await;
    assert_eq!(missing["code"], "missing_parts");
    assert!(strings_end(&missing["detail"], ": 1"), "{missing}");
    send_ok(&app, &parts[0], &bytes).await;
    assert_eq!(app.complete("alice", &id).await.status(), StatusCode::OK);
    assert_eq!(app.download("alice", &id).await, bytes);
    // A block URL's write SAS is for the staging blob, never the final name:
    // a whole-blob PUT with it, after completion, changes nothing served.
    let upload = app.record(&id).await;
    let url = parts[0]["url"].as_str().expect("url");
    assert!(!url.contains(&upload.key), "{url}");
    let whole = url.split("&comp=block").next().expect("base");
    let overwrite = app
        .client
        .put(whole)
        .header("x-ms-blob-type", "BlockBlob")
        .body(b"<html>".to_vec())
        .send()
        .await
        .expect("put");
    assert_stored(&overwrite);
    assert_eq!(
        app.download("alice", &id).await,
        bytes,
        "the file stays as checked"
    );

    let id = id_of(&create(&app, &bytes).await);
    let parts = sign(&app, &id, &[1, 2, 3]).await;
    send_ok(&app, &parts[0], &bytes).await;
    let aborted = app.delete("alice", &format!("/v1/uploads/{id}")).await;
    assert_eq!(aborted.status(), StatusCode::OK);
    send_ok(&app, &parts[1], &bytes).await;
    let response = app.complete("alice", &id).await;
    assert!(response.status().is_client_error(), "{}", response.status());
    let upload = app.record(&id).await;
    assert_eq!(app.store().head(&upload.key).await.expect("head"), None);
}

#[tokio::test]
async fn an_expired_part_url_is_signed_again_and_works() {
    let app = TestApp::builder()
        .profile("video", |p| {
            video_profile(p);
            // X-Amz-Date counts whole seconds, so a URL can live up to a second
            // less than its TTL: with 1 s, the fresh URL below sometimes expired
            // before its PUT began on a loaded machine (Garage, CI).
            p.url_ttl = std::time::Duration::from_secs(3);
        })
        .start()
        .await;
    let bytes = video(6 * MIB);
    let id = id_of(&create(&app, &bytes).await);
    let first = sign(&app, &id, &[1]).await;
    tokio::time::sleep(std::time::Duration::from_millis(4100)).await;
    assert_refused(try_put_part(&app, &first[0], part_bytes(&bytes, 1)).await);
    let second = sign(&app, &id, &[1]).await;
    send_ok(&app, &second[0], &bytes).await;
}

#[tokio::test]
async fn aborting_makes_storage_refuse_further_parts() {
    if !uploadgate_testkit::engines::s3_store() {
        return;
    }
    let app = app().await;
    let bytes = video(12 * MIB);
    let id = id_of(&create(&app, &bytes).await);
    let parts = sign(&app, &id, &[1, 2]).await;
    send_ok(&app, &parts[0], &bytes).await;
    let aborted = app.delete("alice", &format!("/v1/uploads/{id}")).await;
    assert_eq!(aborted.status(), StatusCode::OK);
    assert_refused(try_put_part(&app, &parts[1], part_bytes(&bytes, 2)).await);
    let response = request_parts(&app, &id, json!([2])).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn bad_part_numbers_and_etags_are_refused() {
    let app = app().await;
    let bytes = video(12 * MIB);
    let id = id_of(&create(&app, &bytes).await);
    for numbers in [json!([0]), json!([4]), json!([]), json!([1, 1])] {
        let response = request_parts(&app, &id, json!(numbers)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{numbers}");
        assert_eq!(problem(response).await["field"], "partNumbers");
    }
    let parts = sign(&app, &id, &[1, 2, 3]).await;
    for part in &parts {
        send_ok(&app, part, &bytes).await;
    }
    let wrong =
        json!({"parts": [{"partNumber": 1, "etag": "\"0123456789abcdef0123456789abcdef\""}]});
    let response = app
        .post_json("alice", &format!("/v1/uploads/{id}/complete"), &wrong)
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(problem(response).await["code"], "etag_mismatch");
    let single = app
        .create_put("alice", "image/png", uploadgate_testkit::PNG)
        .await;
    let response = request_parts(&app, &id_of(&single), json!([1])).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_spoofed_multipart_upload_is_rejected_and_deleted() {
    let app = app().await;
    let mut bytes = video(6 * MIB);
    bytes[..12].copy_from_slice(b"MZ\x90\0\x03\0\0\0\x04\0\0\0");
    let record = create(&app, &bytes).await;
    let id = id_of(&record);
    let parts = sign(&app, &id, &[1, 2]).await;
    for part in &parts {
        send_ok(&app, part, &bytes).await;
    }
    let response = app.complete("alice", &id).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        response.json::<Value>().await.expect("json")["status"],
        "rejected"
    );
    let key = record["key"].as_str().expect("key");
    assert_eq!(app.store().head(key).await.expect("head"), None);
}

#[tokio::test]
async fn a_client_hanging_up_mid_completion_does_not_block_its_retry() {
    let app = app().await;
    let bytes = video(11 * MIB);
    // Hang up after a range of delays, so that some land while storage assembles.
    for hang_up_after_ms in [3, 10, 25, 60] {
        let id = id_of(&create(&app, &bytes).await);
        for part in sign(&app, &id, &[1, 2, 3]).await {
            let number = u32::try_from(part["partNumber"].as_u64().expect("number")).expect("u32");
            assert_stored(&put_part(&app, &part, part_bytes(&bytes, number)).await);
        }
        let impatient = app
            .client
            .post(app.url(&format!("/v1/uploads/{id}/complete")))
            .bearer_auth(app.token("alice"))
            .timeout(std::time::Duration::from_millis(hang_up_after_ms))
            .send()
            .await;
        drop(impatient);
        let started = std::time::Instant::now();
        let retry = app.complete("alice", &id).await;
        assert_eq!(
            retry.status(),
            StatusCode::OK,
            "after {hang_up_after_ms} ms"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "the retry waited {:?} for an abandoned completion",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn an_upload_storage_assembled_before_a_crash_completes_on_the_next_try() {
    let app = app().await;
    let bytes = video(12 * MIB);
    let record = create(&app, &bytes).await;
    let id = id_of(&record);
    let mut etags = Vec::new();
    for part in sign(&app, &id, &[1, 2, 3]).await {
        let number = u32::try_from(part["partNumber"].as_u64().expect("number")).expect("u32");
        etags.push((number, part_etag(&send_ok(&app, &part, &bytes).await)));
    }
    // What a completion that died right after storage assembled the parts leaves.
    let upload = app.record(&id).await;
    let upload_id = upload.multipart.expect("multipart").upload_id;
    app.store()
        .complete_multipart(&upload.key, &upload_id, &upload.content_type, &etags)
        .await
        .expect("assembled in storage");

    let response = app.complete("alice", &id).await;
    assert_eq!(response.status(), StatusCode::OK);
    let done: Value = response.json().await.expect("json");
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["size"], bytes.len());
    assert!(app.download("alice", &id).await == bytes);
}

/// A completion killed right after storage assembled the parts leaves the
/// object at its final key and the record `uploading`, with storage holding no
/// multipart upload any more. What does storage's assembly and stops there is
/// this test's stand-in for that completion.
async fn assembled_but_not_recorded(app: &TestApp, bytes: &[u8]) -> String {
    let record = create(app, bytes).await;
    let id = id_of(&record);
    let count =
        u32::try_from(record["upload"]["partCount"].as_u64().expect("partCount")).expect("u32");
    let numbers: Vec<u32> = (1..=count).collect();
    for part in sign(app, &id, &numbers).await {
        send_ok(app, &part, bytes).await;
    }
    let upload = app.record(&id).await;
    uploadgate_testkit::assemble_in_storage(app.store().as_ref(), &upload).await;
    assert_eq!(app.record(&id).await.status.as_str(), "uploading");
    id
}

#[tokio::test]
async fn a_status_read_completes_an_upload_storage_assembled_but_nobody_recorded() {
    let app = app().await;
    let bytes = video(11 * MIB);
    let id = assembled_but_not_recorded(&app, &bytes).await;
    // Signed while the record still says `uploading`, as a resuming client would.
    let late = sign(&app, &id, &[1]).await;

    let status = app.get_json("alice", &format!("/v1/uploads/{id}")).await;
    assert_eq!(status["status"], "completed", "{status}");
    assert_eq!(status["size"], bytes.len());
    assert!(status.get("uploadedParts").is_none(), "{status}");
    assert_eq!(app.record(&id).await.status.as_str(), "completed");
    assert_eq!(
        app.download("alice", &id).await,
        bytes,
        "verified byte for byte"
    );

    // A part sent late is refused as gone (404), not as forbidden: what a
    // client resuming the upload reads the status again for.
    // (Garage may answer before reading the body and close the connection.)
    // (Azure takes the block, which never becomes part of the file.)
    match try_put_part(&app, &late[0], part_bytes(&bytes, 1)).await {
        Ok(response) if !uploadgate_testkit::engines::s3_store() => assert_stored(&response),
        Ok(response) => assert_eq!(response.status(), StatusCode::NOT_FOUND),
        refused => assert_refused(refused),
    }
    // And no part is signed for it any more.
    let refused = request_parts(&app, &id, json!([1])).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
}

/// Nobody asks about it again: the janitor's next sweep finds the claim the
/// dead completer left and finishes the completion; an upload nobody tried to
/// complete is left to its client.
#[tokio::test]
async fn the_janitor_finishes_a_completion_cut_short_after_storage_assembled() {
    let app = app().await;
    let bytes = video(11 * MIB);
    let id = assembled_but_not_recorded(&app, &bytes).await;
    let untouched = id_of(&create(&app, &bytes).await);
    // The claim the completer held when it died, run out since.
    let uuid = uuid::Uuid::parse_str(&id).expect("uuid");
    let now = uploadgate_server::db::now();
    assert!(
        app.state()
            .uploads
            .db
            .claim_completion(
                uuid,
                uuid::Uuid::new_v4(),
                now,
                now - std::time::Duration::from_secs(1)
            )
            .await
            .expect("claim")
    );

    let sweep = uploadgate_server::janitor::sweep(&app.state().uploads)
        .await
        .expect("sweep");
    assert_eq!(sweep.completions_finished, 1, "{sweep:?}");
    let record = app.record(&id).await;
    assert_eq!(record.status.as_str(), "completed");
    assert!(
        app.download("alice", &id).await == bytes,
        "verified byte for byte"
    );
    assert_eq!(app.record(&untouched).await.status.as_str(), "pending");
    let again = uploadgate_server::janitor::sweep(&app.state().uploads)
        .await
        .expect("sweep");
    assert_eq!(again.completions_finished, 0, "{again:?}");
}

#[tokio::test]
async fn an_assembled_upload_nobody_recorded_is_not_completed_for_another_user() {
    let app = app().await;
    let bytes = video(11 * MIB);
    let id = assembled_but_not_recorded(&app, &bytes).await;
    let response = app.get("bob", &format!("/v1/uploads/{id}")).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.record(&id).await.status.as_str(), "uploading");
}
