//! Sending bytes as the API instructs, and reading its answers.

use std::collections::BTreeMap;

use reqwest::{Client, Response};
use serde_json::Value;

/// The smallest PNG the server's content check accepts.
pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde";
pub const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n";

/// Sends `body` as the record's presigned PUT instructs, with `overrides` on
/// top of the instructed headers.
pub async fn put_as_instructed(
    client: &Client,
    record: &Value,
    body: Vec<u8>,
    overrides: &[(&str, &str)],
) -> Response {
    let upload = &record["upload"];
    assert_eq!(upload["method"], "PUT", "{record}");
    let mut headers: BTreeMap<String, String> =
        serde_json::from_value(upload["headers"].clone()).expect("headers");
    for (name, value) in overrides {
        headers.insert((*name).to_owned(), (*value).to_owned());
    }
    let mut request = client.put(upload["url"].as_str().expect("url"));
    for (name, value) in &headers {
        request = request.header(name, value);
    }
    request.body(body).send().await.expect("PUT to storage")
}

/// PUTs `body` to one presigned part (`{partNumber, url, headers}`) with
/// exactly the headers it was signed with.
pub async fn put_part_as_instructed(
    client: &Client,
    part: &Value,
    body: Vec<u8>,
) -> reqwest::Result<Response> {
    let mut request = client.put(part["url"].as_str().expect("url")).body(body);
    for (name, value) in part["headers"].as_object().expect("headers") {
        request = request.header(name, value.as_str().expect("string"));
    }
    request.send().await
}

/// Storage took the bytes: S3 answers 200, Azure 201 Created.
#[track_caller]
pub fn assert_stored(response: &Response) {
    assert!(
        matches!(response.status().as_u16(), 200 | 201),
        "storage answered {} to an upload it should take",
        response.status()
    );
}

/// The ETag storage answered a part with; empty from a store that gives
/// none (Azure's Put Block), which the server accepts.
pub fn part_etag(response: &Response) -> String {
    response
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

pub fn id_of(record: &Value) -> String {
    record["id"].as_str().expect("id").to_owned()
}

/// The problem+json body of a refusal (the content type checked too).
pub async fn problem(response: Response) -> Value {
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    response.json().await.expect("problem json")
}

/// Has storage assemble every part it holds of `upload`'s multipart upload
/// at its key, behind the server's back: what a completion killed right
/// after storage's assembly leaves.
pub async fn assemble_in_storage(
    store: &dyn uploadgate_server::storage::ObjectStore,
    upload: &uploadgate_server::db::Upload,
) {
    let (key, upload_id) = (
        &upload.key,
        &upload.multipart.as_ref().expect("multipart").upload_id,
    );
    let held = store.list_parts(key, upload_id).await.expect("parts");
    let parts: Vec<(u32, String)> = held
        .iter()
        .map(|p| (p.part_number, p.etag.clone()))
        .collect();
    store
        .complete_multipart(key, upload_id, &upload.content_type, &parts)
        .await
        .expect("storage assembles");
}

/// Storage refused a request: with a 4xx, or (Garage, which answers before
/// reading a body it refuses) by closing the connection while the body was
/// on its way. A connection never made, or a timeout, is no refusal: it
/// proves nothing about storage's rules.
pub fn assert_refused_by_storage(result: reqwest::Result<Response>) {
    match result {
        Ok(response) => assert!(
            response.status().is_client_error(),
            "storage took it: {}",
            response.status()
        ),
        Err(err) => {
            assert!(
                !err.is_connect() && !err.is_timeout(),
                "storage was never reached: {err}"
            );
            assert!(err.is_request() || err.is_body(), "{err}");
        }
    }
}
