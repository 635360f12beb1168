//! Large files as block blobs: each part a block (Put Block, on a SAS URL
//! the client is handed), whose id is derived from the upload and the part
//! number; the blob is assembled by committing the block list. Azure has no
//! upload session: the "upload id" is uploadgate's own, and tells this
//! upload's blocks from any other's sent to the same name.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use reqwest::{Method, StatusCode};
use serde::Deserialize;

use super::errors::Refusal;
use super::{AzureStore, Call, read_xml};
use crate::storage::{StorageError, StoredPart};

/// Upload ids are this many lowercase hex digits, so that every block id of
/// a blob has the same length (Azure requires it).
const UPLOAD_ID_LEN: usize = 16;

pub(super) fn new_upload_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..UPLOAD_ID_LEN].to_owned()
}

/// The block id of part `number`: base64 of the upload id and the number in
/// eight digits (24 bytes, so no padding).
pub(super) fn block_id(upload_id: &str, number: u32) -> Result<String, StorageError> {
    if upload_id.len() != UPLOAD_ID_LEN || !upload_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(StorageError::Other(
            format!("{upload_id:?} is not an upload id of this Azure store").into(),
        ));
    }
    Ok(STANDARD.encode(format!("{upload_id}{number:08}")))
}

/// The part number of `id` if it is one of `upload_id`'s blocks.
fn part_of(upload_id: &str, id: &str) -> Option<u32> {
    let raw = STANDARD.decode(id).ok()?;
    let raw = std::str::from_utf8(&raw).ok()?;
    raw.strip_prefix(upload_id)?.parse().ok()
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
    /// This upload's blocks Azure holds uncommitted, sorted by part number;
    /// none when the blob has no blocks (none sent yet, aborted, or dropped
    /// by Azure). `NoSuchUpload` once a block list was committed: as on S3,
    /// the upload is then over (only its assembly writes that name).
    pub(super) async fn uncommitted_blocks(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<StoredPart>, StorageError> {
        let query = [("comp", "blocklist"), ("blocklisttype", "all")];
        let response = self
            .send(Call::new(Method::GET, self.blob_path(key), &query))
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(Vec::new());
        }
        if !response.status().is_success() {
            return Err(Refusal::of(&response, "Get Block List").into_error());
        }
        let list: BlockList = read_xml(response, "Get Block List").await?;
        if !list.committed_blocks.block.is_empty() {
            return Err(StorageError::NoSuchUpload);
        }
        let mut parts: Vec<StoredPart> = list
            .uncommitted_blocks
            .block
            .into_iter()
            .filter_map(|block| {
                Some(StoredPart {
                    part_number: part_of(upload_id, &block.name)?,
                    size: block.size,
                    etag: block.name,
                    last_modified: None,
                })
            })
            .collect();
        parts.sort_by_key(|p| p.part_number);
        Ok(parts)
    }

    /// Put Block List: the blob becomes exactly `parts`, in order, of
    /// `content_type`; blocks left out are discarded.
    pub(super) async fn commit_blocks(
        &self,
        key: &str,
        upload_id: &str,
        content_type: &str,
        parts: &[(u32, String)],
    ) -> Result<(), StorageError> {
        let mut xml = String::from(r#"<?xml version="1.0" encoding="utf-8"?><BlockList>"#);
        for (number, _) in parts {
            xml.push_str("<Uncommitted>");
            xml.push_str(&block_id(upload_id, *number)?);
            xml.push_str("</Uncommitted>");
        }
        xml.push_str("</BlockList>");
        let query = [("comp", "blocklist")];
        let call = Call::new(Method::PUT, self.blob_path(key), &query)
            .header("x-ms-blob-content-type", content_type)?
            .header("content-type", "application/xml")?
            .body(Bytes::from(xml));
        let response = self.send(call).await?;
        if !response.status().is_success() {
            return Err(Refusal::of(&response, "Put Block List").into_error());
        }
        Ok(())
    }

    /// Discards the blocks sent for `key`: committing an empty list drops
    /// every uncommitted block, and the empty blob it makes is deleted. Only
    /// when no blob was assembled there: an upload already assembled is left
    /// alone, as S3 leaves a completed upload that is aborted.
    pub(super) async fn drop_blocks(&self, key: &str) -> Result<(), StorageError> {
        let query = [("comp", "blocklist")];
        let call = Call::new(Method::PUT, self.blob_path(key), &query)
            .header("if-none-match", "*")?
            .header("content-type", "application/xml")?
            .body(Bytes::from_static(
                br#"<?xml version="1.0" encoding="utf-8"?><BlockList></BlockList>"#,
            ));
        let response = self.send(call).await?;
        match response.status() {
            status if status.is_success() => {
                let etag = response
                    .headers()
                    .get("etag")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                self.delete_blob(key, etag.as_deref()).await
            }
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
        let upload = new_upload_id();
        let first = block_id(&upload, 1).expect("id");
        let last = block_id(&upload, 50_000).expect("id");
        assert_eq!(first.len(), last.len());
        assert!(!first.contains('='));
        assert_eq!(part_of(&upload, &last), Some(50_000));
        assert_eq!(
            part_of(&new_upload_id(), &last),
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
