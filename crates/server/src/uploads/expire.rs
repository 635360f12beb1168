//! What the janitor does to an upload past its deadline, and to multipart
//! uploads storage holds that no record owns.
//!
//! Safe with several nodes sweeping at once: an upload is only expired after
//! taking its completion claim (so never while someone completes it) and through
//! a conditional transition (so exactly one node does it).

use std::time::Duration;

use uploadgate_api::{EventType, UploadStatus};

use super::{UploadError, Uploads};
use crate::db::{self, DbError, Transition, Upload};
use crate::keys;

/// Uploads read per database round trip.
const PAGE: u32 = 100;

/// The claim held while one upload is expired.
const CLAIM: Duration = Duration::from_secs(60);

/// What happened to one upload past its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// Its bytes had landed but its client never said so (Uppy's form
    /// uploads): verified instead of expired.
    Verified,
    /// Expired; `cleanup_failures` storage calls failed (the lifecycle rules
    /// or a later sweep catch up).
    Expired { cleanup_failures: u32 },
    /// Someone else is completing or already moved it.
    Left,
}

/// What one pass over storage's open multipart uploads did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Orphans {
    pub aborted: u32,
    pub failures: u32,
    /// Whether the store could list its multipart uploads (the embedded one cannot).
    pub listed: bool,
}

