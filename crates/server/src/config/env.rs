//! Environment variables that override keys of the config file.
//!
//! The names are part of uploadgate's public contract; `uploadgate.sample.toml`
//! documents each next to its key.

use toml::{Table, Value};

#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    Bool,
    Integer,
    /// Comma-separated list.
    List,
}

/// (variable, dotted key in the file, how to read the value)
const OVERRIDES: &[(&str, &str, Kind)] = &[
    ("UPLOADGATE_LISTEN", "listen", Kind::Text),
    ("UPLOADGATE_DATA_DIR", "data_dir", Kind::Text),
    ("UPLOADGATE_DATABASE_URL", "database_url", Kind::Text),
    ("UPLOADGATE_JWT_SECRET", "jwt_secret", Kind::Text),
    ("UPLOADGATE_AUTH_ISSUER", "auth.issuer", Kind::Text),
    ("UPLOADGATE_AUTH_AUDIENCES", "auth.audiences", Kind::List),
    ("UPLOADGATE_PUBLIC_URL", "public_url", Kind::Text),
    ("UPLOADGATE_CORS_ORIGINS", "cors_origins", Kind::List),
    ("UPLOADGATE_STORE_LISTEN", "store.listen", Kind::Text),
    (
        "UPLOADGATE_STORE_PUBLIC_URL",
        "store.public_url",
        Kind::Text,
    ),
    ("UPLOADGATE_S3_ENDPOINT", "s3.endpoint", Kind::Text),
    ("UPLOADGATE_S3_BUCKET", "s3.bucket", Kind::Text),
    ("UPLOADGATE_S3_REGION", "s3.region", Kind::Text),
    (
        "UPLOADGATE_S3_ACCESS_KEY_ID",
        "s3.access_key_id",
        Kind::Text,
    ),
    (
        "UPLOADGATE_S3_SECRET_ACCESS_KEY",
        "s3.secret_access_key",
        Kind::Text,
    ),
    (
        "UPLOADGATE_S3_FORCE_PATH_STYLE",
        "s3.force_path_style",
        Kind::Bool,
    ),
    ("UPLOADGATE_S3_KEY_PREFIX", "s3.key_prefix", Kind::Text),
    ("UPLOADGATE_AZURE_ACCOUNT", "azure.account", Kind::Text),
    ("UPLOADGATE_AZURE_KEY", "azure.key", Kind::Text),
    ("UPLOADGATE_AZURE_CONTAINER", "azure.container", Kind::Text),
    ("UPLOADGATE_AZURE_ENDPOINT", "azure.endpoint", Kind::Text),
    (
        "UPLOADGATE_AZURE_KEY_PREFIX",
        "azure.key_prefix",
        Kind::Text,
    ),
    ("UPLOADGATE_GCS_BUCKET", "gcs.bucket", Kind::Text),
    ("UPLOADGATE_GCS_CREDENTIALS", "gcs.credentials", Kind::Text),
    ("UPLOADGATE_GCS_ENDPOINT", "gcs.endpoint", Kind::Text),
    ("UPLOADGATE_GCS_KEY_PREFIX", "gcs.key_prefix", Kind::Text),
    (
        "UPLOADGATE_LIMITS_USER_RATE",
        "limits.user_rate",
        Kind::Integer,
    ),
    (
        "UPLOADGATE_LIMITS_USER_BURST",
        "limits.user_burst",
        Kind::Integer,
    ),
    ("UPLOADGATE_LIMITS_IP_RATE", "limits.ip_rate", Kind::Integer),
    (
        "UPLOADGATE_LIMITS_IP_BURST",
        "limits.ip_burst",
        Kind::Integer,
    ),
    (
        "UPLOADGATE_LIMITS_TRUST_FORWARDED_FOR",
        "limits.trust_forwarded_for",
        Kind::Bool,
    ),
    (
        "UPLOADGATE_LIMITS_MAX_UPLOADS_IN_PROGRESS",
        "limits.max_uploads_in_progress",
        Kind::Integer,
    ),
    (
        "UPLOADGATE_LIMITS_MAX_BYTES_PER_DAY",
        "limits.max_bytes_per_day",
        Kind::Text,
    ),
    (
        "UPLOADGATE_LIMITS_MAX_STORED_BYTES",
        "limits.max_stored_bytes",
        Kind::Text,
    ),
    (
        "UPLOADGATE_WORKERS_CONCURRENCY",
        "workers.concurrency",
        Kind::Integer,
    ),
    ("UPLOADGATE_SCAN_CLAMD", "scan.clamd", Kind::Text),
    ("UPLOADGATE_SCAN_QUARANTINE", "scan.quarantine", Kind::Text),
    ("UPLOADGATE_SCAN_FAIL_OPEN", "scan.fail_open", Kind::Bool),
    ("UPLOADGATE_WEBHOOKS_URL", "webhooks.url", Kind::Text),
    (
        "UPLOADGATE_WEBHOOKS_SECRETS",
        "webhooks.secrets",
        Kind::List,
    ),
    ("UPLOADGATE_WEBHOOKS_EVENTS", "webhooks.events", Kind::List),
    ("UPLOADGATE_EVENTS_SECRET", "events.secret", Kind::Text),
];

