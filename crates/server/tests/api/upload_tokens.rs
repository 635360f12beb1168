//! Scoped upload tokens: minted by the application's backend with an API
//! key, used by a browser as its bearer token, and held to every
//! restriction they carry.

use std::time::Duration;

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use uploadgate_server::auth::{ApiKeys, Scope};
use uploadgate_testkit::{MIB, TestApp, problem};

async fn app() -> (TestApp, String) {
    let app = TestApp::builder()
        .profile("avatars", |p| {
            p.max_size = MIB;
            p.content_types = vec!["image/png".into()];
        })
        .start()
        .await;
    let key = app.api_key("backend", &[Scope::Tokens]).await;
    (app, key)
}

async fn mint(app: &TestApp, credential: &str, body: &Value) -> Response {
    app.client
        .post(app.url("/v1/upload-tokens"))
        .bearer_auth(credential)
        .json(body)
        .send()
        .await
        .expect("mint")
}

async fn minted(app: &TestApp, key: &str, body: &Value) -> String {
    let response = mint(app, key, body).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{body}");
    let token: Value = response.json().await.expect("json");
    assert_eq!(token["user"], body["user"]);
    token["token"].as_str().expect("token").to_owned()
}

async fn create(app: &TestApp, token: &str, body: Value) -> Response {
    app.client
        .post(app.url("/v1/uploads"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("create")
}

fn png(size: u64) -> Value {
    json!({"filename": "me.png", "contentType": "image/png", "size": size})
}

async fn assert_refused(response: Response, status: StatusCode, code: &str, case: &str) {
    assert_eq!(response.status(), status, "{case}");
    assert_eq!(problem(response).await["code"], code, "{case}");
}

#[tokio::test]
async fn an_upload_token_is_held_to_its_profile_count_bytes_and_metadata() {
    let (app, key) = app().await;
    let token = minted(
        &app,
        &key,
        &json!({"user": "dana", "profile": "avatars", "maxFiles": 2, "maxBytes": 1000,
                "metadata": {"tenant": "t1"}}),
    )
    .await;

    // Its profile is the default; the client's metadata cannot override the pinned.
    let mut first = png(600);
    first["metadata"] = json!({"tenant": "t2", "note": "mine"});
    let created = create(&app, &token, first).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let record: Value = created.json().await.expect("json");
    assert_eq!(record["owner"], "dana");
    assert_eq!(record["profile"], "avatars");
    assert_eq!(record["metadata"], json!({"tenant": "t1", "note": "mine"}));

    let mut other = png(10);
    other["profile"] = json!("default");
    assert_refused(
        create(&app, &token, other).await,
        StatusCode::FORBIDDEN,
        "not_permitted",
        "another profile",
    )
    .await;
    assert_refused(
        create(&app, &token, png(401)).await,
        StatusCode::FORBIDDEN,
        "token_limit_reached",
        "more bytes",
    )
    .await;
    // The profile's own rules still hold, and a refusal spends nothing.
    let mut pdf = png(10);
    pdf["contentType"] = json!("application/pdf");
    assert_refused(
        create(&app, &token, pdf).await,
        StatusCode::BAD_REQUEST,
        "content_type_not_allowed",
        "a type the profile refuses",
    )
    .await;
    assert_eq!(
        create(&app, &token, png(400)).await.status(),
        StatusCode::CREATED
    );
    assert_refused(
        create(&app, &token, png(1)).await,
        StatusCode::FORBIDDEN,
        "token_limit_reached",
        "a third file",
    )
    .await;

    // It sends files; it does not read them.
    let id = record["id"].as_str().expect("id");
    for path in [
        "/v1/uploads".to_owned(),
        format!("/v1/uploads/{id}/download"),
        "/v1/jobs".to_owned(),
    ] {
        let response = app
            .client
            .get(app.url(&path))
            .bearer_auth(&token)
            .send()
            .await
            .expect("get");
        assert_refused(response, StatusCode::FORBIDDEN, "not_permitted", &path).await;
    }
    // Dana's own record shows what the token made.
    let listed = app.get_json("dana", "/v1/uploads").await;
    assert_eq!(listed["items"].as_array().expect("items").len(), 2);
    // Her other uploads in the same profile are out of its reach.
    let other = app
        .create("dana", json!({"filename": "old.png", "contentType": "image/png", "size": 10, "profile": "avatars"}))
        .await;
    let other_id = other["id"].as_str().expect("id");
    let reach = |method: reqwest::Method, path: String| {
        app.client
            .request(method, app.url(&path))
            .bearer_auth(&token)
    };
    for (method, path) in [
        (reqwest::Method::GET, format!("/v1/uploads/{other_id}")),
        (reqwest::Method::DELETE, format!("/v1/uploads/{other_id}")),
        (
            reqwest::Method::POST,
            format!("/v1/uploads/{other_id}/complete"),
        ),
    ] {
        let response = reach(method.clone(), path.clone())
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method} {path}");
    }
    let mine = reach(reqwest::Method::GET, format!("/v1/uploads/{id}"))
        .send()
        .await
        .expect("get");
    assert_eq!(mine.status(), StatusCode::OK, "what it created, it reads");
}

#[tokio::test]
async fn an_upload_token_is_not_a_user_token_to_anyone_sharing_the_secret() {
    let (app, key) = app().await;
    let token = minted(&app, &key, &json!({"user": "dana", "profile": "avatars"})).await;
    let secret = std::fs::read_to_string(app.config().data_dir.join("secrets/jwt-secret"))
        .expect("the generated secret");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.validate_aud = false;
    let checked = jsonwebtoken::decode::<Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_secret(secret.trim().as_bytes()),
        &validation,
    );
    assert!(
        checked.is_err(),
        "another verifier with the secret accepted an upload token"
    );
}

