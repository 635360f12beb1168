//! Large files as block blobs: each part a block (Put Block, on a SAS URL
//! the client is handed), whose id is derived from the upload and the part
//! number. Azure has no upload session: the "upload id" is uploadgate's own,
//! and tells this upload's blocks from any other's sent to the same name.
//!
//! The blocks go to the upload's staging blob, never to its final name: a
//! write SAS lets its holder rewrite a blob whole (Put Blob, properties,
//! leases) until it expires, and no SAS can be revoked. Assembling commits
//! the block list there, then the server copies the committed blob to the
//! final name (which only it ever writes) and deletes the staging blob, as
//! a single upload is promoted.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use reqwest::{Method, StatusCode};
use serde::Deserialize;

use super::errors::Refusal;
use super::{AzureStore, Call, read_xml};
use crate::keys;
use crate::storage::{StorageError, StoredPart, own_upload_id};

/// The block id of part `number`: base64 of the upload id and the number in
/// eight digits (24 bytes, so no padding).
pub(super) fn block_id(upload_id: &str, number: u32) -> Result<String, StorageError> {
    own_upload_id::check(upload_id, "Azure")?;
    Ok(STANDARD.encode(format!("{upload_id}{number:08}")))
}

/// The part number of `id` if it is one of `upload_id`'s blocks: the upload
/// id and exactly eight digits (so `+0000001` cannot pose as part 1).
fn part_of(upload_id: &str, id: &str) -> Option<u32> {
    let raw = STANDARD.decode(id).ok()?;
    let digits = raw.strip_prefix(upload_id.as_bytes())?;
    if digits.len() != 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The ETag of the blob a Put Block List made: what its promotion, or its
/// deletion on abort, is conditioned on.
fn committed_etag(response: &reqwest::Response) -> Result<String, StorageError> {
    response
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| StorageError::Other("Put Block List answered without an ETag".into()))
}

