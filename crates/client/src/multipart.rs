//! Sending the parts of a multipart upload: `parallel` workers, each reading
//! its part from disk into a reused buffer, hashing it, having the SHA-256
//! signed into the part's URL, and streaming it to storage.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::Mutex;

use bytes::BytesMut;
use uploadgate_api::{CompletedPart, SignParts, UploadedPart};
use uuid::Uuid;

use crate::api::Api;
use crate::error::ClientError;
use crate::file;
use crate::single::{self, StorageAttempts};
use crate::upload::{Event, Progress};

/// Which parts make the file, and which storage already holds.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    part_size: u64,
    size: u64,
    missing: Vec<u32>,
    already: Vec<CompletedPart>,
    already_bytes: u64,
}

impl Plan {
    /// A stored part counts only if its size is what the layout says; anything
    /// else (a part from another layout) is sent again.
    pub fn new(part_size: u64, part_count: u32, size: u64, stored: &[UploadedPart]) -> Self {
        let stored: BTreeMap<u32, &UploadedPart> =
            stored.iter().map(|p| (p.part_number, p)).collect();
        let mut plan = Self {
            part_size,
            size,
            missing: Vec::new(),
            already: Vec::new(),
            already_bytes: 0,
        };
        for number in 1..=part_count {
            let expected = plan.len_of(number);
            match stored.get(&number) {
                Some(part) if part.size == expected => {
                    plan.already.push(CompletedPart {
                        part_number: number,
                        etag: part.etag.clone(),
                    });
                    plan.already_bytes += expected;
                }
                _ => plan.missing.push(number),
            }
        }
        plan
    }

    pub fn already_bytes(&self) -> u64 {
        self.already_bytes
    }

    fn offset_of(&self, number: u32) -> u64 {
        u64::from(number - 1) * self.part_size
    }

    fn len_of(&self, number: u32) -> u64 {
        self.part_size
            .min(self.size.saturating_sub(self.offset_of(number)))
    }
}

/// Every part of the upload, in order, with its ETag.
#[derive(Debug)]
pub(crate) struct Sent {
    pub all: Vec<CompletedPart>,
    pub already_bytes: u64,
}

pub(crate) async fn send(
    api: &Api,
    id: Uuid,
    path: &Path,
    plan: Plan,
    parallel: usize,
    progress: &Progress,
) -> Result<Sent, ClientError> {
    let queue = Mutex::new(plan.missing.iter().copied().collect::<VecDeque<u32>>());
    let done = Mutex::new(plan.already.clone());
    let workers = parallel.clamp(1, plan.missing.len().max(1));
    let worker = || async {
        let mut buf = BytesMut::with_capacity(usize::try_from(plan.part_size).unwrap_or(0));
        loop {
            let Some(number) = queue.lock().map_or(None, |mut q| q.pop_front()) else {
                return Ok::<(), ClientError>(());
            };
            let (etag, reclaimed) = send_part(api, id, path, &plan, number, buf, progress).await?;
            buf = reclaimed;
            if let Ok(mut done) = done.lock() {
                done.push(CompletedPart {
                    part_number: number,
                    etag,
                });
            }
        }
    };
    // The first failure drops the other workers, cancelling their requests.
    futures::future::try_join_all((0..workers).map(|_| worker())).await?;
    let mut all = done
        .into_inner()
        .map_err(|_| ClientError::Protocol("a part worker panicked".into()))?;
    all.sort_by_key(|p| p.part_number);
    Ok(Sent {
        all,
        already_bytes: plan.already_bytes,
    })
}

/// Sends one part; returns its ETag and the buffer for the next part.
async fn send_part(
    api: &Api,
    id: Uuid,
    path: &Path,
    plan: &Plan,
    number: u32,
    buf: BytesMut,
    progress: &Progress,
) -> Result<(String, BytesMut), ClientError> {
    let len = usize::try_from(plan.len_of(number))
        .map_err(|_| ClientError::Usage("part too large for this machine".into()))?;
    let data = file::read_range(path, plan.offset_of(number), len, buf)
        .await?
        .freeze();
    let checksum = file::sha256_base64(data.clone()).await?;
    let request = SignParts {
        part_numbers: vec![number],
        checksums_sha256: Some(BTreeMap::from([(number.to_string(), checksum)])),
    };
    let storage_refusals = StorageAttempts::default();
    let on_retry = |reason: &str, delay| {
        progress(Event::Retrying {
            reason: format!("part {number}: {reason}"),
            delay,
        });
    };
    let etag = api
        .retry_policy()
        .run(
            |_| async {
                // Signed for every attempt: a retry after a long backoff, or
                // after storage refused an expired URL, gets a fresh one.
                let signed = api
                    .sign_parts(id, &request)
                    .await
                    .map_err(crate::error::Attempt::Fail)?;
                let part = signed.parts.into_iter().next().ok_or_else(|| {
                    crate::error::Attempt::Fail(ClientError::Protocol("no part was signed".into()))
                })?;
                single::put_bytes(
                    api,
                    &part.url,
                    &part.headers,
                    data.clone(),
                    progress,
                    &storage_refusals,
                )
                .await
            },
            &on_retry,
        )
        .await?;
    // The request and its body are gone: the buffer is ours again, unless a
    // connection still holds a slice, in which case a new one is allocated.
    let buf = data.try_into_mut().unwrap_or_else(|_| {
        tracing::debug!(
            part = number,
            "part buffer still shared; allocating another"
        );
        BytesMut::with_capacity(len)
    });
    Ok((etag, buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(number: u32, size: u64) -> UploadedPart {
        UploadedPart {
            part_number: number,
            size,
            etag: format!("e{number}"),
        }
    }

    #[test]
    fn a_plan_skips_stored_parts_of_the_right_size_only() {
        let plan = Plan::new(10, 3, 25, &[stored(1, 10), stored(2, 7), stored(3, 5)]);
        assert_eq!(plan.missing, vec![2]);
        assert_eq!(plan.already_bytes(), 15);
        assert_eq!(plan.len_of(3), 5);
        assert_eq!(plan.offset_of(3), 20);
    }
}
