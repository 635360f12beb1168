//! API v1 creation under an `Idempotency-Key`: a client that lost the answer
//! to its `POST` sends it again with the same key and gets the upload the
//! first request created, not a second one (nor a second multipart upload in
//! storage).

use std::time::Duration;

use sha2::{Digest as _, Sha256};
use uploadgate_api::{CreateUpload, UploadInstructions, UploadMethod, UploadStatus};

use super::{UploadError, Uploads};
use crate::auth::Principal;
use crate::db::{self, KeyClaim, Method, Upload};

/// How long a key's first request may take to create its upload before the
/// key is taken to be abandoned (its node crashed mid-creation).
const CLAIM_LIFETIME: Duration = Duration::from_secs(60);
/// How long keys are kept.
pub const KEY_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// What a creation under a key answers.
#[derive(Debug)]
pub struct Created {
    pub upload: Upload,
    /// How to send the bytes, while the upload still waits for them.
    pub instructions: Option<UploadInstructions>,
    /// An earlier request with the same key created it.
    pub replayed: bool,
}

impl Uploads {
    /// `create`, once per `key` of the caller: the same key with the same
    /// body answers with the same upload (and fresh URLs while it is
    /// pending); with another body, `IdempotencyKeyReused`.
    pub async fn create_once(
        &self,
        user: &Principal,
        key: &str,
        req: CreateUpload,
    ) -> Result<Created, UploadError> {
        let body = serde_json::to_vec(&req).map_err(|e| UploadError::Internal(e.to_string()))?;
        let hash = hex::encode(Sha256::digest(&body));
        let keys = self.db.idempotency();
        // Twice at most: once more after letting go of an abandoned claim.
        for _ in 0..2 {
            let now = db::now();
            match keys.claim_key(&user.user, key, &hash, now).await? {
                KeyClaim::Mine => {
                    return match self.create(user, req).await {
                        Ok((upload, instructions)) => {
                            keys.settle_key(&user.user, key, upload.id).await?;
                            Ok(Created {
                                upload,
                                instructions: Some(instructions),
                                replayed: false,
                            })
                        }
                        Err(err) => {
                            // Nothing was created: the key may be used again.
                            if let Err(release) = keys.release_key(&user.user, key, now).await {
                                tracing::warn!(%release, "cannot free an Idempotency-Key whose creation failed");
                            }
                            Err(err)
                        }
                    };
                }
                KeyClaim::Taken { request_hash, .. } if request_hash != hash => {
                    return Err(UploadError::IdempotencyKeyReused);
                }
                KeyClaim::Taken {
                    upload_id: Some(id),
                    ..
                } => return self.replay(user, id).await,
                KeyClaim::Taken { created_at, .. } if db::now() - created_at < CLAIM_LIFETIME => {
                    return Err(UploadError::CreationInProgress);
                }
                KeyClaim::Taken { created_at, .. } => {
                    keys.release_key(&user.user, key, created_at).await?;
                }
            }
        }
        Err(UploadError::CreationInProgress)
    }

    /// The upload an earlier request created, with fresh instructions while
    /// its bytes are still awaited.
    async fn replay(&self, user: &Principal, id: uuid::Uuid) -> Result<Created, UploadError> {
        let upload = self.find_own(user, &id.to_string()).await?;
        let instructions = match (&upload.multipart, upload.status) {
            (_, status) if status != UploadStatus::Pending => None,
            (Some(multipart), _) => multipart
                .layout
                .map(|layout| UploadInstructions::Multipart {
                    part_size: layout.part_size,
                    part_count: layout.part_count,
                }),
            (None, _) => {
                let method = match upload.method {
                    Method::Post => UploadMethod::Post,
                    _ => UploadMethod::Put,
                };
                let profile =
                    self.config.profiles.get(&upload.profile).ok_or_else(|| {
                        UploadError::Internal("the upload's profile is gone".into())
                    })?;
                Some(self.presign_single(&upload, method, profile).await?)
            }
        };
        Ok(Created {
            upload,
            instructions,
            replayed: true,
        })
    }
}
