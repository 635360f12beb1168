//! Finding a caller's uploads and describing them: the record, short-lived
//! links to the object and its thumbnails, its jobs, the parts to resume from.

use time::OffsetDateTime;
use uploadgate_api::{JobState, ProcessingState, UploadRecord, UploadStatus, UploadedPart};
use uuid::Uuid;

use super::view::{job_record, record};
use super::{UploadError, Uploads};
use crate::auth::{Principal, Via};
use crate::config::Processor;
use crate::db::{Job, ListFilter, Listed, Page, Upload};
use crate::multipart::usable_parts;
use crate::storage::{StorageError, StoredPart};

/// The parts of a multipart upload in progress, as storage holds them now.
pub type UploadedParts = Vec<StoredPart>;

impl Uploads {
    /// The caller's upload `id`. A malformed id, a missing one and another user's
    /// are all `NotFound`: another user's upload is not revealed.
    /// A scoped upload token sees only uploads of its profile.
    pub async fn find_own(&self, user: &Principal, id: &str) -> Result<Upload, UploadError> {
        let id = Uuid::parse_str(id).map_err(|_| UploadError::NotFound)?;
        self.db
            .find(id, &user.user)
            .await?
            .filter(|upload| within_grant(user, upload))
            .ok_or(UploadError::NotFound)
    }

    /// The caller's upload stored (or to be stored) under `key`, the name the
    /// simple door hands out; another user's key is `NotFound` too.
    pub async fn find_by_key(&self, user: &Principal, key: &str) -> Result<Upload, UploadError> {
        self.db
            .find_by_key(&user.user, key)
            .await?
            .filter(|upload| within_grant(user, upload))
            .ok_or(UploadError::NotFound)
    }

    /// The caller's multipart upload that has both this object key and this
    /// storage upload id (how Uppy's protocol names uploads); anything else is
    /// `NotFound`.
    pub async fn find_multipart(
        &self,
        user: &Principal,
        key: &str,
        upload_id: &str,
    ) -> Result<Upload, UploadError> {
        let upload = self.find_by_key(user, key).await?;
        match &upload.multipart {
            Some(multipart) if multipart.upload_id == upload_id => Ok(upload),
            _ => Err(UploadError::NotFound),
        }
    }

    /// The caller's uploads (every user's for `None`: an administrator),
    /// newest first, each with its thumbnail links.
    pub async fn list(
        &self,
        user: Option<&Principal>,
        filter: &ListFilter,
    ) -> Result<Listed<UploadRecord>, UploadError> {
        let fetch = ListFilter {
            page: filter.page.with_one_more(),
            ..filter.clone()
        };
        let uploads = self.db.list(user.map(|u| u.user.as_str()), &fetch).await?;
        let Listed { items, next_cursor } = filter.page.cut(uploads, |u| u.id.to_string());
        let mut records = Vec::with_capacity(items.len());
        for upload in &items {
            let mut view = record(upload);
            self.add_thumbnail_links(&mut view).await?;
            records.push(view);
        }
        Ok(Listed {
            items: records,
            next_cursor,
        })
    }

    /// Everything about one upload: the record with thumbnail links and jobs
    /// and, for a multipart upload in progress, the parts storage holds now
    /// (`uploadedParts`), to resume from.
    /// An upload token, which sends files and does not read them, gets no
    /// thumbnail links.
    pub async fn describe(
        &self,
        user: &Principal,
        upload: &Upload,
    ) -> Result<UploadRecord, UploadError> {
        let (converged, stored) = self.parts_held(upload).await?;
        let upload = converged.as_ref().unwrap_or(upload);
        let mut view = record(upload);
        if !matches!(user.via, Via::UploadToken(_)) {
            self.add_thumbnail_links(&mut view).await?;
        }
        if let Some(processing) = view.processing.as_mut() {
            processing.jobs = self
                .db
                .jobs()
                .jobs_of(upload.id)
                .await?
                .into_iter()
                .map(job_record)
                .collect();
        }
        if let Some(multipart) = &upload.multipart
            && upload.status.is_in_progress()
        {
            view.uploaded_parts = stored.map(|stored| {
                let usable = match &multipart.layout {
                    Some(layout) => usable_parts(layout, &stored),
                    None => stored.iter().collect(),
                };
                usable
                    .into_iter()
                    .map(|part| UploadedPart {
                        part_number: part.part_number,
                        size: part.size,
                        etag: part.etag.clone(),
                    })
                    .collect()
            });
        }
        Ok(view)
    }

