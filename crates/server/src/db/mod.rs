//! Where upload records and jobs live: SQLite or PostgreSQL. `Database` is
//! the upload records (`UploadRepo`) and hands out one small store per
//! concern: `jobs()` (`JobQueue`), `webhooks()` (`WebhookStore`), `access()`
//! (`AccessStore`), `deletions()` (`DeletionStore`) and `idempotency()`
//! (`IdempotencyStore`). Both dialects share their SQL where sqlx allows
//! (`job_queue.rs`, `upload_transition.rs`, `completion_claims.rs`, ...).

mod access;
mod affected;
mod checkpointer;
mod columns;
mod completion_claims;
mod deletions;
mod error;
mod group_commit;
mod idempotency;
mod job_queue;
mod jobs;
mod outbox;
mod page;
mod point_reads;
mod postgres;
mod schema;
mod sqlite;
mod upload_transition;
mod webhooks;

use std::collections::BTreeMap;

use async_trait::async_trait;
use time::OffsetDateTime;
use uploadgate_api::{Processing, UploadStatus};
use uuid::Uuid;

use crate::keys;
use crate::multipart::Layout;

pub use access::{AccessStore, ApiKeyRecord, GrantRecord};
pub use deletions::{DeletionStore, Erasure};
pub use error::DbError;
pub use idempotency::{IdempotencyStore, KeyClaim};
pub use jobs::{Job, JobQueue, NewJob, Outcome, QueueDepth};
pub use outbox::NewDelivery;
pub use page::{Listed, Page};
pub use postgres::PgRepo;
pub use schema::{SchemaStatus, schema_status};
pub use sqlite::SqliteRepo;
pub use webhooks::{Attempt, Delivery, DeliveryFilter, WebhookStore};

/// The current time at the millisecond precision records keep, so that a value
/// returned before a write equals the value read back after it.
pub fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_millisecond(now.millisecond()).unwrap_or(now)
}

/// An upload as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub id: Uuid,
    /// The authenticated user (`sub` of their token).
    pub owner: String,
    pub profile: String,
    pub filename: String,
    pub content_type: String,
    /// `None` when the client did not declare it (Uppy's Companion protocol has no
    /// size); set from storage once verified.
    pub size: Option<u64>,
    pub checksum_sha256: Option<String>,
    /// How the client was told to send the bytes.
    pub method: Method,
    /// Final key, where the object is promoted once verified.
    pub key: String,
    /// Where the client's presigned request writes; never served.
    pub staging_key: String,
    pub status: UploadStatus,
    pub metadata: BTreeMap<String, String>,
    pub reject_reason: Option<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub completed_at: Option<OffsetDateTime>,
    /// Set for uploads sent in parts.
    pub multipart: Option<Multipart>,
    /// Post-processing, once completed, when the profile has processors.
    pub processing: Option<Processing>,
    /// Bytes held for an upload of undeclared size until its size is known
    /// (its profile's `max_size`; 0 when the size was declared): quotas count
    /// it in place of the size.
    pub reserved: u64,
    /// The grant of the scoped upload token that created it, if one did:
    /// such a token reaches only the uploads it created.
    pub grant: Option<Uuid>,
    /// When it was deleted (status `deleted`).
    pub deleted_at: Option<OffsetDateTime>,
    /// When a deleted upload's objects were confirmed gone from storage;
    /// `None` while the janitor still has to try again.
    pub purged_at: Option<OffsetDateTime>,
}

/// How the bytes of an upload travel to storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// One presigned PUT.
    Put,
    /// One presigned POST form.
    Post,
    /// Presigned parts of a multipart upload.
    Multipart,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Put => "PUT",
            Self::Post => "POST",
            Self::Multipart => "MULTIPART",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Put, Self::Post, Self::Multipart]
            .into_iter()
            .find(|method| method.as_str() == s)
    }
}

/// A multipart upload's identity in storage and its agreed part layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Multipart {
    pub upload_id: String,
    /// `None` when the client chooses its own part sizes (Uppy); completion then
    /// checks the parts' shape instead.
    pub layout: Option<Layout>,
}

/// A state change, applied only if the record is still in the expected state.
#[derive(Debug, Clone)]
pub struct Transition {
    pub to: UploadStatus,
    pub at: OffsetDateTime,
    pub reject_reason: Option<String>,
    /// The size found in storage, for uploads that did not declare one.
    pub size: Option<u64>,
    /// Post-processing to queue in the same transaction (on completion), so a
    /// completed upload never misses its jobs.
    pub enqueue: Option<NewJob>,
    /// The completion claim's token the change needs: a completer that lost
    /// its claim records nothing.
    pub claim: Option<Uuid>,
    /// Webhook events announcing the change, recorded in the same
    /// transaction: sent only if it commits, never lost if it does.
    pub announce: Vec<NewDelivery>,
    /// The user's earlier uploads of this `replace = true` profile are still
    /// to delete: recorded with the completion, so a crash before it is
    /// done leaves it to the janitor.
    pub replace_pending: bool,
}

impl Transition {
    /// A plain move to `to` at `at`: no reason, no size.
    pub fn to(to: UploadStatus, at: OffsetDateTime) -> Self {
        Self {
            to,
            at,
            reject_reason: None,
            size: None,
            enqueue: None,
            claim: None,
            announce: Vec::new(),
            replace_pending: false,
        }
    }

    /// The same change, made only while `token` holds the completion claim.
    pub fn claimed(mut self, token: Uuid) -> Self {
        self.claim = Some(token);
        self
    }

    /// The same change, recording `deliveries` with it.
    pub fn announcing(mut self, deliveries: Vec<NewDelivery>) -> Self {
        self.announce = deliveries;
        self
    }
}