impl Uploads {
    /// Uploads of any owner still in progress whose deadline is before `cutoff`,
    /// oldest first.
    pub async fn stale(
        &self,
        cutoff: time::OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Upload>, DbError> {
        self.db.stale(cutoff, limit).await
    }

    /// Settles an upload past its deadline: verified if its bytes landed,
    /// otherwise expired and its storage freed.
    pub async fn expire(&self, upload: &Upload) -> Result<Expiry, DbError> {
        if self.completed_late(upload).await {
            return Ok(Expiry::Verified);
        }
        let now = db::now();
        let token = uuid::Uuid::new_v4();
        // Someone is completing it right now: leave it to them.
        if !self
            .db
            .claim_completion(upload.id, token, now, now + CLAIM)
            .await?
        {
            return Ok(Expiry::Left);
        }
        let expired = Upload {
            status: UploadStatus::Expired,
            ..upload.clone()
        };
        let change = Transition::to(UploadStatus::Expired, now)
            .claimed(token)
            .announcing(self.announce(EventType::UploadExpired, &expired));
        if !self
            .db
            .transition(upload.id, upload.status, &change)
            .await?
        {
            self.db.release_completion(upload.id, token).await?;
            return Ok(Expiry::Left);
        }
        self.metrics.upload(&upload.profile, "expired");
        let cleanup_failures = match self.release_storage(upload).await {
            Ok(failures) => failures,
            Err(err) => {
                tracing::warn!(upload = %upload.id, %err, "janitor: could not abort a multipart upload");
                1
            }
        };
        Ok(Expiry::Expired { cleanup_failures })
    }

    /// Completes an upload whose object landed but whose client never said
    /// so: a single upload's staged object (its URL has expired, so what is
    /// there is final), or an object at the final key that a completion
    /// copied or assembled before it died. Its sender is owed the same
    /// verification as if it had called `complete`. Parts are never
    /// assembled here: nobody asked. False: nothing landed, or verification
    /// could not run now (expire it, or try again next sweep).
    async fn completed_late(&self, upload: &Upload) -> bool {
        let landed = async {
            if self.store.head(&upload.key).await?.is_some() {
                return Ok(true);
            }
            if upload.multipart.is_some() {
                return Ok(false);
            }
            Ok::<_, crate::storage::StorageError>(
                self.store.head(&upload.staging_key).await?.is_some(),
            )
        };
        match landed.await {
            Ok(true) => {}
            Ok(false) => return false,
            Err(err) => {
                tracing::warn!(upload = %upload.id, %err, "janitor: cannot look for a landed object");
                return false;
            }
        }
        match self.complete(upload.clone(), None).await {
            Ok(done) => {
                tracing::info!(upload = %upload.id, status = done.status.as_str(), "janitor: verified an upload its client never completed");
                done.status.is_final()
            }
            Err(err) => {
                tracing::warn!(upload = %upload.id, %err, "janitor: cannot verify a staged upload");
                false
            }
        }
    }

    /// Aborts the uploads being sent in client-sized parts whose stored parts
    /// already pass their profile's `max_size` (no URL could be bound to a
    /// length: see `Uploads::sign_client_parts`): all of them, a page at a
    /// time, up to `limit` looked at per call. Returns how many were aborted
    /// and how many checks failed (skipped until the next sweep).
    pub async fn abort_oversized(&self, limit: u32) -> Result<(u32, u32), DbError> {
        let (mut aborted, mut failures, mut looked) = (0, 0, 0);
        let mut after = None;
        while looked < limit {
            let page = self.db.client_parts_uploading(after, PAGE).await?;
            let Some(last) = page.last() else {
                break;
            };
            after = Some(last.id);
            looked += u32::try_from(page.len()).unwrap_or(u32::MAX);
            for upload in page {
                match self.abort_if_oversized(upload).await {
                    Ok(true) => aborted += 1,
                    Ok(false) => {}
                    Err(err) => {
                        tracing::warn!(%err, "janitor: cannot hold an upload to its profile's size");
                        failures += 1;
                    }
                }
            }
        }
        Ok((aborted, failures))
    }

    /// Aborts `upload` if the parts storage holds pass its profile's `max_size`.
    async fn abort_if_oversized(&self, upload: Upload) -> Result<bool, UploadError> {
        let max = self.profile_of(&upload.profile).map_or(0, |p| p.max_size);
        let held: u64 = self
            .stored_parts(&upload)
            .await?
            .iter()
            .map(|p| p.size)
            .sum();
        if held <= max {
            return Ok(false);
        }
        tracing::warn!(upload = %upload.id, held, max, "janitor: aborting an upload whose parts pass its profile's max_size");
        self.abort(upload).await?;
        Ok(true)
    }

    /// Deletes staged objects no upload in progress waits for, up to `limit`
    /// looked at: those of settled uploads (a presigned URL stays valid until
    /// it expires, so a client can PUT again after completion, rejection or
    /// abort; nothing would ever read or free that object), and those older
    /// than `unknown_before` whose upload is not recorded at all. Returns how
    /// many were deleted and how many storage calls failed.
    pub async fn delete_stale_staging(
        &self,
        unknown_before: time::OffsetDateTime,
        limit: usize,
    ) -> Result<(u32, u32), DbError> {
        let (mut deleted, mut failures) = (0, 0);
        let staged = match self.store.list_staged(limit).await {
            Ok(staged) => staged,
            Err(err) => {
                tracing::warn!(%err, "janitor: cannot list staged objects");
                return Ok((0, 1));
            }
        };
        for object in staged {
            let Some(id) = keys::upload_id(&object.key) else {
                continue;
            };
            let stale = match self.db.get(id).await? {
                Some(upload) => {
                    !upload.status.is_in_progress()
                        && (upload.staging_key == object.key
                            || keys::is_staged_piece_of(&object.key, upload.id))
                }
                None => object.last_modified.is_some_and(|at| at < unknown_before),
            };
            if !stale {
                continue;
            }
            match self.store.delete(&object.key).await {
                Ok(()) => deleted += 1,
                Err(err) => {
                    tracing::warn!(key = %object.key, %err, "janitor: could not delete a stale staged object");
                    failures += 1;
                }
            }
        }
        Ok((deleted, failures))
    }

    /// Aborts up to `limit` multipart uploads started before `before` that
    /// uploadgate started (their key ends in an upload id) but no upload in
    /// progress owns: a crash between starting one and recording it, or an
    /// abort that failed. Other applications' uploads in a shared bucket are
    /// left alone.
    pub async fn abort_orphans(
        &self,
        before: time::OffsetDateTime,
        limit: usize,
    ) -> Result<Orphans, DbError> {
        let mut report = Orphans::default();
        let open = match self.store.list_multipart_uploads(before, limit).await {
            Ok(Some(open)) => open,
            Ok(None) => return Ok(report),
            Err(err) => {
                tracing::warn!(%err, "janitor: cannot list multipart uploads");
                report.failures += 1;
                return Ok(report);
            }
        };
        report.listed = true;
        for upload in open {
            if keys::upload_id(&upload.key).is_none()
                || self
                    .db
                    .multipart_in_progress(&upload.key, &upload.upload_id)
                    .await?
            {
                continue;
            }
            match self
                .store
                .abort_multipart(&upload.key, &upload.upload_id)
                .await
            {
                Ok(()) => report.aborted += 1,
                Err(err) => {
                    tracing::warn!(key = %upload.key, %err, "janitor: could not abort an orphaned multipart upload");
                    report.failures += 1;
                }
            }
        }
        Ok(report)
    }
}
