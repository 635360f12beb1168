//! Scoped upload tokens: what one lets its holder create (one profile, so
//! many files and bytes, metadata pinned), recorded when it is minted and
//! spent at each creation, in the database, so every node agrees.

use std::collections::BTreeMap;
use std::time::Duration;

use time::OffsetDateTime;
use uploadgate_api::CreateUploadToken;
use uuid::Uuid;

use super::{Invalid, UploadError, Uploads};
use crate::auth::{Grant, KeyHolder, Principal, Via};
use crate::config::DEFAULT_PROFILE;
use crate::db::{self, GrantRecord};

/// How long a scoped upload token lives unless asked otherwise.
const DEFAULT_TTL: Duration = Duration::from_secs(900);
/// The longest one may live.
const MAX_TTL: Duration = Duration::from_secs(24 * 3600);

/// What one creation spent of a grant, to give back if it fails.
#[derive(Debug, Clone, Copy)]
pub(super) struct Spent {
    grant: Uuid,
    bytes: u64,
}

impl Uploads {
    /// Records the grant of a new scoped upload token; returns it and when
    /// it ends (the token's `exp`).
    pub async fn open_grant(
        &self,
        request: CreateUploadToken,
        key: &KeyHolder,
    ) -> Result<(Grant, OffsetDateTime), UploadError> {
        crate::auth::check_user_id(&request.user)
            .map_err(|e| Invalid::field("user", e.to_string()))?;
        let profile = request
            .profile
            .unwrap_or_else(|| DEFAULT_PROFILE.to_owned());
        if !self.config.profiles.contains_key(&profile) {
            return Err(Invalid::UnknownProfile(profile).into());
        }
        let ttl = request.ttl_seconds.map_or(DEFAULT_TTL, Duration::from_secs);
        if ttl.is_zero() || ttl > MAX_TTL {
            return Err(Invalid::field(
                "ttlSeconds",
                format!("ttlSeconds: 1 to {}", MAX_TTL.as_secs()),
            )
            .into());
        }
        if request.max_files == Some(0) {
            return Err(Invalid::field("maxFiles", "maxFiles: at least 1").into());
        }
        if request
            .max_bytes
            .is_some_and(|n| n == 0 || i64::try_from(n).is_err())
        {
            return Err(Invalid::field("maxBytes", "maxBytes: 1 to 2^63 - 1").into());
        }
        let metadata = request.metadata.unwrap_or_default();
        super::intake::check_metadata(&metadata)?;
        // Whole seconds, as the token's `exp` says it: both end together.
        let expires_at = OffsetDateTime::from_unix_timestamp((db::now() + ttl).unix_timestamp())
            .map_err(|_| Invalid::field("ttlSeconds", "ttlSeconds: out of range"))?;
        let grant = Grant {
            id: Uuid::now_v7(),
            profile,
            max_bytes: request.max_bytes,
            max_files: request.max_files,
            metadata,
        };
        self.db
            .access()
            .open_grant(&GrantRecord {
                id: grant.id,
                user: request.user,
                max_files: grant.max_files,
                max_bytes: grant.max_bytes,
                expires_at,
                key_name: key.name.clone(),
                key_hash: key.hash.clone(),
            })
            .await?;
        Ok((grant, expires_at))
    }

    /// Holds what a client asks to create to the grant of a scoped upload
    /// token: its profile (the client's, when it names one, must be it) and
    /// its pinned metadata. Others' requests pass unchanged.
    pub(super) fn restrict(
        user: &Principal,
        profile: &mut Option<String>,
        metadata: &mut BTreeMap<String, String>,
    ) -> Result<(), UploadError> {
        let Via::UploadToken(grant) = &user.via else {
            return Ok(());
        };
        match profile.as_deref() {
            Some(asked) if asked != grant.profile => {
                return Err(UploadError::NotPermitted(format!(
                    "this upload token is for profile {:?} only",
                    grant.profile
                )));
            }
            _ => *profile = Some(grant.profile.clone()),
        }
        metadata.extend(grant.metadata.clone());
        Ok(())
    }

    /// Spends one file and `bytes` of the caller's grant, if it has one.
    pub(super) async fn spend(
        &self,
        user: &Principal,
        bytes: u64,
    ) -> Result<Option<Spent>, UploadError> {
        let Via::UploadToken(grant) = &user.via else {
            return Ok(None);
        };
        if !self
            .db
            .access()
            .spend_grant(grant.id, bytes, db::now())
            .await?
        {
            return Err(UploadError::TokenLimitReached);
        }
        Ok(Some(Spent {
            grant: grant.id,
            bytes,
        }))
    }

    /// `made`, the rest of a creation after `spend`; when it failed, what
    /// the creation took from its token's grant is given back.
    pub(super) async fn refund_unless<T>(
        &self,
        spent: Option<Spent>,
        made: Result<T, UploadError>,
    ) -> Result<T, UploadError> {
        if let (Some(spent), Err(_)) = (spent, &made) {
            self.refund(spent).await;
        }
        made
    }

    async fn refund(&self, spent: Spent) {
        if let Err(err) = self
            .db
            .access()
            .refund_grant(spent.grant, spent.bytes)
            .await
        {
            tracing::warn!(grant = %spent.grant, %err, "cannot give a failed creation back to its upload token");
        }
    }
}
