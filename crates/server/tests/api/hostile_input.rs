//! Property tests over request parsing: whatever arrives in a body, a query or
//! a path, the API answers with a client error in its own problem+json shape,
//! never a server error. Driven in-process (`oneshot`) against the real state
//! (database and embedded store) of a running `TestApp`.

use axum::body::Body;
use axum::http::{Request, header};
use proptest::prelude::*;
use serde_json::{Value, json};
use tower::ServiceExt as _;

use uploadgate_server::secret::Secret;
use uploadgate_testkit::{MIB, TestApp, strings};

const CASES: u32 = 192;

/// Field names the API reads, so generated objects hit real code paths.
const FIELDS: &[&str] = &[
    "filename",
    "contentType",
    "size",
    "profile",
    "method",
    "checksumSha256",
    "metadata",
    "partNumbers",
    "checksums",
    "parts",
    "partNumber",
    "etag",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,40}".prop_map(Value::from),
        "(image|application|text|\\*)/(png|pdf|\\*|x-\\PC{0,8})".prop_map(Value::from),
        "[./\\\\a-z\\u{0}]{0,12}".prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            proptest::collection::btree_map(
                prop_oneof![
                    proptest::sample::select(FIELDS).prop_map(str::to_owned),
                    "\\PC{0,10}"
                ],
                inner,
                0..6
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        json_value().prop_map(|v| v.to_string().into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..256),
    ]
}

fn query() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        (
            "(status|limit|before|cursor|filename|type|metadata\\[profile\\]|\\PC{0,6})",
            "(\\PC|%[0-9a-fA-F]{0,2}|&|=){0,16}",
        ),
        0..5,
    )
    .prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    })
}

struct Target {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
    token: String,
    _app: TestApp,
}

impl Target {
    fn new() -> Self {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let app = runtime.block_on(async {
            let app = TestApp::builder()
                .configure(|c| {
                    c.limits.user_rate = 0;
                    c.limits.ip_rate = 0;
                    c.events.secret = Some(Secret::new(EVENTS_SECRET));
                })
                .profile("video", |p| {
                    p.content_types = strings(["application/octet-stream"]);
                    p.max_size = 20 * MIB;
                    p.multipart_threshold = 5 * MIB;
                    p.part_size = Some(5 * MIB);
                })
                .start()
                .await;
            app
                .create("fuzz", json!({"filename": "v.bin", "contentType": "application/octet-stream", "size": 6 << 20, "profile": "video"}))
                .await;
            app
        });
        Self {
            router: uploadgate_server::app(app.state().clone()),
            token: app.token("fuzz"),
            runtime,
            _app: app,
        }
    }

    /// Sends one request as the user; fails unless it is answered below 500,
    /// and, for errors, as problem+json.
    fn check(&self, method: &str, uri: &str, body: Vec<u8>) -> Result<(), TestCaseError> {
        self.check_as(&self.token, method, uri, body)
    }

    /// `check` with another bearer credential (the storage events' secret).
    fn check_as(
        &self,
        bearer: &str,
        method: &str,
        uri: &str,
        body: Vec<u8>,
    ) -> Result<(), TestCaseError> {
        let Ok(request) = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {bearer}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
        else {
            // Not a valid HTTP request at all; hyper would refuse it before us.
            return Ok(());
        };
        let response = self
            .runtime
            .block_on(self.router.clone().oneshot(request))
            .expect("infallible");
        let status = response.status();
        prop_assert!(status.as_u16() < 500, "{method} {uri}: {status}");
        if status.is_client_error() {
            let content_type = response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            prop_assert_eq!(
                content_type,
                "application/problem+json",
                "{} {}",
                method,
                uri
            );
        }
        Ok(())
    }
}

/// `CASES` per property; `scripts/fuzz` raises it (`PROPTEST_CASES`) for a long run.
fn proptest_config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(CASES),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

