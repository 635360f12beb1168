//! API keys of the application's backend: acting for a user on API v1,
//! administering what needs no user, refused outside their scopes, revoked
//! at once on every node, never echoed.

use reqwest::{RequestBuilder, StatusCode};
use serde_json::{Value, json};
use uploadgate_server::auth::{ApiKeys, Scope};
use uploadgate_testkit::{TestApp, id_of, problem};

async fn key(app: &TestApp, name: &str, scopes: &[Scope]) -> String {
    app.api_key(name, scopes).await
}

fn with_key(request: RequestBuilder, key: &str, user: Option<&str>) -> RequestBuilder {
    let request = request.bearer_auth(key);
    match user {
        Some(user) => request.header("uploadgate-user", user),
        None => request,
    }
}

fn png_body() -> Value {
    json!({"filename": "a.png", "contentType": "image/png", "size": 10})
}

#[tokio::test]
async fn an_api_key_acts_for_the_user_it_names_on_every_route() {
    let app = TestApp::start().await;
    let key = key(&app, "backend", &[Scope::Uploads]).await;

    let created = with_key(app.client.post(app.url("/v1/uploads")), &key, Some("bob"))
        .json(&png_body())
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), StatusCode::CREATED);
    let record: Value = created.json().await.expect("json");
    assert_eq!(record["owner"], "bob");
    let id = id_of(&record);
    // Bob's own token sees it: it is his.
    app.get_json("bob", &format!("/v1/uploads/{id}")).await;

    let get = |user: &'static str| {
        with_key(
            app.client.get(app.url(&format!("/v1/uploads/{id}"))),
            &key,
            Some(user),
        )
    };
    assert_eq!(
        get("bob").send().await.expect("get").status(),
        StatusCode::OK
    );
    assert_eq!(
        get("carol").send().await.expect("get").status(),
        StatusCode::NOT_FOUND
    );

    let aborted = with_key(
        app.client.delete(app.url(&format!("/v1/uploads/{id}"))),
        &key,
        Some("bob"),
    )
    .send()
    .await
    .expect("abort");
    assert_eq!(aborted.status(), StatusCode::OK);

    // Without a user named, it acts for nobody.
    let nobody = with_key(app.client.post(app.url("/v1/uploads")), &key, None)
        .json(&png_body())
        .send()
        .await
        .expect("create");
    assert_eq!(nobody.status(), StatusCode::UNAUTHORIZED);
    assert!(
        problem(nobody).await["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Uploadgate-User")
    );
    // Nor for a user id longer than any token's `sub` may be.
    let long = "u".repeat(1000);
    let bad_user = with_key(app.client.post(app.url("/v1/uploads")), &key, Some(&long))
        .json(&png_body())
        .send()
        .await
        .expect("create");
    assert_eq!(bad_user.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_admin_key_lists_every_users_uploads_and_jobs_and_others_may_not() {
    let app = TestApp::start().await;
    app.create_put("alice", "image/png", b"0123456789").await;
    app.create_put("bob", "image/png", b"0123456789").await;
    let admin = key(&app, "ops", &[Scope::Admin]).await;
    let uploads_only = key(&app, "backend", &[Scope::Uploads]).await;

    let listed: Value = with_key(app.client.get(app.url("/v1/uploads")), &admin, None)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let mut owners: Vec<&str> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| r["owner"].as_str().expect("owner"))
        .collect();
    owners.sort_unstable();
    assert_eq!(owners, ["alice", "bob"]);
    let jobs = with_key(app.client.get(app.url("/v1/jobs")), &admin, None)
        .send()
        .await
        .expect("jobs");
    assert_eq!(jobs.status(), StatusCode::OK);

    // An admin key acts for no user on its own.
    let create = with_key(
        app.client.post(app.url("/v1/uploads")),
        &admin,
        Some("alice"),
    )
    .json(&png_body())
    .send()
    .await
    .expect("create");
    assert_eq!(create.status(), StatusCode::FORBIDDEN);
    assert_eq!(problem(create).await["code"], "not_permitted");
    for path in ["/v1/uploads", "/v1/jobs"] {
        let refused = with_key(app.client.get(app.url(path)), &uploads_only, None)
            .send()
            .await
            .expect("list");
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
        assert_eq!(problem(refused).await["code"], "not_permitted", "{path}");
    }
    // A user's token lists only their own.
    let own = app.get_json("alice", "/v1/uploads").await;
    assert_eq!(own["items"].as_array().expect("items").len(), 1);
}

