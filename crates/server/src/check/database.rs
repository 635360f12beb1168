//! The database: reachable, and migrated by this build or one it can follow.

use super::{Report, bounded};
use crate::config::Config;
use crate::db::{SchemaStatus, schema_status};

pub(super) async fn check(report: &mut Report, config: &Config) {
    let status = bounded(async {
        schema_status(&config.database_url())
            .await
            .map_err(|err| err.to_string())
    })
    .await;
    report.push("database", status.and_then(|status| judge(&status)));
}

fn judge(status: &SchemaStatus) -> Result<String, String> {
    let engine = status.engine;
    if !status.unknown.is_empty() {
        return Err(format!(
            "{engine}: migrations {} were applied by a newer uploadgate; this build cannot run on this database",
            versions(&status.unknown)
        ));
    }
    if !status.altered.is_empty() {
        return Err(format!(
            "{engine}: migrations {} differ from this build's (edited after they ran, or failed half-way)",
            versions(&status.altered)
        ));
    }
    Ok(match (status.exists, status.pending.len()) {
        (false, pending) => {
            format!(
                "{engine}: not created yet; `serve` creates it and applies {pending} migrations"
            )
        }
        (true, 0) => format!(
            "{engine}: {} migrations applied, none pending",
            status.applied
        ),
        (true, pending) => format!(
            "{engine}: {} migrations applied, {pending} pending; `serve` applies them at start",
            status.applied
        ),
    })
}

fn versions(list: &[i64]) -> String {
    list.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
