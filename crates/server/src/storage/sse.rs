//! Server-side encryption that uploadgate signs into every request it
//! authorizes, so a client cannot drop it.

/// `sse` of a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sse {
    /// Keys managed by the store (SSE-S3).
    Aes256,
    /// AWS KMS; without a key id the bucket's default KMS key applies.
    Kms { key_id: Option<String> },
}

pub const SSE_HEADER: &str = "x-amz-server-side-encryption";
pub const SSE_KMS_KEY_HEADER: &str = "x-amz-server-side-encryption-aws-kms-key-id";

impl Sse {
    /// The algorithm as S3 spells it.
    pub fn algorithm(&self) -> &'static str {
        match self {
            Sse::Aes256 => "AES256",
            Sse::Kms { .. } => "aws:kms",
        }
    }

    pub fn kms_key_id(&self) -> Option<&str> {
        match self {
            Sse::Kms { key_id } => key_id.as_deref(),
            Sse::Aes256 => None,
        }
    }

    /// The headers a presigned PUT signs and a POST policy pins.
    pub fn headers(&self) -> Vec<(&'static str, &str)> {
        let mut headers = vec![(SSE_HEADER, self.algorithm())];
        if let Some(key_id) = self.kms_key_id() {
            headers.push((SSE_KMS_KEY_HEADER, key_id));
        }
        headers
    }
}
