//! The verdict on the object at an upload's final key: its size and its
//! sniffed type against the declaration. It stays and the upload completes,
//! or it is deleted (with any staged copy) and the upload is rejected.

use uploadgate_api::UploadStatus;
use uuid::Uuid;

use super::super::{UploadError, Uploads};
use crate::db::Upload;
use crate::magic_bytes;
use crate::storage::ObjectHead;

impl Uploads {
    /// Checks the object at `upload.key` (whose HEAD is `head`) and records
    /// the outcome. Only uploadgate writes that key, so what is checked is
    /// what stays.
    pub(super) async fn check_and_finish(
        &self,
        upload: Upload,
        head: ObjectHead,
        token: Uuid,
    ) -> Result<Upload, UploadError> {
        if let Some(reason) = self.size_problem(&upload, head.size) {
            return self.reject(upload, reason, token).await;
        }
        let start = self
            .store
            .read_start(&upload.key, &head.etag, magic_bytes::READ_LEN)
            .await?;
        if let Err(reason) = magic_bytes::check(&upload.content_type, &start) {
            return self.reject(upload, reason, token).await;
        }
        if upload.multipart.is_none()
            && let Err(err) = self.store.delete(&upload.staging_key).await
        {
            tracing::warn!(upload = %upload.id, %err, "could not delete a promoted staging object");
        }
        self.finish(
            upload,
            UploadStatus::Completed,
            None,
            Some(head.size),
            token,
        )
        .await
    }

    /// Why `size` bytes cannot complete `upload`: not its declared size or,
    /// undeclared, outside its profile's range.
    pub(super) fn size_problem(&self, upload: &Upload, size: u64) -> Option<String> {
        match upload.size {
            Some(declared) if declared != size => Some(format!(
                "size mismatch: declared {declared} bytes, received {size}"
            )),
            Some(_) => None,
            None => {
                let max = self.profile_of(&upload.profile).map_or(0, |p| p.max_size);
                (size == 0 || size > max)
                    .then(|| format!("{size} bytes is outside this profile's 1 to {max} bytes"))
            }
        }
    }

    /// Rejects `upload` and deletes what it left: the object at its key, if
    /// any, and its staged object. The claim is confirmed first: a completer
    /// taken over while it stalled must not delete what its successor kept.
    pub(super) async fn reject(
        &self,
        upload: Upload,
        reason: String,
        token: Uuid,
    ) -> Result<Upload, UploadError> {
        tracing::info!(upload = %upload.id, %reason, "upload rejected");
        self.confirm_claim(upload.id, token).await?;
        self.store.delete(&upload.key).await?;
        self.store.delete(&upload.staging_key).await?;
        self.finish(upload, UploadStatus::Rejected, Some(reason), None, token)
            .await
    }
}
