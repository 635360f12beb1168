//! Large files in parts, each an object of its own under the staging prefix
//! (on its own signed URL, bound to its size), which the server composes
//! into the final object: GCS's compose takes up to 32 sources a call, so
//! more parts are composed in rounds, through partial compositions that are
//! staged pieces too. GCS has no upload session: the "upload id" is
//! uploadgate's own and starts the names of this upload's pieces.
//!
//! Only the server writes the final name: a part URL lets its holder
//! rewrite that part until it expires, never the object composed from it,
//! and the composition names each part's generation, so a part replaced
//! after it was listed fails the composition instead of joining it.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

use super::errors::refused;
use super::objects::Object;
use super::{Call, GcsStore, read_json};
use crate::keys;
use crate::storage::{StorageError, StoredPart, own_upload_id, unquote_etag};

/// GCS's most sources in one compose.
const COMPOSE_MAX: usize = 32;
/// Part numbers are written in this many digits, so names sort by number.
const PART_DIGITS: usize = 5;

/// The upload `key` is the final key of, and `upload_id` checked to be one
/// of this store's.
fn upload_of(key: &str, upload_id: &str) -> Result<Uuid, StorageError> {
    own_upload_id::check(upload_id, "GCS")?;
    keys::upload_id(key)
        .ok_or_else(|| StorageError::Other(format!("{key:?} is not the key of an upload").into()))
}

/// Where part `number` of the upload with final key `key` goes.
pub(super) fn part_key(key: &str, upload_id: &str, number: u32) -> Result<String, StorageError> {
    let id = upload_of(key, upload_id)?;
    Ok(keys::staged_piece_key(
        id,
        upload_id,
        &format!("{number:0PART_DIGITS$}"),
    ))
}

/// The part number `key` is, if it is a part (not a partial composition)
/// of upload `id`'s multipart upload `upload_id`.
fn part_number_of(key: &str, id: Uuid, upload_id: &str) -> Option<u32> {
    let (of, piece) = keys::staged_piece_of(key, id)?;
    if of != upload_id || piece.len() != PART_DIGITS || !piece.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    piece.parse().ok().filter(|n| *n > 0)
}

/// The ETag GCS's XML API answers a part's PUT with: the MD5 in hex.
/// Generations stand in for objects without one (composite ones).
fn part_etag(object: &Object) -> String {
    object
        .md5_hash
        .as_deref()
        .and_then(|md5| STANDARD.decode(md5).ok())
        .map(|md5| md5.iter().map(|b| format!("{b:02x}")).collect())
        .unwrap_or_else(|| object.generation.clone())
}

impl GcsStore {
    /// Every staged piece of this multipart upload, by key.
    async fn pieces(&self, upload_id: &str) -> Result<Vec<Object>, StorageError> {
        let prefix = format!("{}-", keys::staged_pieces_prefix(upload_id));
        self.list(&prefix, usize::MAX).await
    }

