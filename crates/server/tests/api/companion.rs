//! Uppy's Companion S3 routes: the shapes `@uppy/aws-s3` 6.x expects, over the
//! same records, rules and verification as API v1.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use uploadgate_testkit::{ORIGIN, PNG, TestApp, strings};

const MIB: usize = 1024 * 1024;

async fn app() -> TestApp {
    TestApp::builder()
        .profile("video", |p| {
            p.content_types = strings(["video/mp4"]);
            p.max_size = 50 * uploadgate_testkit::MIB;
            p.multipart_threshold = 5 * uploadgate_testkit::MIB;
        })
        .start()
        .await
}

fn companion(app: &TestApp, user: &str, path: &str) -> String {
    app.url(&format!("/companion/{}/s3{path}", app.token(user)))
}

fn mp4(len: usize) -> Vec<u8> {
    let mut bytes: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
    bytes[..12].copy_from_slice(b"\0\0\0\x18ftypmp42");
    bytes
}

async fn start_multipart(app: &TestApp) -> (String, String) {
    let response = app
        .client
        .post(companion(app, "alice", "/multipart"))
        .json(&json!({"filename": "clip.mp4", "type": "video/mp4", "metadata": {"profile": "video", "name": "clip.mp4", "relativePath": null}}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["bucket"], "uploads");
    let key = body["key"].as_str().expect("key").to_owned();
    assert!(
        key.starts_with("uploads/alice/") && key.ends_with(".mp4"),
        "{key}"
    );
    (key, body["uploadId"].as_str().expect("uploadId").to_owned())
}

/// GETs a Companion route of alice's with `?key=` (and `extra` query) and parses the JSON.
async fn uppy_get(app: &TestApp, path: &str, key: &str, extra: &str) -> Value {
    let url = format!(
        "{}?{}{extra}",
        companion(app, "alice", path),
        query_key(key)
    );
    let response = app.client.get(url).send().await.expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("json")
}

/// GETs a Companion route of alice's with `?key=`, whatever the answer.
async fn uppy_try(app: &TestApp, path: &str, key: &str) -> reqwest::Response {
    let url = format!("{}?{}", companion(app, "alice", path), query_key(key));
    app.client.get(url).send().await.expect("send")
}

/// POSTs alice's Uppy completion of upload `id` (URL-encoded) with `parts`.
async fn uppy_complete(app: &TestApp, id: &str, key: &str, parts: &[Value]) -> reqwest::Response {
    let path = format!("/multipart/{id}/complete");
    let url = format!("{}?{}", companion(app, "alice", &path), query_key(key));
    let body = json!({ "parts": parts });
    app.client.post(url).json(&body).send().await.expect("send")
}

fn query_key(key: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("key", key)
        .finish()
}

#[tokio::test]
async fn an_uppy_multipart_upload_runs_through_every_route() {
    if !uploadgate_testkit::engines::s3_store() {
        return;
    }
    let app = app().await;
    let bytes = mp4(8 * MIB + 77);
    let (key, upload_id) = start_multipart(&app).await;
    let id = urlencode(&upload_id);

    let batch: Value = uppy_get(
        &app,
        &format!("/multipart/{id}/batch"),
        &key,
        "&partNumbers=1,2",
    )
    .await;
    let urls = batch["presignedUrls"].as_object().expect("presignedUrls");
    assert_eq!(urls.len(), 2);

    let one: Value = uppy_get(&app, &format!("/multipart/{id}/2"), &key, "").await;
    assert!(one["url"].as_str().expect("url").contains("partNumber=2"));
    assert!(one["expires"].as_u64().expect("expires") > 0);

    // Uppy's own chunking: 5 MiB, then the rest.
    let mut etags = Vec::new();
    for (number, chunk) in [(1, &bytes[..5 * MIB]), (2, &bytes[5 * MIB..])] {
        let url = urls[&number.to_string()].as_str().expect("url");
        let response = app
            .client
            .put(url)
            .body(chunk.to_vec())
            .send()
            .await
            .expect("put");
        assert_eq!(response.status(), StatusCode::OK);
        etags.push(
            response.headers()["etag"]
                .to_str()
                .expect("etag")
                .to_owned(),
        );
    }

    let listed: Value = uppy_get(&app, &format!("/multipart/{id}"), &key, "").await;
    let listed = listed.as_array().expect("a bare array");
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["PartNumber"], json!(1), "a number, not a string");
    assert_eq!(listed[1]["Size"], json!(3 * MIB + 77));
    assert!(listed[0]["ETag"].is_string() && listed[0]["LastModified"].is_string());

    let parts: Vec<Value> = etags
        .iter()
        .enumerate()
        .map(|(i, etag)| json!({"PartNumber": i + 1, "ETag": etag}))
        .collect();
    let response = uppy_complete(&app, &id, &key, &parts).await;
    assert_eq!(response.status(), StatusCode::OK);
    let done: Value = response.json().await.expect("json");
    assert_eq!(done["key"], json!(key));
    let location = done["location"].as_str().expect("location");

    // The same record API v1 sees, verified and with the size found in storage.
    let record = app.get_json("alice", location).await;
    assert_eq!(record["status"], "completed");
    assert_eq!(record["size"], json!(bytes.len()));
    let downloaded = app
        .download("alice", record["id"].as_str().expect("id"))
        .await;
    assert_eq!(Sha256::digest(&downloaded), Sha256::digest(&bytes));
}

