//! `uploadgate check` against real parts: the test's own server's database and
//! store (the embedded store, or Garage; SQLite or PostgreSQL), a real OpenID
//! provider, a real clamd and a webhook receiver; and each part broken in turn,
//! which must be named on its own line.

use uploadgate_server::check::{Finding, Report};
use uploadgate_server::config::{Config, Processor};
use uploadgate_server::server::check;
use uploadgate_testkit::oidc::Oidc;
use uploadgate_testkit::{ORIGIN, TestApp};

use crate::processing::Clamd;
use crate::webhook_receiver::Receiver;

fn finding<'a>(report: &'a Report, part: &str) -> &'a Finding {
    report
        .checks
        .iter()
        .find(|finding| finding.part == part)
        .unwrap_or_else(|| panic!("no {part:?} line in:\n{report}"))
}

/// An address nothing listens on.
fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    drop(listener);
    address.to_string()
}

async fn checked(config: &Config) -> Report {
    check(config).await.expect("the checks run")
}

#[tokio::test]
async fn every_part_of_a_working_setup_passes() {
    let app = TestApp::start().await;
    let oidc = Oidc::start();
    let clamd = Clamd::start();
    let receiver = Receiver::start(&[]).await;
    let mut config = app.shared_config();
    config.auth.issuers = vec![oidc.issuer_config()];
    config.scan.clamd = Some(clamd.address.clone());
    config
        .profiles
        .get_mut("default")
        .expect("the default profile")
        .processors = vec![Processor::Scan];
    config.webhooks.url = Some(receiver.url.parse().expect("receiver URL"));

    let report = checked(&config).await;
    assert!(report.ok, "{report}");
    for part in [
        "database",
        "store",
        "store: presigned upload",
        &format!("store: CORS for {ORIGIN}"),
        &format!("identity provider {}", oidc.issuer()),
        "clamd",
        "webhooks",
    ] {
        assert!(finding(&report, part).ok, "{report}");
    }
    assert!(
        finding(&report, "database").detail.contains("none pending"),
        "{report}"
    );
    assert!(
        receiver.deliveries().is_empty(),
        "checking the webhook endpoint sent it something"
    );
    // The probe object is gone: nothing is left under the staging prefix.
    let staged = app.store().list_staged(100).await.expect("listing");
    assert!(
        staged
            .iter()
            .all(|object| !object.key.contains("uploadgate-check")),
        "the probe stayed: {staged:?}"
    );
}

#[tokio::test]
async fn a_dead_store_is_named() {
    let app = TestApp::start().await;
    let mut config = app.shared_config();
    let closed = format!("http://{}", closed_port())
        .parse()
        .expect("an endpoint");
    if config.azure.account.is_some() {
        config.azure.endpoint = Some(closed);
    } else if config.gcs.bucket.is_some() {
        config.gcs.endpoint = Some(closed);
    } else {
        config.s3.endpoint = Some(closed);
    }
    let report = checked(&config).await;
    assert!(!report.ok, "{report}");
    let store = finding(&report, "store");
    assert!(!store.ok, "{report}");
    assert!(store.detail.contains("unavailable"), "{report}");
    assert!(finding(&report, "database").ok, "{report}");
    assert!(
        report.checks.iter().all(|f| f.part == "store" || f.ok),
        "only the store fails:\n{report}"
    );
}

#[tokio::test]
async fn a_missing_bucket_is_named() {
    let app = TestApp::start().await;
    let mut config = app.shared_config();
    let missing = format!("missing-{}", uuid::Uuid::new_v4().simple());
    let named = if config.azure.account.is_some() {
        config.azure.container.clone_from(&missing);
        format!("container {missing:?} does not exist")
    } else if config.gcs.bucket.is_some() {
        config.gcs.bucket = Some(missing.clone());
        format!("bucket {missing:?} does not exist")
    } else {
        config.s3.bucket.clone_from(&missing);
        format!("bucket {missing:?} does not exist")
    };
    let report = checked(&config).await;
    let store = finding(&report, "store");
    assert!(!store.ok, "{report}");
    assert!(store.detail.contains(&named), "{report}");
}

#[tokio::test]
async fn a_cors_rule_that_misses_an_origin_is_named() {
    let app = TestApp::start().await;
    let mut config = app.shared_config();
    let elsewhere = "http://elsewhere.test";
    config.cors_origins = vec![ORIGIN.to_owned(), elsewhere.to_owned()];
    let report = checked(&config).await;
    assert!(!report.ok, "{report}");
    assert!(
        finding(&report, &format!("store: CORS for {ORIGIN}")).ok,
        "{report}"
    );
    let missed = finding(&report, &format!("store: CORS for {elsewhere}"));
    assert!(!missed.ok, "{report}");
    assert!(missed.detail.contains("preflight"), "{report}");
    // The upload itself works: only the browser at that origin is refused.
    assert!(finding(&report, "store: presigned upload").ok, "{report}");
}

#[tokio::test]
async fn an_unreachable_identity_provider_is_named() {
    let app = TestApp::start().await;
    let up = Oidc::start();
    let down = Oidc::stopped();
    let mut config = app.shared_config();
    config.auth.issuers = vec![up.issuer_config(), down.issuer_config()];
    let report = checked(&config).await;
    assert!(!report.ok, "{report}");
    let reached = finding(&report, &format!("identity provider {}", up.issuer()));
    assert!(reached.ok, "{report}");
    assert!(
        reached.detail.contains("found through discovery"),
        "{report}"
    );
    assert!(
        !finding(&report, &format!("identity provider {}", down.issuer())).ok,
        "{report}"
    );
    assert_eq!(report.failures().count(), 1, "{report}");
}

#[tokio::test]
async fn a_clamd_and_a_webhook_endpoint_that_are_down_are_named() {
    let app = TestApp::start().await;
    let mut config = app.shared_config();
    config.scan.clamd = Some(format!("tcp://{}", closed_port()));
    config
        .profiles
        .get_mut("default")
        .expect("the default profile")
        .processors = vec![Processor::Scan];
    config.webhooks.url = Some(
        format!("http://{}/hook?token=hook-secret", closed_port())
            .parse()
            .expect("a URL"),
    );
    let report = checked(&config).await;
    assert!(!finding(&report, "clamd").ok, "{report}");
    let webhooks = finding(&report, "webhooks");
    assert!(!webhooks.ok, "{report}");
    assert!(
        !report.to_string().contains("hook-secret"),
        "the endpoint's query reached the report:\n{report}"
    );
}
