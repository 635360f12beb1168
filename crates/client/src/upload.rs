//! One file, start to finish: resume or create, send, complete.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use uploadgate_api::{
    CompleteUpload, CompletedPart, CreateUpload, ErrorCode, UploadInstructions, UploadRecord,
    UploadStatus,
};

use crate::api::Api;
use crate::error::ClientError;
use crate::file::{self, FileIdentity};
use crate::multipart::{self, Plan};
use crate::resume::{ResumeEntry, ResumeStore};
use crate::single;

/// Files up to this size get a whole-file SHA-256 at creation (one extra read).
/// Larger ones are sent in parts, each with its own SHA-256.
const WHOLE_FILE_CHECKSUM_LIMIT: u64 = 64 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct UploadOptions {
    pub profile: Option<String>,
    /// Declared type; guessed from the extension when absent.
    pub content_type: Option<String>,
    /// Parts in flight at once. Memory use is about `parallel` times the part size.
    pub parallel: usize,
}

impl Default for UploadOptions {
    fn default() -> Self {
        Self {
            profile: None,
            content_type: None,
            parallel: 4,
        }
    }
}

/// What happened, for progress displays.
#[derive(Debug, Clone)]
pub enum Event {
    /// The upload is known: `already` of `total` bytes are in storage.
    Started {
        upload_id: uuid::Uuid,
        total: u64,
        already: u64,
        resumed: bool,
    },
    /// Bytes handed to the network.
    Sent(u64),
    /// Bytes of a failed attempt, to be sent again.
    Unsent(u64),
    Retrying {
        reason: String,
        delay: Duration,
    },
    /// All bytes are in storage; the server is verifying them.
    Verifying,
}

pub type Progress = Arc<dyn Fn(Event) + Send + Sync>;

#[derive(Debug, Clone)]
pub struct UploadReport {
    pub record: UploadRecord,
    pub resumed: bool,
    /// Every byte sent, failed attempts included.
    pub bytes_sent: u64,
    /// Bytes storage already held from an earlier run.
    pub bytes_already_stored: u64,
    pub retries: u32,
}

/// Counts shared by every part of one upload.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub sent: AtomicU64,
    pub retries: AtomicU32,
}

impl Tally {
    /// A progress hook that also keeps the tally.
    pub(crate) fn hook(self: &Arc<Self>, progress: &Progress) -> Progress {
        let tally = self.clone();
        let progress = progress.clone();
        Arc::new(move |event| {
            match &event {
                Event::Sent(n) => {
                    tally.sent.fetch_add(*n, Ordering::Relaxed);
                }
                Event::Retrying { .. } => {
                    tally.retries.fetch_add(1, Ordering::Relaxed);
                }
                _ => {}
            }
            progress(event);
        })
    }
}

#[derive(Debug, Clone)]
pub struct Uploader {
    api: Api,
    resume: ResumeStore,
}

impl Uploader {
    pub fn new(api: Api, resume: ResumeStore) -> Self {
        Self { api, resume }
    }

    pub fn api(&self) -> &Api {
        &self.api
    }

