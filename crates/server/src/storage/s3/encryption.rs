//! Finding out whether the store really encrypts what it is asked to.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;

use super::{S3Store, classify, not_implemented};
use crate::storage::{Sse, StorageError};

/// Where the start-up probe writes, under the deployment's key prefix.
const PROBE_KEY: &str = ".uploadgate/sse-probe";

const SSE_HEADER: &str = "x-amz-server-side-encryption";
const SSE_KMS_KEY_HEADER: &str = "x-amz-server-side-encryption-aws-kms-key-id";

pub(super) fn algorithm(sse: &Sse) -> ServerSideEncryption {
    ServerSideEncryption::from(sse.algorithm())
}

/// The headers a presigned PUT signs and a POST policy pins, so a client
/// cannot drop the encryption.
pub(super) fn headers(sse: &Sse) -> Vec<(&'static str, &str)> {
    let mut headers = vec![(SSE_HEADER, sse.algorithm())];
    if let Some(key_id) = sse.kms_key_id() {
        headers.push((SSE_KMS_KEY_HEADER, key_id));
    }
    headers
}

impl S3Store {
    /// Writes a probe object with `sse` and checks the store reports having
    /// applied it. Stores without SSE either refuse the header (400 or 501) or
    /// ignore it; both count as "does not apply", never as an outage.
    pub(super) async fn probe_sse(&self, sse: &Sse) -> Result<bool, StorageError> {
        let key = self.full_key(PROBE_KEY);
        let put = self
            .client
            .put_object()
            .bucket(&self.settings.bucket)
            .key(&key)
            .body(ByteStream::from_static(b"uploadgate"))
            .server_side_encryption(algorithm(sse))
            .set_ssekms_key_id(sse.kms_key_id().map(str::to_owned))
            .send()
            .await;
        if let Err(err) = put {
            if not_implemented(&err) {
                return Ok(false);
            }
            return match classify(err) {
                err @ StorageError::Unavailable(_) => Err(err),
                _ => Ok(false),
            };
        }
        let head = self
            .client
            .head_object()
            .bucket(&self.settings.bucket)
            .key(&key)
            .send()
            .await
            .map_err(classify)?;
        let applied = head
            .server_side_encryption()
            .is_some_and(|found| found.as_str() == sse.algorithm());
        let _ = self
            .client
            .delete_object()
            .bucket(&self.settings.bucket)
            .key(&key)
            .send()
            .await;
        Ok(applied)
    }
}
