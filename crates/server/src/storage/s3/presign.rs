//! Presigned requests for clients, signed locally with `aws-sigv4` (no call
//! to the store): single PUTs, POST forms, GETs and multipart parts.

use std::time::{Duration, SystemTime};

use super::signer::{Batch, PostPolicy, Presign};
use super::{S3Store, encryption};
use crate::storage::encoding::attachment;
use crate::storage::{
    PartTarget, PresignedPart, PresignedPost, PresignedPut, StorageError, UploadTarget,
};

impl S3Store {
    /// A signing batch for now, with the current credentials.
    async fn batch(&self) -> Result<Batch, StorageError> {
        let credentials = self.credentials.get().await?;
        self.signer
            .at(&credentials, SystemTime::now())
            .map_err(|e| StorageError::Other(e.into()))
    }

    /// Presigns one request for `key` with the current credentials.
    async fn presign(
        &self,
        method: &str,
        key: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        expires_in: Duration,
    ) -> Result<String, StorageError> {
        let batch = self.batch().await?;
        Ok(batch.presign(&Presign {
            method,
            origin: &self.target.origin,
            host: &self.target.host,
            path: &self.path(key),
            query,
            headers,
            expires_in,
        }))
    }

    pub(super) async fn sign_put(
        &self,
        target: &UploadTarget<'_>,
    ) -> Result<PresignedPut, StorageError> {
        let length = target.size.to_string();
        let mut signed = vec![
            ("content-length", length.as_str()),
            ("content-type", target.content_type),
        ];
        if let Some(checksum) = target.checksum_sha256 {
            signed.push(("x-amz-checksum-sha256", checksum));
        }
        if let Some(sse) = target.sse {
            signed.extend(encryption::headers(sse));
        }
        let url = self
            .presign("PUT", target.key, &[], &signed, target.expires_in)
            .await?;
        // Browsers set Content-Length themselves and refuse to be told it.
        let headers = signed
            .iter()
            .filter(|(name, _)| *name != "content-length")
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        Ok(PresignedPut { url, headers })
    }

    pub(super) async fn sign_post(
        &self,
        target: &UploadTarget<'_>,
    ) -> Result<PresignedPost, StorageError> {
        let batch = self.batch().await?;
        let fields = batch
            .post_policy(&PostPolicy {
                bucket: &self.settings.bucket,
                key: &self.full_key(target.key),
                content_type: target.content_type,
                min_size: target.min_size,
                max_size: target.size,
                checksum_sha256: target.checksum_sha256,
                expires_in: target.expires_in,
                sse: target.sse,
            })
            .map_err(|e| StorageError::Other(e.into()))?;
        // A POST goes to the bucket itself; the key travels as a form field.
        Ok(PresignedPost {
            url: format!("{}{}", self.target.origin, self.target.prefix),
            fields: fields.into_iter().collect(),
        })
    }

    pub(super) async fn sign_get(
        &self,
        key: &str,
        filename: &str,
        expires_in: Duration,
    ) -> Result<String, StorageError> {
        let disposition = attachment(filename);
        self.presign(
            "GET",
            key,
            &[("response-content-disposition", &disposition)],
            &[],
            expires_in,
        )
        .await
    }

    pub(super) async fn sign_parts(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[PartTarget<'_>],
        expires_in: Duration,
    ) -> Result<Vec<PresignedPart>, StorageError> {
        let batch = self.batch().await?;
        let path = self.path(key);
        let mut signed = Vec::with_capacity(parts.len());
        for part in parts {
            let number = part.part_number.to_string();
            let length = part.size.map(|n| n.to_string());
            let mut headers: Vec<(&str, &str)> = Vec::with_capacity(2);
            if let Some(length) = &length {
                headers.push(("content-length", length));
            }
            if let Some(checksum) = part.checksum_sha256 {
                headers.push(("x-amz-checksum-sha256", checksum));
            }
            let url = batch.presign(&Presign {
                method: "PUT",
                origin: &self.target.origin,
                host: &self.target.host,
                path: &path,
                query: &[("partNumber", &number), ("uploadId", upload_id)],
                headers: &headers,
                expires_in,
            });
            signed.push(PresignedPart {
                part_number: part.part_number,
                url,
                headers: part
                    .checksum_sha256
                    .map(|c| [("x-amz-checksum-sha256".to_owned(), c.to_owned())].into())
                    .unwrap_or_default(),
            });
        }
        Ok(signed)
    }
}
