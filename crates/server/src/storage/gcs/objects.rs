//! Objects through the JSON API: what completion inspects and moves
//! (metadata, first bytes, rewrite, delete), whole objects read and small
//! ones written for post-processing, and the staging prefix listed for the
//! janitor. An object's `etag` here is its generation, which every
//! precondition (`ifGenerationMatch`) names exactly.

use bytes::Bytes;
use futures::TryStreamExt as _;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::errors::refused;
use super::{Body, Call, GcsStore, read_json};
use crate::keys::STAGING_PREFIX;
use crate::storage::encoding::percent_encode;
use crate::storage::{ObjectHead, ObjectReader, StagedObject, StorageError, unquote_etag};

/// GCS's largest page of a listing.
const PAGE: usize = 1000;

/// An object's metadata, as the JSON API gives it (numbers as strings).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Object {
    pub name: String,
    pub size: String,
    pub generation: String,
    #[serde(default)]
    pub content_type: Option<String>,
    /// Base64; composite objects have none.
    #[serde(default)]
    pub md5_hash: Option<String>,
    #[serde(default)]
    pub updated: Option<String>,
}

impl Object {
    pub fn size(&self) -> u64 {
        self.size.parse().unwrap_or(0)
    }

    pub fn head(&self) -> ObjectHead {
        ObjectHead {
            size: self.size(),
            etag: self.generation.clone(),
            content_type: self.content_type.clone(),
        }
    }

