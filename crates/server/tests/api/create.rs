//! What `POST /v1/uploads` refuses before anything is signed.

use reqwest::StatusCode;
use serde_json::{Value, json};

use uploadgate_testkit::{KIB, MIB, PNG, TestApp, problem, strings};

async fn refused(app: &TestApp, body: Value) -> Value {
    let response = app.post_json("alice", "/v1/uploads", &body).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    problem(response).await
}

fn png(size: u64) -> Value {
    json!({"filename": "a.png", "contentType": "image/png", "size": size})
}

#[tokio::test]
async fn a_path_for_a_filename_is_refused() {
    let app = TestApp::start().await;
    for filename in [
        "../../etc/passwd.png",
        "..\\..\\boot.png",
        "/abs.png",
        "..",
        "a\u{0}.png",
    ] {
        let mut body = png(10);
        body["filename"] = json!(filename);
        let problem = refused(&app, body).await;
        assert_eq!(problem["code"], "invalid_filename", "{filename}");
        assert_eq!(problem["field"], "filename");
    }
    // A name that merely looks odd is a display name, kept verbatim, never a path.
    let record = app
        .create(
            "alice",
            json!({"filename": "..%2f..%2fx.png", "contentType": "image/png", "size": 10}),
        )
        .await;
    assert_eq!(record["filename"], "..%2f..%2fx.png");
    let key = record["key"].as_str().expect("key");
    assert!(
        key.starts_with("uploads/alice/") && !key.contains(".."),
        "{key}"
    );
}

#[tokio::test]
async fn types_outside_the_profile_are_refused() {
    let app = TestApp::start().await;
    let mut body = png(10);
    body["contentType"] = json!("text/html");
    let problem = refused(&app, body.clone()).await;
    assert_eq!(problem["code"], "content_type_not_allowed");
    assert_eq!(problem["field"], "contentType");
    for bad in ["image", "image/*", "*/*", "image/png\r\nx: y", ""] {
        body["contentType"] = json!(bad);
        let problem = refused(&app, body.clone()).await;
        assert_eq!(problem["field"], "contentType", "{bad:?}");
    }
    // Parameters and case are normalized away.
    let record = app
        .create(
            "alice",
            json!({"filename": "a.png", "contentType": "IMAGE/PNG; x=y", "size": 10}),
        )
        .await;
    assert_eq!(record["contentType"], "image/png");
    assert_eq!(record["upload"]["headers"]["content-type"], "image/png");
}

#[tokio::test]
async fn sizes_outside_the_profile_are_refused() {
    let app = TestApp::builder()
        .profile("small", |p| {
            p.content_types = strings(["image/png"]);
            p.max_size = 8 * MIB;
            p.multipart_threshold = 100 * KIB;
        })
        .start()
        .await;
    assert_eq!(refused(&app, png(0)).await["code"], "empty_file");
    assert_eq!(
        refused(&app, png(10 * 1024 * 1024 + 1)).await["code"],
        "file_too_large"
    );
    // Over the threshold, the answer is parts; a POST form cannot carry them.
    let mut body = png(6 * 1024 * 1024);
    body["profile"] = json!("small");
    let record = app.create("alice", body.clone()).await;
    assert_eq!(record["upload"]["method"], "MULTIPART");
    body["method"] = json!("POST");
    // A store without POST forms (Azure) refuses the method itself.
    let code = if app.store().capabilities().post_forms {
        "multipart_required"
    } else {
        "invalid_field"
    };
    assert_eq!(refused(&app, body).await["code"], code);
    let mut body = png(10);
    body["profile"] = json!("nope");
    assert_eq!(refused(&app, body).await["field"], "profile");
    app.create("alice", png(10 * 1024 * 1024)).await;
}

#[tokio::test]
async fn malformed_bodies_name_the_field() {
    let app = TestApp::start().await;
    for (body, field) in [
        (
            json!({"filename": "a.png", "contentType": "image/png", "size": "big"}),
            "size",
        ),
        (
            json!({"filename": "a.png", "contentType": "image/png", "size": -1}),
            "size",
        ),
        (
            json!({"filename": "a.png", "contentType": "image/png"}),
            "size",
        ),
        (
            json!({"filename": "a.png", "contentType": "image/png", "size": 1, "acl": "public-read"}),
            "acl",
        ),
        (
            json!({"filename": "a.png", "contentType": "image/png", "size": 1, "method": "GET"}),
            "method",
        ),
        (
            json!({"filename": "a.png", "contentType": "image/png", "size": 1, "checksumSha256": "nope"}),
            "checksumSha256",
        ),
        (
            json!({"filename": "a.png", "contentType": "image/png", "size": 1, "metadata": {"a b": "c"}}),
            "metadata",
        ),
    ] {
        let problem = refused(&app, body.clone()).await;
        assert_eq!(problem["field"], field, "{body}");
        assert_eq!(problem["status"], 400);
    }
}

#[tokio::test]
async fn bodies_must_be_small_json() {
    let app = TestApp::start().await;
    let token = app.token("alice");
    let not_json = app
        .client
        .post(app.url("/v1/uploads"))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body(r#"{"filename":"a.png","contentType":"image/png","size":1}"#)
        .send()
        .await
        .expect("send");
    assert_eq!(not_json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let huge = json!({"filename": "a.png", "contentType": "image/png", "size": 1, "metadata": {"k": "v".repeat(100_000)}});
    let response = app.post_json("alice", "/v1/uploads", &huge).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let broken = app
        .client
        .post(app.url("/v1/uploads"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"filename\":")
        .send()
        .await
        .expect("send");
    assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
    assert_eq!(problem(broken).await["code"], "invalid_json");
}

#[tokio::test]
async fn each_upload_gets_its_own_key_and_a_location() {
    let app = TestApp::start().await;
    let response = app
        .post_json("alice", "/v1/uploads", &png(PNG.len() as u64))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let first: Value = response.json().await.expect("json");
    assert_eq!(
        location,
        format!("/v1/uploads/{}", first["id"].as_str().expect("id"))
    );
    let second = app.create("alice", png(PNG.len() as u64)).await;
    assert_ne!(first["key"], second["key"]);
}

#[tokio::test]
async fn concurrent_creates_are_all_recorded() {
    let app = TestApp::start().await;
    let body = png(10);
    let creates = (0..64).map(|_| app.post_json("alice", "/v1/uploads", &body));
    for response in futures::future::join_all(creates).await {
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let listed = app.get_json("alice", "/v1/uploads?limit=200").await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(64));
}
