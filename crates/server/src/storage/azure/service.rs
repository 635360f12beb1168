//! The account's Blob service CORS rules, which browsers need to PUT to SAS
//! URLs. CORS on Azure belongs to the account, not the container; lifecycle
//! rules belong to the management API and are left to the operator.

use bytes::Bytes;
use reqwest::Method;
use serde::Deserialize;

use super::errors::Refusal;
use super::{AzureStore, Call, read_xml};
use crate::storage::StorageError;

const SERVICE_QUERY: [(&str, &str); 2] = [("restype", "service"), ("comp", "properties")];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StorageServiceProperties {
    #[serde(default)]
    cors: Cors,
}

#[derive(Debug, Default, Deserialize)]
struct Cors {
    #[serde(rename = "CorsRule", default)]
    rules: Vec<CorsRule>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CorsRule {
    #[serde(default)]
    allowed_origins: String,
    #[serde(default)]
    allowed_methods: String,
    #[serde(default)]
    exposed_headers: String,
}

impl CorsRule {
    fn allows(&self, origin: &str) -> bool {
        let listed = |list: &str, wanted: &str| {
            list.split(',')
                .map(str::trim)
                .any(|item| item == "*" || item.eq_ignore_ascii_case(wanted))
        };
        listed(&self.allowed_origins, origin)
            && listed(&self.allowed_methods, "PUT")
            && listed(&self.exposed_headers, "etag")
    }
}

/// The one rule uploadgate sets: PUT (uploads), GET and HEAD (downloads)
/// from `origins`, any request header (`x-ms-blob-type`, the type), every
/// answer header readable.
fn cors_xml(origins: &[String]) -> String {
    let origins = origins.join(",");
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><StorageServiceProperties><Cors><CorsRule><AllowedOrigins>{}</AllowedOrigins><AllowedMethods>PUT,GET,HEAD</AllowedMethods><MaxAgeInSeconds>3600</MaxAgeInSeconds><ExposedHeaders>*</ExposedHeaders><AllowedHeaders>*</AllowedHeaders></CorsRule></Cors></StorageServiceProperties>"#,
        xml_escape(&origins)
    )
}

/// Azure's limits on one rule's origins: 1 to 64, each up to 256 characters
/// (it would answer a bare 400 otherwise).
fn check_origins(origins: &[String]) -> Result<(), String> {
    if origins.is_empty() || origins.len() > 64 {
        return Err(format!(
            "Azure takes 1 to 64 CORS origins; cors_origins has {}",
            origins.len()
        ));
    }
    match origins.iter().find(|origin| origin.len() > 256) {
        Some(long) => Err(format!(
            "Azure takes CORS origins of up to 256 characters; {long:?} is longer"
        )),
        None => Ok(()),
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl AzureStore {
    /// Set Blob Service Properties with uploadgate's CORS rule; the
    /// account's other properties stay as they are. (Its other CORS rules
    /// are replaced, as S3's PutBucketCors replaces a bucket's.)
    pub(super) async fn set_cors(&self, origins: &[String]) -> Result<(), StorageError> {
        check_origins(origins).map_err(|e| StorageError::Other(e.into()))?;
        let call = Call::new(Method::PUT, self.service_path(), &SERVICE_QUERY)
            .header("content-type", "application/xml")?
            .body(Bytes::from(cors_xml(origins)));
        let response = self.send(call).await?;
        if !response.status().is_success() {
            return Err(Refusal::of(&response, "Set Blob Service Properties").into_error());
        }
        Ok(())
    }

    pub(super) async fn cors_rules_allow(&self, origin: &str) -> Result<bool, StorageError> {
        let response = self
            .send(Call::new(Method::GET, self.service_path(), &SERVICE_QUERY))
            .await?;
        if !response.status().is_success() {
            return Err(Refusal::of(&response, "Get Blob Service Properties").into_error());
        }
        let properties: StorageServiceProperties =
            read_xml(response, "Get Blob Service Properties").await?;
        Ok(properties.cors.rules.iter().any(|rule| rule.allows(origin)))
    }

    fn service_path(&self) -> String {
        format!("{}/", self.base_path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_past_azures_limits_are_refused_before_the_call() {
        let many: Vec<String> = (0..65).map(|n| format!("https://{n}.example")).collect();
        assert!(check_origins(&many).expect_err("65").contains("65"));
        assert!(check_origins(&[]).is_err());
        assert!(check_origins(&[format!("https://{}.example", "a".repeat(250))]).is_err());
        assert!(check_origins(&many[..64]).is_ok());
    }

    #[test]
    fn the_rule_set_is_the_rule_read() {
        let xml = cors_xml(&[
            "https://app.example".to_owned(),
            "http://localhost:3000".to_owned(),
        ]);
        let read: StorageServiceProperties = quick_xml::de::from_str(&xml).expect("parses");
        assert!(read.cors.rules[0].allows("https://app.example"));
        assert!(read.cors.rules[0].allows("http://localhost:3000"));
        assert!(!read.cors.rules[0].allows("https://evil.example"));
        let none: StorageServiceProperties = quick_xml::de::from_str(
            "<StorageServiceProperties><Cors /></StorageServiceProperties>",
        )
        .expect("parses");
        assert!(none.cors.rules.is_empty());
    }
}
