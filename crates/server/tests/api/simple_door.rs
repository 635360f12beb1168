//! The simple door (`/api/upload/*`): the two calls of the common presigned-URL
//! tutorial, over API v1's credentials, rules and verification, answering
//! errors as `{error, code}`.

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use uploadgate_api::CreateUpload;
use uploadgate_server::auth::Principal;
use uploadgate_server::config::Profile;
use uploadgate_server::uploads::{UploadError, Uploads};
use uploadgate_testkit::{MIB, PNG, TestApp, strings};

async fn app() -> TestApp {
    TestApp::builder()
        .profile("default", |p| {
            p.content_types = strings(["image/png"]);
            p.max_size = 20 * MIB;
            // The door's clients know no parts: a file above this still gets one PUT.
            p.multipart_threshold = 5 * MIB;
        })
        .start()
        .await
}

fn describe(name: &str, kind: &str, size: usize) -> Value {
    json!({"fileName": name, "fileType": kind, "fileSize": size})
}

/// The tutorial's error body: `{error, code}` as JSON, and nothing else.
async fn tutorial_error(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(content_type, "application/json");
    let body: Value = response.json().await.expect("json");
    let fields: Vec<&String> = body.as_object().expect("object").keys().collect();
    assert_eq!(fields, ["code", "error"], "{body}");
    assert!(!body["error"].as_str().expect("error").is_empty(), "{body}");
    body
}

/// What the tutorial's client does: PUT with only `Content-Type`.
async fn put(app: &TestApp, url: &str, kind: &str, bytes: Vec<u8>) -> Response {
    app.client
        .put(url)
        .header("content-type", kind)
        .body(bytes)
        .send()
        .await
        .expect("PUT to storage")
}

fn png_of(len: usize) -> Vec<u8> {
    let mut bytes = vec![7u8; len];
    bytes[..PNG.len()].copy_from_slice(PNG);
    bytes
}