#[tokio::test]
async fn concurrent_creations_cannot_overspend_a_token() {
    let (app, key) = app().await;
    let token = minted(
        &app,
        &key,
        &json!({"user": "erin", "profile": "avatars", "maxFiles": 3}),
    )
    .await;
    let attempts = (0..20).map(|_| create(&app, &token, png(10)));
    let statuses: Vec<StatusCode> = futures::future::join_all(attempts)
        .await
        .iter()
        .map(Response::status)
        .collect();
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    assert_eq!(created, 3, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| matches!(*s, StatusCode::CREATED | StatusCode::FORBIDDEN)),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn only_a_key_with_the_tokens_scope_mints_and_only_what_is_valid() {
    let (app, key) = app().await;
    let body = json!({"user": "dana", "profile": "avatars"});
    assert_refused(
        mint(&app, &app.token("dana"), &body).await,
        StatusCode::FORBIDDEN,
        "not_permitted",
        "a user's token",
    )
    .await;
    let uploads_key = app.api_key("other", &[Scope::Uploads]).await;
    assert_refused(
        mint(&app, &uploads_key, &body).await,
        StatusCode::FORBIDDEN,
        "not_permitted",
        "no tokens scope",
    )
    .await;
    assert_refused(
        mint(&app, "ugk_nope", &body).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "unknown key",
    )
    .await;
    for (bad, case) in [
        (
            json!({"user": "dana", "profile": "nope"}),
            "unknown profile",
        ),
        (json!({"user": "dana", "ttlSeconds": 0}), "zero lifetime"),
        (
            json!({"user": "dana", "ttlSeconds": 86_401}),
            "too long a lifetime",
        ),
        (json!({"user": ""}), "no user"),
        (json!({"user": "dana", "extra": 1}), "an unknown field"),
        (json!({"user": "dana", "maxFiles": 0}), "no files"),
        (
            json!({"user": "dana", "maxBytes": u64::MAX}),
            "more bytes than can be counted",
        ),
    ] {
        let response = mint(&app, &key, &bad).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{case}");
        problem(response).await;
    }
    // An upload token cannot mint another.
    let token = minted(&app, &key, &body).await;
    assert_refused(
        mint(&app, &token, &body).await,
        StatusCode::FORBIDDEN,
        "not_permitted",
        "an upload token",
    )
    .await;
}

#[tokio::test]
async fn revoking_the_key_ends_the_upload_tokens_it_minted() {
    let (app, key) = app().await;
    let token = minted(&app, &key, &json!({"user": "dana", "profile": "avatars"})).await;
    let created = create(&app, &token, png(10)).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = created.json::<Value>().await.expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert!(
        ApiKeys::new(app.state().uploads.db.clone())
            .revoke("backend")
            .await
            .expect("revoke")
    );
    let after = create(&app, &token, png(10)).await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    assert!(
        problem(after).await["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("revoked")
    );
    let read = app
        .client
        .get(app.url(&format!("/v1/uploads/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get");
    assert_eq!(
        read.status(),
        StatusCode::UNAUTHORIZED,
        "every route, not only creation"
    );
}

#[tokio::test]
async fn an_upload_token_ends_at_its_expiry_without_leeway() {
    let (app, key) = app().await;
    let token = minted(
        &app,
        &key,
        &json!({"user": "dana", "profile": "avatars", "ttlSeconds": 1}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let response = create(&app, &token, png(10)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        problem(response).await["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("expired")
    );
}