/// Where the blocks of the upload whose final key is `key` go: its staging
/// blob, named by the upload id the key ends in.
pub(super) fn blocks_key(key: &str) -> Result<String, StorageError> {
    keys::upload_id(key)
        .map(keys::staging_key)
        .ok_or_else(|| StorageError::Other(format!("{key:?} is not the key of an upload").into()))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BlockList {
    #[serde(default)]
    committed_blocks: Blocks,
    #[serde(default)]
    uncommitted_blocks: Blocks,
}

#[derive(Debug, Default, Deserialize)]
struct Blocks {
    #[serde(rename = "Block", default)]
    block: Vec<Block>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Block {
    name: String,
    size: u64,
}

impl AzureStore {
    /// This upload's blocks Azure holds, sorted by part number: uncommitted
    /// ones, or (after a crash between commit and promotion) committed ones
    /// not yet at the final name. None when nothing was sent yet, or it was
    /// aborted or dropped by Azure. `NoSuchUpload` once the file is at its
    /// final name: as on S3, the upload is then over.
    pub(super) async fn held_blocks(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<StoredPart>, StorageError> {
        let query = [("comp", "blocklist"), ("blocklisttype", "all")];
        let response = self
            .send(Call::new(
                Method::GET,
                self.blob_path(&blocks_key(key)?),
                &query,
            ))
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return match self.head_blob(key).await? {
                Some(_) => Err(StorageError::NoSuchUpload),
                None => Ok(Vec::new()),
            };
        }
        if !response.status().is_success() {
            return Err(Refusal::of(&response, "Get Block List").into_error());
        }
        let list: BlockList = read_xml(response, "Get Block List").await?;
        let committed = !list.committed_blocks.block.is_empty();
        if committed && self.head_blob(key).await?.is_some() {
            return Err(StorageError::NoSuchUpload);
        }
        // Put Block List's `Latest`: an uncommitted block wins over a
        // committed one of the same id.
        let mut parts: std::collections::BTreeMap<u32, StoredPart> = Default::default();
        for block in list
            .committed_blocks
            .block
            .into_iter()
            .chain(list.uncommitted_blocks.block)
        {
            if let Some(part_number) = part_of(upload_id, &block.name) {
                parts.insert(
                    part_number,
                    StoredPart {
                        part_number,
                        size: block.size,
                        etag: block.name,
                        last_modified: None,
                    },
                );
            }
        }
        Ok(parts.into_values().collect())
    }

    /// Put Block List making `blob` exactly the blocks `ids`, in order
    /// (`Latest`: uncommitted if sent again, else committed).
    fn put_block_list(&self, blob: &str, ids: &[String]) -> Result<Call<'static>, StorageError> {
        let mut xml = String::from(r#"<?xml version="1.0" encoding="utf-8"?><BlockList>"#);
        for id in ids {
            xml.push_str("<Latest>");
            xml.push_str(id);
            xml.push_str("</Latest>");
        }
        xml.push_str("</BlockList>");
        Ok(
            Call::new(Method::PUT, self.blob_path(blob), &[("comp", "blocklist")])
                .header("content-type", "application/xml")?
                .body(Bytes::from(xml)),
        )
    }

    /// Put Block List on the staging blob (exactly `parts`, in order, of
    /// `content_type`; blocks left out are discarded), then promotion: a
    /// copy to the final name under the committed version's ETag, and the
    /// staging blob deleted.
    pub(super) async fn commit_blocks(
        &self,
        key: &str,
        upload_id: &str,
        content_type: &str,
        parts: &[(u32, String)],
    ) -> Result<(), StorageError> {
        let staging = blocks_key(key)?;
        let ids = parts
            .iter()
            .map(|(number, _)| block_id(upload_id, *number))
            .collect::<Result<Vec<_>, _>>()?;
        let call = self
            .put_block_list(&staging, &ids)?
            .header("x-ms-blob-content-type", content_type)?;
        let response = self.send(call).await?;
        if !response.status().is_success() {
            return Err(Refusal::of(&response, "Put Block List").into_error());
        }
        let etag = committed_etag(&response)?;
        // A crash from here to the copy leaves a committed staging blob,
        // which the next completion commits again and promotes; the crash
        // test aims its kills at this line too.
        tracing::info!(blob = %staging, "committed the block list; promoting it");
        self.copy_blob(&staging, key, &etag).await?;
        if let Err(err) = self.delete_blob(&staging, None).await {
            // The janitor deletes staged blobs of settled uploads.
            tracing::warn!(blob = %staging, %err, "could not delete a promoted staging blob");
        }
        Ok(())
    }

    /// Discards the blocks sent for `key`: committing an empty list on its
    /// staging blob drops every uncommitted block, and the empty blob it
    /// makes is deleted. A staging blob already committed (an assembly under
    /// way, or cut short) is left to the janitor, which deletes staged blobs
    /// of settled uploads; the final name is never touched.
    pub(super) async fn drop_blocks(&self, key: &str) -> Result<(), StorageError> {
        let staging = blocks_key(key)?;
        let call = self
            .put_block_list(&staging, &[])?
            .header("if-none-match", "*")?;
        let response = self.send(call).await?;
        match response.status() {
            status if status.is_success() => {
                let etag = committed_etag(&response)?;
                self.delete_blob(&staging, Some(&etag)).await
            }
            // The blob exists already (If-None-Match), committed.
            StatusCode::PRECONDITION_FAILED | StatusCode::CONFLICT => Ok(()),
            _ => Err(Refusal::of(&response, "Put Block List (abort)").into_error()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_ids_are_equal_length_and_name_their_upload_and_part() {
        let upload = own_upload_id::new();
        let first = block_id(&upload, 1).expect("id");
        let last = block_id(&upload, 50_000).expect("id");
        assert_eq!(first.len(), last.len());
        assert!(!first.contains('='));
        assert_eq!(part_of(&upload, &last), Some(50_000));
        assert_eq!(
            part_of(&own_upload_id::new(), &last),
            None,
            "another upload's block"
        );
        assert!(block_id("../../etc", 1).is_err());
    }

    #[test]
    fn a_block_list_reads_its_uncommitted_blocks() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?><BlockList><CommittedBlocks /><UncommittedBlocks><Block><Name>QQ==</Name><Size>5</Size></Block><Block><Name>Qg==</Name><Size>7</Size></Block></UncommittedBlocks></BlockList>"#;
        let list: BlockList = quick_xml::de::from_str(xml).expect("parses");
        let sizes: Vec<u64> = list
            .uncommitted_blocks
            .block
            .iter()
            .map(|b| b.size)
            .collect();
        assert_eq!(sizes, [5, 7]);
        let empty: BlockList =
            quick_xml::de::from_str("<BlockList><UncommittedBlocks /></BlockList>")
                .expect("parses");
        assert!(empty.uncommitted_blocks.block.is_empty());
    }
}