    /// Uploads `path`, resuming the upload a previous run left for this same
    /// file (same path, size, modification time and edges). Dropping the
    /// future stops at once and leaves the upload resumable.
    pub async fn upload(
        &self,
        path: &Path,
        options: &UploadOptions,
        progress: &Progress,
    ) -> Result<UploadReport, ClientError> {
        let identity = FileIdentity::of(path).await?;
        if identity.size == 0 {
            return Err(ClientError::Usage(format!(
                "{} is empty; there is nothing to upload",
                path.display()
            )));
        }
        let tally = Arc::new(Tally::default());
        let progress = tally.hook(progress);
        let server = self.api.server().to_owned();

        // A resumable upload that storage dropped (aborted or expired there)
        // falls through to a new one.
        if let Some(record) = self.resumable(&server, &identity).await?
            && let Some(report) = self
                .resume_upload(record, &identity, options, &progress, &tally)
                .await?
        {
            return Ok(report);
        }

        let content_type = options
            .content_type
            .clone()
            .unwrap_or_else(|| guess_type(&identity.path).to_owned());
        let checksum_sha256 = if identity.size <= WHOLE_FILE_CHECKSUM_LIMIT {
            Some(file::file_sha256_base64(&identity.path).await?)
        } else {
            None
        };
        let mut request = CreateUpload {
            filename: file_name(&identity.path),
            content_type,
            size: identity.size,
            profile: options.profile.clone(),
            checksum_sha256,
            method: None,
            metadata: None,
        };
        let record = match self.api.create(&request).await {
            // Over the profile's multipart threshold: parts carry the checksums instead.
            Err(ClientError::Refused {
                code: ErrorCode::ChecksumPerPart,
                ..
            }) => {
                request.checksum_sha256 = None;
                self.api.create(&request).await?
            }
            other => other?,
        };
        match record.upload.clone() {
            Some(UploadInstructions::Put { url, headers }) => {
                progress(Event::Started {
                    upload_id: record.id,
                    total: identity.size,
                    already: 0,
                    resumed: false,
                });
                single::put(&self.api, &url, &headers, &identity, &progress).await?;
                let record = self.finish(&record, &identity, None, &progress).await?;
                Ok(report(record, false, 0, &tally))
            }
            Some(UploadInstructions::Multipart { .. }) => {
                // Remembered before the first byte, so a crash at any point resumes.
                self.resume.save(&ResumeEntry {
                    server: server.clone(),
                    upload_id: record.id,
                    file: identity.clone(),
                })?;
                let parts = match self
                    .send_parts(&record, &identity, Vec::new(), false, options, &progress)
                    .await?
                {
                    Followed::Sent(parts) => parts,
                    Followed::Settled(done) => return Ok(report(*done, false, 0, &tally)),
                };
                let record = self
                    .finish(&record, &identity, Some(parts.all), &progress)
                    .await?;
                Ok(report(record, false, 0, &tally))
            }
            Some(UploadInstructions::Post { .. }) | None => Err(ClientError::Protocol(
                "the server did not say how to send the bytes".into(),
            )),
        }
    }

    /// The recorded upload for this very file, still worth resuming, with the
    /// parts storage holds. A changed file's old upload is aborted (best effort)
    /// and forgotten: it is never resumed into.
    async fn resumable(
        &self,
        server: &str,
        identity: &FileIdentity,
    ) -> Result<Option<UploadRecord>, ClientError> {
        let Some(entry) = self.resume.find(server, &identity.path) else {
            return Ok(None);
        };
        if entry.file != *identity {
            tracing::info!(upload = %entry.upload_id, "the file changed since its upload started; starting over");
            let _ = self.api.abort(entry.upload_id).await;
            self.resume.remove(server, &identity.path);
            return Ok(None);
        }
        match self.api.get(entry.upload_id).await {
            Ok(record)
                if matches!(
                    record.status,
                    UploadStatus::Pending | UploadStatus::Uploading | UploadStatus::Completed
                ) && record.part_count.is_some() =>
            {
                Ok(Some(record))
            }
            // Expired, aborted, rejected or gone: start a new upload.
            Ok(_) | Err(ClientError::Refused { .. }) => {
                self.resume.remove(server, &identity.path);
                Ok(None)
            }
            Err(err) => Err(err),
        }
    }

    /// Finishes a recorded upload from where storage stands. `None` when there
    /// is nothing left to resume (storage dropped the parts): start a new one.
    async fn resume_upload(
        &self,
        record: UploadRecord,
        identity: &FileIdentity,
        options: &UploadOptions,
        progress: &Progress,
        tally: &Tally,
    ) -> Result<Option<UploadReport>, ClientError> {
        let server = self.api.server();
        if record.status == UploadStatus::Completed {
            self.resume.remove(server, &identity.path);
            return Ok(Some(report(record, true, identity.size, tally)));
        }
        let Some(already) = record.uploaded_parts.clone() else {
            // Storage holds no multipart upload any more: either a completion
            // (often our own, interrupted) is assembling it right now, and
            // completing waits for its answer, or it is gone.
            return match self.finish(&record, identity, None, progress).await {
                Ok(done) => Ok(Some(report(done, true, identity.size, tally))),
                Err(ClientError::Refused { .. }) => {
                    self.resume.remove(server, &identity.path);
                    Ok(None)
                }
                Err(err) => Err(err),
            };
        };
        let parts = match self
            .send_parts(&record, identity, already, true, options, progress)
            .await?
        {
            Followed::Sent(parts) => parts,
            Followed::Settled(done) => {
                return Ok(Some(report(*done, true, identity.size, tally)));
            }
        };
        let already_bytes = parts.already_bytes;
        let done = self
            .finish(&record, identity, Some(parts.all), progress)
            .await?;
        Ok(Some(report(done, true, already_bytes, tally)))
    }

