//! Tokens of a real OpenID provider (`oidc-provider` on loopback): RS256 and
//! ES256 access tokens create uploads; keys rotate without a restart; every
//! forged or misdirected token is a 401 in problem+json; a provider that is
//! down costs only what it must.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::StreamExt as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use uploadgate_server::config::auth::IssuerConfig;
use uploadgate_testkit::oidc::{Client, Oidc};
use uploadgate_testkit::{TestApp, problem};

fn trusting(issuer: IssuerConfig) -> uploadgate_testkit::TestAppBuilder {
    TestApp::builder().configure(move |config| config.auth.issuers.push(issuer))
}

/// A server trusting `issuer`, once it has fetched its keys.
async fn app_trusting(issuer: IssuerConfig) -> TestApp {
    let app = trusting(issuer).start().await;
    wait_ready(&app).await;
    app
}

/// `POST /v1/uploads` with `token` as the bearer.
async fn create_with(app: &TestApp, token: &str) -> Response {
    app.client
        .post(app.url("/v1/uploads"))
        .bearer_auth(token)
        .json(&json!({"filename": "a.png", "contentType": "image/png", "size": 10}))
        .send()
        .await
        .expect("request")
}

/// Expects a 401 problem whose detail mentions `why`.
async fn assert_refused(response: Response, why: &str, case: &str) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{case}");
    let body: Value = problem(response).await;
    assert_eq!(body["code"], "unauthorized", "{case}: {body}");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(why),
        "{case}: {detail:?} should say {why:?}"
    );
}

