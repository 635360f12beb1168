//! List Blobs under the staging prefix, page by page, for the janitor.

use reqwest::Method;
use serde::Deserialize;

use super::errors::Refusal;
use super::{AzureStore, Call, read_xml};
use crate::keys::STAGING_PREFIX;
use crate::storage::{StagedObject, StorageError};

/// Azure's largest page.
const PAGE: usize = 5000;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EnumerationResults {
    #[serde(default)]
    blobs: Blobs,
    #[serde(default)]
    next_marker: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Blobs {
    #[serde(rename = "Blob", default)]
    blob: Vec<Blob>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Blob {
    name: String,
    properties: Properties,
}

#[derive(Debug, Deserialize)]
struct Properties {
    #[serde(rename = "Last-Modified", default)]
    last_modified: Option<String>,
}

impl AzureStore {
    pub(super) async fn staged_blobs(
        &self,
        limit: usize,
    ) -> Result<Vec<StagedObject>, StorageError> {
        let prefix = self.blob_name(STAGING_PREFIX);
        let mut staged = Vec::new();
        let mut marker = String::new();
        while staged.len() < limit {
            let page = (limit - staged.len()).min(PAGE).to_string();
            let mut query = vec![
                ("restype", "container"),
                ("comp", "list"),
                ("prefix", prefix.as_str()),
                ("maxresults", page.as_str()),
            ];
            if !marker.is_empty() {
                query.push(("marker", marker.as_str()));
            }
            let response = self
                .send(Call::new(Method::GET, self.container_path(), &query))
                .await?;
            if !response.status().is_success() {
                return Err(Refusal::of(&response, "List Blobs").into_error());
            }
            let results: EnumerationResults = read_xml(response, "List Blobs").await?;
            staged.extend(results.blobs.blob.into_iter().filter_map(|blob| {
                Some(StagedObject {
                    key: blob.name.strip_prefix(self.key_prefix.as_str())?.to_owned(),
                    last_modified: blob
                        .properties
                        .last_modified
                        .and_then(|date| httpdate::parse_http_date(&date).ok())
                        .map(time::OffsetDateTime::from),
                })
            }));
            match results.next_marker.filter(|m| !m.is_empty()) {
                Some(next) => marker = next,
                None => break,
            }
        }
        staged.truncate(limit);
        Ok(staged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_reads_names_dates_and_the_next_marker() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="http://x/" ContainerName="uploads"><Prefix>staging/</Prefix><MaxResults>2</MaxResults><Blobs><Blob><Name>staging/a</Name><Properties><Last-Modified>Mon, 07 Dec 2026 15:00:00 GMT</Last-Modified><Content-Length>3</Content-Length></Properties></Blob></Blobs><NextMarker>abc</NextMarker></EnumerationResults>"#;
        let page: EnumerationResults = quick_xml::de::from_str(xml).expect("parses");
        assert_eq!(page.blobs.blob[0].name, "staging/a");
        assert_eq!(page.next_marker.as_deref(), Some("abc"));
        let last = r#"<EnumerationResults><Blobs /><NextMarker /></EnumerationResults>"#;
        let page: EnumerationResults = quick_xml::de::from_str(last).expect("parses");
        assert!(page.blobs.blob.is_empty());
        assert!(page.next_marker.filter(|m| !m.is_empty()).is_none());
    }
}
