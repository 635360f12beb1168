//! The external engines a test run may name: with `UPLOADGATE_TEST_DATABASE_URL`
//! a PostgreSQL server, with `UPLOADGATE_TEST_S3_*` an S3 store (Garage), with
//! `UPLOADGATE_TEST_AZURE_*` an Azure Blob Storage account (Azurite), with
//! `UPLOADGATE_TEST_GCS_*` a Google Cloud Storage bucket (fake-gcs-server
//! behind its checking front), all started by `scripts/test`. Without them, tests use SQLite and the embedded
//! store.

use uploadgate_server::config::Config;
use uploadgate_server::secret::Secret;

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// A fresh database for one test on the PostgreSQL server the environment
/// names; `None` (use SQLite in the data dir) when it names none.
pub async fn test_database() -> Option<String> {
    let base = var("UPLOADGATE_TEST_DATABASE_URL")?;
    let name = format!("ug_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&base)
        .await
        .expect("test PostgreSQL reachable");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .expect("create test database");
    admin.close().await;
    let mut url = url::Url::parse(&base).expect("database URL");
    url.set_path(&name);
    Some(url.into())
}

/// Whether the environment names an external store.
pub fn external_store() -> bool {
    var("UPLOADGATE_TEST_S3_ENDPOINT").is_some() || azure_store() || gcs_store()
}

/// Whether the environment names an Azure store.
pub fn azure_store() -> bool {
    var("UPLOADGATE_TEST_AZURE_ENDPOINT").is_some()
}

/// Whether the environment names a GCS store.
pub fn gcs_store() -> bool {
    var("UPLOADGATE_TEST_GCS_ENDPOINT").is_some()
}

/// Whether the suite's store speaks S3 (the embedded store or Garage). Tests
/// of what only S3 has (POST forms, per-request encryption, Companion's
/// routes, signed sizes and checksums) return at once elsewhere; their
/// refusals there have tests of their own.
pub fn s3_store() -> bool {
    !azure_store() && !gcs_store()
}

/// `UPLOADGATE_TEST_{ENGINE}_{NAME}`, which the engine's endpoint needs.
fn required(engine: &str, name: &str) -> String {
    let name = format!("UPLOADGATE_TEST_{engine}_{name}");
    var(&name).unwrap_or_else(|| panic!("{name} goes with UPLOADGATE_TEST_{engine}_ENDPOINT"))
}

fn azure(name: &str) -> String {
    required("AZURE", name)
}

fn gcs(name: &str) -> String {
    required("GCS", name)
}

/// The `[s3]`, `[azure]` or `[gcs]` section of a config file pointing at the external
/// store the environment names (empty without one: the binary starts its embedded store).
pub fn store_toml() -> String {
    if let Some(endpoint) = var("UPLOADGATE_TEST_AZURE_ENDPOINT") {
        return format!(
            "[azure]\nendpoint = {endpoint:?}\naccount = {:?}\nkey = {:?}\ncontainer = {:?}\n",
            azure("ACCOUNT"),
            azure("KEY"),
            azure("CONTAINER"),
        );
    }
    if let Some(endpoint) = var("UPLOADGATE_TEST_GCS_ENDPOINT") {
        return format!(
            "[gcs]\nendpoint = {endpoint:?}\nbucket = {:?}\ncredentials = {:?}\n",
            gcs("BUCKET"),
            gcs("CREDENTIALS"),
        );
    }
    let Some(endpoint) = var("UPLOADGATE_TEST_S3_ENDPOINT") else {
        return String::new();
    };
    format!(
        "[s3]\nendpoint = {endpoint:?}\nregion = {:?}\nbucket = {:?}\naccess_key_id = {:?}\n\
         secret_access_key = {:?}\nforce_path_style = true\n",
        var("UPLOADGATE_TEST_S3_REGION").unwrap_or_else(|| "us-east-1".into()),
        var("UPLOADGATE_TEST_S3_BUCKET").unwrap_or_else(|| "uploads".into()),
        var("UPLOADGATE_TEST_S3_ACCESS_KEY_ID").expect("UPLOADGATE_TEST_S3_ACCESS_KEY_ID"),
        var("UPLOADGATE_TEST_S3_SECRET_ACCESS_KEY").expect("UPLOADGATE_TEST_S3_SECRET_ACCESS_KEY"),
    )
}

/// Points `config` at the external store the environment names, under a key
/// prefix of its own: tests share the bucket, and a prefix each keeps one
/// test's janitor off another's uploads.
pub fn use_external_store(config: &mut Config) {
    if let Some(endpoint) = var("UPLOADGATE_TEST_AZURE_ENDPOINT") {
        let store = &mut config.azure;
        store.endpoint = Some(endpoint.parse().expect("UPLOADGATE_TEST_AZURE_ENDPOINT"));
        store.account = Some(azure("ACCOUNT"));
        store.key = Some(Secret::new(azure("KEY")));
        store.container = azure("CONTAINER");
        store.key_prefix = format!("t-{}/", uuid::Uuid::new_v4().simple());
        return;
    }
    if let Some(endpoint) = var("UPLOADGATE_TEST_GCS_ENDPOINT") {
        let store = &mut config.gcs;
        store.endpoint = Some(endpoint.parse().expect("UPLOADGATE_TEST_GCS_ENDPOINT"));
        store.bucket = Some(gcs("BUCKET"));
        store.credentials = Some(gcs("CREDENTIALS").into());
        store.key_prefix = format!("t-{}/", uuid::Uuid::new_v4().simple());
        return;
    }
    let Some(endpoint) = var("UPLOADGATE_TEST_S3_ENDPOINT") else {
        return;
    };
    let s3 = &mut config.s3;
    s3.endpoint = Some(endpoint.parse().expect("UPLOADGATE_TEST_S3_ENDPOINT"));
    s3.region = var("UPLOADGATE_TEST_S3_REGION").unwrap_or_else(|| "us-east-1".into());
    s3.bucket = var("UPLOADGATE_TEST_S3_BUCKET").unwrap_or_else(|| "uploads".into());
    s3.access_key_id =
        Some(var("UPLOADGATE_TEST_S3_ACCESS_KEY_ID").expect("UPLOADGATE_TEST_S3_ACCESS_KEY_ID"));
    s3.secret_access_key = Some(Secret::new(
        var("UPLOADGATE_TEST_S3_SECRET_ACCESS_KEY").expect("UPLOADGATE_TEST_S3_SECRET_ACCESS_KEY"),
    ));
    s3.force_path_style = true;
    s3.key_prefix = format!("t-{}/", uuid::Uuid::new_v4().simple());
}