#[test]
fn hostile_bodies_queries_and_ids_never_cause_a_server_error() {
    let target = Target::new();
    let multipart = target.runtime.block_on(async {
        // The one real multipart upload's id, so part routes get past lookup.
        let list = target
            .router
            .clone()
            .oneshot(
                Request::get("/v1/uploads")
                    .header(header::AUTHORIZATION, format!("Bearer {}", target.token))
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("response");
        let bytes = axum::body::to_bytes(list.into_body(), 1 << 20)
            .await
            .expect("body");
        let list: Value = serde_json::from_slice(&bytes).expect("json");
        list["items"][0]["id"].as_str().expect("id").to_owned()
    });
    let config = proptest_config();
    proptest!(config, |(body in body(), query in query(), id in "(\\PC|%2F|/){0,40}")| {
        target.check("POST", "/v1/uploads", body.clone())?;
        target.check("POST", &format!("/v1/uploads/{multipart}/parts"), body.clone())?;
        target.check("POST", &format!("/v1/uploads/{multipart}/complete"), body.clone())?;
        target.check("GET", &format!("/v1/uploads?{query}"), Vec::new())?;
        target.check("GET", &format!("/companion/{}/s3/params?{query}", target.token), Vec::new())?;
        target.check("POST", &format!("/companion/{}/s3/multipart", target.token), body)?;
        let id = id.replace(['?', '#', ' '], "");
        target.check("GET", &format!("/v1/uploads/{id}"), Vec::new())?;
        target.check("DELETE", &format!("/v1/uploads/{id}/"), Vec::new())?;
        target.check("GET", &format!("/v1/jobs?{query}"), Vec::new())?;
        target.check("POST", &format!("/v1/jobs/{id}/retry"), Vec::new())?;
    });
}

const EVENTS_SECRET: &str = "fuzz-events-secret";

/// S3 event documents with any key (the real upload's among them), any
/// event name, wrapped or not; Event Grid deliveries with any subject and
/// event type, validation handshakes among them; and arbitrary bodies.
fn event() -> impl Strategy<Value = Vec<u8>> {
    let key = prop_oneof![
        Just(String::new()),
        "\\PC{0,60}",
        "(staging/|uploads/fuzz/)[0-9a-f%+.]{0,40}"
    ];
    let name = prop_oneof![
        Just("ObjectCreated:Put".to_owned()),
        Just("s3:ObjectCreated:Post".to_owned()),
        "\\PC{0,20}"
    ];
    let document = (key, name, any::<bool>()).prop_map(|(key, name, wrapped)| {
        let records = json!({"Records": [{"eventName": name, "s3": {"bucket": {"name": "uploads"}, "object": {"key": key}}}]});
        let body = if wrapped {
            json!({"Type": "Notification", "Message": records.to_string()})
        } else {
            records
        };
        serde_json::to_vec(&body).expect("json")
    });
    let subject = prop_oneof![
        "\\PC{0,60}",
        "/blobServices/default/containers/(uploads|\\PC{0,8})/blobs/(staging/|uploads/fuzz/)?\\PC{0,40}"
    ];
    let kind = prop_oneof![
        Just("Microsoft.Storage.BlobCreated".to_owned()),
        Just("Microsoft.EventGrid.SubscriptionValidationEvent".to_owned()),
        "\\PC{0,30}"
    ];
    let grid =
        (subject, kind, "\\PC{0,20}", any::<bool>()).prop_map(|(subject, kind, code, many)| {
            let event =
                json!({"eventType": kind, "subject": subject, "data": {"validationCode": code}});
            let body = if many { json!([event, event]) } else { event };
            serde_json::to_vec(&body).expect("json")
        });
    prop_oneof![document, grid, body()]
}

#[test]
fn hostile_storage_events_never_cause_a_server_error() {
    let target = Target::new();
    let config = proptest_config();
    proptest!(config, |(body in event())| {
        for route in ["/v1/events/s3", "/v1/events/azure", "/v1/events/gcs"] {
            target.check_as(EVENTS_SECRET, "POST", route, body.clone())?;
            target.check_as("not the secret", "POST", route, body.clone())?;
        }
    });
}
