//! `/metrics` speaks Prometheus and counts what happened, without secrets.

use reqwest::StatusCode;

use uploadgate_testkit::{PNG, TestApp, id_of, put_as_instructed};

#[tokio::test]
async fn metrics_count_requests_and_outcomes_by_route_and_profile() {
    let app = TestApp::start().await;
    let done = app.send_png("alice").await;
    assert_eq!(
        app.complete("alice", &id_of(&done)).await.status(),
        StatusCode::OK
    );
    let html = b"<html></html>".to_vec();
    let spoofed = app.create_put("alice", "image/png", &html).await;
    put_as_instructed(&app.client, &spoofed, html, &[]).await;
    app.complete("alice", &id_of(&spoofed)).await;
    let token = app.token("alice");
    app.client
        .get(app.url(&format!(
            "/companion/{token}/s3/params?filename=a.png&type=image/png"
        )))
        .send()
        .await
        .expect("send");

    let response = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.expect("text");
    // Companion's form is the third upload, on an S3 store (Azure refuses it).
    let created = if uploadgate_testkit::engines::s3_store() {
        3
    } else {
        2
    };
    let created =
        format!(r#"uploadgate_uploads_total{{profile="default",outcome="created"}} {created}"#);
    for expected in [
        created.as_str(),
        r#"uploadgate_uploads_total{profile="default",outcome="completed"} 1"#,
        r#"uploadgate_uploads_total{profile="default",outcome="rejected"} 1"#,
        &format!(
            r#"uploadgate_completed_bytes_total{{profile="default"}} {}"#,
            PNG.len()
        ),
        r#"uploadgate_http_requests_total{method="POST",route="/v1/uploads",status="201"} 2"#,
        r#"uploadgate_http_requests_total{method="POST",route="/v1/uploads/{id}/complete",status="422"} 1"#,
        r#"route="/companion/{token}/s3/params""#,
        "uploadgate_http_request_duration_seconds_bucket",
        // Bringing each staged object to its final key, where it is checked,
        // is a storage copy (the PNG's and the spoofed one's), timed like every call.
        r#"uploadgate_storage_request_duration_seconds_count{op="copy"} 2"#,
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
    assert!(!text.contains(&token), "a token leaked into metrics");

    // The documented alert rules only use metrics that exist.
    let rules = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/alerts.yml"
    ))
    .expect("docs/alerts.yml");
    let mut checked = 0;
    for word in rules.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if !word.starts_with("uploadgate_") || word.starts_with("uploadgate_job") {
            continue;
        }
        let family = ["_total", "_bucket", "_count", "_sum"]
            .iter()
            .find_map(|suffix| word.strip_suffix(suffix))
            .unwrap_or(word);
        assert!(
            app.state()
                .uploads
                .metrics
                .names()
                .iter()
                .any(|name| name == family),
            "docs/alerts.yml uses {word}, which /metrics does not export"
        );
        checked += 1;
    }
    assert!(
        checked >= 8,
        "only {checked} metric names found in the rules"
    );
}

#[tokio::test]
async fn made_up_methods_share_one_label() {
    let app = TestApp::start().await;
    for n in 0..200 {
        let method = reqwest::Method::from_bytes(format!("BOGUS{n}").as_bytes()).expect("method");
        let response = app
            .client
            .request(method, app.url("/healthz"))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("text");
    let series = text
        .lines()
        .filter(|l| l.starts_with("uploadgate_http_requests_total{"))
        .count();
    assert!(series < 10, "{series} request series:\n{text}");
    assert!(!text.contains("BOGUS"), "{text}");
    assert!(
        text.contains(
            r#"uploadgate_http_requests_total{method="other",route="/healthz",status="405"} 200"#
        ),
        "{text}"
    );
}