/// What a quota check needs to measure: a part no quota asks for costs nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageQuery {
    /// Count the uploads in progress up to this many: the count then costs no
    /// more than the quota, however many a client left pending.
    pub in_progress_up_to: u64,
    /// Sum the bytes of uploads created since then; `None`: report 0.
    pub since: Option<OffsetDateTime>,
}

/// What one user holds, for quotas.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Uploads pending or uploading, up to `UsageQuery::in_progress_up_to`.
    pub in_progress: u64,
    /// Declared bytes of uploads created since the given instant, unless they
    /// ended rejected, aborted or expired: a completed upload deleted since
    /// still counts (its bytes were sent), so deleting gives no allowance back.
    pub bytes_last_day: u64,
    /// Bytes of completed uploads and of those in progress.
    pub bytes_held: u64,
}

#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<UploadStatus>,
    pub profile: Option<String>,
    /// Created at or after this instant.
    pub created_from: Option<OffsetDateTime>,
    /// Created before this instant.
    pub created_until: Option<OffsetDateTime>,
    /// A metadata key (as `check_metadata` allows them) and its value.
    pub metadata: Option<(String, String)>,
    pub page: Page<Uuid>,
}

#[async_trait]
pub trait UploadRepo: Send + Sync + std::fmt::Debug {
    async fn insert(&self, upload: &Upload) -> Result<(), DbError>;
    /// Only `owner`'s uploads are visible: another user's id is simply not found.
    async fn find(&self, id: Uuid, owner: &str) -> Result<Option<Upload>, DbError>;
    /// `owner`'s upload with this object key (how Uppy's protocol names uploads).
    async fn find_by_key(&self, owner: &str, key: &str) -> Result<Option<Upload>, DbError> {
        let Some(id) = keys::upload_id(key) else {
            return Ok(None);
        };
        Ok(self.find(id, owner).await?.filter(|u| u.key == key))
    }
    /// Any owner's upload, for background work that starts from an id (a job).
    async fn get(&self, id: Uuid) -> Result<Option<Upload>, DbError>;
    /// Any owner's upload whose final or staging key is `key` (a storage event).
    async fn find_by_stored_key(&self, key: &str) -> Result<Option<Upload>, DbError> {
        let Some(id) = keys::upload_id(key) else {
            return Ok(None);
        };
        Ok(self
            .get(id)
            .await?
            .filter(|u| u.key == key || u.staging_key == key))
    }
    /// `owner`'s uploads (every owner's for `None`), newest first.
    async fn list(&self, owner: Option<&str>, filter: &ListFilter) -> Result<Vec<Upload>, DbError>;
    /// Moves `id` from `from` to `change.to`, queueing `change.enqueue` (and
    /// marking the upload as processing) in the same transaction; false when it
    /// was no longer in `from` (another request or node got there first).
    async fn transition(
        &self,
        id: Uuid,
        from: UploadStatus,
        change: &Transition,
    ) -> Result<bool, DbError>;
    /// Takes the right to complete `id` until `until` under `token`, if it is
    /// still in progress and nobody holds an unexpired claim. False: another
    /// request or node is completing it.
    async fn claim_completion(
        &self,
        id: Uuid,
        token: Uuid,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, DbError>;
    /// Extends the claim `token` holds to `until`; false when it was lost
    /// (expired and taken over) or the upload has moved on.
    async fn renew_completion(
        &self,
        id: Uuid,
        token: Uuid,
        until: OffsetDateTime,
    ) -> Result<bool, DbError>;
    /// Gives the claim `token` holds back early (completion failed and may be
    /// retried); a claim taken over since is left alone.
    async fn release_completion(&self, id: Uuid, token: Uuid) -> Result<(), DbError>;
    /// Uploads of any owner still in progress whose deadline is before `cutoff`,
    /// oldest first.
    async fn stale(&self, cutoff: OffsetDateTime, limit: u32) -> Result<Vec<Upload>, DbError>;
    /// Uploads still in progress whose completion claim ran out before `now`
    /// without being released (their completer died), longest first.
    async fn cut_short_completions(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Upload>, DbError>;
    /// Multipart uploads (of any owner) being sent in parts their clients
    /// size, in id order after `after`: what the janitor holds to their
    /// profile's size.
    async fn client_parts_uploading(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Upload>, DbError>;
    /// Whether an upload in progress (of any owner) owns this multipart upload.
    async fn multipart_in_progress(&self, key: &str, upload_id: &str) -> Result<bool, DbError> {
        let Some(id) = keys::upload_id(key) else {
            return Ok(false);
        };
        Ok(self.get(id).await?.is_some_and(|u| {
            u.key == key
                && matches!(u.status, UploadStatus::Pending | UploadStatus::Uploading)
                && u.multipart.is_some_and(|m| m.upload_id == upload_id)
        }))
    }
    /// `owner`'s usage, measuring only what `query` asks for.
    async fn usage(&self, owner: &str, query: UsageQuery) -> Result<Usage, DbError>;
    async fn ping(&self) -> Result<(), DbError>;
}

/// One database: its upload records and its job queue, which share it so that
/// completing an upload and queueing its processing commit together.
pub trait Database: UploadRepo {
    fn jobs(&self) -> &dyn JobQueue;
    /// API keys and scoped upload tokens' spending.
    fn access(&self) -> &dyn AccessStore;
    /// The `Idempotency-Key`s of upload creation.
    fn idempotency(&self) -> &dyn IdempotencyStore;
    /// Tombstones still to purge, and erasures of users.
    fn deletions(&self) -> &dyn DeletionStore;
    /// The webhook outbox and delivery log.
    fn webhooks(&self) -> &dyn WebhookStore;
}
