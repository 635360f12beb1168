use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};
use time::OffsetDateTime;
use uploadgate_api::UploadStatus;
use uuid::Uuid;

use super::access::SqlAccess;
use super::checkpointer::{self, Checkpointer};
use super::columns::{self, COLUMNS, millis};
use super::completion_claims::CompletionClaims;
use super::group_commit::GroupCommit;
use super::job_queue::{Dialect, SqlJobs};
use super::point_reads::PointReads;
use super::{
    AccessStore, Database, DbError, DeletionStore, IdempotencyStore, JobQueue, ListFilter,
    Transition, Upload, UploadRepo, Usage, UsageQuery, WebhookStore,
};

#[derive(Debug, Clone)]
pub struct SqliteRepo {
    /// WAL lets readers run beside the writer.
    readers: SqlitePool,
    /// Lookups of one row, on the calling thread.
    points: Arc<PointReads>,
    /// Every write goes through one writing connection (SQLite takes one
    /// writer at a time; a single connection queues writes in the pool
    /// instead of in SQLite's sleeping busy handler): inserts in groups,
    /// jobs and their transitions, completion claims.
    inserts: GroupCommit,
    jobs: SqlJobs<Sqlite>,
    completion_claims: CompletionClaims<Sqlite>,
    access: SqlAccess<Sqlite>,
    /// Stops when the last clone of the repository is dropped.
    _checkpointer: Arc<Checkpointer>,
}

const DIALECT: Dialect = Dialect {
    kinds: "SELECT value FROM json_each($4)",
    lock: "",
};

impl SqliteRepo {
    /// Opens (creating if needed) the database at `url` and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // A committed upload record must survive a power cut, not only a crash.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let writer_options = checkpointer::WRITER_PRAGMAS
            .iter()
            .fold(options.clone(), |options, (key, value)| {
                options.pragma(*key, *value)
            });
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            // A connection to a local file does not go stale the way a socket does,
            // and the test costs a trip to sqlx's connection thread.
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(writer_options)
            .await?;
        super::schema::SQLITE.run(&writer).await?;
        let checkpointer = Arc::new(Checkpointer::start(
            options.get_filename(),
            checkpointer::INTERVAL,
        )?);
        let points = Arc::new(PointReads::open(options.get_filename())?);
        let readers = SqlitePoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options.read_only(true))
            .await?;
        let pool = writer.clone();
        let inserts = GroupCommit::start(move |uploads| insert_rows(pool.clone(), uploads));
        Ok(Self {
            jobs: SqlJobs::new(writer.clone(), readers.clone(), DIALECT),
            completion_claims: CompletionClaims(writer.clone()),
            access: SqlAccess {
                writer,
                reader: readers.clone(),
            },
            readers,
            points,
            inserts,
            _checkpointer: checkpointer,
        })
    }
}

async fn insert_rows(pool: SqlitePool, uploads: Arc<[Upload]>) -> Result<(), DbError> {
    columns::insert_query::<Sqlite>(&uploads)?
        .build()
        .execute(&pool)
        .await?;
    Ok(())
}

impl Database for SqliteRepo {
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
impl UploadRepo for SqliteRepo {
    async fn insert(&self, upload: &Upload) -> Result<(), DbError> {
        self.inserts.insert(upload.clone()).await
    }

    async fn find(&self, id: Uuid, owner: &str) -> Result<Option<Upload>, DbError> {
        self.points.upload(
            &format!("SELECT {COLUMNS} FROM uploads WHERE id = ?1 AND owner = ?2"),
            (id.to_string(), owner),
        )
    }

    async fn list(&self, owner: Option<&str>, filter: &ListFilter) -> Result<Vec<Upload>, DbError> {
        // The key is quoted in the path: keys may hold dots, never quotes.
        let sql = columns::list(owner.is_some(), "json_extract(metadata, $8)");
        let rows = columns::list_query(&sql, owner, filter, |key| format!("$.\"{key}\""))
            .fetch_all(&self.readers)
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
        self.points.upload(
            &format!("SELECT {COLUMNS} FROM uploads WHERE id = ?1"),
            (id.to_string(),),
        )
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
            .fetch_all(&self.readers)
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
            .fetch_all(&self.readers)
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
            .fetch_all(&self.readers)
            .await?;
        rows.iter().map(columns::from_row).collect()
    }

    async fn usage(&self, owner: &str, query: UsageQuery) -> Result<Usage, DbError> {
        let row = columns::usage_query(owner, query)
            .fetch_one(&self.readers)
            .await?;
        columns::usage_from_row(&row)
    }

    async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.readers).await?;
        Ok(())
    }
}
