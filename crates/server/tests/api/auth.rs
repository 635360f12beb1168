//! Every upload route requires a valid bearer token.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::json;

use uploadgate_testkit::{TestApp, problem};

#[tokio::test]
async fn missing_malformed_and_forged_tokens_get_401() {
    let app = TestApp::start().await;
    let body = json!({"filename": "a.png", "contentType": "image/png", "size": 1});
    let url = app.url("/v1/uploads");

    let none = app
        .client
        .post(&url)
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(none.headers()["www-authenticate"], "Bearer");
    assert_eq!(problem(none).await["code"], "unauthorized");

    let valid = app.token("alice");
    let (head, rest) = valid.split_once('.').expect("jwt");
    let (_, signature) = rest.split_once('.').expect("jwt");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let claims = |value: serde_json::Value| URL_SAFE_NO_PAD.encode(value.to_string());
    let forged = format!(
        "{head}.{}.{signature}",
        claims(json!({"sub": "admin", "exp": now + 600}))
    );
    let unsigned_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let alg_none = format!(
        "{unsigned_header}.{}.",
        claims(json!({"sub": "alice", "exp": now + 600}))
    );

    for token in ["garbage", forged.as_str(), alg_none.as_str(), ""] {
        let response = app
            .client
            .post(&url)
            .header("authorization", format!("Bearer {token}"))
            .json(&body)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{token}");
    }
    let basic = app
        .client
        .get(&url)
        .basic_auth("alice", Some("pw"))
        .send()
        .await
        .expect("send");
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn routes_that_read_uploads_require_a_token_too() {
    let app = TestApp::start().await;
    let id = uuid::Uuid::now_v7();
    for path in [
        "/v1/uploads".to_owned(),
        format!("/v1/uploads/{id}"),
        format!("/v1/uploads/{id}/download"),
    ] {
        let response = app.client.get(app.url(&path)).send().await.expect("send");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
}
