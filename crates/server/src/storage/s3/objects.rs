//! Reading whole objects and writing small ones, for post-processing.

use bytes::Bytes;

use super::{S3Store, classify, encryption, is_not_found};
use crate::storage::{ObjectReader, Sse, StorageError};

impl S3Store {
    pub(super) async fn open_object(
        &self,
        key: &str,
    ) -> Result<Option<ObjectReader>, StorageError> {
        let result = self
            .client
            .get_object()
            .bucket(&self.settings.bucket)
            .key(self.full_key(key))
            .send()
            .await;
        match result {
            Ok(out) => Ok(Some(ObjectReader {
                size: out
                    .content_length()
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or(0),
                etag: out.e_tag().unwrap_or_default().to_owned(),
                body: Box::pin(out.body.into_async_read()),
            })),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(classify(err)),
        }
    }

    pub(super) async fn put_object(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
        sse: Option<&Sse>,
    ) -> Result<(), StorageError> {
        self.client
            .put_object()
            .bucket(&self.settings.bucket)
            .key(self.full_key(key))
            .content_type(content_type)
            .set_server_side_encryption(sse.map(encryption::algorithm))
            .set_ssekms_key_id(sse.and_then(Sse::kms_key_id).map(str::to_owned))
            .body(body.into())
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}