#[tokio::test]
async fn uneven_uppy_parts_are_refused_at_completion() {
    if !uploadgate_testkit::engines::s3_store() {
        return;
    }
    let app = app().await;
    let bytes = mp4(3 * MIB);
    let (key, upload_id) = start_multipart(&app).await;
    let id = urlencode(&upload_id);
    let batch: Value = uppy_get(
        &app,
        &format!("/multipart/{id}/batch"),
        &key,
        "&partNumbers=1,2",
    )
    .await;
    let mut parts = Vec::new();
    for (number, chunk) in [(1, &bytes[..MIB]), (2, &bytes[MIB..])] {
        let url = batch["presignedUrls"][number.to_string()]
            .as_str()
            .expect("url");
        let response = app
            .client
            .put(url)
            .body(chunk.to_vec())
            .send()
            .await
            .expect("put");
        parts.push(json!({"PartNumber": number, "ETag": response.headers()["etag"].to_str().expect("etag")}));
    }
    let response = uppy_complete(&app, &id, &key, &parts).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn an_uppy_post_form_upload_is_recorded_and_verifiable() {
    if !uploadgate_testkit::engines::s3_store() {
        return;
    }
    let app = app().await;
    let response = app
        .client
        .get(companion(&app, "alice", "/params"))
        .query(&[
            ("filename", "cat.png"),
            ("type", "image/png"),
            ("metadata[album]", "cats"),
        ])
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    let params: Value = response.json().await.expect("json");
    assert_eq!(params["method"], "POST");
    let url = params["url"].as_str().expect("url");
    assert!(url.ends_with('/'), "{url}");
    assert!(params["expires"].as_u64().expect("expires") > 0);

    let mut form = reqwest::multipart::Form::new();
    for (name, value) in params["fields"].as_object().expect("fields") {
        form = form.text(name.clone(), value.as_str().expect("string").to_owned());
    }
    form = form.part(
        "file",
        reqwest::multipart::Part::bytes(PNG.to_vec()).file_name("cat.png"),
    );
    let stored = app
        .client
        .post(url)
        .multipart(form)
        .send()
        .await
        .expect("post");
    assert!(stored.status().is_success(), "{}", stored.status());

    let listed = app.get_json("alice", "/v1/uploads").await;
    let record = &listed["items"][0];
    assert_eq!(record["status"], "pending");
    assert_eq!(record["metadata"]["album"], "cats");
    assert!(record.get("size").is_none(), "undeclared until verified");
    let id = record["id"].as_str().expect("id");
    let completed: Value = app.complete("alice", id).await.json().await.expect("json");
    assert_eq!(completed["status"], "completed");
    assert_eq!(completed["size"], json!(PNG.len()));
}

#[tokio::test]
async fn uppy_routes_hold_uploads_to_the_same_rules() {
    if !uploadgate_testkit::engines::s3_store() {
        return;
    }
    let app = app().await;
    let refused = app
        .client
        .get(companion(&app, "alice", "/params"))
        .query(&[("filename", "x.html"), ("type", "text/html")])
        .send()
        .await
        .expect("send");
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);

    let (key, upload_id) = start_multipart(&app).await;
    let id = urlencode(&upload_id);
    let bad_token = app
        .client
        .get(app.url(&format!(
            "/companion/garbage/s3/multipart/{id}?{}",
            query_key(&key)
        )))
        .send()
        .await
        .expect("send");
    assert_eq!(bad_token.status(), StatusCode::UNAUTHORIZED);
    for (user, key) in [
        ("mallory", key.as_str()),
        ("alice", "uploads/alice/other.mp4"),
    ] {
        let response = app
            .client
            .get(format!(
                "{}?{}",
                companion(&app, user, &format!("/multipart/{id}")),
                query_key(key)
            ))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{user} {key}");
    }

    let signed: Value = uppy_get(&app, &format!("/multipart/{id}/1"), &key, "").await;
    let aborted = app
        .client
        .delete(format!(
            "{}?{}",
            companion(&app, "alice", &format!("/multipart/{id}")),
            query_key(&key)
        ))
        .send()
        .await
        .expect("send");
    assert!(aborted.status().is_success());
    let late = app
        .client
        .put(signed["url"].as_str().expect("url"))
        .body(vec![0u8; 1024])
        .send()
        .await
        .expect("put");
    assert!(late.status().is_client_error(), "{}", late.status());
}

