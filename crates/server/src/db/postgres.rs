use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Postgres};
use time::OffsetDateTime;
use uploadgate_api::UploadStatus;
use uuid::Uuid;

use super::access::SqlAccess;
use super::columns::{self, COLUMNS, millis};
use super::completion_claims::CompletionClaims;
use super::group_commit::GroupCommit;
use super::job_queue::{Dialect, SqlJobs};
use super::{
    AccessStore, Database, DbError, DeletionStore, IdempotencyStore, JobQueue, ListFilter,
    Transition, Upload, UploadRepo, Usage, UsageQuery, WebhookStore,
};

/// Shared by several uploadgate nodes: every state change is one conditional
/// `UPDATE ... WHERE status = <expected>`, atomic in the database, so two nodes
/// completing the same upload cannot both win.
#[derive(Debug, Clone)]
pub struct PgRepo {
    pool: PgPool,
    /// New uploads, in groups: one round trip and one commit for many.
    inserts: GroupCommit,
    jobs: SqlJobs<Postgres>,
    completion_claims: CompletionClaims<Postgres>,
    access: SqlAccess<Postgres>,
}

/// Workers on several nodes claim at once; each skips rows another has locked.
const DIALECT: Dialect = Dialect {
    kinds: "SELECT jsonb_array_elements_text($4::jsonb)",
    lock: "FOR UPDATE SKIP LOCKED",
};

impl PgRepo {
    /// Connects and applies pending migrations (sqlx serializes concurrent
    /// migrators with an advisory lock, so nodes may start together).
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await?;
        super::schema::POSTGRES.run(&pool).await?;
        Ok(Self::from_pool(pool))
    }

    /// A repository over a pool the caller built (and migrated), e.g. a lazy one.
    pub fn from_pool(pool: PgPool) -> Self {
        let writer = pool.clone();
        Self {
            jobs: SqlJobs::new(pool.clone(), pool.clone(), DIALECT),
            completion_claims: CompletionClaims(pool.clone()),
            access: SqlAccess {
                writer: pool.clone(),
                reader: pool.clone(),
            },
            pool,
            inserts: GroupCommit::start(move |uploads| insert_rows(writer.clone(), uploads)),
        }
    }
}

async fn insert_rows(pool: PgPool, uploads: Arc<[Upload]>) -> Result<(), DbError> {
    columns::insert_query::<Postgres>(&uploads)?
        .build()
        .execute(&pool)
        .await?;
    Ok(())
}

impl Database for PgRepo {
    fn jobs(&self) -> &dyn JobQueue {
        &self.jobs
    }

    fn access(&self) -> &dyn AccessStore {
        &self.access
    }

    fn idempotency(&self) -> &dyn IdempotencyStore {
        &self.access
    }

    fn deletions(&self) -> &dyn DeletionStore {
        &self.access
    }

    fn webhooks(&self) -> &dyn WebhookStore {
        &self.access
    }
}

#[async_trait]
impl UploadRepo for PgRepo {
    async fn insert(&self, upload: &Upload) -> Result<(), DbError> {
        self.inserts.insert(upload.clone()).await
    }

    async fn find(&self, id: Uuid, owner: &str) -> Result<Option<Upload>, DbError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM uploads WHERE id = $1 AND owner = $2"
        ))
        .bind(id.to_string())
        .bind(owner)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(columns::from_row).transpose()
    }

    async fn list(&self, owner: Option<&str>, filter: &ListFilter) -> Result<Vec<Upload>, DbError> {
        let sql = columns::list(owner.is_some(), "(CAST(metadata AS JSONB) ->> $8)");
        let rows = columns::list_query(&sql, owner, filter, str::to_owned)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(columns::from_row).collect()
    }

    async fn transition(
        &self,
        id: Uuid,
        from: UploadStatus,
        change: &Transition,
    ) -> Result<bool, DbError> {
        self.jobs.transition(id, from, change).await
    }

    async fn get(&self, id: Uuid) -> Result<Option<Upload>, DbError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM uploads WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(columns::from_row).transpose()
    }

    async fn claim_completion(
        &self,
        id: Uuid,
        token: Uuid,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, DbError> {
        self.completion_claims.claim(id, token, now, until).await
    }

    async fn renew_completion(
        &self,
        id: Uuid,
        token: Uuid,
        until: OffsetDateTime,
    ) -> Result<bool, DbError> {
        self.completion_claims.renew(id, token, until).await
    }

    async fn release_completion(&self, id: Uuid, token: Uuid) -> Result<(), DbError> {
        self.completion_claims.release(id, token).await
    }

    async fn stale(&self, cutoff: OffsetDateTime, limit: u32) -> Result<Vec<Upload>, DbError> {
        let rows = sqlx::query(&columns::stale())
            .bind(millis(cutoff))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(columns::from_row).collect()
    }

    async fn cut_short_completions(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Upload>, DbError> {
        let rows = sqlx::query(&columns::cut_short_completions())
            .bind(millis(now))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(columns::from_row).collect()
    }

    async fn client_parts_uploading(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Upload>, DbError> {
        let rows = sqlx::query(&columns::client_parts_uploading())
            .bind(after.map(|id| id.to_string()))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(columns::from_row).collect()
    }

    async fn usage(&self, owner: &str, query: UsageQuery) -> Result<Usage, DbError> {
        let row = columns::usage_query(owner, query)
            .fetch_one(&self.pool)
            .await?;
        columns::usage_from_row(&row)
    }

    async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