#[tokio::test]
async fn a_revoked_key_stops_at_once_on_every_node_and_keys_are_never_echoed() {
    let app = TestApp::start().await;
    let node = app.second_node().await;
    let keys = ApiKeys::new(app.state().uploads.db.clone());
    let key = key(&app, "backend", &[Scope::Uploads]).await;
    let list_for_bob = |base: String| {
        with_key(
            app.client.get(format!("{base}/v1/uploads")),
            &key,
            Some("bob"),
        )
        .send()
    };
    for base in [app.url(""), node.url("")] {
        let ok = list_for_bob(base.clone()).await.expect("list");
        assert_eq!(ok.status(), StatusCode::OK, "{base}");
    }
    // Its use is recorded off the request's path: wait for it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let listed = loop {
        let listed = keys.list().await.expect("list");
        if listed.iter().all(|k| k.last_used_at.is_some()) || std::time::Instant::now() > deadline {
            break listed;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(listed.len(), 1);
    assert!(listed[0].last_used_at.is_some(), "its use is recorded");
    assert!(
        !format!("{listed:?}").contains(&key),
        "only a hash is stored"
    );

    assert!(keys.revoke("backend").await.expect("revoke"));
    for base in [app.url(""), node.url("")] {
        let refused = list_for_bob(base.clone()).await.expect("list");
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{base}");
        let body = refused.text().await.expect("body");
        assert!(!body.contains(&key[4..]), "{body}");
    }
    // A made-up key of the right shape, and a key with one character changed.
    let mut changed = key.clone().into_bytes();
    let last = changed.len() - 1;
    changed[last] = if changed[last] == b'A' { b'B' } else { b'A' };
    for wrong in [
        "ugk_made-up".to_owned(),
        String::from_utf8(changed).expect("ascii"),
    ] {
        let refused = with_key(app.client.get(app.url("/v1/uploads")), &wrong, Some("bob"))
            .send()
            .await
            .expect("list");
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert!(!refused.text().await.expect("body").contains(&wrong));
    }
}

#[tokio::test]
async fn an_application_lists_any_users_uploads_by_profile_time_and_metadata() {
    let app = TestApp::builder().profile("avatars", |_| {}).start().await;
    let admin = key(&app, "ops", &[Scope::Admin]).await;
    let body = |profile: &str, tenant: &str| {
        json!({"filename": "a.png", "contentType": "image/png", "size": 10,
               "profile": profile, "metadata": {"tenant": tenant}})
    };
    let first = app.create("alice", body("avatars", "acme")).await;
    let started = time::OffsetDateTime::now_utc();
    app.create("bob", body("default", "acme")).await;
    app.create("carol", body("avatars", "globex")).await;

    let ids = |path: String| {
        let request = with_key(app.client.get(app.url(&path)), &admin, None);
        async move {
            let response = request.send().await.expect("list");
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            let listed: Value = response.json().await.expect("json");
            listed["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|r| {
                    format!(
                        "{}/{}",
                        r["owner"].as_str().expect("owner"),
                        r["profile"].as_str().expect("profile")
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    let since = started
        .format(&time::format_description::well_known::Rfc3339)
        .expect("rfc 3339")
        .replace('+', "%2B");
    assert_eq!(
        ids("/v1/uploads?profile=avatars".into()).await,
        ["carol/avatars", "alice/avatars"]
    );
    assert_eq!(
        ids("/v1/uploads?metadata=tenant%3Dacme".into()).await,
        ["bob/default", "alice/avatars"]
    );
    assert_eq!(
        ids(format!(
            "/v1/uploads?createdAfter={since}&metadata=tenant%3Dacme"
        ))
        .await,
        ["bob/default"]
    );
    assert_eq!(
        ids(format!("/v1/uploads?createdBefore={since}")).await,
        ["alice/avatars"]
    );
    // A user's own token filters only their own.
    let own = app.get_json("alice", "/v1/uploads?profile=avatars").await;
    assert_eq!(own["items"][0]["id"], first["id"]);
    assert_eq!(own["items"].as_array().expect("items").len(), 1);

    for (query, field) in [
        ("createdAfter=yesterday", "createdAfter"),
        ("createdBefore=2026-13-01T00:00:00Z", "createdBefore"),
        ("metadata=bad%20key%3Dx", "metadata"),
        ("owner=bob", ""),
    ] {
        let response = with_key(
            app.client.get(app.url(&format!("/v1/uploads?{query}"))),
            &admin,
            None,
        )
        .send()
        .await
        .expect("list");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let body = problem(response).await;
        if !field.is_empty() {
            assert_eq!(body["field"], field, "{query}: {body}");
        }
    }
}
