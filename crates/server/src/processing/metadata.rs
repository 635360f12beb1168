//! `metadata`: size and SHA-256 of what storage holds (read in full, streaming),
//! and an image's dimensions from its header.

use std::io::Cursor;

use uploadgate_api::Processing;

use super::ProcessError;
use crate::db::Upload;
use crate::uploads::Uploads;

/// Image headers (JPEG's frame header comes after its EXIF block) fit in this.
const HEADER_LEN: usize = 256 * 1024;

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
    let mut header = Vec::new();
    let digest = object
        .sha256(|chunk| {
            if header.len() < HEADER_LEN {
                let take = chunk.len().min(HEADER_LEN - header.len());
                header.extend_from_slice(&chunk[..take]);
            }
        })
        .await
        .map_err(|e| ProcessError::Retry(format!("reading the object: {e}")))?;
    processing.sha256 = Some(hex::encode(digest));
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
