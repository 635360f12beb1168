//! PUT requests to storage: a part from memory, or a whole small file
//! streamed from disk. Both count bytes as they leave, for progress.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use bytes::Bytes;
use futures::StreamExt as _;
use reqwest::{StatusCode, header};
use tokio::io::AsyncReadExt as _;

use crate::api::{Api, network, retry_after};
use crate::error::{Attempt, ClientError};
use crate::file::FileIdentity;
use crate::upload::{Event, Progress};

/// Size of the slices a body is sent in (and progress is reported by).
const CHUNK: usize = 256 * 1024;
/// Refusals by storage (an expired or otherwise refused URL) answered by
/// signing again, before giving up: a fresh URL that is refused too means the
/// request itself is wrong.
const MAX_STORAGE_REFUSALS: u32 = 2;

/// Storage refusals seen so far for one request, across its retries.
pub(crate) type StorageAttempts = AtomicU32;

/// PUTs `data` to a presigned `url`; returns the ETag.
pub(crate) async fn put_bytes(
    api: &Api,
    url: &str,
    headers: &BTreeMap<String, String>,
    data: Bytes,
    progress: &Progress,
    refusals: &StorageAttempts,
) -> Result<String, Attempt> {
    let len = data.len() as u64;
    let chunks = (0..data.len()).step_by(CHUNK).map(move |start| {
        Ok::<Bytes, std::io::Error>(data.slice(start..(start + CHUNK).min(data.len())))
    });
    send_counted(
        api,
        url,
        headers,
        len,
        futures::stream::iter(chunks),
        progress,
        refusals,
    )
    .await
}

/// PUTs the whole file, streamed from disk, retrying from its start.
pub(crate) async fn put(
    api: &Api,
    url: &str,
    headers: &BTreeMap<String, String>,
    file: &FileIdentity,
    progress: &Progress,
) -> Result<(), ClientError> {
    let refusals = StorageAttempts::default();
    api.retry_policy()
        .run(
            |_| async {
                let chunks = file_chunks(&file.path).await.map_err(Attempt::Fail)?;
                send_counted(api, url, headers, file.size, chunks, progress, &refusals).await
            },
            &|reason, delay| {
                progress(Event::Retrying {
                    reason: reason.to_owned(),
                    delay,
                });
            },
        )
        .await
        .map(|_| ())
}

/// The file as a stream of chunks, read as the connection asks for them.
async fn file_chunks(
    path: &Path,
) -> Result<impl futures::Stream<Item = std::io::Result<Bytes>> + Send + 'static, ClientError> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| ClientError::io(format!("cannot open {}", path.display()), e))?;
    Ok(futures::stream::unfold(file, |mut file| async move {
        let mut chunk = vec![0u8; CHUNK];
        match file.read(&mut chunk).await {
            Ok(0) => None,
            Ok(n) => {
                chunk.truncate(n);
                Some((Ok(Bytes::from(chunk)), file))
            }
            Err(err) => Some((Err(err), file)),
        }
    }))
}

/// Sends `chunks` as the body of a PUT, reporting each chunk as it leaves and,
/// if the attempt fails, the bytes it sent for nothing.
async fn send_counted(
    api: &Api,
    url: &str,
    headers: &BTreeMap<String, String>,
    len: u64,
    chunks: impl futures::Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    progress: &Progress,
    refusals: &StorageAttempts,
) -> Result<String, Attempt> {
    let sent = Arc::new(AtomicU64::new(0));
    let (counter, hook) = (sent.clone(), progress.clone());
    let counted = chunks.inspect(move |chunk| {
        if let Ok(chunk) = chunk {
            counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            hook(Event::Sent(chunk.len() as u64));
        }
    });
    let body = reqwest::Body::wrap_stream(counted);
    let result = send(api, url, headers, len, body, refusals).await;
    if result.is_err() {
        progress(Event::Unsent(sent.load(Ordering::Relaxed)));
    }
    result
}

async fn send(
    api: &Api,
    url: &str,
    headers: &BTreeMap<String, String>,
    len: u64,
    body: reqwest::Body,
    refusals: &StorageAttempts,
) -> Result<String, Attempt> {
    let mut request = api
        .http()
        .put(url)
        // Signed into the URL; a streamed body must not fall back to chunked encoding.
        .header(header::CONTENT_LENGTH, len)
        .body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request.send().await.map_err(network)?;
    let status = response.status();
    if status.is_success() {
        return Ok(response
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned());
    }
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        return Err(Attempt::Retry {
            reason: format!("storage answered {status}"),
            after: retry_after(&response),
        });
    }
    let code = storage_error_code(&response.text().await.unwrap_or_default());
    let reason = format!("storage answered {status} {code}");
    // Expired (AWS 403, Garage 400) or otherwise refused: sign again, a few times.
    if matches!(status, StatusCode::FORBIDDEN | StatusCode::BAD_REQUEST)
        && refusals.fetch_add(1, Ordering::Relaxed) < MAX_STORAGE_REFUSALS
    {
        return Err(Attempt::Retry {
            reason,
            after: None,
        });
    }
    Err(Attempt::Fail(ClientError::Storage(reason)))
}

/// The `<Code>` of an S3 error document, which names the problem without
/// echoing the request (and its signature).
fn storage_error_code(body: &str) -> String {
    body.split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map_or_else(String::new, |(code, _)| code.to_owned())
}
