//! Server-side encryption a profile asks for (`sse`), in the profile's own
//! terms. Only stores whose `Capabilities::encryption` is set take it; how a
//! store spells it on the wire is the store's (S3's headers: `s3/encryption.rs`).

/// `sse` of a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sse {
    /// Keys managed by the store (SSE-S3).
    Aes256,
    /// AWS KMS; without a key id the bucket's default KMS key applies.
    Kms { key_id: Option<String> },
}

impl Sse {
    /// The algorithm as the profile (and S3) spells it.
    pub fn algorithm(&self) -> &'static str {
        match self {
            Sse::Aes256 => "AES256",
            Sse::Kms { .. } => "aws:kms",
        }
    }

    /// For a store that takes no per-request encryption (`family`'s): the
    /// server refuses profiles that ask before any call gets here.
    pub fn refused_by(sse: Option<&Sse>, family: &str) -> Result<(), super::StorageError> {
        match sse {
            None => Ok(()),
            Some(_) => Err(super::StorageError::Other(
                format!("{family} takes no per-request server-side encryption").into(),
            )),
        }
    }

    pub fn kms_key_id(&self) -> Option<&str> {
        match self {
            Sse::Kms { key_id } => key_id.as_deref(),
            Sse::Aes256 => None,
        }
    }
}
