//! Completing a multipart upload: reconcile the parts storage holds with the
//! layout (or the client's list), have storage assemble them at the final
//! key, then check the assembled object like any other.

use uploadgate_api::CompletedPart;
use uuid::Uuid;

use super::super::{Invalid, UploadError, Uploads};
use crate::db::{Multipart, Upload};
use crate::multipart::{check_client_parts, missing_parts, usable_parts};
use crate::storage::unquote_etag;

impl Uploads {
    pub(super) async fn complete_multipart(
        &self,
        upload: Upload,
        multipart: &Multipart,
        client_parts: Option<&[CompletedPart]>,
        token: Uuid,
    ) -> Result<Upload, UploadError> {
        // Only storage's assembly writes the final key: an object there was
        // assembled by a completion that died before recording it.
        if let Some(head) = self.store.head(&upload.key).await? {
            return self.check_and_finish(upload, head, token).await;
        }
        let stored = self
            .store
            .list_parts(&upload.key, &multipart.upload_id)
            .await?;

        let usable = match &multipart.layout {
            Some(layout) => {
                let missing = missing_parts(layout, &stored);
                if !missing.is_empty() {
                    return Err(UploadError::MissingParts(missing));
                }
                usable_parts(layout, &stored)
            }
            None => {
                // The client chose its parts, so only it knows which make the
                // file: without its list, whatever happens to be stored (part
                // of a file, say) would be assembled.
                let Some(given) = client_parts else {
                    return Err(UploadError::InvalidParts(
                        "this upload's client chose its own parts: complete it with their list"
                            .into(),
                    ));
                };
                let wanted: Vec<u32> = given.iter().map(|p| p.part_number).collect();
                check_client_parts(&stored, &wanted, &self.store.part_limits())
                    .map_err(UploadError::InvalidParts)?
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
            // Empty: storage answered the part without an ETag (Azure).
            if !given.etag.is_empty() && unquote_etag(&held.etag) != unquote_etag(&given.etag) {
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
            .complete_multipart(
                &upload.key,
                &multipart.upload_id,
                &upload.content_type,
                &parts,
            )
            .await?;
        // From here to the record, a crash leaves an object nobody recorded,
        // which a status read or the janitor completes (`converge`); the
        // crash test aims its kills at this line.
        tracing::info!(upload = %upload.id, parts = parts.len(), "storage assembled the parts");
        let head = self.store.head(&upload.key).await?.ok_or_else(|| {
            UploadError::Internal("object missing right after completing its parts".into())
        })?;
        self.check_and_finish(upload, head, token).await
    }
}
