//! The verdict on the object at an upload's final key: its size, its
//! sniffed type and (where storage could not check it) its checksum against
//! the declaration. It stays and the upload completes,
//! or it is deleted (with any staged copy) and the upload is rejected.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use uploadgate_api::UploadStatus;
use uuid::Uuid;

use super::super::{UploadError, Uploads};
use crate::db::Upload;
use crate::magic_bytes;
use crate::storage::{ObjectHead, StorageError, unquote_etag};

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
        if let Some(reason) = type_problem(&upload, &head) {
            return self.reject(upload, reason, token).await;
        }
        let start = self
            .store
            .read_start(&upload.key, &head.etag, magic_bytes::READ_LEN)
            .await?;
        if let Err(reason) = magic_bytes::check(&upload.content_type, &start) {
            return self.reject(upload, reason, token).await;
        }
        if let Some(reason) = self.checksum_problem(&upload, &head).await? {
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

    /// Why the object does not match `upload`'s declared SHA-256, when the
    /// store could not bind it into the upload's signature (Azure): it is
    /// then checked here, on the bytes as stored. Stores that bind it (S3)
    /// refused a mismatch already.
    async fn checksum_problem(
        &self,
        upload: &Upload,
        head: &ObjectHead,
    ) -> Result<Option<String>, UploadError> {
        let Some(declared) = &upload.checksum_sha256 else {
            return Ok(None);
        };
        if self.store.capabilities().signed_checksums {
            return Ok(None);
        }
        let mut object = self
            .store
            .open(&upload.key)
            .await?
            .ok_or(StorageError::Changed)?;
        if unquote_etag(&object.etag) != unquote_etag(&head.etag) {
            return Err(StorageError::Changed.into());
        }
        let digest = object
            .sha256(|_| {})
            .await
            .map_err(|e| StorageError::Unavailable(e.into()))?;
        let stored = STANDARD.encode(digest);
        Ok((stored != *declared)
            .then(|| format!("checksum mismatch: declared SHA-256 {declared}, received {stored}")))
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

/// Why the type storage will serve the object with is not the declared one.
/// S3 signs the type into the upload; Azure cannot, and keeps whatever the
/// client sent (`text/html` on a declared PNG would be served as HTML).
fn type_problem(upload: &Upload, head: &ObjectHead) -> Option<String> {
    let stored = head.content_type.as_deref()?;
    (!stored.eq_ignore_ascii_case(&upload.content_type))
        .then(|| format!("stored as {stored:?}, declared {:?}", upload.content_type))
}
