//! The migrations this build carries, and how a database compares with them,
//! read without changing anything (`uploadgate check`).

use std::collections::BTreeMap;
use std::str::FromStr as _;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Executor, Row as _};

use super::DbError;

pub(super) static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");
pub(super) static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");

/// How long `schema_status` waits for the server to answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A database's migrations against this build's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaStatus {
    /// `sqlite` or `postgres`.
    pub engine: &'static str,
    /// Whether the database exists yet (a SQLite file is created at start).
    pub exists: bool,
    /// Migrations of this build the database has.
    pub applied: usize,
    /// Migrations of this build it lacks; `serve` applies them at start.
    pub pending: Vec<i64>,
    /// Migrations it has that this build does not know: a newer version ran here.
    pub unknown: Vec<i64>,
    /// Migrations applied with other contents, or that failed half-way.
    pub altered: Vec<i64>,
}

impl SchemaStatus {
    /// Whether this build can run on the database as it is (after applying
    /// what is pending, as `serve` does).
    pub fn usable(&self) -> bool {
        self.unknown.is_empty() && self.altered.is_empty()
    }
}

/// Reads the migrations table of the database at `url` (`sqlite:` or
/// `postgres://`) without creating, migrating or writing anything.
pub async fn schema_status(url: &str) -> Result<SchemaStatus, DbError> {
    if url.starts_with("sqlite:") {
        let options = SqliteConnectOptions::from_str(url)?;
        if !options.get_filename().exists() {
            return Ok(compare("sqlite", &SQLITE, None));
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options.read_only(true))
            .await?;
        let applied = applied(&pool, "sqlite_master WHERE type = 'table' AND name").await;
        pool.close().await;
        Ok(compare("sqlite", &SQLITE, Some(applied?)))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect(url)
            .await?;
        let applied = applied(
            &pool,
            "information_schema.tables WHERE table_schema = current_schema() AND table_name",
        )
        .await;
        pool.close().await;
        Ok(compare("postgres", &POSTGRES, Some(applied?)))
    } else {
        Err(DbError::invalid(
            "unsupported database URL: use sqlite:// or postgres://",
        ))
    }
}

/// (version, checksum, success) of every row of sqlx's migrations table; none
/// when the table does not exist. `tables` selects from the engine's catalogue
/// up to the column holding table names.
async fn applied<'p, DB>(
    pool: &'p sqlx::Pool<DB>,
    tables: &str,
) -> Result<BTreeMap<i64, (Vec<u8>, bool)>, DbError>
where
    DB: sqlx::Database,
    &'p sqlx::Pool<DB>: Executor<'p, Database = DB>,
    for<'r> i64: sqlx::Decode<'r, DB> + sqlx::Type<DB>,
    for<'r> Vec<u8>: sqlx::Decode<'r, DB> + sqlx::Type<DB>,
    for<'r> bool: sqlx::Decode<'r, DB> + sqlx::Type<DB>,
    for<'r> &'r str: sqlx::ColumnIndex<DB::Row>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
{
    let found = sqlx::query(&format!(
        "SELECT COUNT(*) AS n FROM {tables} = '_sqlx_migrations'"
    ))
    .fetch_one(pool)
    .await?
    .try_get::<i64, _>("n")?;
    if found == 0 {
        return Ok(BTreeMap::new());
    }
    let rows = sqlx::query("SELECT version, checksum, success FROM _sqlx_migrations")
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get::<i64, _>("version")?,
                (
                    row.try_get::<Vec<u8>, _>("checksum")?,
                    row.try_get::<bool, _>("success")?,
                ),
            ))
        })
        .collect()
}

fn compare(
    engine: &'static str,
    ours: &Migrator,
    theirs: Option<BTreeMap<i64, (Vec<u8>, bool)>>,
) -> SchemaStatus {
    let exists = theirs.is_some();
    let theirs = theirs.unwrap_or_default();
    let mut status = SchemaStatus {
        engine,
        exists,
        applied: 0,
        pending: Vec::new(),
        unknown: Vec::new(),
        altered: Vec::new(),
    };
    for migration in ours.iter() {
        match theirs.get(&migration.version) {
            None => status.pending.push(migration.version),
            Some((checksum, success)) if *success && **checksum == *migration.checksum => {
                status.applied += 1;
            }
            Some(_) => status.altered.push(migration.version),
        }
    }
    status.unknown = theirs
        .keys()
        .filter(|version| !ours.iter().any(|m| m.version == **version))
        .copied()
        .collect();
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_file_is_reported_not_created() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("none.db");
        let status = schema_status(&format!("sqlite://{}", path.display()))
            .await
            .expect("readable");
        assert!(!status.exists);
        assert_eq!(status.pending.len(), SQLITE.iter().count());
        assert!(status.usable());
        assert!(!path.exists(), "checking must not create the database");
    }

    #[tokio::test]
    async fn a_migrated_database_is_current_and_a_newer_one_is_not_usable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("u.db").display());
        drop(
            super::super::SqliteRepo::connect(&url)
                .await
                .expect("migrates"),
        );
        let status = schema_status(&url).await.expect("readable");
        assert!(status.exists);
        assert!(status.pending.is_empty(), "{status:?}");
        assert_eq!(status.applied, SQLITE.iter().count());
        assert!(status.usable());

        let pool = sqlx::SqlitePool::connect(&url).await.expect("opens");
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (99990101, 'from a newer build', TRUE, x'00', 0)",
        )
        .execute(&pool)
        .await
        .expect("insert");
        pool.close().await;
        let status = schema_status(&url).await.expect("readable");
        assert_eq!(status.unknown, vec![99_990_101]);
        assert!(!status.usable());
    }
}
