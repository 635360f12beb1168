//! Migrations: both trees carry the same changes under the same numbers from
//! where they were aligned, and 0015 ends what the retired `webhook`
//! processor left in a database, on both engines.

use std::path::Path;
use std::sync::Arc;

use uploadgate_api::{JobState, ProcessingState};
use uploadgate_server::config::Processor;
use uploadgate_server::db::{Database, PgRepo, SqliteRepo};
use uploadgate_testkit::engines::test_database;
use uuid::Uuid;

use crate::repo_conformance::completed_with_job;

/// The first number both trees give the same change: before it, SQLite had
/// a `multipart` migration of its own (0002) and PostgreSQL one splitting
/// usage per statement (0006), so the numbers in between differ. Applied
/// migrations cannot be renumbered; every later one goes in both trees.
const ALIGNED_FROM: u32 = 7;

fn names(engine: &str) -> Vec<(u32, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(engine);
    let mut names: Vec<(u32, String)> = std::fs::read_dir(dir)
        .expect("the migrations")
        .map(|entry| {
            let name = entry
                .expect("an entry")
                .file_name()
                .into_string()
                .expect("UTF-8");
            let (number, rest) = name.split_once('_').expect("NNNN_name.sql");
            (number.parse().expect("a number"), rest.to_owned())
        })
        .collect();
    names.sort();
    names
}

#[test]
fn both_trees_number_every_change_alike_from_where_they_were_aligned() {
    let later = |engine| -> Vec<(u32, String)> {
        names(engine)
            .into_iter()
            .filter(|(n, _)| *n >= ALIGNED_FROM)
            .collect()
    };
    assert_eq!(later("sqlite"), later("postgres"));
    assert_eq!(names("sqlite").len(), names("postgres").len());
}

/// Raw SQL on the test's database, for what no repository method does.
enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Raw {
    async fn run(&self, sql: &str) {
        match self {
            Raw::Sqlite(pool) => sqlx::raw_sql(sql).execute(pool).await.map(drop),
            Raw::Postgres(pool) => sqlx::raw_sql(sql).execute(pool).await.map(drop),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    async fn text(&self, sql: &str) -> Vec<String> {
        match self {
            Raw::Sqlite(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
            Raw::Postgres(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

async fn connect(url: &str) -> Arc<dyn Database> {
    if url.starts_with("sqlite:") {
        Arc::new(SqliteRepo::connect(url).await.expect("connect"))
    } else {
        Arc::new(PgRepo::connect(url).await.expect("connect"))
    }
}

#[tokio::test]
async fn migration_15_ends_the_retired_webhook_processor_s_jobs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = match test_database().await {
        Some(url) => url,
        None => format!("sqlite://{}", dir.path().join("t.db").display()),
    };
    let repo = connect(&url).await;
    let raw = if url.starts_with("sqlite:") {
        Raw::Sqlite(sqlx::SqlitePool::connect(&url).await.expect("connect"))
    } else {
        Raw::Postgres(sqlx::PgPool::connect(&url).await.expect("connect"))
    };
    // What a version before 0015 could leave:
    // - `waiting`: scan done, the webhook job (the last step) queued;
    // - `scanning`: scan queued, the webhook processor its next step but one;
    // - `before_scan`: sniff done, the webhook job queued with scan after it;
    // - `dead`: scan done, the webhook job dead-lettered, processing failed.
    let waiting = completed_with_job(&repo, Processor::Scan, &[]).await;
    let scanning = completed_with_job(&repo, Processor::Scan, &[]).await;
    let before_scan = completed_with_job(&repo, Processor::Sniff, &[]).await;
    let dead = completed_with_job(&repo, Processor::Scan, &[]).await;
    let webhook_job = |upload: Uuid, next: &str, state: &str| {
        format!(
            "INSERT INTO jobs (id, upload_id, kind, next, state, attempts, run_at, created_at, updated_at) \
             VALUES ('{}', '{upload}', 'webhook', '{next}', '{state}', 0, 0, 0, 0);",
            Uuid::now_v7()
        )
    };
    raw.run(&format!(
        "UPDATE jobs SET state = 'done' WHERE upload_id IN ('{w}', '{b}', '{d}');
         {}
         UPDATE jobs SET next = '[\"thumbnail\",\"webhook\"]' WHERE upload_id = '{s}';
         {}
         {}
         UPDATE uploads SET processing = REPLACE(processing, '\"state\":\"processing\"', '\"state\":\"failed\"')
             WHERE id = '{d}';
         DELETE FROM _sqlx_migrations WHERE version = 15;",
        webhook_job(waiting.id, "[]", "queued"),
        webhook_job(before_scan.id, r#"["scan","thumbnail"]"#, "queued"),
        webhook_job(dead.id, "[]", "dead"),
        w = waiting.id,
        s = scanning.id,
        b = before_scan.id,
        d = dead.id,
    ))
    .await;
    drop(repo);

    // Started again, the server applies 0015 once more.
    let repo = connect(&url).await;
    assert_eq!(
        raw.text("SELECT kind FROM jobs WHERE kind = 'webhook'")
            .await,
        Vec::<String>::new()
    );
    let state = |id: Uuid| {
        let repo = repo.clone();
        async move {
            let upload = repo.get(id).await.expect("get").expect("found");
            upload.processing.map(|p| p.state)
        }
    };
    assert_eq!(state(waiting.id).await, Some(ProcessingState::Ready));
    assert_eq!(state(dead.id).await, Some(ProcessingState::Ready));
    let jobs = repo
        .jobs()
        .jobs_of(scanning.id)
        .await
        .expect("readable jobs");
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].next, [Processor::Thumbnail]);
    assert_eq!(state(scanning.id).await, Some(ProcessingState::Processing));
    // The steps after the retired one still run: scan next, then thumbnail.
    let jobs = repo
        .jobs()
        .jobs_of(before_scan.id)
        .await
        .expect("readable jobs");
    let mut kinds: Vec<_> = jobs
        .iter()
        .map(|j| (j.kind, j.state, j.next.clone()))
        .collect();
    kinds.sort_by_key(|(kind, ..)| kind.as_str() != "sniff");
    assert_eq!(
        kinds,
        [
            (Processor::Sniff, JobState::Done, Vec::new()),
            (
                Processor::Scan,
                JobState::Queued,
                vec![Processor::Thumbnail]
            ),
        ]
    );
    assert_eq!(
        state(before_scan.id).await,
        Some(ProcessingState::Processing)
    );
}