    pub fn updated(&self) -> Option<OffsetDateTime> {
        self.updated
            .as_deref()
            .and_then(|at| OffsetDateTime::parse(at, &Rfc3339).ok())
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Listing {
    #[serde(default)]
    items: Vec<Object>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rewritten {
    done: bool,
    #[serde(default)]
    rewrite_token: Option<String>,
}

/// The generation an ETag names; `Changed` for one that names none (an
/// S3-style ETag, say), which no object of this store can have.
pub(super) fn generation(etag: &str) -> Result<&str, StorageError> {
    let generation = unquote_etag(etag);
    if generation.is_empty() || !generation.bytes().all(|b| b.is_ascii_digit()) {
        return Err(StorageError::Changed);
    }
    Ok(generation)
}

/// The generation a media download answered with.
fn served_generation(response: &reqwest::Response) -> Option<&str> {
    response
        .headers()
        .get("x-goog-generation")
        .and_then(|v| v.to_str().ok())
}

impl GcsStore {
    /// `key`'s metadata; `None` when no object has this key.
    pub(super) async fn metadata(&self, key: &str) -> Result<Option<Object>, StorageError> {
        let response = self
            .send(Call::new(Method::GET, self.object_url(key, ""), &[]))
            .await?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(None),
            status if status.is_success() => read_json(response, "objects.get").await.map(Some),
            _ => Err(refused(response, "objects.get").await),
        }
    }

    pub(super) async fn read_first_bytes(
        &self,
        key: &str,
        generation: &str,
        len: u64,
    ) -> Result<Bytes, StorageError> {
        let generation = self::generation(generation)?;
        let query = [("alt", "media"), ("ifGenerationMatch", generation)];
        let mut call = Call::new(Method::GET, self.object_url(key, ""), &query);
        call.range = Some(format!("bytes=0-{}", len.saturating_sub(1)));
        let response = self.send(call).await?;
        match response.status() {
            // An empty object has no byte 0.
            StatusCode::RANGE_NOT_SATISFIABLE => Ok(Bytes::new()),
            StatusCode::NOT_FOUND | StatusCode::PRECONDITION_FAILED => Err(StorageError::Changed),
            // The precondition decides; the generation served confirms it.
            status if status.is_success() && served_generation(&response) == Some(generation) => {
                response
                    .bytes()
                    .await
                    .map_err(|e| StorageError::Unavailable(e.without_url().into()))
            }
            status if status.is_success() => Err(StorageError::Changed),
            _ => Err(refused(response, "objects.get (media)").await),
        }
    }

    pub(super) async fn open_object(
        &self,
        key: &str,
    ) -> Result<Option<ObjectReader>, StorageError> {
        let query = [("alt", "media")];
        let mut call = Call::new(Method::GET, self.object_url(key, ""), &query);
        call.streamed = true;
        let response = self.send(call).await?;
        match response.status() {
            StatusCode::NOT_FOUND => return Ok(None),
            status if status.is_success() => {}
            _ => return Err(refused(response, "objects.get (media)").await),
        }
        // One answer names the generation it serves and its length, so size
        // and bytes agree without a metadata call first.
        let etag = served_generation(&response)
            .ok_or_else(|| {
                StorageError::Other("a media download without x-goog-generation".into())
            })?
            .to_owned();
        let size = response.content_length().unwrap_or(0);
        let stream = response
            .bytes_stream()
            .map_err(|e| std::io::Error::other(e.without_url()));
        Ok(Some(ObjectReader {
            size,
            etag,
            body: Box::pin(tokio_util::io::StreamReader::new(stream)),
        }))
    }

    pub(super) async fn put_object(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> Result<(), StorageError> {
        let name = self.object_name(key);
        let query = [("uploadType", "media"), ("name", name.as_str())];
        let url = format!("{}/upload/storage/v1/b/{}/o", self.base, self.bucket);
        let mut call = Call::new(Method::POST, url, &query);
        call.body = Body::Bytes(body, content_type.to_owned());
        let response = self.send(call).await?;
        if !response.status().is_success() {
            return Err(refused(response, "objects.insert").await);
        }
        Ok(())
    }

    /// Rewrites `from` to `to` in the bucket unless `from` is no longer
    /// generation `generation`. The destination's metadata is given whole
    /// (only the type): whoever held the upload URL may have sent headers
    /// (`Content-Encoding`, `Cache-Control`, `Content-Disposition`) that a
    /// plain copy would keep, and that change what downloaders get.
    pub(super) async fn rewrite(
        &self,
        from: &str,
        to: &str,
        generation: &str,
    ) -> Result<(), StorageError> {
        let generation = self::generation(generation)?;
        let source = self.metadata(from).await?.ok_or(StorageError::Changed)?;
        if source.generation != generation {
            return Err(StorageError::Changed);
        }
        let tail = format!(
            "/rewriteTo/b/{}/o/{}",
            self.bucket,
            percent_encode(&self.object_name(to), b"-._~")
        );
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![("ifSourceGenerationMatch", generation)];
            if let Some(token) = &token {
                query.push(("rewriteToken", token.as_str()));
            }
            let call = Call::new(Method::POST, self.object_url(from, &tail), &query)
                .json(json!({ "contentType": source.content_type }));
            let response = self.send(call).await?;
            let rewritten: Rewritten = match response.status() {
                StatusCode::NOT_FOUND | StatusCode::PRECONDITION_FAILED => {
                    return Err(StorageError::Changed);
                }
                status if status.is_success() => read_json(response, "objects.rewrite").await?,
                _ => return Err(refused(response, "objects.rewrite").await),
            };
            if rewritten.done {
                return Ok(());
            }
            // A large object across locations or classes takes several calls.
            token = Some(rewritten.rewrite_token.ok_or_else(|| {
                StorageError::Other("objects.rewrite: not done, and no rewrite token".into())
            })?);
        }
    }

    /// Deletes `key`'s object (only generation `generation` when given); a
    /// missing object is fine.
    pub(super) async fn delete_object(
        &self,
        key: &str,
        generation: Option<&str>,
    ) -> Result<(), StorageError> {
        let query: Vec<(&str, &str)> = generation
            .map(|g| ("ifGenerationMatch", g))
            .into_iter()
            .collect();
        let response = self
            .send(Call::new(Method::DELETE, self.object_url(key, ""), &query))
            .await?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(()),
            status if status.is_success() => Ok(()),
            _ => Err(refused(response, "objects.delete").await),
        }
    }

    /// Up to `limit` objects whose names start with `prefix` (after
    /// `key_prefix`), their keys without `key_prefix`.
    pub(super) async fn list(
        &self,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<Object>, StorageError> {
        let prefix = self.object_name(prefix);
        let url = format!("{}/o", self.bucket_url());
        let mut found = Vec::new();
        let mut token = String::new();
        while found.len() < limit {
            let page = (limit - found.len()).min(PAGE).to_string();
            let mut query = vec![("prefix", prefix.as_str()), ("maxResults", page.as_str())];
            if !token.is_empty() {
                query.push(("pageToken", token.as_str()));
            }
            let response = self
                .send(Call::new(Method::GET, url.clone(), &query))
                .await?;
            if !response.status().is_success() {
                return Err(refused(response, "objects.list").await);
            }
            let listing: Listing = read_json(response, "objects.list").await?;
            found.extend(listing.items.into_iter().filter_map(|mut object| {
                object.name = object
                    .name
                    .strip_prefix(self.key_prefix.as_str())?
                    .to_owned();
                Some(object)
            }));
            match listing.next_page_token.filter(|t| !t.is_empty()) {
                Some(next) => token = next,
                None => break,
            }
        }
        found.truncate(limit);
        Ok(found)
    }

    pub(super) async fn staged_objects(
        &self,
        limit: usize,
    ) -> Result<Vec<StagedObject>, StorageError> {
        Ok(self
            .list(STAGING_PREFIX, limit)
            .await?
            .into_iter()
            .map(|object| StagedObject {
                last_modified: object.updated(),
                key: object.name,
            })
            .collect())
    }

    pub(super) async fn bucket_exists(&self) -> Result<(), StorageError> {
        let response = self
            .send(Call::new(Method::GET, self.bucket_url(), &[]))
            .await?;
        match response.status() {
            status if status.is_success() => Ok(()),
            StatusCode::NOT_FOUND => Err(StorageError::Other(
                format!("bucket {:?} does not exist", self.bucket).into(),
            )),
            _ => Err(refused(response, "buckets.get").await),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_reads_sizes_and_generations_given_as_strings() {
        let json = r#"{"kind":"storage#object","name":"staging/a","size":"5","generation":"1796676741242375","contentType":"image/png","md5Hash":"XUFAKrxLKna5cZ2REBfFkg==","updated":"2026-12-07T20:52:21.242291Z"}"#;
        let object: Object = serde_json::from_str(json).expect("parses");
        assert_eq!(
            object.head(),
            ObjectHead {
                size: 5,
                etag: "1796676741242375".into(),
                content_type: Some("image/png".into()),
            }
        );
        assert!(object.updated().is_some());
        let page: Listing =
            serde_json::from_str(r#"{"kind":"storage#objects"}"#).expect("an empty page");
        assert!(page.items.is_empty() && page.next_page_token.is_none());
    }
}
