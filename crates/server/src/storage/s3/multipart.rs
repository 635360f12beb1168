//! Multipart uploads in the store: start, list what landed, assemble, abort.

use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use time::OffsetDateTime;

use super::{S3Store, classify, encryption};
use crate::storage::{Sse, StorageError, StoredPart};

impl S3Store {
    pub(super) async fn create_multipart_upload(
        &self,
        key: &str,
        content_type: &str,
        sse: Option<&Sse>,
    ) -> Result<String, StorageError> {
        let out = self
            .client
            .create_multipart_upload()
            .set_server_side_encryption(sse.map(encryption::algorithm))
            .set_ssekms_key_id(sse.and_then(Sse::kms_key_id).map(str::to_owned))
            .bucket(&self.settings.bucket)
            .key(self.full_key(key))
            .content_type(content_type)
            .send()
            .await
            .map_err(classify)?;
        out.upload_id()
            .map(str::to_owned)
            .ok_or_else(|| StorageError::Other("storage returned no upload id".into()))
    }

    pub(super) async fn list_all_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<StoredPart>, StorageError> {
        let mut parts = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .client
                .list_parts()
                .bucket(&self.settings.bucket)
                .key(self.full_key(key))
                .upload_id(upload_id)
                .set_part_number_marker(marker.clone())
                .send()
                .await
                .map_err(classify)?;
            for part in out.parts() {
                let (Some(number), Some(etag)) = (part.part_number(), part.e_tag()) else {
                    continue;
                };
                parts.push(StoredPart {
                    part_number: u32::try_from(number).unwrap_or(0),
                    size: part.size().and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
                    etag: etag.to_owned(),
                    last_modified: part
                        .last_modified()
                        .and_then(|t| OffsetDateTime::from_unix_timestamp(t.secs()).ok()),
                });
            }
            let next = out.next_part_number_marker().map(str::to_owned);
            // Some stores (s3s-fs) never page; others may omit the marker on the last page.
            if out.is_truncated() != Some(true) || next.is_none() || next == marker {
                break;
            }
            marker = next;
        }
        // Stores do not all sort; callers rely on it.
        parts.sort_by_key(|p| p.part_number);
        parts.dedup_by_key(|p| p.part_number);
        Ok(parts)
    }

    pub(super) async fn complete_multipart_upload(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> Result<(), StorageError> {
        let completed = parts
            .iter()
            .map(|(number, etag)| {
                CompletedPart::builder()
                    .part_number(i32::try_from(*number).unwrap_or(i32::MAX))
                    .e_tag(etag)
                    .build()
            })
            .collect();
        self.client
            .complete_multipart_upload()
            .bucket(&self.settings.bucket)
            .key(self.full_key(key))
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(completed))
                    .build(),
            )
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    pub(super) async fn abort_multipart_upload(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<(), StorageError> {
        match self
            .client
            .abort_multipart_upload()
            .bucket(&self.settings.bucket)
            .key(self.full_key(key))
            .upload_id(upload_id)
            .send()
            .await
            .map_err(classify)
        {
            Ok(_) | Err(StorageError::NoSuchUpload) => Ok(()),
            Err(err) => Err(err),
        }
    }
}