#[tokio::test]
async fn the_tutorial_flow_uploads_and_verifies_one_file() {
    if !uploadgate_testkit::engines::s3_store() {
        return;
    }
    let app = app().await;
    let bytes = png_of(6 * MIB as usize);
    let response = app
        .post_json(
            "alice",
            "/api/upload/generate-url",
            &describe("cat.png", "image/png", bytes.len()),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let generated: Value = response.json().await.expect("json");
    let url = generated["presignedUrl"].as_str().expect("presignedUrl");
    let key = generated["objectKey"].as_str().expect("objectKey");
    assert!(
        key.starts_with("uploads/alice/") && key.ends_with(".png"),
        "{key}"
    );
    assert_eq!(generated["expiresIn"], 900);

    assert!(
        put(&app, url, "image/png", bytes)
            .await
            .status()
            .is_success()
    );
    let response = app
        .post_json("alice", "/api/upload/complete", &json!({"objectKey": key}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let done: Value = response.json().await.expect("json");
    assert_eq!(done["success"], true);
    assert!(done["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(done["objectKey"], key);
    assert_eq!(done["upload"]["status"], "completed");
    assert_eq!(done["upload"]["size"], 6 * MIB);
    // The same record API v1 shows, and the bytes are in storage.
    let id = done["upload"]["id"].as_str().expect("id");
    assert_eq!(
        app.get_json("alice", &format!("/v1/uploads/{id}")).await["status"],
        "completed"
    );
    assert!(app.store().head(key).await.expect("head").is_some());
    // Completing again gives the same answer.
    let again = app
        .post_json("alice", "/api/upload/complete", &json!({"objectKey": key}))
        .await;
    assert_eq!(again.status(), StatusCode::OK);
}

#[tokio::test]
async fn refusals_come_as_error_and_code() {
    if !uploadgate_testkit::engines::s3_store() {
        return;
    }
    let app = app().await;
    let refused = app
        .post_json(
            "alice",
            "/api/upload/generate-url",
            &describe("notes.txt", "text/plain", 10),
        )
        .await;
    let body = tutorial_error(refused, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["code"], "content_type_not_allowed");

    let too_big = app
        .post_json(
            "alice",
            "/api/upload/generate-url",
            &describe("a.png", "image/png", 21 * MIB as usize),
        )
        .await;
    assert_eq!(
        tutorial_error(too_big, StatusCode::BAD_REQUEST).await["code"],
        "file_too_large"
    );

    let malformed = app
        .post_json(
            "alice",
            "/api/upload/generate-url",
            &json!({"fileName": "a.png", "fileType": "image/png", "fileSize": "big"}),
        )
        .await;
    let body = tutorial_error(malformed, StatusCode::BAD_REQUEST).await;
    assert!(
        body["error"].as_str().expect("error").contains("fileSize"),
        "{body}"
    );

    let anonymous = app
        .client
        .post(app.url("/api/upload/generate-url"))
        .json(&describe("a.png", "image/png", 10))
        .send()
        .await
        .expect("send");
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        tutorial_error(anonymous, StatusCode::UNAUTHORIZED).await["code"],
        "unauthorized"
    );

    let wrong_method = app
        .client
        .get(app.url("/api/upload/complete"))
        .bearer_auth(app.token("alice"))
        .send()
        .await
        .expect("send");
    let body = tutorial_error(wrong_method, StatusCode::METHOD_NOT_ALLOWED).await;
    assert_eq!(body["code"], "method_not_allowed");
    let typo = app
        .post_json("alice", "/api/upload/generate-link", &json!({}))
        .await;
    assert_eq!(
        tutorial_error(typo, StatusCode::NOT_FOUND).await["code"],
        "not_found"
    );

    // A type storage would see spelled otherwise than signed: refused up front,
    // not as a 403 from storage after the upload was recorded.
    for spelling in ["image/PNG", "image/png; charset=binary"] {
        let response = app
            .post_json(
                "alice",
                "/api/upload/generate-url",
                &describe("a.png", spelling, 10),
            )
            .await;
        let body = tutorial_error(response, StatusCode::BAD_REQUEST).await;
        assert!(
            body["error"]
                .as_str()
                .expect("error")
                .contains("\"image/png\""),
            "{body}"
        );
    }
    let listed = app.get_json("alice", "/v1/uploads").await;
    assert_eq!(listed["items"], json!([]), "a refusal left a record");
}

#[tokio::test]
async fn completion_verifies_what_landed_and_keeps_users_apart() {
    if !uploadgate_testkit::engines::s3_store() {
        return;
    }
    let app = app().await;
    let generate = |name: &'static str| {
        let app = &app;
        async move {
            let response = app
                .post_json(
                    "alice",
                    "/api/upload/generate-url",
                    &describe(name, "image/png", 64),
                )
                .await;
            let body: Value = response.json().await.expect("json");
            (
                body["presignedUrl"].as_str().expect("url").to_owned(),
                body["objectKey"].as_str().expect("key").to_owned(),
            )
        }
    };
    let (_, key) = generate("early.png").await;
    let early = app
        .post_json("alice", "/api/upload/complete", &json!({"objectKey": key}))
        .await;
    assert_eq!(
        tutorial_error(early, StatusCode::CONFLICT).await["code"],
        "object_missing"
    );

    // Another user's key, a made-up one and a path are all the same 404.
    let theirs = app
        .post_json(
            "mallory",
            "/api/upload/complete",
            &json!({"objectKey": key}),
        )
        .await;
    assert_eq!(
        tutorial_error(theirs, StatusCode::NOT_FOUND).await["code"],
        "upload_not_found"
    );
    for made_up in ["uploads/alice/nothing.png", "../../etc/passwd", ""] {
        let response = app
            .post_json(
                "alice",
                "/api/upload/complete",
                &json!({"objectKey": made_up}),
            )
            .await;
        assert_eq!(
            tutorial_error(response, StatusCode::NOT_FOUND).await["code"],
            "upload_not_found"
        );
    }

    // Bytes that are not the declared type: refused, with the reason as `error`.
    let (url, key) = generate("fake.png").await;
    assert!(
        put(&app, &url, "image/png", vec![b'x'; 64])
            .await
            .status()
            .is_success()
    );
    let rejected = app
        .post_json("alice", "/api/upload/complete", &json!({"objectKey": key}))
        .await;
    let body = tutorial_error(rejected, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["code"], "upload_rejected");
}

#[tokio::test]
async fn the_door_shares_api_v1_rate_limits() {
    if !uploadgate_testkit::engines::s3_store() {
        return;
    }
    let app = TestApp::builder()
        .configure(|c| {
            c.limits.user_rate = 1;
            c.limits.user_burst = 1;
            c.limits.ip_rate = 0;
        })
        .start()
        .await;
    // The budget spent on API v1 is gone for the door too.
    let first = app
        .post_json(
            "alice",
            "/v1/uploads",
            &json!({"filename": "a.png", "contentType": "image/png", "size": 64}),
        )
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let second = app
        .post_json(
            "alice",
            "/api/upload/generate-url",
            &describe("a.png", "image/png", 64),
        )
        .await;
    assert!(second.headers().contains_key("retry-after"));
    assert_eq!(
        tutorial_error(second, StatusCode::TOO_MANY_REQUESTS).await["code"],
        "rate_limited"
    );
}

#[tokio::test]
async fn what_a_plain_put_cannot_do_is_refused_before_anything_is_recorded() {
    if !uploadgate_testkit::engines::s3_store() {
        return;
    }
    let app = TestApp::builder()
        .profile("default", |p| {
            p.content_types = strings(["image/png"]);
            p.max_size = 8 * 1024 * MIB;
        })
        .start()
        .await;
    // Over S3's 5 GiB for one request, though the profile allows 8 GiB.
    let huge = describe("huge.png", "image/png", 5 * 1024 * MIB as usize + 1);
    let refused = app
        .post_json("alice", "/api/upload/generate-url", &huge)
        .await;
    let body = tutorial_error(refused, StatusCode::BAD_REQUEST).await;
    assert!(
        body["error"].as_str().expect("error").contains("5 GiB"),
        "{body}"
    );

    let negative = json!({"fileName": "a.png", "fileType": "image/png", "fileSize": -1});
    let refused = app
        .post_json("alice", "/api/upload/generate-url", &negative)
        .await;
    tutorial_error(refused, StatusCode::BAD_REQUEST).await;

    // An encrypted profile's PUT must carry headers the tutorial's client never
    // sends. Neither test store applies encryption (the server refuses such a
    // profile at start), so the domain is asked directly, over the same database.
    let mut config = app.config().clone();
    let sealed = Profile {
        content_types: strings(["image/png"]),
        sse: Some("AES256".into()),
        ..Profile::default()
    };
    config.profiles.insert("sealed".into(), sealed);
    let uploads = Uploads::new(config, app.state().uploads.db.clone(), app.store().clone());
    let request = CreateUpload {
        filename: "a.png".into(),
        content_type: "image/png".into(),
        size: 64,
        profile: Some("sealed".into()),
        checksum_sha256: None,
        metadata: None,
        method: None,
    };
    let refused = uploads
        .create_single_put(&Principal::user("alice"), request)
        .await
        .expect_err("an encrypted profile through the simple door");
    assert!(matches!(refused, UploadError::NotPermitted(_)), "{refused}");

    let listed = app.get_json("alice", "/v1/uploads").await;
    assert_eq!(listed["items"], json!([]), "a refusal left a record");
}
