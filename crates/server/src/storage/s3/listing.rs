//! Listing what the bucket holds for the janitor: open multipart uploads, and
//! staged objects.

use time::OffsetDateTime;

use super::{S3Store, classify, not_implemented};
use crate::keys::STAGING_PREFIX;
use crate::storage::{OpenMultipart, StagedObject, StorageError};

impl S3Store {
    /// Pages through ListMultipartUploads, keeping those started before `before`.
    /// `None` when the store does not implement the call.
    pub(super) async fn open_multipart_uploads(
        &self,
        before: OffsetDateTime,
        limit: usize,
    ) -> Result<Option<Vec<OpenMultipart>>, StorageError> {
        let mut found = Vec::new();
        let mut key_marker: Option<String> = None;
        let mut upload_id_marker: Option<String> = None;
        loop {
            let result = self
                .client
                .list_multipart_uploads()
                .bucket(&self.settings.bucket)
                .prefix(&self.settings.key_prefix)
                .set_key_marker(key_marker.clone())
                .set_upload_id_marker(upload_id_marker.clone())
                .send()
                .await;
            let out = match result {
                Ok(out) => out,
                Err(err) if not_implemented(&err) => return Ok(None),
                Err(err) => return Err(classify(err)),
            };
            for upload in out.uploads() {
                let (Some(key), Some(upload_id)) = (
                    upload
                        .key()
                        .and_then(|k| k.strip_prefix(self.settings.key_prefix.as_str())),
                    upload.upload_id(),
                ) else {
                    continue;
                };
                let initiated = upload
                    .initiated()
                    .and_then(|t| OffsetDateTime::from_unix_timestamp(t.secs()).ok());
                // Without a start time the age is unknown: leave it to the lifecycle rule.
                if initiated.is_some_and(|at| at < before) {
                    found.push(OpenMultipart {
                        key: key.to_owned(),
                        upload_id: upload_id.to_owned(),
                    });
                }
            }
            let next = (
                out.next_key_marker().map(str::to_owned),
                out.next_upload_id_marker().map(str::to_owned),
            );
            if out.is_truncated() != Some(true)
                || found.len() >= limit
                || next.0.is_none()
                || (next.0 == key_marker && next.1 == upload_id_marker)
            {
                found.truncate(limit);
                return Ok(Some(found));
            }
            (key_marker, upload_id_marker) = next;
        }
    }

    /// Pages through ListObjectsV2 under the staging prefix, up to `limit`.
    pub(super) async fn staged_objects(
        &self,
        limit: usize,
    ) -> Result<Vec<StagedObject>, StorageError> {
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .list_objects_v2()
                .bucket(&self.settings.bucket)
                .prefix(self.full_key(STAGING_PREFIX))
                .set_continuation_token(token.clone())
                .send()
                .await
                .map_err(classify)?;
            for object in out.contents() {
                let Some(key) = object
                    .key()
                    .and_then(|k| k.strip_prefix(self.settings.key_prefix.as_str()))
                else {
                    continue;
                };
                found.push(StagedObject {
                    key: key.to_owned(),
                    last_modified: object
                        .last_modified()
                        .and_then(|t| OffsetDateTime::from_unix_timestamp(t.secs()).ok()),
                });
            }
            let next = out.next_continuation_token().map(str::to_owned);
            if out.is_truncated() != Some(true)
                || found.len() >= limit
                || next.is_none()
                || next == token
            {
                found.truncate(limit);
                return Ok(found);
            }
            token = next;
        }
    }
}
