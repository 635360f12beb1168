//! Presigning the parts of a multipart upload: cheap and repeatable, so a
//! client whose URL expired simply asks again.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use time::OffsetDateTime;
use uploadgate_api::UploadStatus;

use super::intake::is_sha256;
use super::{Invalid, UploadError, Uploads};
use crate::db::{self, Transition, Upload};
use crate::storage::{PartTarget, PresignedPart, StorageError};

/// The longest a part URL of a client-sized part is valid: each may store
/// up to 5 GiB, whatever the profile allows.
pub const CLIENT_PART_TTL: Duration = Duration::from_secs(300);

/// Part URLs of a client-sized upload signed in one call at most: each may
/// store 5 GiB, so none are handed out ahead of need (Uppy asks for a few at
/// a time).
const CLIENT_PARTS_PER_CALL: usize = 16;

/// Part URLs and how long they stay valid.
#[derive(Debug)]
pub struct SignedParts {
    pub parts: Vec<PresignedPart>,
    pub ttl: Duration,
    pub expires_at: OffsetDateTime,
}

impl Uploads {
    /// Parts of the layout the server fixed (API v1): each URL is bound to its
    /// part's exact length and, when given, its SHA-256 (base64, keyed by
    /// part number).
    pub async fn sign_layout_parts(
        &self,
        upload: &Upload,
        numbers: &[u32],
        checksums: Option<&BTreeMap<String, String>>,
    ) -> Result<SignedParts, UploadError> {
        let Some(layout) = upload.multipart.as_ref().and_then(|m| m.layout) else {
            return Err(match upload.multipart {
                None => UploadError::NotMultipart,
                Some(_) => UploadError::ClientChosenParts,
            });
        };
        let listed = check_part_numbers(numbers, layout.part_count)?;
        let checksums = check_checksums(checksums, &listed)?;
        let targets: Vec<PartTarget<'_>> = numbers
            .iter()
            .map(|&number| PartTarget {
                part_number: number,
                size: layout.part_len(number),
                checksum_sha256: checksums.get(&number).map(String::as_str),
            })
            .collect();
        self.sign_parts(upload, &targets, self.url_ttl(&upload.profile))
            .await
    }

    /// Parts signed through Uppy's Companion routes. An upload with a layout
    /// (created by API v1) gets its parts' exact lengths signed, as there.
    /// Without one, the client chooses its part sizes and no URL can be bound
    /// to a length, so what it may store is bounded instead: part numbers
    /// only up to what `max_size` needs (every part but the last is at least
    /// 5 MiB), URLs valid for `CLIENT_PART_TTL` at most, and no URL once the
    /// parts stored pass `max_size`, checked at every signing (the upload is
    /// aborted then; the janitor does the same at each sweep, see
    /// `Uploads::abort_oversized`), and at most `CLIENT_PARTS_PER_CALL` URLs
    /// per call.
    pub async fn sign_client_parts(
        &self,
        upload: &Upload,
        numbers: &[u32],
    ) -> Result<SignedParts, UploadError> {
        let Some(multipart) = &upload.multipart else {
            return Err(UploadError::NotMultipart);
        };
        if multipart.layout.is_some() {
            return self.sign_layout_parts(upload, numbers, None).await;
        }
        let max_size = self.profile_of(&upload.profile).map_or(0, |p| p.max_size);
        let limits = self.store.part_limits();
        let most_parts = u32::try_from(max_size.div_ceil(limits.min_part))
            .unwrap_or(limits.max_parts)
            .clamp(1, limits.max_parts);
        check_part_numbers(numbers, most_parts)?;
        if numbers.len() > CLIENT_PARTS_PER_CALL {
            return Err(Invalid::field(
                "partNumbers",
                format!("partNumbers: at most {CLIENT_PARTS_PER_CALL} parts of a client-sized upload per call"),
            )
            .into());
        }
        if upload.status == UploadStatus::Uploading {
            let stored = match self.stored_parts(upload).await {
                Err(UploadError::Storage(StorageError::NoSuchUpload)) => {
                    // Assembled by a completion that died: no part is wanted any more.
                    if let Some(done) = self.converge(upload).await? {
                        return Err(UploadError::NotPending(done.status));
                    }
                    return Err(StorageError::NoSuchUpload.into());
                }
                stored => stored?,
            };
            let held: u64 = stored.iter().map(|p| p.size).sum();
            if held > max_size {
                self.abort(upload.clone()).await?;
                return Err(Invalid::FileTooLarge {
                    size: held,
                    max: max_size,
                }
                .into());
            }
        }
        let targets: Vec<PartTarget<'_>> = numbers
            .iter()
            .map(|&part_number| PartTarget {
                part_number,
                size: None,
                checksum_sha256: None,
            })
            .collect();
        let ttl = self.url_ttl(&upload.profile).min(CLIENT_PART_TTL);
        self.sign_parts(upload, &targets, ttl).await
    }

