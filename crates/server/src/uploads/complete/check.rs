//! The verdict on an object that landed: its size and its sniffed type
//! against the declaration; then promote it, or reject it and delete it.

use uploadgate_api::UploadStatus;

use super::super::{UploadError, Uploads};
use crate::db::Upload;
use crate::sniff;
use crate::storage::ObjectHead;

impl Uploads {
    /// Checks the object at `source` (size, sniffed type) and, when it passes, makes it
    /// the upload's object: promoted from staging, or already in place for multipart.
    pub(super) async fn check_and_finish(
        &self,
        upload: Upload,
        source: &str,
        head: ObjectHead,
    ) -> Result<Upload, UploadError> {
        let size_problem = match upload.size {
            Some(declared) if declared != head.size => Some(format!(
                "size mismatch: declared {declared} bytes, received {}",
                head.size
            )),
            Some(_) => None,
            // Undeclared: hold it to the profile instead.
            None => {
                let max = self.profile_of(&upload.profile).map_or(0, |p| p.max_size);
                (head.size == 0 || head.size > max).then(|| {
                    format!(
                        "{} bytes is outside this profile's 1 to {max} bytes",
                        head.size
                    )
                })
            }
        };
        if let Some(reason) = size_problem {
            return self.reject(upload, source, reason).await;
        }
        let start = self
            .store
            .read_start(source, &head.etag, sniff::SNIFF_LEN)
            .await?;
        if let Err(reason) = sniff::check(&upload.content_type, &start) {
            return self.reject(upload, source, reason).await;
        }
        if source != upload.key {
            let sse = self.config.encryption(&upload.profile);
            self.store
                .copy(source, &upload.key, &head.etag, sse.as_ref())
                .await?;
            if let Err(err) = self.store.delete(source).await {
                tracing::warn!(upload = %upload.id, %err, "could not delete a promoted staging object");
            }
        }
        self.finish(upload, UploadStatus::Completed, None, Some(head.size))
            .await
    }

    async fn reject(
        &self,
        upload: Upload,
        source: &str,
        reason: String,
    ) -> Result<Upload, UploadError> {
        tracing::info!(upload = %upload.id, %reason, "upload rejected");
        self.store.delete(source).await?;
        self.finish(upload, UploadStatus::Rejected, Some(reason), None)
            .await
    }
}