    /// Sends the parts storage lacks, following the server when storage
    /// refuses a part for good (the multipart upload is gone: completed by
    /// another run of ours, or assembled by a completion that died) or the
    /// server says the upload moved on: its status is read again, and
    /// `completed` or `rejected` is the end, parts listed are taken as stored
    /// and the rest sent. Anything else is the refusal's error.
    async fn send_parts(
        &self,
        record: &UploadRecord,
        identity: &FileIdentity,
        mut already: Vec<uploadgate_api::UploadedPart>,
        mut resumed: bool,
        options: &UploadOptions,
        progress: &Progress,
    ) -> Result<Followed, ClientError> {
        let (Some(part_size), Some(part_count)) = (record.part_size, record.part_count) else {
            return Err(ClientError::Protocol(
                "a multipart upload without a part layout".into(),
            ));
        };
        let mut follows = 0;
        loop {
            let plan = Plan::new(part_size, part_count, identity.size, &already);
            progress(Event::Started {
                upload_id: record.id,
                total: identity.size,
                already: plan.already_bytes(),
                resumed,
            });
            let refusal = match multipart::send(
                &self.api,
                record.id,
                &identity.path,
                plan,
                options.parallel,
                progress,
            )
            .await
            {
                Ok(sent) => return Ok(Followed::Sent(sent)),
                Err(
                    err @ (ClientError::Storage(_)
                    | ClientError::Refused {
                        code: ErrorCode::UploadNotPending,
                        ..
                    }),
                ) if follows < MAX_FOLLOWS => err,
                Err(err) => return Err(err),
            };
            follows += 1;
            let current = self.api.get(record.id).await?;
            match current.status {
                UploadStatus::Completed | UploadStatus::Rejected => {
                    tracing::info!(upload = %record.id, status = current.status.as_str(), "the upload was settled meanwhile");
                    return self
                        .settled(current, identity)
                        .map(|done| Followed::Settled(Box::new(done)));
                }
                UploadStatus::Pending | UploadStatus::Uploading => {
                    let Some(stored) = current.uploaded_parts else {
                        return Err(refusal);
                    };
                    tracing::info!(upload = %record.id, stored = stored.len(), %refusal, "storage refused a part; sending what it lacks");
                    already = stored;
                    resumed = true;
                }
                _ => return Err(refusal),
            }
        }
    }

    /// Asks the server to verify; forgets the resume state once it has decided.
    async fn finish(
        &self,
        record: &UploadRecord,
        identity: &FileIdentity,
        parts: Option<Vec<CompletedPart>>,
        progress: &Progress,
    ) -> Result<UploadRecord, ClientError> {
        progress(Event::Verifying);
        // A store that names no part (Azure's Put Block answers without an
        // ETag) leaves the choice to the server, which lists what it holds.
        let parts = parts.filter(|all| all.iter().all(|p| !p.etag.is_empty()));
        let done = self
            .api
            .complete(record.id, &CompleteUpload { parts })
            .await?;
        self.settled(done, identity)
    }

    /// The server decided: the resume state is forgotten, and a rejection
    /// is an error.
    fn settled(
        &self,
        done: UploadRecord,
        identity: &FileIdentity,
    ) -> Result<UploadRecord, ClientError> {
        self.resume.remove(self.api.server(), &identity.path);
        if done.status == UploadStatus::Rejected {
            return Err(ClientError::Rejected(
                done.reject_reason
                    .unwrap_or_else(|| "it did not match what was declared".into()),
            ));
        }
        Ok(done)
    }
}

/// How often one upload's parts are re-planned from the server's answer
/// after storage refused one: enough for another run of ours or a crashed
/// completion, not a loop.
const MAX_FOLLOWS: u32 = 3;

/// What sending the parts came to.
enum Followed {
    Sent(multipart::Sent),
    /// The server settled the upload meanwhile (completed it).
    Settled(Box<UploadRecord>),
}

fn report(record: UploadRecord, resumed: bool, already: u64, tally: &Tally) -> UploadReport {
    UploadReport {
        record,
        resumed,
        bytes_sent: tally.sent.load(Ordering::Relaxed),
        bytes_already_stored: already,
        retries: tally.retries.load(Ordering::Relaxed),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| "file".to_owned(), |n| n.to_string_lossy().into_owned())
}

/// The media type for common extensions; the server checks the real type by
/// content at completion, so this only has to be right for honest files.
fn guess_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "svg" => "image/svg+xml",
        "pdf" => "application/pdf",
        "mp4" | "m4v" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "mkv" => "video/x-matroska",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "ogg" => "audio/ogg",
        "zip" => "application/zip",
        "gz" | "tgz" => "application/gzip",
        "tar" => "application/x-tar",
        "json" => "application/json",
        "csv" => "text/csv",
        "txt" | "log" => "text/plain",
        _ => "application/octet-stream",
    }
}
