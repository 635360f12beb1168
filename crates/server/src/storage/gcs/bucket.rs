//! The bucket's CORS rules, set by `uploadgate bucket setup` and read by
//! `uploadgate check`. GCS answers a browser's preflight from these rules
//! alone; `responseHeader` lists both the request headers a page may send
//! and the response headers it may read.

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::errors::refused;
use super::{Call, GcsStore, read_json};
use crate::storage::StorageError;

/// What uploads send and read: the signed type and size bound, and the
/// ETag each part answers with.
const HEADERS: [&str; 3] = ["Content-Type", "x-goog-content-length-range", "ETag"];

#[derive(Debug, Deserialize)]
struct Bucket {
    #[serde(default)]
    cors: Vec<CorsRule>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CorsRule {
    #[serde(default)]
    origin: Vec<String>,
    #[serde(default)]
    method: Vec<String>,
    #[serde(default)]
    response_header: Vec<String>,
}

impl CorsRule {
    fn allows(&self, origin: &str) -> bool {
        let has = |list: &[String], wanted: &str| {
            list.iter()
                .any(|item| item == "*" || item.eq_ignore_ascii_case(wanted))
        };
        has(&self.origin, origin)
            && has(&self.method, "PUT")
            && HEADERS
                .iter()
                .all(|header| has(&self.response_header, header))
    }
}

fn cors_rules(origins: &[String]) -> serde_json::Value {
    json!({
        "cors": [{
            "origin": origins,
            "method": ["GET", "HEAD", "PUT"],
            "responseHeader": HEADERS,
            "maxAgeSeconds": 3600,
        }]
    })
}

impl GcsStore {
    /// Replaces the bucket's CORS rules (only them: a PATCH leaves the
    /// rest of the bucket as it is).
    pub(super) async fn set_cors(&self, origins: &[String]) -> Result<(), StorageError> {
        if origins.is_empty() {
            return Err(StorageError::Other(
                "no origins to allow: set cors_origins".into(),
            ));
        }
        let call = Call::new(Method::PATCH, self.bucket_url(), &[]).json(cors_rules(origins));
        let response = self.send(call).await?;
        if !response.status().is_success() {
            return Err(refused(response, "buckets.patch (cors)").await);
        }
        Ok(())
    }

    pub(super) async fn cors_rules_allow(&self, origin: &str) -> Result<bool, StorageError> {
        let response = self
            .send(Call::new(Method::GET, self.bucket_url(), &[]))
            .await?;
        if !response.status().is_success() {
            return Err(refused(response, "buckets.get").await);
        }
        let bucket: Bucket = read_json(response, "buckets.get").await?;
        Ok(bucket.cors.iter().any(|rule| rule.allows(origin)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_set_are_the_rules_read() {
        let set = cors_rules(&["https://app.example".to_owned()]);
        let read: Bucket = serde_json::from_value(set).expect("parses");
        assert!(read.cors[0].allows("https://app.example"));
        assert!(!read.cors[0].allows("https://evil.example"));
        let without_etag: Bucket = serde_json::from_value(json!({"cors": [{
            "origin": ["*"], "method": ["PUT"], "responseHeader": ["Content-Type"]
        }]}))
        .expect("parses");
        assert!(!without_etag.cors[0].allows("https://app.example"));
        let none: Bucket = serde_json::from_value(json!({"name": "b"})).expect("parses");
        assert!(none.cors.is_empty());
    }
}
