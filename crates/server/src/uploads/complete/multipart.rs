//! Completing a multipart upload: reconcile the parts storage holds with the
//! layout (or the client's list), have storage assemble them, then check the
//! assembled object like any other.

use uploadgate_api::CompletedPart;

use super::super::{Invalid, UploadError, Uploads};
use crate::db::{Multipart, Upload};
use crate::multipart::{check_client_parts, missing_parts, usable_parts};
use crate::storage::{StorageError, unquote_etag};

impl Uploads {
    pub(super) async fn complete_multipart(
        &self,
        upload: Upload,
        multipart: &Multipart,
        client_parts: Option<&[CompletedPart]>,
    ) -> Result<Upload, UploadError> {
        let stored = match self
            .store
            .list_parts(&upload.key, &multipart.upload_id)
            .await
        {
            Ok(stored) => stored,
            Err(StorageError::NoSuchUpload) => {
                // Assembled by an earlier attempt that died before recording it?
                return match self.store.head(&upload.key).await? {
                    Some(head) => {
                        let key = upload.key.clone();
                        self.check_and_finish(upload, &key, head).await
                    }
                    None => Err(StorageError::NoSuchUpload.into()),
                };
            }
            Err(err) => return Err(err.into()),
        };

        let usable = match &multipart.layout {
            Some(layout) => {
                let missing = missing_parts(layout, &stored);
                if !missing.is_empty() {
                    return Err(UploadError::MissingParts(missing));
                }
                usable_parts(layout, &stored)
            }
            None => {
                let wanted: Vec<u32> = match client_parts {
                    Some(given) => given.iter().map(|p| p.part_number).collect(),
                    None => stored.iter().map(|p| p.part_number).collect(),
                };
                check_client_parts(&stored, &wanted).map_err(UploadError::InvalidParts)?
            }
        };
        for given in client_parts.into_iter().flatten() {
            let Some(held) = usable.iter().find(|p| p.part_number == given.part_number) else {
                return Err(Invalid::field(
                    "parts",
                    format!("parts: {} is not a part of this upload", given.part_number),
                )
                .into());
            };
            if unquote_etag(&held.etag) != unquote_etag(&given.etag) {
                return Err(UploadError::EtagMismatch {
                    part: given.part_number,
                    held: held.etag.clone(),
                    given: given.etag.clone(),
                });
            }
        }

        // The server, not the client, decides which parts make the object.
        let parts: Vec<(u32, String)> = usable
            .iter()
            .map(|p| (p.part_number, p.etag.clone()))
            .collect();
        self.store
            .complete_multipart(&upload.key, &multipart.upload_id, &parts)
            .await?;
        let head = self.store.head(&upload.key).await?.ok_or_else(|| {
            UploadError::Internal("object missing right after completing its parts".into())
        })?;
        let key = upload.key.clone();
        self.check_and_finish(upload, &key, head).await
    }
}
