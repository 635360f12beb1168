use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};
use uploadgate_api::UploadStatus;
use uuid::Uuid;

use super::columns::{self, COLUMNS, millis};
use super::point_reads::PointReads;
use super::{DbError, ListFilter, Transition, Upload, UploadRepo, Usage, jobs};

/// Most inserts committed together; 20 columns each stays far below SQLite's
/// limit of 32,766 bound parameters.
const MAX_BATCH: usize = 256;

#[derive(Debug, Clone)]
pub struct SqliteRepo {
    /// SQLite takes one writer at a time; a single writing connection queues
    /// writes in the pool instead of in SQLite's sleeping busy handler.
    writer: SqlitePool,
    /// WAL lets readers run beside the writer.
    readers: SqlitePool,
    /// Lookups of one row, on the calling thread.
    points: Arc<PointReads>,
    inserts: mpsc::Sender<QueuedInsert>,
}

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
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            // A connection to a local file does not go stale the way a socket does,
            // and the test costs a trip to sqlx's connection thread.
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&writer)
            .await
            .map_err(|e| DbError::Other(format!("migration failed: {e}")))?;
        let points = Arc::new(PointReads::open(options.get_filename())?);
        let readers = SqlitePoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options.read_only(true))
            .await?;
        let (inserts, queue) = mpsc::channel(MAX_BATCH * 4);
        tokio::spawn(batch_inserts(writer.clone(), queue));
        Ok(Self {
            writer,
            readers,
            points,
            inserts,
        })
    }
}

/// An insert waiting for the next batch, and where to send its outcome.
type QueuedInsert = (Upload, oneshot::Sender<Result<(), DbError>>);

/// Group commit: inserts that arrive together share one statement and one
/// durable commit, instead of paying a commit each.
async fn batch_inserts(pool: SqlitePool, mut queue: mpsc::Receiver<QueuedInsert>) {
    let mut batch: Vec<QueuedInsert> = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let uploads: Vec<&Upload> = batch.iter().map(|(upload, _)| upload).collect();
        match insert_rows(&pool, &uploads).await {
            Ok(()) => {
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Ok(()));
                }
            }
            // One bad row fails the statement: retry alone to tell whose it was.
            Err(_) if batch.len() > 1 => {
                for (upload, reply) in batch.drain(..) {
                    let _ = reply.send(insert_rows(&pool, &[&upload]).await);
                }
            }
            Err(err) => {
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Err(DbError::Other(err.to_string())));
                }
            }
        }
    }
}

async fn insert_rows(pool: &SqlitePool, uploads: &[&Upload]) -> Result<(), DbError> {
    columns::insert_query::<Sqlite>(uploads)?
        .build()
        .execute(pool)
        .await?;
    Ok(())
}

// SQLite has one writer connection, so a claim is atomic without locking clauses.
jobs::impl_job_queue!(
    SqliteRepo,
    sqlx::SqliteConnection,
    writer = writer,
    reader = readers,
    kinds = "SELECT value FROM json_each($4)",
    lock = ""
);

#[async_trait]
impl UploadRepo for SqliteRepo {
    async fn insert(&self, upload: &Upload) -> Result<(), DbError> {
        let (reply, outcome) = oneshot::channel();
        self.inserts
            .send((upload.clone(), reply))
            .await
            .map_err(|_| DbError::Unavailable("the insert queue has stopped".into()))?;
        outcome
            .await
            .map_err(|_| DbError::Unavailable("the insert queue has stopped".into()))?
    }

    async fn find(&self, id: Uuid, owner: &str) -> Result<Option<Upload>, DbError> {
        self.points.upload(
            &format!("SELECT {COLUMNS} FROM uploads WHERE id = ?1 AND owner = ?2"),
            (id.to_string(), owner),
        )
    }

    async fn find_by_key(&self, owner: &str, key: &str) -> Result<Option<Upload>, DbError> {
        self.points.upload(
            &format!("SELECT {COLUMNS} FROM uploads WHERE object_key = ?1 AND owner = ?2"),
            (key, owner),
        )
    }

