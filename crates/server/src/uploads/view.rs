//! Stored records as the API shows them.

use uploadgate_api::{Job as JobRecord, UploadRecord, UploadStatus};

use crate::db::{Job, Upload};

/// The record of `upload`, without links (see `Uploads::describe`).
pub fn record(upload: &Upload) -> UploadRecord {
    let layout = upload.multipart.as_ref().and_then(|m| m.layout);
    UploadRecord {
        id: upload.id,
        owner: upload.owner.clone(),
        status: upload.status,
        key: upload.key.clone(),
        profile: upload.profile.clone(),
        filename: upload.filename.clone(),
        content_type: upload.content_type.clone(),
        size: upload.size,
        checksum_sha256: upload.checksum_sha256.clone(),
        metadata: upload.metadata.clone(),
        created_at: upload.created_at,
        expires_at: upload.expires_at,
        completed_at: upload.completed_at,
        deleted_at: upload.deleted_at,
        reject_reason: upload.reject_reason.clone(),
        part_size: layout.map(|l| l.part_size),
        part_count: layout.map(|l| l.part_count),
        uploaded_parts: None,
        processing: upload.processing.clone().map(|mut processing| {
            if upload.status == UploadStatus::Deleted {
                // Gone with the file: no links to them.
                processing.thumbnails.clear();
            }
            processing
        }),
        upload: None,
    }
}

pub fn job_record(job: Job) -> JobRecord {
    JobRecord {
        id: job.id,
        upload_id: job.upload_id,
        kind: job.kind.as_str().to_owned(),
        state: job.state,
        attempts: job.attempts,
        last_error: job.last_error,
        run_at: job.run_at,
    }
}