/// Every variable name this module reads, for docs and tests.
pub fn names() -> impl Iterator<Item = &'static str> {
    OVERRIDES.iter().map(|(name, _, _)| *name)
}

/// Writes each set variable from `lookup` into `table` at its key.
/// An empty variable counts as unset, so `VAR= uploadgate serve` falls back to the file.
pub fn apply(table: &mut Table, lookup: impl Fn(&str) -> Option<String>) -> Result<(), String> {
    for (name, key, kind) in OVERRIDES {
        let Some(raw) = lookup(name).filter(|v| !v.is_empty()) else {
            continue;
        };
        let value = match kind {
            Kind::Text => Value::String(raw),
            Kind::Bool => match raw.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Value::Boolean(true),
                "0" | "false" | "no" | "off" => Value::Boolean(false),
                _ => return Err(format!("{name}: expected true or false, got {raw:?}")),
            },
            Kind::Integer => Value::Integer(
                raw.trim()
                    .parse()
                    .map_err(|_| format!("{name}: expected a whole number, got {raw:?}"))?,
            ),
            Kind::List => Value::Array(
                raw.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_owned()))
                    .collect(),
            ),
        };
        set(table, key, value).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}

fn set(table: &mut Table, dotted: &str, value: Value) -> Result<(), String> {
    let mut parts: Vec<&str> = dotted.split('.').collect();
    let last = parts.pop().unwrap_or(dotted);
    let mut current = table;
    for part in parts {
        let entry = current
            .entry(part.to_owned())
            .or_insert_with(|| Value::Table(Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| format!("config key {part:?} is not a table"))?;
    }
    current.insert(last.to_owned(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_land_at_their_keys() {
        let mut table = Table::new();
        apply(&mut table, |name| match name {
            "UPLOADGATE_S3_BUCKET" => Some("media".into()),
            "UPLOADGATE_S3_FORCE_PATH_STYLE" => Some("TRUE".into()),
            "UPLOADGATE_CORS_ORIGINS" => Some("http://a, http://b".into()),
            "UPLOADGATE_LISTEN" => Some(String::new()),
            _ => None,
        })
        .expect("valid overrides");
        assert_eq!(table["s3"]["bucket"].as_str(), Some("media"));
        assert_eq!(table["s3"]["force_path_style"].as_bool(), Some(true));
        assert_eq!(table["cors_origins"].as_array().map(Vec::len), Some(2));
        assert!(!table.contains_key("listen"));
    }

    #[test]
    fn a_bad_boolean_names_the_variable() {
        let err = apply(&mut Table::new(), |name| {
            (name == "UPLOADGATE_S3_FORCE_PATH_STYLE").then(|| "maybe".into())
        })
        .expect_err("maybe is not a boolean");
        assert!(err.contains("UPLOADGATE_S3_FORCE_PATH_STYLE"));
    }
}
