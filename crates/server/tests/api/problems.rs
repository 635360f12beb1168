//! Whole problem+json bodies, one per kind of refusal, held to snapshots in
//! `snapshots/`: a changed status, code, title, detail or field shows up in
//! review. Regenerate with `INSTA_UPDATE=always cargo test ... problems` and
//! read the diff.

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use uploadgate_testkit::{PNG, TestApp, assert_stored, problem, put_as_instructed, strings};

/// The body of `response`, which must have `status`.
async fn refusal(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    problem(response).await
}

fn png(size: usize) -> Value {
    json!({"filename": "a.png", "contentType": "image/png", "size": size})
}

#[tokio::test]
async fn malformed_requests() {
    let app = TestApp::start().await;
    let send = |body: &'static str, content_type: &'static str| {
        app.client
            .post(app.url("/v1/uploads"))
            .bearer_auth(app.token("alice"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let not_json = send("{\"filename\":", "application/json")
        .await
        .expect("send");
    insta::assert_json_snapshot!(
        "malformed_json",
        refusal(not_json, StatusCode::BAD_REQUEST).await
    );
    let wrong_field = send(
        r#"{"filename":"a.png","contentType":"image/png","size":"ten"}"#,
        "application/json",
    )
    .await
    .expect("send");
    insta::assert_json_snapshot!(
        "wrong_field_type",
        refusal(wrong_field, StatusCode::BAD_REQUEST).await
    );
    let form = send("filename=a.png", "application/x-www-form-urlencoded")
        .await
        .expect("send");
    insta::assert_json_snapshot!(
        "not_json",
        refusal(form, StatusCode::UNSUPPORTED_MEDIA_TYPE).await
    );
    let anonymous = app
        .client
        .get(app.url("/v1/uploads"))
        .send()
        .await
        .expect("send");
    insta::assert_json_snapshot!(
        "no_token",
        refusal(anonymous, StatusCode::UNAUTHORIZED).await
    );
    let nowhere = app.get("alice", "/v1/nowhere").await;
    insta::assert_json_snapshot!(
        "no_such_route",
        refusal(nowhere, StatusCode::NOT_FOUND).await
    );
    let put = app
        .client
        .put(app.url("/v1/uploads"))
        .send()
        .await
        .expect("send");
    insta::assert_json_snapshot!(
        "wrong_method",
        refusal(put, StatusCode::METHOD_NOT_ALLOWED).await
    );
}

#[tokio::test]
async fn refusals_by_the_profile() {
    let app = TestApp::builder()
        .profile("docs", |p| p.content_types = strings(["application/pdf"]))
        .start()
        .await;
    let mut unknown = png(10);
    unknown["profile"] = json!("nope");
    let cases = [
        ("unknown_profile", unknown),
        (
            "type_not_allowed",
            json!({"filename": "a.gif", "contentType": "image/gif", "size": 10, "profile": "docs"}),
        ),
        ("too_large", png(10 * 1024 * 1024 + 1)),
        ("empty", png(0)),
        (
            "bad_filename",
            json!({"filename": "../../etc/passwd", "contentType": "image/png", "size": 10}),
        ),
        (
            "bad_metadata",
            json!({"filename": "a.png", "contentType": "image/png", "size": 10,
                   "metadata": {"no spaces": "x"}}),
        ),
    ];
    for (name, body) in cases {
        let response = app.post_json("alice", "/v1/uploads", &body).await;
        insta::assert_json_snapshot!(name, refusal(response, StatusCode::BAD_REQUEST).await);
    }
}

#[tokio::test]
async fn refusals_by_the_state_of_an_upload() {
    let app = TestApp::builder()
        .configure(|c| c.limits.max_uploads_in_progress = Some(1))
        .start()
        .await;
    let record = app.create("alice", png(PNG.len())).await;
    let id = record["id"].as_str().expect("id");

    let nothing_yet = app.complete("alice", id).await;
    insta::assert_json_snapshot!(
        "nothing_uploaded",
        refusal(nothing_yet, StatusCode::CONFLICT).await
    );
    let over_quota = app.post_json("alice", "/v1/uploads", &png(10)).await;
    insta::assert_json_snapshot!(
        "quota_exceeded",
        refusal(over_quota, StatusCode::FORBIDDEN).await
    );
    let not_theirs = app.get("bob", &format!("/v1/uploads/{id}")).await;
    insta::assert_json_snapshot!(
        "another_users_upload",
        refusal(not_theirs, StatusCode::NOT_FOUND).await
    );
    let not_done = app
        .get("alice", &format!("/v1/uploads/{id}/download"))
        .await;
    insta::assert_json_snapshot!(
        "download_before_completion",
        refusal(not_done, StatusCode::CONFLICT).await
    );
    let single = app
        .post_json(
            "alice",
            &format!("/v1/uploads/{id}/parts"),
            &json!({"partNumbers": [1]}),
        )
        .await;
    insta::assert_json_snapshot!(
        "parts_of_a_single_upload",
        refusal(single, StatusCode::CONFLICT).await
    );

    let sent = put_as_instructed(&app.client, &record, PNG.to_vec(), &[]).await;
    assert_stored(&sent);
    assert_eq!(app.complete("alice", id).await.status(), StatusCode::OK);
    let deleted = app.delete("alice", &format!("/v1/uploads/{id}")).await;
    assert_eq!(deleted.status(), StatusCode::OK);
    let gone = app
        .get("alice", &format!("/v1/uploads/{id}/download"))
        .await;
    insta::assert_json_snapshot!(
        "download_after_deletion",
        refusal(gone, StatusCode::GONE).await
    );
}
