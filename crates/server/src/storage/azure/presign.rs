//! What clients are handed: SAS URLs for one blob each, signed locally.

use std::time::Duration;

use time::OffsetDateTime;

use super::AzureStore;
use super::blocks::{block_id, blocks_key};
use super::sas::BlobSas;
use crate::storage::encoding::{attachment, percent_encode};
use crate::storage::{PartTarget, PresignedPart, PresignedPut, StorageError, UploadTarget};

impl AzureStore {
    /// A SAS URL for `key`'s blob allowing `permissions` for `expires_in`.
    fn sas_url(
        &self,
        key: &str,
        permissions: &str,
        expires_in: Duration,
        disposition: Option<&str>,
    ) -> String {
        let resource = format!(
            "/blob/{}/{}/{}",
            self.account,
            self.container,
            self.blob_name(key)
        );
        let token = self.key.blob_sas(&BlobSas {
            permissions,
            expiry: OffsetDateTime::now_utc() + expires_in,
            resource: &resource,
            disposition,
        });
        format!("{}{}?{token}", self.origin, self.blob_path(key))
    }

    /// Create and write, for one staging blob. The SAS binds neither size nor
    /// type: completion checks both and deletes a blob that does not match.
    pub(super) fn sign_put(&self, target: &UploadTarget<'_>) -> PresignedPut {
        PresignedPut {
            url: self.sas_url(target.key, "cw", target.expires_in, None),
            headers: [
                ("x-ms-blob-type".to_owned(), "BlockBlob".to_owned()),
                ("content-type".to_owned(), target.content_type.to_owned()),
            ]
            .into(),
        }
    }

    /// Read, answering with `Content-Disposition: attachment` so a browser
    /// downloads rather than renders.
    pub(super) fn sign_get(&self, key: &str, filename: &str, expires_in: Duration) -> String {
        self.sas_url(key, "r", expires_in, Some(&attachment(filename)))
    }

    /// One Put Block URL per part, all under one write SAS for the upload's
    /// staging blob (a SAS cannot bind a block id, so one signature serves
    /// them all; see `blocks` for why never the final name).
    pub(super) fn sign_blocks(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[PartTarget<'_>],
        expires_in: Duration,
    ) -> Result<Vec<PresignedPart>, StorageError> {
        let base = self.sas_url(&blocks_key(key)?, "w", expires_in, None);
        parts
            .iter()
            .map(|part| {
                let id = block_id(upload_id, part.part_number)?;
                Ok(PresignedPart {
                    part_number: part.part_number,
                    url: format!("{base}&comp=block&blockid={}", percent_encode(&id, b"-._~")),
                    headers: Default::default(),
                })
            })
            .collect()
    }
}
