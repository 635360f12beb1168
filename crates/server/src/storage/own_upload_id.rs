//! Upload ids for stores that have no multipart session (Azure's blocks,
//! GCS's composed parts): uploadgate makes its own, which tells this
//! upload's parts from any other's sent for the same name. Always this many
//! lowercase hex digits, so ids derived from them have one length (Azure
//! requires equal-length block ids) and sort as the part numbers after them.

use super::StorageError;

pub const LEN: usize = 16;

pub fn new() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..LEN].to_owned()
}

/// Refuses an id this scheme never made (it is then no upload of `family`'s).
pub fn check(upload_id: &str, family: &str) -> Result<(), StorageError> {
    if upload_id.len() != LEN || !upload_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(StorageError::Other(
            format!("{upload_id:?} is not an upload id of this {family} store").into(),
        ));
    }
    Ok(())
}
