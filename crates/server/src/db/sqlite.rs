use std::str::FromStr as _;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Row as _, Sqlite, SqlitePool, sqlite::SqliteRow};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};
use uploadgate_api::UploadStatus;
use uuid::Uuid;

use super::{DbError, ListFilter, Multipart, Transition, Upload, UploadRepo};
use crate::multipart::Layout;

const COLUMNS: &str = "id, owner, profile, filename, content_type, size, checksum_sha256, method, \
     object_key, staging_key, status, metadata, reject_reason, created_at, expires_at, completed_at, \
     multipart_upload_id, part_size, part_count";

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
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&writer)
            .await
            .map_err(|e| DbError::Other(format!("migration failed: {e}")))?;
        let readers = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options.read_only(true))
            .await?;
        let (inserts, queue) = mpsc::channel(MAX_BATCH * 4);
        tokio::spawn(batch_inserts(writer.clone(), queue));
        Ok(Self {
            writer,
            readers,
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

/// Columns of one `uploads` row, converted ahead of binding (conversion can fail).
struct Row {
    size: i64,
    metadata: String,
    part_size: Option<i64>,
}

async fn insert_rows(pool: &SqlitePool, uploads: &[&Upload]) -> Result<(), DbError> {
    let rows = uploads
        .iter()
        .map(|u| {
            Ok(Row {
                // 0 stands for "not declared": API v1 refuses empty files, so it is free.
                size: to_i64(u.size.unwrap_or(0))?,
                metadata: serde_json::to_string(&u.metadata)
                    .map_err(|e| DbError::Other(e.to_string()))?,
                part_size: u
                    .multipart
                    .as_ref()
                    .and_then(|m| m.layout.map(|l| to_i64(l.part_size)))
                    .transpose()?,
            })
        })
        .collect::<Result<Vec<Row>, DbError>>()?;
    let mut query =
        QueryBuilder::<Sqlite>::new(format!("INSERT INTO uploads ({COLUMNS}, updated_at) "));
    query.push_values(uploads.iter().zip(rows), |mut b, (u, row)| {
        b.push_bind(u.id.to_string())
            .push_bind(u.owner.clone())
            .push_bind(u.profile.clone())
            .push_bind(u.filename.clone())
            .push_bind(u.content_type.clone())
            .push_bind(row.size)
            .push_bind(u.checksum_sha256.clone())
            .push_bind(u.method.clone())
            .push_bind(u.key.clone())
            .push_bind(u.staging_key.clone())
            .push_bind(u.status.as_str())
            .push_bind(row.metadata)
            .push_bind(u.reject_reason.clone())
            .push_bind(millis(u.created_at))
            .push_bind(millis(u.expires_at))
            .push_bind(u.completed_at.map(millis))
            .push_bind(u.multipart.as_ref().map(|m| m.upload_id.clone()))
            .push_bind(row.part_size)
            .push_bind(
                u.multipart
                    .as_ref()
                    .and_then(|m| m.layout.map(|l| i64::from(l.part_count))),
            )
            .push_bind(millis(u.created_at));
    });
    query.build().execute(pool).await?;
    Ok(())
}

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
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM uploads WHERE id = ? AND owner = ?"
        ))
        .bind(id.to_string())
        .bind(owner)
        .fetch_optional(&self.readers)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    async fn find_by_key(&self, owner: &str, key: &str) -> Result<Option<Upload>, DbError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM uploads WHERE object_key = ? AND owner = ?"
        ))
        .bind(key)
        .bind(owner)
        .fetch_optional(&self.readers)
        .await?;
        row.as_ref().map(from_row).transpose()
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
        rows.iter().map(from_row).collect()
    }

    async fn transition(
        &self,
        id: Uuid,
        from: UploadStatus,
        change: &Transition,
    ) -> Result<bool, DbError> {
        let completed_at = (change.to == UploadStatus::Completed).then(|| millis(change.at));
        let result = sqlx::query(
            "UPDATE uploads SET status = ?, updated_at = ?, \
                 reject_reason = COALESCE(?, reject_reason), \
                 completed_at = COALESCE(?, completed_at), \
                 size = COALESCE(?, size) \
             WHERE id = ? AND status = ?",
        )
        .bind(change.to.as_str())
        .bind(millis(change.at))
        .bind(&change.reject_reason)
        .bind(completed_at)
        .bind(change.size.map(to_i64).transpose()?)
        .bind(id.to_string())
        .bind(from.as_str())
        .execute(&self.writer)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.readers).await?;
        Ok(())
    }
}

fn from_row(row: &SqliteRow) -> Result<Upload, DbError> {
    let corrupt = |what: &str| DbError::Other(format!("corrupt upload row: {what}"));
    let id: String = row.try_get("id")?;
    let status: String = row.try_get("status")?;
    let metadata: String = row.try_get("metadata")?;
    let size: i64 = row.try_get("size")?;
    let size = Some(u64::try_from(size).map_err(|_| corrupt("size"))?).filter(|&n| n > 0);
    let layout = match (
        size,
        row.try_get::<Option<i64>, _>("part_size")?,
        row.try_get::<Option<i64>, _>("part_count")?,
    ) {
        (Some(size), Some(part_size), Some(part_count)) => Some(Layout {
            size,
            part_size: u64::try_from(part_size).map_err(|_| corrupt("part_size"))?,
            part_count: u32::try_from(part_count).map_err(|_| corrupt("part_count"))?,
        }),
        _ => None,
    };
    let multipart = row
        .try_get::<Option<String>, _>("multipart_upload_id")?
        .map(|upload_id| Multipart { upload_id, layout });
    Ok(Upload {
        id: Uuid::parse_str(&id).map_err(|_| corrupt("id"))?,
        owner: row.try_get("owner")?,
        profile: row.try_get("profile")?,
        filename: row.try_get("filename")?,
        content_type: row.try_get("content_type")?,
        size,
        checksum_sha256: row.try_get("checksum_sha256")?,
        method: row.try_get("method")?,
        key: row.try_get("object_key")?,
        staging_key: row.try_get("staging_key")?,
        status: UploadStatus::parse(&status).ok_or_else(|| corrupt("status"))?,
        metadata: serde_json::from_str(&metadata).map_err(|_| corrupt("metadata"))?,
        reject_reason: row.try_get("reject_reason")?,
        created_at: from_millis(row.try_get("created_at")?)?,
        expires_at: from_millis(row.try_get("expires_at")?)?,
        completed_at: row
            .try_get::<Option<i64>, _>("completed_at")?
            .map(from_millis)
            .transpose()?,
        multipart,
    })
}

fn to_i64(n: u64) -> Result<i64, DbError> {
    i64::try_from(n).map_err(|_| DbError::Other(format!("{n} does not fit in a database integer")))
}

fn millis(at: OffsetDateTime) -> i64 {
    // i128 → i64 only overflows ~292 million years from now.
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn from_millis(ms: i64) -> Result<OffsetDateTime, DbError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| DbError::Other(format!("corrupt timestamp {ms}: {e}")))
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
