//! Blobs: what completion inspects and moves (HEAD, first bytes, copy,
//! delete), and whole blobs read and small ones written for post-processing.

use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt as _;
use reqwest::header::HeaderMap;
use reqwest::{Method, Response, StatusCode};

use super::errors::Refusal;
use super::{AzureStore, Call};
use crate::storage::{ObjectHead, ObjectReader, StorageError, unquote_etag};

/// How often, and how long at most, a pending copy is looked at again.
/// Copies inside one account are usually done when Copy Blob answers.
const COPY_POLL: Duration = Duration::from_millis(500);
/// Past this, completion answers 503 and a retry finds the copy (its HEAD
/// says pending until it is done).
const COPY_WAIT: Duration = Duration::from_secs(120);

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn length(response: &Response) -> u64 {
    header(response.headers(), "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn etag(response: &Response) -> String {
    header(response.headers(), "etag")
        .unwrap_or_default()
        .to_owned()
}

impl AzureStore {
    pub(super) async fn head_blob(&self, key: &str) -> Result<Option<ObjectHead>, StorageError> {
        let response = self
            .send(Call::new(Method::HEAD, self.blob_path(key), &[]))
            .await?;
        match response.status() {
            StatusCode::NOT_FOUND => return Ok(None),
            status if status.is_success() => {}
            _ => return Err(Refusal::of(&response, "Get Blob Properties").into_error()),
        }
        // The destination of a copy exists before the copy is done: its bytes
        // are not the source's until then, and never after a failed copy.
        match header(response.headers(), "x-ms-copy-status") {
            Some("pending") => {
                return Err(StorageError::Unavailable(
                    "a copy to this blob is still under way".into(),
                ));
            }
            Some("failed" | "aborted") => return Ok(None),
            _ => {}
        }
        Ok(Some(ObjectHead {
            size: length(&response),
            etag: etag(&response),
            // Lossy rather than absent: a type the client set with odd bytes
            // must still fail the comparison with the declared one.
            content_type: response
                .headers()
                .get("content-type")
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        }))
    }

    pub(super) async fn read_first_bytes(
        &self,
        key: &str,
        etag_wanted: &str,
        len: u64,
    ) -> Result<Bytes, StorageError> {
        let range = format!("bytes=0-{}", len.saturating_sub(1));
        let call = Call::new(Method::GET, self.blob_path(key), &[])
            .header("x-ms-range", &range)?
            .header("if-match", etag_wanted)?;
        let response = self.send(call).await?;
        match response.status() {
            // An empty blob has no byte 0.
            StatusCode::RANGE_NOT_SATISFIABLE => return Ok(Bytes::new()),
            StatusCode::NOT_FOUND => return Err(StorageError::Changed),
            status if status.is_success() => {}
            _ => return Err(Refusal::of(&response, "Get Blob").into_error()),
        }
        if unquote_etag(&etag(&response)) != unquote_etag(etag_wanted) {
            return Err(StorageError::Changed);
        }
        response
            .bytes()
            .await
            .map_err(|e| StorageError::Unavailable(e.without_url().into()))
    }

    pub(super) async fn open_blob(&self, key: &str) -> Result<Option<ObjectReader>, StorageError> {
        let mut call = Call::new(Method::GET, self.blob_path(key), &[]);
        call.streamed = true;
        let response = self.send(call).await?;
        match response.status() {
            StatusCode::NOT_FOUND => return Ok(None),
            status if status.is_success() => {}
            _ => return Err(Refusal::of(&response, "Get Blob").into_error()),
        }
        let (size, etag) = (length(&response), etag(&response));
        let stream = response
            .bytes_stream()
            .map_err(|e| std::io::Error::other(e.without_url()));
        Ok(Some(ObjectReader {
            size,
            etag,
            body: Box::pin(tokio_util::io::StreamReader::new(stream)),
        }))
    }

    pub(super) async fn put_blob(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> Result<(), StorageError> {
        let call = Call::new(Method::PUT, self.blob_path(key), &[])
            .header("x-ms-blob-type", "BlockBlob")?
            .header("content-type", content_type)?
            .body(body);
        let response = self.send(call).await?;
        if !response.status().is_success() {
            return Err(Refusal::of(&response, "Put Blob").into_error());
        }
        Ok(())
    }

    /// Copy Blob inside the account, unless `from` no longer has `etag`
    /// (or is gone); waits for a copy Azure runs in the background.
    pub(super) async fn copy_blob(
        &self,
        from: &str,
        to: &str,
        etag_wanted: &str,
    ) -> Result<(), StorageError> {
        let source = self.url(&self.blob_path(from), &[]);
        let call = Call::new(Method::PUT, self.blob_path(to), &[])
            .header("x-ms-copy-source", &source)?
            .header("x-ms-source-if-match", etag_wanted)?;
        let response = self.send(call).await?;
        match response.status() {
            StatusCode::NOT_FOUND | StatusCode::PRECONDITION_FAILED => {
                return Err(StorageError::Changed);
            }
            status if status.is_success() => {}
            _ => return Err(Refusal::of(&response, "Copy Blob").into_error()),
        }
        let mut status = header(response.headers(), "x-ms-copy-status")
            .unwrap_or("success")
            .to_owned();
        let started = tokio::time::Instant::now();
        while status == "pending" {
            if started.elapsed() > COPY_WAIT {
                return Err(StorageError::Unavailable(
                    "Azure's copy is still pending; it will be looked at again".into(),
                ));
            }
            tokio::time::sleep(COPY_POLL).await;
            status = match self.head_blob(to).await {
                Err(StorageError::Unavailable(_)) => "pending".to_owned(),
                Ok(Some(_)) => "success".to_owned(),
                Ok(None) => "failed".to_owned(),
                Err(err) => return Err(err),
            };
        }
        match status.as_str() {
            "success" => self.reset_properties(to).await,
            other => Err(StorageError::Other(
                format!("Azure's copy ended {other:?}").into(),
            )),
        }
    }

    /// A copy keeps every property its source had, and whoever held the
    /// source's SAS may have set any (`Content-Encoding`, `Cache-Control`,
    /// `Content-Disposition`) or made it another kind of blob: the promoted
    /// blob must be a block blob, and keeps only its type, which completion
    /// then checks against the declared one.
    async fn reset_properties(&self, key: &str) -> Result<(), StorageError> {
        let response = self
            .send(Call::new(Method::HEAD, self.blob_path(key), &[]))
            .await?;
        if !response.status().is_success() {
            return Err(Refusal::of(&response, "Get Blob Properties").into_error());
        }
        if header(response.headers(), "x-ms-blob-type") != Some("BlockBlob") {
            self.delete_blob(key, None).await?;
            return Err(StorageError::Changed);
        }
        let etag = etag(&response);
        let mut call = Call::new(Method::PUT, self.blob_path(key), &[("comp", "properties")])
            .header("if-match", &etag)?;
        // A type that is no header value is dropped (the blob then has
        // none), and fails the comparison with the declared one.
        if let Some(kind) = header(response.headers(), "content-type") {
            call = call.header("x-ms-blob-content-type", kind)?;
        }
        let response = self.send(call).await?;
        if !response.status().is_success() {
            return Err(Refusal::of(&response, "Set Blob Properties").into_error());
        }
        Ok(())
    }

    /// Deletes `key`'s blob and its snapshots (only the version with ETag
    /// `if_match` when given); a missing blob is fine.
    pub(super) async fn delete_blob(
        &self,
        key: &str,
        if_match: Option<&str>,
    ) -> Result<(), StorageError> {
        self.delete_blob_once(key, if_match, false).await
    }

    async fn delete_blob_once(
        &self,
        key: &str,
        if_match: Option<&str>,
        lease_broken: bool,
    ) -> Result<(), StorageError> {
        let mut call = Call::new(Method::DELETE, self.blob_path(key), &[])
            .header("x-ms-delete-snapshots", "include")?;
        if let Some(etag) = if_match {
            call = call.header("if-match", etag)?;
        }
        let response = self.send(call).await?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(()),
            status if status.is_success() => Ok(()),
            _ => {
                let refusal = Refusal::of(&response, "Delete Blob");
                // A write SAS lets its holder lease the blob, which would
                // block every delete: the account key may break the lease.
                if refusal.code == "LeaseIdMissing" && !lease_broken {
                    self.break_lease(key).await?;
                    return Box::pin(self.delete_blob_once(key, if_match, true)).await;
                }
                Err(refusal.into_error())
            }
        }
    }

    async fn break_lease(&self, key: &str) -> Result<(), StorageError> {
        let query = [("comp", "lease")];
        let call = Call::new(Method::PUT, self.blob_path(key), &query)
            .header("x-ms-lease-action", "break")?
            .header("x-ms-lease-break-period", "0")?;
        let response = self.send(call).await?;
        match response.status() {
            status if status.is_success() || status == StatusCode::NOT_FOUND => Ok(()),
            _ => Err(Refusal::of(&response, "Lease Blob (break)").into_error()),
        }
    }

    pub(super) async fn container_exists(&self) -> Result<(), StorageError> {
        let query = [("restype", "container")];
        let response = self
            .send(Call::new(Method::HEAD, self.container_path(), &query))
            .await?;
        match response.status() {
            status if status.is_success() => Ok(()),
            StatusCode::NOT_FOUND => Err(StorageError::Other(
                format!(
                    "container {:?} does not exist in account {:?}",
                    self.container, self.account
                )
                .into(),
            )),
            _ => Err(Refusal::of(&response, "Get Container Properties").into_error()),
        }
    }
}
