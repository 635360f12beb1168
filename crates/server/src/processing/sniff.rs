//! `sniff`: record the media type the content shows. Verification already
//! refused content that contradicts the declared type; this keeps what was found.

use uploadgate_api::Processing;

use super::ProcessError;
use crate::db::Upload;
use crate::magic_bytes;
use crate::uploads::Uploads;

pub async fn run(
    uploads: &Uploads,
    upload: &Upload,
    processing: &mut Processing,
) -> Result<(), ProcessError> {
    let head = uploads
        .store
        .head(&upload.key)
        .await?
        .ok_or_else(|| ProcessError::Permanent("the object is not in storage".into()))?;
    let start = uploads
        .store
        .read_start(&upload.key, &head.etag, magic_bytes::READ_LEN)
        .await?;
    processing.detected_type = Some(
        infer::get(&start)
            .map_or("application/octet-stream", |kind| kind.mime_type())
            .to_owned(),
    );
    Ok(())
}