    /// This upload's parts GCS holds, by part number, with the object each is.
    async fn held(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<BTreeMap<u32, Object>, StorageError> {
        let id = upload_of(key, upload_id)?;
        Ok(self
            .pieces(upload_id)
            .await?
            .into_iter()
            .filter_map(|object| Some((part_number_of(&object.name, id, upload_id)?, object)))
            .collect())
    }

    /// The parts GCS holds, sorted by number; `NoSuchUpload` once the file is
    /// at its final name: as on S3, the upload is then over.
    pub(super) async fn held_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<StoredPart>, StorageError> {
        let held = self.held(key, upload_id).await?;
        if self.metadata(key).await?.is_some() {
            return Err(StorageError::NoSuchUpload);
        }
        Ok(held
            .into_iter()
            .map(|(part_number, object)| StoredPart {
                part_number,
                size: object.size(),
                etag: part_etag(&object),
                last_modified: object.updated(),
            })
            .collect())
    }

    /// Composes `parts` (number and ETag, sorted) into `key`, of
    /// `content_type`, then deletes the pieces.
    pub(super) async fn compose_parts(
        &self,
        key: &str,
        upload_id: &str,
        content_type: &str,
        parts: &[(u32, String)],
    ) -> Result<(), StorageError> {
        let id = upload_of(key, upload_id)?;
        let mut held = self.held(key, upload_id).await?;
        let mut sources = Vec::with_capacity(parts.len());
        for (number, etag) in parts {
            let object = held.remove(number).ok_or_else(|| {
                StorageError::InvalidParts(format!("part {number} is not stored"))
            })?;
            if unquote_etag(&part_etag(&object)) != unquote_etag(etag) {
                return Err(StorageError::InvalidParts(format!(
                    "part {number} changed since it was listed"
                )));
            }
            sources.push((object.name, object.generation));
        }
        let mut round = 0;
        while sources.len() > COMPOSE_MAX {
            round += 1;
            let mut next = Vec::with_capacity(sources.len().div_ceil(COMPOSE_MAX));
            for (index, chunk) in sources.chunks(COMPOSE_MAX).enumerate() {
                let piece = keys::staged_piece_key(id, upload_id, &format!("c{round}x{index:05}"));
                let composed = self
                    .compose(&piece, chunk, "application/octet-stream", false)
                    .await?
                    .ok_or(StorageError::Changed)?;
                next.push((piece, composed.generation));
            }
            sources = next;
        }
        if self
            .compose(key, &sources, content_type, true)
            .await?
            .is_none()
        {
            // The final name was written already: only a composition of this
            // upload does that, so the file is there (completion checks it).
            if self.metadata(key).await?.is_none() {
                return Err(StorageError::Changed);
            }
        }
        if let Err(err) = self.drop_parts(key, upload_id).await {
            // The janitor deletes staged pieces of settled uploads.
            tracing::warn!(%key, %err, "could not delete the parts of a composed object");
        }
        Ok(())
    }

    /// One compose call of `sources` (key, generation) into `to`; `None`
    /// when a precondition failed (a source changed, or `new_only` and `to`
    /// exists).
    async fn compose(
        &self,
        to: &str,
        sources: &[(String, String)],
        content_type: &str,
        new_only: bool,
    ) -> Result<Option<Object>, StorageError> {
        let sources: Vec<_> = sources
            .iter()
            .map(|(key, generation)| {
                json!({
                    "name": self.object_name(key),
                    "objectPreconditions": { "ifGenerationMatch": generation },
                })
            })
            .collect();
        let query: &[(&str, &str)] = if new_only {
            &[("ifGenerationMatch", "0")]
        } else {
            &[]
        };
        let call = Call::new(Method::POST, self.object_url(to, "/compose"), query).json(json!({
            "destination": { "contentType": content_type },
            "sourceObjects": sources,
        }));
        let response = self.send(call).await?;
        match response.status() {
            StatusCode::PRECONDITION_FAILED => Ok(None),
            StatusCode::NOT_FOUND => Err(StorageError::InvalidParts(
                "a part went missing while it was composed".into(),
            )),
            status if status.is_success() => read_json(response, "objects.compose").await.map(Some),
            _ => Err(refused(response, "objects.compose").await),
        }
    }

    /// Deletes every piece of the upload: parts, and partial compositions
    /// of an assembly cut short. The final name is never touched.
    pub(super) async fn drop_parts(&self, key: &str, upload_id: &str) -> Result<(), StorageError> {
        let id = upload_of(key, upload_id)?;
        for piece in self.pieces(upload_id).await? {
            if keys::is_staged_piece_of(&piece.name, id) {
                self.delete_object(&piece.name, None).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_names_carry_their_number_and_nothing_poses_as_one() {
        let id = Uuid::now_v7();
        let key = format!("u/alice/{}.png", id.simple());
        let upload = own_upload_id::new();
        let part = part_key(&key, &upload, 42).expect("a part key");
        assert_eq!(part_number_of(&part, id, &upload), Some(42));
        assert_eq!(keys::upload_id(&part), Some(id), "the janitor reads it");
        assert_eq!(part_number_of(&part, id, &own_upload_id::new()), None);
        assert_eq!(part_number_of(&part, Uuid::now_v7(), &upload), None);
        let composed = keys::staged_piece_key(id, &upload, "c1x00000");
        assert_eq!(part_number_of(&composed, id, &upload), None);
        assert!(part_key(&key, "../../etc", 1).is_err());
        assert!(part_key("not-an-upload", &upload, 1).is_err());
    }

    #[test]
    fn a_part_etag_is_the_md5_gcs_answers_the_put_with() {
        let object: Object = serde_json::from_value(json!({
            "name": "p", "size": "5", "generation": "7", "md5Hash": "XUFAKrxLKna5cZ2REBfFkg=="
        }))
        .expect("parses");
        assert_eq!(part_etag(&object), "5d41402abc4b2a76b9719d911017c592");
    }
}