    /// Presigns `targets` for a multipart upload in progress and marks it
    /// `uploading`.
    async fn sign_parts(
        &self,
        upload: &Upload,
        targets: &[PartTarget<'_>],
        ttl: Duration,
    ) -> Result<SignedParts, UploadError> {
        let Some(multipart) = &upload.multipart else {
            return Err(UploadError::NotMultipart);
        };
        if !upload.status.is_in_progress() {
            return Err(UploadError::NotPending(upload.status));
        }
        let now = db::now();
        if now > upload.expires_at {
            return Err(UploadError::Expired);
        }
        let parts = self
            .store
            .presign_parts(&upload.key, &multipart.upload_id, targets, ttl)
            .await?;
        self.metrics.part_urls_signed.inc_by(parts.len() as u64);
        if upload.status == UploadStatus::Pending {
            let change = Transition::to(UploadStatus::Uploading, now);
            // Losing this race to a completion or an abort is fine: the URLs then fail at storage.
            self.db
                .transition(upload.id, UploadStatus::Pending, &change)
                .await?;
        }
        Ok(SignedParts {
            parts,
            ttl,
            expires_at: now + ttl,
        })
    }
}

/// `numbers` as a set: at least one, each in `1..=part_count`, none twice.
pub fn check_part_numbers(numbers: &[u32], part_count: u32) -> Result<BTreeSet<u32>, Invalid> {
    let invalid = |detail: String| Invalid::field("partNumbers", detail);
    if numbers.is_empty() {
        return Err(invalid("partNumbers: name at least one part".into()));
    }
    // Checked before the loop: a list that long cannot be a set of them.
    if numbers.len() > part_count as usize {
        return Err(invalid(format!(
            "partNumbers: this upload has at most {part_count} parts"
        )));
    }
    let mut seen = BTreeSet::new();
    for &number in numbers {
        if number == 0 || number > part_count {
            return Err(invalid(format!(
                "partNumbers: {number} is outside 1..{part_count}"
            )));
        }
        if !seen.insert(number) {
            return Err(invalid(format!("partNumbers: {number} is listed twice")));
        }
    }
    Ok(seen)
}

fn check_checksums(
    given: Option<&BTreeMap<String, String>>,
    numbers: &BTreeSet<u32>,
) -> Result<BTreeMap<u32, String>, Invalid> {
    let invalid = |detail: String| Invalid::field("checksumsSha256", detail);
    let mut checksums = BTreeMap::new();
    for (key, checksum) in given.into_iter().flatten() {
        let number: u32 = key
            .parse()
            .ok()
            .filter(|n| numbers.contains(n))
            .ok_or_else(|| {
                invalid(format!(
                    "checksumsSha256: {key:?} is not one of partNumbers"
                ))
            })?;
        if !is_sha256(checksum) {
            return Err(invalid(format!(
                "checksumsSha256: part {number} needs the base64 of a 32-byte SHA-256 digest"
            )));
        }
        checksums.insert(number, checksum.clone());
    }
    Ok(checksums)
}
