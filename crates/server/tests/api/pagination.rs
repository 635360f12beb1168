//! Every list route pages the same way: `limit` (1 to 200) and `cursor`,
//! newest first, each row once, and a cursor only while more rows exist, so
//! a full last page does not point at an empty one.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use uploadgate_server::auth::Scope;
use uploadgate_server::config::Processor;
use uploadgate_server::secret::Secret;
use uploadgate_testkit::{PNG, TestApp, problem, strings};

use crate::processing::{fast_workers, processed};
use crate::webhook_receiver::Receiver;

/// Rows of each list; pages of `PAGE` hold them exactly.
const ROWS: usize = 4;
const PAGE: usize = 2;

/// Every row `path` lists, page by page, and how many pages it took.
async fn walk(app: &TestApp, bearer: &str, path: &str) -> (Vec<Value>, usize) {
    let join = if path.contains('?') { '&' } else { '?' };
    let (mut rows, mut pages) = (Vec::new(), 0);
    let mut url = format!("{path}{join}limit={PAGE}");
    loop {
        let page: Value = get(app, bearer, &url).await.json().await.expect("json");
        pages += 1;
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= PAGE, "{page}");
        rows.extend(items.iter().cloned());
        match page["nextCursor"].as_str() {
            Some(cursor) => {
                assert_eq!(items.len(), PAGE, "a cursor after a short page: {page}");
                url = format!("{path}{join}limit={PAGE}&cursor={cursor}");
            }
            None => break,
        }
        assert!(pages <= ROWS, "more pages than rows: {url}");
    }
    (rows, pages)
}

fn field(rows: &[Value], name: &str) -> Vec<String> {
    rows.iter()
        .map(|row| row[name].as_str().expect(name).to_owned())
        .collect()
}

async fn get(app: &TestApp, bearer: &str, path: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .bearer_auth(bearer)
        .send()
        .await
        .expect("list")
}

#[tokio::test]
async fn uploads_jobs_and_deliveries_page_alike() {
    let receiver = Receiver::start(&[]).await;
    let url = receiver.url.parse().expect("url");
    let app = TestApp::builder()
        .profile("p", |p| {
            p.content_types = strings(["image/png"]);
            p.processors = vec![Processor::Metadata];
        })
        .configure(fast_workers)
        .configure(move |c| {
            c.webhooks.url = Some(url);
            c.webhooks.secrets = vec![Secret::new(format!("whsec_{}", "A".repeat(43)) + "=")];
            c.webhooks.events = Some(strings(["upload.completed"]));
            c.webhooks.timeout = Duration::from_secs(2);
        })
        .start()
        .await;
    let mut uploads = Vec::new();
    for _ in 0..ROWS {
        let upload = app.upload("alice", Some("p"), "image/png", PNG).await;
        processed(&app, "alice", &upload.id.to_string()).await;
        uploads.push(upload.id.to_string());
    }
    uploads.reverse();
    receiver.wait_for(ROWS).await;
    let admin = app.api_key("ops", &[Scope::Admin]).await;
    let alice = app.token("alice");

    let (listed, pages) = walk(&app, &alice, "/v1/uploads").await;
    assert_eq!(
        (field(&listed, "id"), pages),
        (uploads.clone(), ROWS / PAGE)
    );
    // One metadata job per upload, newest first like its upload.
    let (jobs, pages) = walk(&app, &alice, "/v1/jobs?state=done").await;
    assert_eq!((field(&jobs, "uploadId"), pages), (uploads, ROWS / PAGE));
    let (deliveries, pages) = walk(&app, &admin, "/v1/webhooks/deliveries").await;
    assert_eq!(pages, ROWS / PAGE);
    let mut ids = field(&deliveries, "id");
    let newest_first = ids.windows(2).all(|w| w[0] > w[1]);
    ids.dedup();
    assert!(newest_first && ids.len() == ROWS, "{deliveries:?}");

    // One limit rule and one cursor rule, with one message each.
    for (path, bearer) in [
        ("/v1/uploads", &alice),
        ("/v1/jobs", &alice),
        ("/v1/webhooks/deliveries", &admin),
    ] {
        for limit in ["0", "201"] {
            let response = get(&app, bearer, &format!("{path}?limit={limit}")).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path} {limit}");
            let body = problem(response).await;
            assert_eq!(body["field"], "limit", "{path}: {body}");
            assert_eq!(body["detail"], "limit: must be between 1 and 200", "{path}");
        }
    }
    for path in ["/v1/uploads", "/v1/jobs"] {
        let response = get(&app, &alice, &format!("{path}?cursor=not-an-id")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(problem(response).await["field"], "cursor", "{path}");
    }
}
