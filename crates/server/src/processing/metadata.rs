//! `metadata`: size and SHA-256 of what storage holds (read in full, streaming),
//! and an image's dimensions from its header.

use std::io::Cursor;

use sha2::{Digest as _, Sha256};
use tokio::io::AsyncReadExt as _;
use uploadgate_api::Processing;

use super::ProcessError;
use crate::db::Upload;
use crate::uploads::Uploads;

/// Image headers (JPEG's frame header comes after its EXIF block) fit in this.
const HEADER_LEN: usize = 256 * 1024;
const CHUNK: usize = 256 * 1024;

pub async fn run(
    uploads: &Uploads,
    upload: &Upload,
    processing: &mut Processing,
) -> Result<(), ProcessError> {
    let mut object = uploads
        .store
        .open(&upload.key)
        .await?
        .ok_or_else(|| ProcessError::Permanent("the object is not in storage".into()))?;
    let mut hasher = Sha256::new();
    let mut header = Vec::new();
    let mut chunk = vec![0; CHUNK];
    let mut size = 0u64;
    loop {
        let n = object
            .body
            .read(&mut chunk)
            .await
            .map_err(|e| ProcessError::Retry(format!("reading the object: {e}")))?;
        if n == 0 {
            break;
        }
        hasher.update(&chunk[..n]);
        size += n as u64;
        if header.len() < HEADER_LEN {
            let take = n.min(HEADER_LEN - header.len());
            header.extend_from_slice(&chunk[..take]);
        }
    }
    if size != object.size {
        return Err(ProcessError::Retry(format!(
            "read {size} bytes of a {}-byte object",
            object.size
        )));
    }
    processing.sha256 = Some(hex::encode(hasher.finalize()));
    if upload.content_type.starts_with("image/") {
        match dimensions(&header) {
            Some((width, height)) => {
                processing.width = Some(width);
                processing.height = Some(height);
            }
            None => processing
                .notes
                .push("metadata: image dimensions not found in its header".into()),
        }
    }
    Ok(())
}

/// Width and height from an image's header, without decoding it.
pub fn dimensions(header: &[u8]) -> Option<(u32, u32)> {
    image::ImageReader::new(Cursor::new(header))
        .with_guessed_format()
        .ok()?
        .into_dimensions()
        .ok()
}
