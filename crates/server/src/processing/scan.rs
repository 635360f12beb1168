//! `scan`: stream the object through ClamAV; quarantine what it flags.

use uploadgate_api::{Processing, ProcessingState, ScanResult};

use super::ProcessError;
use super::clamd::{self, ClamdError, Verdict};
use crate::db::Upload;
use crate::keys;
use crate::uploads::Uploads;

pub async fn run(
    uploads: &Uploads,
    upload: &Upload,
    processing: &mut Processing,
) -> Result<(), ProcessError> {
    let settings = &uploads.config.scan;
    let address = settings
        .clamd
        .as_deref()
        .ok_or_else(|| ProcessError::Permanent("scan.clamd is not configured".into()))?;
    let quarantined_key = keys::quarantine_key(upload.id);
    let Some(mut object) = uploads.store.open(&upload.key).await? else {
        if uploads.store.head(&quarantined_key).await?.is_some() {
            // Moved by an earlier attempt that died before recording it.
            quarantine(uploads, upload, processing, None).await?;
            return Ok(());
        }
        return Err(ProcessError::Permanent(
            "the object is not in storage".into(),
        ));
    };
    let verdict = tokio::time::timeout(settings.timeout, clamd::scan(address, &mut object.body))
        .await
        .map_err(|_| ProcessError::Retry(format!("scan took longer than {:?}", settings.timeout)))?
        .map_err(|err| match err {
            ClamdError::Io(_) => ProcessError::Retry(err.to_string()),
            ClamdError::Refused(_) => ProcessError::Permanent(err.to_string()),
        })?;
    match verdict {
        Verdict::Clean => {
            processing.scan = Some(ScanResult {
                verdict: "clean".into(),
                signature: None,
            });
        }
        Verdict::Infected(signature) => {
            tracing::warn!(upload = %upload.id, %signature, "infected upload found");
            if settings.quarantine == "move" {
                // Encrypted as the profile asks: a copy does not keep its source's encryption.
                let sse = uploads.config.encryption(&upload.profile);
                uploads
                    .store
                    .copy(&upload.key, &quarantined_key, &object.etag, sse.as_ref())
                    .await?;
            }
            uploads.store.delete(&upload.key).await?;
            quarantine(uploads, upload, processing, Some(signature)).await?;
        }
    }
    Ok(())
}

/// Records the quarantine, and removes what was made from the file so far.
async fn quarantine(
    uploads: &Uploads,
    upload: &Upload,
    processing: &mut Processing,
    signature: Option<String>,
) -> Result<(), ProcessError> {
    for thumbnail in processing.thumbnails.drain(..) {
        uploads.store.delete(&thumbnail.key).await?;
    }
    processing.state = ProcessingState::Quarantined;
    processing.scan = Some(ScanResult {
        verdict: "infected".into(),
        signature,
    });
    tracing::info!(upload = %upload.id, "upload quarantined");
    Ok(())
}