#[tokio::test]
async fn browsers_may_call_the_api_and_the_store_cross_origin() {
    if !uploadgate_testkit::engines::s3_store() {
        return;
    }
    let app = app().await;
    let origin = ORIGIN.to_owned();
    let preflight = app
        .client
        .request(
            reqwest::Method::OPTIONS,
            companion(&app, "alice", "/multipart"),
        )
        .header("origin", &origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,uppy-versions",
        )
        .send()
        .await
        .expect("send");
    assert!(preflight.status().is_success());
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        origin.as_str()
    );
    let stranger = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/v1/uploads"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("send");
    assert!(
        stranger
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    // The store answers preflights for parts and exposes ETag.
    let record = app.create_put("alice", "image/png", PNG).await;
    let store_url = record["upload"]["url"].as_str().expect("url");
    let store_preflight = app
        .client
        .request(reqwest::Method::OPTIONS, store_url)
        .header("origin", &origin)
        .header("access-control-request-method", "PUT")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .expect("send");
    assert!(store_preflight.status().is_success());
    assert_eq!(
        store_preflight.headers()["access-control-allow-origin"],
        origin.as_str()
    );
    let put = app
        .client
        .put(store_url)
        .header("origin", &origin)
        .header("content-type", "image/png")
        .body(PNG.to_vec())
        .send()
        .await
        .expect("put");
    let exposed = put.headers()["access-control-expose-headers"]
        .to_str()
        .expect("ascii");
    assert!(exposed.to_ascii_lowercase().contains("etag"), "{exposed}");
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A profile Uppy can fill with two parts of 5 MiB at most: 6 MiB.
async fn small_app() -> TestApp {
    TestApp::builder()
        .profile("video", |p| {
            p.content_types = strings(["video/mp4"]);
            p.max_size = 6 * uploadgate_testkit::MIB;
            p.multipart_threshold = 5 * uploadgate_testkit::MIB;
        })
        .configure(|c| {
            c.events.secret = Some(uploadgate_server::secret::Secret::new("events-secret"));
        })
        .start()
        .await
}

async fn put_to(app: &TestApp, url: &str, body: Vec<u8>) -> reqwest::Result<reqwest::Response> {
    app.client.put(url).body(body).send().await
}

#[tokio::test]
async fn part_urls_of_an_upload_with_a_layout_are_bound_to_its_lengths() {
    if !uploadgate_testkit::engines::s3_store() {
        return;
    }
    let app = app().await;
    // Created by API v1: 12 MiB in parts of 8 and 4 MiB.
    let record = app
        .create(
            "alice",
            json!({"filename": "m.mp4", "contentType": "video/mp4", "size": 12 * MIB, "profile": "video"}),
        )
        .await;
    let key = record["key"].as_str().expect("key").to_owned();
    let upload = app.record(record["id"].as_str().expect("id")).await;
    let id = urlencode(&upload.multipart.expect("multipart").upload_id);
    let signed = uppy_get(&app, &format!("/multipart/{id}/2"), &key, "").await;
    let url = signed["url"].as_str().expect("url");
    // Through the Companion route too, a part of another length is refused.
    uploadgate_testkit::assert_refused_by_storage(put_to(&app, url, mp4(9 * MIB)).await);
    let exact = put_to(&app, url, mp4(4 * MIB)).await.expect("put");
    assert_eq!(exact.status(), StatusCode::OK);
    let beyond = uppy_try(&app, &format!("/multipart/{id}/3"), &key).await;
    assert_eq!(
        beyond.status(),
        StatusCode::BAD_REQUEST,
        "the layout has 2 parts"
    );
}

#[tokio::test]
async fn uppy_part_urls_are_few_short_lived_and_stop_past_the_profiles_size() {
    if !uploadgate_testkit::engines::s3_store() {
        return;
    }
    let app = small_app().await;
    let (key, upload_id) = start_multipart(&app).await;
    let id = urlencode(&upload_id);
    // 6 MiB needs two parts: the third is refused, whatever its size would be.
    let third = uppy_try(&app, &format!("/multipart/{id}/3"), &key).await;
    assert_eq!(third.status(), StatusCode::BAD_REQUEST);
    let batch = uppy_get(
        &app,
        &format!("/multipart/{id}/batch"),
        &key,
        "&partNumbers=1,2",
    )
    .await;
    let urls = batch["presignedUrls"].as_object().expect("urls");
    let one = uppy_get(&app, &format!("/multipart/{id}/1"), &key, "").await;
    assert!(one["expires"].as_u64().expect("expires") <= 300, "{one}");

    // Nothing binds a URL's length: 10 MiB land against a 6 MiB profile...
    for number in ["1", "2"] {
        let url = urls[number].as_str().expect("url");
        let stored = put_to(&app, url, mp4(5 * MIB)).await.expect("put");
        assert_eq!(stored.status(), StatusCode::OK);
    }
    // ...after which no URL is signed and the upload is aborted, its parts dropped.
    let refused = uppy_try(&app, &format!("/multipart/{id}/1"), &key).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let problem: Value = refused.json().await.expect("json");
    assert_eq!(problem["code"], "file_too_large", "{problem}");
    let upload = app.record_by_key("alice", &key).await;
    assert_eq!(upload.status, uploadgate_api::UploadStatus::Aborted);
    // Storage dropped the parts: the upload is unknown to it, or empty.
    let left = app.store().list_parts(&key, &upload_id).await;
    assert!(
        matches!(
            left,
            Err(uploadgate_server::storage::StorageError::NoSuchUpload)
        ) || left.as_ref().is_ok_and(Vec::is_empty),
        "{left:?}"
    );
}

#[tokio::test]
async fn the_janitor_aborts_an_uppy_upload_whose_parts_pass_the_profiles_size() {
    if !uploadgate_testkit::engines::s3_store() {
        return;
    }
    let app = small_app().await;
    let (key, upload_id) = start_multipart(&app).await;
    let id = urlencode(&upload_id);
    let batch = uppy_get(
        &app,
        &format!("/multipart/{id}/batch"),
        &key,
        "&partNumbers=1,2",
    )
    .await;
    for number in ["1", "2"] {
        let url = batch["presignedUrls"][number].as_str().expect("url");
        let stored = put_to(&app, url, mp4(5 * MIB)).await.expect("put");
        assert_eq!(stored.status(), StatusCode::OK);
    }
    let sweep = uploadgate_server::janitor::sweep(&app.state().uploads)
        .await
        .expect("sweep");
    assert_eq!(sweep.oversized_aborted, 1, "{sweep:?}");
    let upload = app.record_by_key("alice", &key).await;
    assert_eq!(upload.status, uploadgate_api::UploadStatus::Aborted);
}

#[tokio::test]
async fn a_storage_event_never_completes_an_uppy_upload_with_parts_missing() {
    if !uploadgate_testkit::engines::s3_store() {
        return;
    }
    let app = small_app().await;
    let (key, upload_id) = start_multipart(&app).await;
    let id = urlencode(&upload_id);
    let one = uppy_get(&app, &format!("/multipart/{id}/1"), &key, "").await;
    let stored = put_to(&app, one["url"].as_str().expect("url"), mp4(5 * MIB))
        .await
        .expect("put");
    assert_eq!(stored.status(), StatusCode::OK);
    let etag = stored.headers()["etag"].to_str().expect("etag").to_owned();
    // An event naming the final key while 1 of the file's 2 parts is sent.
    let config = &app.state().uploads.config;
    let event = json!({"Records": [{"eventName": "ObjectCreated:CompleteMultipartUpload",
        "s3": {"bucket": {"name": config.s3.bucket},
               "object": {"key": format!("{}{key}", config.s3.key_prefix)}}}]});
    let answer: Value = app
        .client
        .post(app.url("/v1/events/s3"))
        .bearer_auth("events-secret")
        .json(&event)
        .send()
        .await
        .expect("event")
        .json()
        .await
        .expect("json");
    assert_eq!(answer["matched"], 0, "{answer}");
    let upload = app.record_by_key("alice", &key).await;
    assert_eq!(upload.status, uploadgate_api::UploadStatus::Uploading);
    // The client finishes it as it meant to: both parts.
    let two = uppy_get(&app, &format!("/multipart/{id}/2"), &key, "").await;
    let second = put_to(&app, two["url"].as_str().expect("url"), mp4(MIB))
        .await
        .expect("put");
    let etag2 = second.headers()["etag"].to_str().expect("etag").to_owned();
    let parts = [
        json!({"PartNumber": 1, "ETag": etag}),
        json!({"PartNumber": 2, "ETag": etag2}),
    ];
    let done = uppy_complete(&app, &id, &key, &parts).await;
    assert_eq!(done.status(), StatusCode::OK);
}
