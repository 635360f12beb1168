//! What clients are handed: V4 signed URLs for one object each, signed
//! locally with the service account's key.

use std::collections::BTreeMap;
use std::time::Duration;

use time::OffsetDateTime;

use super::GcsStore;
use super::parts::part_key;
use super::signer::{MAX_EXPIRES_IN, V4Request};
use crate::storage::encoding::{attachment, encode_key};
use crate::storage::{PartTarget, PresignedPart, PresignedPut, StorageError, UploadTarget};

/// The header that makes GCS refuse a body of any other size.
const LENGTH_RANGE: &str = "x-goog-content-length-range";

/// The headers a client is told to send: exactly those signed.
fn owned(headers: &[(&str, &str)]) -> BTreeMap<String, String> {
    headers
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

impl GcsStore {
    fn signed_url(
        &self,
        method: &str,
        key: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        expires_in: Duration,
    ) -> String {
        let path = format!(
            "{}/{}/{}",
            self.base_path,
            self.bucket,
            encode_key(&self.object_name(key))
        );
        self.signer()
            .sign(&V4Request {
                method,
                scheme: &self.scheme,
                authority: &self.authority,
                host: &self.authority,
                path: &path,
                query,
                headers,
                expires_in: expires_in.as_secs().clamp(1, MAX_EXPIRES_IN),
                at: OffsetDateTime::now_utc(),
            })
            .url
    }

    /// A PUT of exactly the declared type and size to one staging object.
    pub(super) fn sign_put(&self, target: &UploadTarget<'_>) -> PresignedPut {
        let range = format!("{0},{0}", target.size);
        let headers = [
            ("content-type", target.content_type),
            (LENGTH_RANGE, range.as_str()),
        ];
        PresignedPut {
            url: self.signed_url("PUT", target.key, &[], &headers, target.expires_in),
            headers: owned(&headers),
        }
    }

    /// A GET answering with `Content-Disposition: attachment`, so a browser
    /// downloads rather than renders.
    pub(super) fn sign_get(&self, key: &str, filename: &str, expires_in: Duration) -> String {
        let disposition = attachment(filename);
        let query = [("response-content-disposition", disposition.as_str())];
        self.signed_url("GET", key, &query, &[], expires_in)
    }

    /// One PUT per part, each to its own staged object, bound to the part's
    /// size when the layout fixes it.
    pub(super) fn sign_parts(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[PartTarget<'_>],
        expires_in: Duration,
    ) -> Result<Vec<PresignedPart>, StorageError> {
        parts
            .iter()
            .map(|part| {
                let piece = part_key(key, upload_id, part.part_number)?;
                let range = part.size.map(|size| format!("{size},{size}"));
                let headers: Vec<(&str, &str)> = range
                    .as_deref()
                    .map(|range| (LENGTH_RANGE, range))
                    .into_iter()
                    .collect();
                Ok(PresignedPart {
                    part_number: part.part_number,
                    url: self.signed_url("PUT", &piece, &[], &headers, expires_in),
                    headers: owned(&headers),
                })
            })
            .collect()
    }
}
