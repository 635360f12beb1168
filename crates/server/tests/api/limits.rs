//! Rate limits (429 with Retry-After) and per-user quotas (403), over real HTTP.

use reqwest::StatusCode;
use serde_json::json;

use uploadgate_testkit::{
    MIB, PDF, PNG, TestApp, assert_stored, id_of, problem, put_as_instructed, strings,
};

fn png_request() -> serde_json::Value {
    json!({"filename": "a.png", "contentType": "image/png", "size": PNG.len()})
}

#[tokio::test]
async fn a_user_over_the_rate_gets_429_with_retry_after() {
    let app = TestApp::builder()
        .configure(|c| {
            c.limits.user_rate = 1;
            c.limits.user_burst = 2;
            c.limits.ip_rate = 0;
        })
        .start()
        .await;
    for _ in 0..2 {
        let response = app.post_json("alice", "/v1/uploads", &png_request()).await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let refused = app.post_json("alice", "/v1/uploads", &png_request()).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("whole seconds");
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert_eq!(problem(refused).await["code"], "rate_limited");

    let other = app.post_json("bob", "/v1/uploads", &png_request()).await;
    assert_eq!(
        other.status(),
        StatusCode::CREATED,
        "bob has his own budget"
    );

    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let later = app.post_json("alice", "/v1/uploads", &png_request()).await;
    assert_eq!(later.status(), StatusCode::CREATED, "the budget refills");
}

#[tokio::test]
async fn one_address_is_limited_across_users_and_part_signing_counts() {
    let app = TestApp::builder()
        .configure(|c| {
            c.limits.user_rate = 0;
            c.limits.ip_rate = 1;
            c.limits.ip_burst = 2;
        })
        .profile("video", |p| {
            p.content_types = strings(["application/octet-stream"]);
            p.max_size = 20 * MIB;
            p.multipart_threshold = 5 * MIB;
            p.part_size = Some(5 * MIB);
        })
        .start()
        .await;
    let upload = app
        .create("u1", json!({"filename": "v.bin", "contentType": "application/octet-stream", "size": 6 << 20, "profile": "video"}))
        .await;
    let sign = app
        .post_json(
            "u2",
            &format!("/v1/uploads/{}/parts", id_of(&upload)),
            &json!({"partNumbers": [1]}),
        )
        .await;
    // Another user's upload is not found, but the call still spent the address's budget.
    assert_eq!(sign.status(), StatusCode::NOT_FOUND);
    let third = app.post_json("u3", "/v1/uploads", &png_request()).await;
    assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(third.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn uploads_in_progress_are_capped_until_one_finishes() {
    let app = TestApp::builder()
        .configure(|c| c.limits.max_uploads_in_progress = Some(2))
        .start()
        .await;
    let first = app.create("alice", png_request()).await;
    app.create("alice", png_request()).await;
    let refused = app.post_json("alice", "/v1/uploads", &png_request()).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let body = problem(refused).await;
    assert_eq!(body["code"], "quota_exceeded");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("2 uploads in progress")),
        "{body}"
    );
    let other = app.post_json("bob", "/v1/uploads", &png_request()).await;
    assert_eq!(other.status(), StatusCode::CREATED, "quotas are per user");

    // Finishing one frees a slot.
    let sent = put_as_instructed(&app.client, &first, PNG.to_vec(), &[]).await;
    assert_stored(&sent);
    assert_eq!(
        app.complete("alice", &id_of(&first)).await.status(),
        StatusCode::OK
    );
    let again = app.post_json("alice", "/v1/uploads", &png_request()).await;
    assert_eq!(again.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn daily_and_stored_bytes_are_capped() {
    let app = TestApp::builder()
        .configure(|c| {
            c.limits.max_bytes_per_day = Some(100);
            c.limits.max_stored_bytes = Some(150);
        })
        .profile("docs", |p| p.content_types = strings(["application/pdf"]))
        .start()
        .await;
    let pdf = |size: usize| json!({"filename": "d.pdf", "contentType": "application/pdf", "size": size, "profile": "docs"});
    let first = app.create("alice", pdf(60)).await;
    let over_day = app.post_json("alice", "/v1/uploads", &pdf(50)).await;
    assert_eq!(over_day.status(), StatusCode::FORBIDDEN);
    assert!(
        problem(over_day).await["detail"]
            .as_str()
            .is_some_and(|d| d.contains("24 hours")),
    );
    // An aborted upload gives its bytes back.
    assert_eq!(
        app.delete("alice", &format!("/v1/uploads/{}", id_of(&first)))
            .await
            .status(),
        StatusCode::OK
    );
    let fits = app.post_json("alice", "/v1/uploads", &pdf(PDF.len())).await;
    assert_eq!(fits.status(), StatusCode::CREATED);
    let too_big = app.post_json("alice", "/v1/uploads", &pdf(101)).await;
    assert_eq!(too_big.status(), StatusCode::FORBIDDEN);
    assert_eq!(problem(too_big).await["code"], "quota_exceeded");
}

#[tokio::test]
async fn an_uppy_upload_of_undeclared_size_holds_its_profiles_maximum_until_it_completes() {
    if !uploadgate_testkit::engines::s3_store() {
        return;
    }
    let app = TestApp::builder()
        .configure(|c| c.limits.max_stored_bytes = Some(3 * uploadgate_testkit::MIB))
        .profile("default", |p| p.max_size = uploadgate_testkit::MIB)
        .start()
        .await;
    let form = |user: &str| {
        let url = app.url(&format!(
            "/companion/{}/s3/params?filename=a.png&type=image/png",
            app.token(user)
        ));
        app.client.get(url).send()
    };
    // Each form may bring 1 MiB: three fit in 3 MiB, a fourth does not.
    for _ in 0..3 {
        assert_eq!(form("alice").await.expect("send").status(), StatusCode::OK);
    }
    let refused = form("alice").await.expect("send");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(problem(refused).await["code"], "quota_exceeded");
    assert_eq!(form("bob").await.expect("send").status(), StatusCode::OK);
}

#[tokio::test]
async fn signing_many_parts_at_once_counts_each_url() {
    let app = TestApp::builder()
        .configure(|c| {
            c.limits.user_rate = 1;
            c.limits.user_burst = 6;
            c.limits.ip_rate = 0;
        })
        .profile("video", |p| {
            p.content_types = strings(["application/octet-stream"]);
            p.max_size = 100 * MIB;
            p.multipart_threshold = 5 * MIB;
            p.part_size = Some(5 * MIB);
        })
        .start()
        .await;
    let upload = app
        .create("alice", json!({"filename": "v.bin", "contentType": "application/octet-stream", "size": 60 << 20, "profile": "video"}))
        .await;
    let path = format!("/v1/uploads/{}/parts", id_of(&upload));
    // More URLs in one call than the burst could ever hold: refused as asked.
    let all = app
        .post_json(
            "alice",
            &path,
            &json!({"partNumbers": (1..=12).collect::<Vec<u32>>()}),
        )
        .await;
    assert_eq!(all.status(), StatusCode::BAD_REQUEST);
    assert_eq!(problem(all).await["field"], "partNumbers");
    // Four URLs spend four of the five calls left after the creation...
    let four = app
        .post_json("alice", &path, &json!({"partNumbers": [1, 2, 3, 4]}))
        .await;
    assert_eq!(four.status(), StatusCode::OK);
    // ...so four more are over the rate, though it is only the second call.
    let more = app
        .post_json("alice", &path, &json!({"partNumbers": [5, 6, 7, 8]}))
        .await;
    assert_eq!(more.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(more.headers().contains_key("retry-after"));
}