    /// For a multipart upload in progress, the parts storage holds. When
    /// storage no longer holds the multipart upload, the upload as it
    /// converged (completed or rejected, its object assembled by a completion
    /// that died), or no parts: a completion is assembling it right now, or
    /// it was aborted or expired there. Either way there are no parts to
    /// resume from, which is not the same as "no parts sent yet".
    async fn parts_held(
        &self,
        upload: &Upload,
    ) -> Result<(Option<Upload>, Option<UploadedParts>), UploadError> {
        if upload.multipart.is_none() || !upload.status.is_in_progress() {
            return Ok((None, None));
        }
        match self.stored_parts(upload).await {
            Ok(stored) => Ok((None, Some(stored))),
            Err(UploadError::Storage(StorageError::NoSuchUpload)) => {
                Ok((self.converge(upload).await?, None))
            }
            Err(err) => Err(err),
        }
    }

    /// Every part storage holds for `upload`'s multipart upload, sorted.
    pub async fn stored_parts(&self, upload: &Upload) -> Result<UploadedParts, UploadError> {
        let Some(multipart) = &upload.multipart else {
            return Err(UploadError::NotMultipart);
        };
        Ok(self
            .store
            .list_parts(&upload.key, &multipart.upload_id)
            .await?)
    }

    /// A short-lived link to read a completed upload, served as an attachment
    /// so that browsers never render user content in the store's origin.
    pub async fn download_link(
        &self,
        upload: &Upload,
    ) -> Result<(String, OffsetDateTime), UploadError> {
        if upload.status == UploadStatus::Deleted {
            return Err(UploadError::Deleted);
        }
        if upload.status != UploadStatus::Completed {
            return Err(UploadError::NotCompleted(upload.status));
        }
        self.check_scanned(upload).await?;
        let ttl = self.url_ttl(&upload.profile);
        let url = self
            .store
            .presign_get(&upload.key, &upload.filename, ttl)
            .await?;
        Ok((url, OffsetDateTime::now_utc() + ttl))
    }

    /// Refuses a download the virus scan has not cleared: quarantined, and,
    /// when this upload's pipeline holds a scan (as recorded when it
    /// completed, whatever the profile says today), until its verdict is
    /// clean; a scan that failed for good keeps it refused unless
    /// `scan.fail_open`.
    async fn check_scanned(&self, upload: &Upload) -> Result<(), UploadError> {
        let processing = upload.processing.as_ref();
        if processing.is_some_and(|p| p.state == ProcessingState::Quarantined) {
            return Err(UploadError::Quarantined);
        }
        if processing
            .and_then(|p| p.scan.as_ref())
            .is_some_and(|scan| scan.verdict == "clean")
        {
            return Ok(());
        }
        if processing.is_none() {
            // No pipeline ran: nothing was to scan.
            return Ok(());
        }
        let jobs = self.db.jobs().jobs_of(upload.id).await?;
        let scan = jobs.iter().find(|job| job.kind == Processor::Scan);
        let scan_ahead = jobs.iter().any(|job| job.next.contains(&Processor::Scan));
        match scan {
            None if !scan_ahead => Ok(()),
            Some(job) if job.state == JobState::Dead && self.config.scan.fail_open => Ok(()),
            Some(job) if job.state == JobState::Dead => Err(UploadError::ScanFailed),
            // A step before the scan failed for good: it will never run.
            None if processing.is_some_and(|p| p.state == ProcessingState::Failed) => {
                Err(UploadError::ScanFailed)
            }
            _ => Err(UploadError::ScanPending),
        }
    }

    /// The caller's jobs in `state` (every user's for `None`) on `page`, newest first.
    pub async fn jobs_in_state(
        &self,
        user: Option<&Principal>,
        state: JobState,
        page: &Page<Uuid>,
    ) -> Result<Listed<Job>, UploadError> {
        let jobs = self
            .db
            .jobs()
            .jobs_in_state(user.map(|u| u.user.as_str()), state, &page.with_one_more())
            .await?;
        Ok(page.cut(jobs, |job| job.id.to_string()))
    }

    /// Short-lived GET links to the upload's thumbnails (presigned locally: no
    /// call to the store).
    async fn add_thumbnail_links(&self, view: &mut UploadRecord) -> Result<(), UploadError> {
        let Some(processing) = view.processing.as_mut() else {
            return Ok(());
        };
        let ttl = self.url_ttl(&view.profile);
        for thumbnail in &mut processing.thumbnails {
            let name = thumbnail.key.rsplit('/').next().unwrap_or("thumbnail");
            thumbnail.url = Some(self.store.presign_get(&thumbnail.key, name, ttl).await?);
        }
        Ok(())
    }
}

/// Whether `upload` is one `user`'s credential may reach: a scoped upload
/// token, only the uploads it created.
fn within_grant(user: &Principal, upload: &Upload) -> bool {
    match &user.via {
        Via::UploadToken(grant) => upload.grant == Some(grant.id),
        Via::Token | Via::ApiKey(_) => true,
    }
}