#[tokio::test]
async fn the_providers_rs256_and_es256_access_tokens_create_uploads_for_their_subject() {
    let oidc = Oidc::start();
    let app = app_trusting(oidc.issuer_config()).await;
    for client in [Client::Rs256, Client::Es256] {
        let token = oidc.token(client).await;
        let created = create_with(&app, &token).await;
        assert_eq!(created.status(), StatusCode::CREATED, "{client:?}");
        let record: Value = created.json().await.expect("json");
        let id = record["id"].as_str().expect("id");
        assert_eq!(app.record(id).await.owner, client.id());
        // The same token again comes from the verified-token memory; still
        // the same user.
        let listed: Value = app
            .client
            .get(app.url("/v1/uploads"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        assert_eq!(
            listed["items"].as_array().expect("items").len(),
            1,
            "{client:?}"
        );
    }
    // uploadgate's own tokens still work beside the provider's.
    app.create_put("alice", "image/png", b"0123456789").await;
}

#[tokio::test]
async fn the_user_may_be_named_by_a_namespaced_or_nested_claim() {
    let oidc = Oidc::start();
    let mut issuer = oidc.issuer_config();
    issuer.user_claim = "https://example.com/user_id".into();
    let app = app_trusting(issuer).await;
    let mut claims = oidc.claims("auth0|abc");
    claims["https://example.com/user_id"] = json!("u-42");
    let created = create_with(&app, &oidc.sign(Algorithm::RS256, &claims)).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = created.json::<Value>().await.expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(app.record(&id).await.owner, "u-42");

    let without = oidc.sign(Algorithm::RS256, &oidc.claims("auth0|abc"));
    assert_refused(
        create_with(&app, &without).await,
        "user_id claim",
        "no user claim",
    )
    .await;
}

#[tokio::test]
async fn the_audience_may_be_in_another_claim_as_cognito_and_clerk_put_it() {
    let oidc = Oidc::start();
    let mut issuer = oidc.issuer_config();
    issuer.audience_claim = "client_id".into();
    issuer.audiences = vec!["app-client-1".into()];
    let app = app_trusting(issuer).await;
    let token = |client_id: &str| {
        let mut claims = oidc.claims("cognito-user");
        claims.as_object_mut().expect("claims").remove("aud");
        claims["client_id"] = json!(client_id);
        oidc.sign(Algorithm::RS256, &claims)
    };
    assert_eq!(
        create_with(&app, &token("app-client-1")).await.status(),
        StatusCode::CREATED
    );
    assert_refused(
        create_with(&app, &token("app-client-2")).await,
        "client_id",
        "another client",
    )
    .await;
    // An `aud` that would match does not stand in for the configured claim.
    let mut claims = oidc.claims("cognito-user");
    claims["aud"] = json!("app-client-1");
    assert_refused(
        create_with(&app, &oidc.sign(Algorithm::RS256, &claims)).await,
        "client_id",
        "aud only",
    )
    .await;
}

#[tokio::test]
async fn forged_and_misdirected_tokens_are_refused_with_401() {
    let oidc = Oidc::start();
    let mut issuer = oidc.issuer_config();
    // ES256 is not allowed from this issuer: its tokens must be refused
    // even though the provider signs them properly.
    issuer.algorithms = vec!["RS256".into()];
    let app = app_trusting(issuer).await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = |edit: &dyn Fn(&mut Value)| {
        let mut claims = oidc.claims("mallory");
        edit(&mut claims);
        claims
    };

    // Algorithm confusion: HS256 "signed" with the provider's public key.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(oidc.kid(Algorithm::RS256));
    let confused = jsonwebtoken::encode(
        &header,
        &claims(&|_| {}),
        &EncodingKey::from_secret(oidc.rsa_public_pem().as_bytes()),
    )
    .expect("sign");
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD
            .encode(json!({"alg": "none", "kid": oidc.kid(Algorithm::RS256)}).to_string()),
        URL_SAFE_NO_PAD.encode(claims(&|_| {}).to_string())
    );
    let cases = [
        (
            confused,
            "not an algorithm accepted",
            "HS256 with the public key",
        ),
        (unsigned, "malformed", "alg none"),
        (
            oidc.sign(
                Algorithm::RS256,
                &claims(&|c| c["iss"] = json!("https://evil.example")),
            ),
            "",
            "another iss",
        ),
        (
            oidc.sign(
                Algorithm::RS256,
                &claims(&|c| c["aud"] = json!("another-app")),
            ),
            "aud",
            "wrong aud",
        ),
        (
            oidc.sign(Algorithm::RS256, &claims(&|c| c["nbf"] = json!(now + 3600))),
            "nbf",
            "nbf in the future",
        ),
        (
            oidc.sign(Algorithm::RS256, &claims(&|c| c["exp"] = json!(now - 3600))),
            "expired",
            "expired",
        ),
        (
            oidc.sign(
                Algorithm::RS256,
                &claims(&|c| {
                    c.as_object_mut().expect("claims").remove("exp");
                }),
            ),
            "exp",
            "no exp",
        ),
        (
            oidc.sign(Algorithm::ES256, &claims(&|_| {})),
            "not an algorithm accepted",
            "an algorithm not allowed",
        ),
        (
            // Signed with the RSA key but claiming the EC key's id.
            oidc.sign_as(
                Algorithm::RS256,
                Some(oidc.kid(Algorithm::ES256)),
                &claims(&|_| {}),
            ),
            "",
            "another key's kid",
        ),
        (
            oidc.sign_as(Algorithm::RS256, None, &claims(&|_| {})),
            "does not publish",
            "no kid among several keys",
        ),
    ];
    for (token, why, case) in cases {
        assert_refused(create_with(&app, &token).await, why, case).await;
    }
    // The properly signed token of the same shape passes: the refusals above
    // are for what they changed.
    let valid = oidc.sign(Algorithm::RS256, &claims(&|_| {}));
    assert_eq!(
        create_with(&app, &valid).await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn a_rotated_key_is_fetched_when_a_token_names_it_without_a_restart() {
    let oidc = Oidc::start();
    let app = app_trusting(oidc.issuer_config()).await;
    let old = oidc.token(Client::Rs256).await;
    assert_eq!(create_with(&app, &old).await.status(), StatusCode::CREATED);

    let fetched = oidc.jwks_fetches().await;
    oidc.rotate();
    let new = oidc.token(Client::Rs256).await;
    assert_ne!(
        kid_of(&new),
        kid_of(&old),
        "the provider signs with a new key"
    );
    assert_eq!(create_with(&app, &new).await.status(), StatusCode::CREATED);
    // The provider restarted with its count at zero: one fetch since, for
    // the new kid.
    assert_eq!(
        oidc.jwks_fetches().await,
        1,
        "was {fetched} before the rotation"
    );
    // The old key is still published: its tokens still pass.
    assert_eq!(create_with(&app, &old).await.status(), StatusCode::CREATED);
}

/// A provider, an app that fetches its keys every second, and a token that
/// has created an upload there (so it is remembered as verified).
async fn refreshing_every_second() -> (Oidc, TestApp, String) {
    let oidc = Oidc::start();
    let mut issuer = oidc.issuer_config();
    issuer.refresh = Duration::from_secs(1);
    let app = app_trusting(issuer).await;
    let old = oidc.token(Client::Es256).await;
    assert_eq!(create_with(&app, &old).await.status(), StatusCode::CREATED);
    (oidc, app, old)
}

#[tokio::test]
async fn a_retired_key_stops_verifying_at_the_next_refresh() {
    let (oidc, app, old) = refreshing_every_second().await;

    oidc.rotate();
    oidc.retire();
    let new = oidc.token(Client::Es256).await;
    assert_eq!(create_with(&app, &new).await.status(), StatusCode::CREATED);
    // The old token was verified (and remembered) before: it must still be
    // refused once the key set no longer has its key.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let response = create_with(&app, &old).await;
        if response.status() == StatusCode::UNAUTHORIZED {
            assert_refused(response, "does not publish", "retired key").await;
            break;
        }
        assert_eq!(response.status(), StatusCode::CREATED);
        assert!(Instant::now() < deadline, "the retired key still verifies");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(create_with(&app, &new).await.status(), StatusCode::CREATED);
}

/// A provider that replaces a key's material in place (a compromised key,
/// re-issued under the same `kid`) retires every token the old material
/// verified, remembered ones too.
#[tokio::test]
async fn a_key_replaced_under_its_kid_retires_the_tokens_it_verified() {
    let (oidc, app, old) = refreshing_every_second().await;

    oidc.rekey();
    let new = oidc.token(Client::Es256).await;
    let header = |token: &str| {
        jsonwebtoken::decode_header(token)
            .expect("header")
            .kid
            .expect("kid")
    };
    assert_eq!(header(&old), header(&new), "the same key id, new material");
    let deadline = Instant::now() + Duration::from_secs(15);
    while create_with(&app, &new).await.status() != StatusCode::CREATED {
        assert!(Instant::now() < deadline, "the new material never verifies");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_refused(
        create_with(&app, &old).await,
        "bad signature",
        "old material",
    )
    .await;
}

#[tokio::test]
async fn a_flood_of_unknown_key_ids_fetches_the_keys_at_most_once() {
    let oidc = Oidc::start();
    let app = app_trusting(oidc.issuer_config()).await;
    let before = oidc.jwks_fetches().await;
    let tokens: Vec<String> = (0..200)
        .map(|i| {
            oidc.sign_as(
                Algorithm::RS256,
                Some(format!("made-up-{i}")),
                &oidc.claims("mallory"),
            )
        })
        .collect();
    let started = Instant::now();
    // 50 at a time: concurrent lookups race for the one refetch.
    let answers: Vec<Response> = futures::stream::iter(&tokens)
        .map(|token| create_with(&app, token))
        .buffer_unordered(50)
        .collect()
        .await;
    for response in answers {
        assert_refused(response, "does not publish", "unknown kid").await;
    }
    let fetches = oidc.jwks_fetches().await - before;
    assert!(fetches <= 1, "{fetches} fetches for 200 unknown kids");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_provider_down_at_start_is_a_warning_until_it_comes_up() {
    let oidc = Oidc::stopped();
    let app = trusting(oidc.issuer_config()).start().await;
    let ready: Value = app.get_json("anyone", "/readyz").await;
    assert_eq!(ready["status"], "ready", "{ready}");
    assert!(
        ready["warnings"].to_string().contains("not loaded yet"),
        "{ready}"
    );
    // The server's own tokens do not depend on the provider.
    app.create_put("alice", "image/png", b"0123456789").await;

    oidc.up();
    wait_ready(&app).await;
    let token = oidc.token(Client::Rs256).await;
    assert_eq!(
        create_with(&app, &token).await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn while_the_provider_is_down_known_keys_work_and_unknown_ones_are_a_quick_401() {
    let oidc = Oidc::start();
    let app = app_trusting(oidc.issuer_config()).await;
    oidc.down();

    // A token never seen before, signed with a published key.
    let fresh = oidc.sign(Algorithm::ES256, &oidc.claims("carol"));
    assert_eq!(
        create_with(&app, &fresh).await.status(),
        StatusCode::CREATED
    );

    let started = Instant::now();
    let unknown = oidc.sign_as(
        Algorithm::RS256,
        Some("rotated-away".into()),
        &oidc.claims("carol"),
    );
    assert_refused(
        create_with(&app, &unknown).await,
        "does not publish",
        "provider down",
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    let ready: Value = app.get_json("anyone", "/readyz").await;
    assert_eq!(ready["status"], "ready", "{ready}");
}

/// Waits until `/readyz` warns of no identity provider.
async fn wait_ready(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready: Value = app.get_json("anyone", "/readyz").await;
        if !ready["warnings"].to_string().contains("not loaded yet") {
            return;
        }
        assert!(Instant::now() < deadline, "the keys never loaded: {ready}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn kid_of(token: &str) -> Option<String> {
    jsonwebtoken::decode_header(token).expect("header").kid
}