    async fn list(&self, owner: &str, filter: &ListFilter) -> Result<Vec<Upload>, DbError> {
        // An absent filter binds NULL, so one statement serves every combination.
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM uploads \
             WHERE owner = ? AND (? IS NULL OR status = ?) AND (? IS NULL OR id < ?) \
             ORDER BY id DESC LIMIT ?"
        ))
        .bind(owner)
        .bind(filter.status.map(UploadStatus::as_str))
        .bind(filter.status.map(UploadStatus::as_str))
        .bind(filter.before.map(|id| id.to_string()))
        .bind(filter.before.map(|id| id.to_string()))
        .bind(i64::from(filter.limit))
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
        self.transition_enqueuing(id, from, change).await
    }

    async fn get(&self, id: Uuid) -> Result<Option<Upload>, DbError> {
        self.points.upload(
            &format!("SELECT {COLUMNS} FROM uploads WHERE id = ?1"),
            (id.to_string(),),
        )
    }

    async fn find_by_stored_key(&self, key: &str) -> Result<Option<Upload>, DbError> {
        self.points.upload(
            &format!("SELECT {COLUMNS} FROM uploads WHERE object_key = ?1 OR staging_key = ?1"),
            (key,),
        )
    }

    async fn claim_completion(
        &self,
        id: Uuid,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, DbError> {
        let result = sqlx::query(
            "UPDATE uploads SET completing_until = ? \
             WHERE id = ? AND status IN ('pending', 'uploading') \
               AND (completing_until IS NULL OR completing_until < ?)",
        )
        .bind(millis(until))
        .bind(id.to_string())
        .bind(millis(now))
        .execute(&self.writer)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn release_completion(&self, id: Uuid) -> Result<(), DbError> {
        sqlx::query("UPDATE uploads SET completing_until = NULL WHERE id = ?")
            .bind(id.to_string())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn stale(&self, cutoff: OffsetDateTime, limit: u32) -> Result<Vec<Upload>, DbError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM uploads \
             WHERE status IN ('pending', 'uploading') AND expires_at < ? \
             ORDER BY expires_at LIMIT ?"
        ))
        .bind(millis(cutoff))
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(columns::from_row).collect()
    }

    async fn multipart_in_progress(&self, key: &str, upload_id: &str) -> Result<bool, DbError> {
        let row = sqlx::query(
            "SELECT 1 FROM uploads WHERE object_key = ? AND multipart_upload_id = ? \
             AND status IN ('pending', 'uploading')",
        )
        .bind(key)
        .bind(upload_id)
        .fetch_optional(&self.readers)
        .await?;
        Ok(row.is_some())
    }

    async fn usage(&self, owner: &str, since: OffsetDateTime) -> Result<Usage, DbError> {
        let row = sqlx::query(&columns::usage_sql("?", "?"))
            .bind(millis(since))
            .bind(owner)
            .fetch_one(&self.readers)
            .await?;
        columns::usage_from_row(&row)
    }

    async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.readers).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn upload(n: u32) -> Upload {
        let id = Uuid::now_v7();
        let now = crate::db::now();
        Upload {
            id,
            owner: "alice".into(),
            profile: "default".into(),
            filename: format!("{n}.png"),
            content_type: "image/png".into(),
            size: Some(u64::from(n) + 1),
            checksum_sha256: None,
            method: "PUT".into(),
            key: format!("uploads/alice/{}", id.simple()),
            staging_key: format!("staging/{}", id.simple()),
            status: UploadStatus::Pending,
            metadata: BTreeMap::from([("n".into(), n.to_string())]),
            reject_reason: None,
            created_at: now,
            expires_at: now,
            completed_at: None,
            multipart: None,
            processing: None,
        }
    }

    #[tokio::test]
    async fn concurrent_inserts_commit_together_and_a_bad_one_fails_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let repo = SqliteRepo::connect(&url).await.expect("connect");
        let mut uploads: Vec<Upload> = (0..50).map(upload).collect();
        // Same key as the first: the unique constraint must refuse this one only.
        uploads[7].key = uploads[0].key.clone();
        let results = futures::future::join_all(uploads.iter().map(|u| repo.insert(u))).await;
        let failed: Vec<usize> = results
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.is_err().then_some(i))
            .collect();
        assert!(failed == [7] || failed == [0], "{failed:?}");
        for (i, u) in uploads.iter().enumerate() {
            let found = repo.find(u.id, "alice").await.expect("find");
            assert_eq!(found.is_some(), !failed.contains(&i), "upload {i}");
            if let Some(found) = found {
                assert_eq!(&found, u);
            }
        }
    }
}
