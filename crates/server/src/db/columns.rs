//! The `uploads` row, shared by the SQLite and PostgreSQL repositories: the same
//! columns, the same encoding (millisecond timestamps, 0 for an undeclared size).

use sqlx::{ColumnIndex, Database, Decode, Encode, QueryBuilder, Row, Type};
use time::OffsetDateTime;
use uploadgate_api::{Processing, UploadStatus};
use uuid::Uuid;

use super::{DbError, ListFilter, Method, Multipart, Upload, UsageQuery};
use crate::keys;
use crate::multipart::Layout;

pub const COLUMNS: &str = "id, owner, profile, filename, content_type, size, checksum_sha256, method, \
     object_key, staging_key, status, metadata, reject_reason, created_at, expires_at, completed_at, \
     multipart_upload_id, part_size, part_count, processing, reserved, grant_id, deleted_at, purged_at";

/// A conditional state change: `$1` status, `$2` now, `$3` reject reason,
/// `$4` completed at, `$5` size (each kept when NULL), `$6` id, `$7` expected
/// status, `$8` the completion claim's token it needs (NULL: none), `$9` 1
/// when replacing the user's earlier uploads is still to do. The claim ends
/// with the state; a move to `deleted` records when.
pub const TRANSITION: &str = "UPDATE uploads SET status = $1, updated_at = $2, \
         replace_pending = $9, \
         reject_reason = COALESCE($3, reject_reason), \
         completed_at = COALESCE($4, completed_at), \
         deleted_at = CASE WHEN $1 = 'deleted' THEN $2 ELSE deleted_at END, \
         size = COALESCE($5, size) \
     WHERE id = $6 AND status = $7 AND (CAST($8 AS TEXT) IS NULL OR completing_by = $8)";

/// A page of uploads, newest first: `$1` owner, `$2` status, `$3` the id to
/// start before, `$5` profile, `$6` and `$7` the bounds of `created_at`,
/// `$8` a metadata key as `metadata_path` (here, in the dialect's JSON
/// lookup) and `$9` its value (each NULL: any); `$4` limit. Two statements,
/// so that one owner's page reads that owner's index range.
pub fn list(by_owner: bool, json_lookup: &str) -> String {
    let owner = if by_owner {
        "owner = $1"
    } else {
        "CAST($1 AS TEXT) IS NULL"
    };
    format!(
        "SELECT {COLUMNS} FROM uploads \
         WHERE {owner} AND (CAST($2 AS TEXT) IS NULL OR status = $2) \
           AND (CAST($3 AS TEXT) IS NULL OR id < $3) \
           AND (CAST($5 AS TEXT) IS NULL OR profile = $5) \
           AND (CAST($6 AS BIGINT) IS NULL OR created_at >= $6) \
           AND (CAST($7 AS BIGINT) IS NULL OR created_at < $7) \
           AND (CAST($8 AS TEXT) IS NULL OR {json_lookup} = $9) \
         ORDER BY id DESC LIMIT $4"
    )
}

/// `list`, bound in both dialects; `key_path` turns a metadata key into
/// what the dialect's JSON lookup takes.
pub fn list_query<'q, DB>(
    sql: &'q str,
    owner: Option<&'q str>,
    filter: &'q ListFilter,
    key_path: fn(&str) -> String,
) -> sqlx::query::Query<'q, DB, <DB as Database>::Arguments<'q>>
where
    DB: Database,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
    Option<String>: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
{
    let (key, value) = filter
        .metadata
        .as_ref()
        .map(|(key, value)| (key_path(key), value.clone()))
        .unzip();
    sqlx::query(sql)
        .bind(owner)
        .bind(filter.status.map(|s| s.as_str().to_owned()))
        .bind(filter.page.before.map(|id| id.to_string()))
        .bind(i64::from(filter.page.limit))
        .bind(filter.profile.clone())
        .bind(filter.created_from.map(millis))
        .bind(filter.created_until.map(millis))
        .bind(key)
        .bind(value)
}

/// Uploads in progress whose deadline is before `$1`, oldest first, `$2` of
/// them. Each status reads its own range of `(status, expires_at)` in order:
/// with both in one `IN`, the database sorted every stale upload to return the
/// first page, so a backlog of a million made each page of the janitor's
/// sweep read a million rows.
pub fn stale() -> String {
    let range = |status: &str| {
        format!(
            "SELECT {COLUMNS} FROM uploads WHERE status = '{status}' AND expires_at < $1 \
             ORDER BY expires_at LIMIT $2"
        )
    };
    format!(
        "SELECT {COLUMNS} FROM (\
           SELECT * FROM ({}) AS pending UNION ALL SELECT * FROM ({}) AS uploading\
         ) AS stale ORDER BY expires_at LIMIT $2",
        range("pending"),
        range("uploading"),
    )
}

/// `$1` now, `$2` limit: uploads in progress whose completion claim ran out
/// unreleased, the longest abandoned first.
pub fn cut_short_completions() -> String {
    format!(
        "SELECT {COLUMNS} FROM uploads \
         WHERE completing_until IS NOT NULL AND completing_until < $1 \
           AND status IN ('pending', 'uploading') \
         ORDER BY completing_until LIMIT $2"
    )
}

/// Multipart uploads being sent in parts their clients size (no recorded
/// layout), in id order: `$1` the id to start after (NULL: the first), `$2` limit.
pub fn client_parts_uploading() -> String {
    format!(
        "SELECT {COLUMNS} FROM uploads \
         WHERE status = 'uploading' AND multipart_upload_id IS NOT NULL AND part_count IS NULL \
           AND (CAST($1 AS TEXT) IS NULL OR id > $1) \
         ORDER BY id LIMIT $2"
    )
}

/// A user's usage (see `Usage`): `$1` owner, `$2` and `$3` the bounds of the
/// day counted (see `day_bounds`), `$4` the most uploads in progress to count.
/// Each part reads a bounded index range or one row, never all of a user's
/// uploads: the uploads in progress, the day's uploads (ids are UUIDv7, so
/// they sort by creation), and the bytes held, which triggers keep in
/// `user_usage`.
pub const USAGE: &str = "SELECT \
       (SELECT COUNT(*) FROM (SELECT 1 FROM uploads \
        WHERE owner = $1 AND status IN ('pending', 'uploading') LIMIT $4) AS counted) AS in_progress, \
       (SELECT CAST(COALESCE(SUM(CASE WHEN size <> 0 THEN size ELSE reserved END), 0) AS BIGINT) \
        FROM uploads \
        WHERE owner = $1 \
          AND (status IN ('pending', 'uploading', 'completed') \
               OR (status = 'deleted' AND completed_at IS NOT NULL)) \
          AND id >= $2 AND created_at >= $3) AS bytes_last_day, \
       COALESCE((SELECT bytes_held FROM user_usage WHERE owner = $1), 0) AS bytes_held";

/// `USAGE` for `owner`, bound in both dialects.
pub fn usage_query<'q, DB>(
    owner: &'q str,
    query: UsageQuery,
) -> sqlx::query::Query<'q, DB, <DB as Database>::Arguments<'q>>
where
    DB: Database,
    &'q str: Encode<'q, DB> + Type<DB>,
    String: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
{
    let (first_id, since) = day_bounds(query.since);
    sqlx::query(USAGE)
        .bind(owner)
        .bind(first_id)
        .bind(since)
        .bind(i64::try_from(query.in_progress_up_to).unwrap_or(i64::MAX))
}

/// `USAGE`'s `$2` and `$3` for uploads created `since` then: the lowest
/// UUIDv7 that can stand for such an upload, as stored, a minute early
/// since an upload's id and its `created_at` are read from the clock one
/// after the other; and `since` in Unix ms. `None`: bounds nothing passes.
fn day_bounds(since: Option<OffsetDateTime>) -> (String, i64) {
    match since {
        Some(since) => {
            let ms = u128::try_from(millis(since) - 60_000).unwrap_or(0);
            (Uuid::from_u128(ms << 80).to_string(), millis(since))
        }
        None => (Uuid::max().to_string(), i64::MAX),
    }
}

/// Reads the row of `USAGE`.
pub fn usage_from_row<'r, R>(row: &'r R) -> Result<super::Usage, DbError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let count = |name: &'static str| -> Result<u64, DbError> {
        let n: i64 = row.try_get(name)?;
        u64::try_from(n).map_err(|_| DbError::Invalid(format!("negative {name}: {n}")))
    };
    Ok(super::Usage {
        in_progress: count("in_progress")?,
        bytes_last_day: count("bytes_last_day")?,
        bytes_held: count("bytes_held")?,
    })
}

/// Values converted ahead of binding, since conversion can fail.
struct Converted {
    size: i64,
    metadata: String,
    part_size: Option<i64>,
    processing: Option<String>,
    reserved: i64,
}

/// `INSERT` of `uploads`, all in one statement.
pub fn insert_query<'a, DB>(uploads: &[Upload]) -> Result<QueryBuilder<'a, DB>, DbError>
where
    DB: Database,
    String: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
    Option<String>: Encode<'a, DB> + Type<DB>,
    Option<i64>: Encode<'a, DB> + Type<DB>,
{
    let converted = uploads
        .iter()
        .map(|u| {
            // No index holds keys unique: ending in the (unique) id does.
            if keys::upload_id(&u.key) != Some(u.id)
                || keys::upload_id(&u.staging_key) != Some(u.id)
            {
                return Err(DbError::Invalid(format!(
                    "upload {}: its keys do not end in its id",
                    u.id
                )));
            }
            Ok(Converted {
                // 0 stands for "not declared": API v1 refuses empty files, so it is free.
                size: to_i64(u.size.unwrap_or(0))?,
                metadata: serde_json::to_string(&u.metadata)
                    .map_err(|e| DbError::Invalid(e.to_string()))?,
                part_size: u
                    .multipart
                    .as_ref()
                    .and_then(|m| m.layout.map(|l| to_i64(l.part_size)))
                    .transpose()?,
                processing: u.processing.as_ref().map(processing_json).transpose()?,
                reserved: to_i64(u.reserved)?,
            })
        })
        .collect::<Result<Vec<Converted>, DbError>>()?;
    let mut query =
        QueryBuilder::<DB>::new(format!("INSERT INTO uploads ({COLUMNS}, updated_at) "));
    query.push_values(uploads.iter().zip(converted), |mut b, (u, c)| {
        b.push_bind(u.id.to_string())
            .push_bind(u.owner.clone())
            .push_bind(u.profile.clone())
            .push_bind(u.filename.clone())
            .push_bind(u.content_type.clone())
            .push_bind(c.size)
            .push_bind(u.checksum_sha256.clone())
            .push_bind(u.method.as_str().to_owned())
            .push_bind(u.key.clone())
            .push_bind(u.staging_key.clone())
            .push_bind(u.status.as_str().to_owned())
            .push_bind(c.metadata)
            .push_bind(u.reject_reason.clone())
            .push_bind(millis(u.created_at))
            .push_bind(millis(u.expires_at))
            .push_bind(u.completed_at.map(millis))
            .push_bind(u.multipart.as_ref().map(|m| m.upload_id.clone()))
            .push_bind(c.part_size)
            .push_bind(
                u.multipart
                    .as_ref()
                    .and_then(|m| m.layout.map(|l| i64::from(l.part_count))),
            )
            .push_bind(c.processing)
            .push_bind(c.reserved)
            .push_bind(u.grant.map(|g| g.to_string()))
            .push_bind(u.deleted_at.map(millis))
            .push_bind(u.purged_at.map(millis))
            .push_bind(millis(u.created_at));
    });
    Ok(query)
}

/// A row's columns by position, whichever driver read it: sqlx on both
/// databases, or rusqlite for SQLite's point reads (see `point_reads`).
/// By position because looking a name up compares it with every column's.
pub trait RowColumns {
    fn text(&self, index: usize) -> Result<Option<String>, DbError>;
    fn int(&self, index: usize) -> Result<Option<i64>, DbError>;
}

macro_rules! sqlx_row_columns {
    ($($row:ty),*) => {$(
        impl RowColumns for $row {
            fn text(&self, index: usize) -> Result<Option<String>, DbError> {
                Ok(self.try_get(index)?)
            }
            fn int(&self, index: usize) -> Result<Option<i64>, DbError> {
                Ok(self.try_get(index)?)
            }
        }
    )*};
}
sqlx_row_columns!(sqlx::sqlite::SqliteRow, sqlx::postgres::PgRow);

/// Reads a row's columns one after another, in the order of `COLUMNS`.
struct InOrder<'r, R> {
    row: &'r R,
    next: usize,
}

impl<R: RowColumns> InOrder<'_, R> {
    fn text(&mut self) -> Result<Option<String>, DbError> {
        self.next += 1;
        self.row.text(self.next - 1)
    }
    fn int(&mut self) -> Result<Option<i64>, DbError> {
        self.next += 1;
        self.row.int(self.next - 1)
    }
    fn required_text(&mut self) -> Result<String, DbError> {
        self.text()?.ok_or_else(|| self.corrupt())
    }
    fn required_int(&mut self) -> Result<i64, DbError> {
        self.int()?.ok_or_else(|| self.corrupt())
    }
    /// An error naming the column read last.
    fn corrupt(&self) -> DbError {
        let name = COLUMNS.split(", ").nth(self.next.saturating_sub(1));
        DbError::Invalid(format!("corrupt upload row: {}", name.unwrap_or("?")))
    }
}

/// An `uploads` row (selected with `COLUMNS`) back into an `Upload`.
pub fn from_row(row: &impl RowColumns) -> Result<Upload, DbError> {
    let mut column = InOrder { row, next: 0 };
    // In the order of `COLUMNS`.
    let id = Uuid::parse_str(&column.required_text()?).map_err(|_| column.corrupt())?;
    let owner = column.required_text()?;
    let profile = column.required_text()?;
    let filename = column.required_text()?;
    let content_type = column.required_text()?;
    let size = u64::try_from(column.required_int()?).map_err(|_| column.corrupt())?;
    // 0 stands for "not declared" (see `insert_query`).
    let size = Some(size).filter(|&n| n > 0);
    let checksum_sha256 = column.text()?;
    let method = Method::parse(&column.required_text()?).ok_or_else(|| column.corrupt())?;
    let key = column.required_text()?;
    let staging_key = column.required_text()?;
    let status = UploadStatus::parse(&column.required_text()?).ok_or_else(|| column.corrupt())?;
    let metadata = serde_json::from_str(&column.required_text()?).map_err(|_| column.corrupt())?;
    let reject_reason = column.text()?;
    let created_at = from_millis(column.required_int()?)?;
    let expires_at = from_millis(column.required_int()?)?;
    let completed_at = column.int()?.map(from_millis).transpose()?;
    let multipart_upload_id = column.text()?;
    let part_size = column
        .int()?
        .map(|n| u64::try_from(n).map_err(|_| column.corrupt()))
        .transpose()?;
    let part_count = column
        .int()?
        .map(|n| u32::try_from(n).map_err(|_| column.corrupt()))
        .transpose()?;
    let processing = column
        .text()?
        .map(|json| serde_json::from_str(&json).map_err(|_| column.corrupt()))
        .transpose()?;
    let reserved = u64::try_from(column.required_int()?).map_err(|_| column.corrupt())?;
    let grant = column
        .text()?
        .map(|id| Uuid::parse_str(&id).map_err(|_| column.corrupt()))
        .transpose()?;
    let deleted_at = column.int()?.map(from_millis).transpose()?;
    let purged_at = column.int()?.map(from_millis).transpose()?;
    let layout = match (size, part_size, part_count) {
        (Some(size), Some(part_size), Some(part_count)) => Some(Layout {
            size,
            part_size,
            part_count,
        }),
        _ => None,
    };
    Ok(Upload {
        id,
        owner,
        profile,
        filename,
        content_type,
        size,
        checksum_sha256,
        method,
        key,
        staging_key,
        status,
        metadata,
        reject_reason,
        created_at,
        expires_at,
        completed_at,
        multipart: multipart_upload_id.map(|upload_id| Multipart { upload_id, layout }),
        processing,
        reserved,
        grant,
        deleted_at,
        purged_at,
    })
}

/// The `processing` column's JSON; results only, as jobs are read from their table.
pub fn processing_json(processing: &Processing) -> Result<String, DbError> {
    let mut stored = processing.clone();
    stored.jobs.clear();
    for thumbnail in &mut stored.thumbnails {
        thumbnail.url = None;
    }
    serde_json::to_string(&stored).map_err(|e| DbError::Invalid(e.to_string()))
}

pub fn to_i64(n: u64) -> Result<i64, DbError> {
    i64::try_from(n)
        .map_err(|_| DbError::Invalid(format!("{n} does not fit in a database integer")))
}

pub fn millis(at: OffsetDateTime) -> i64 {
    // i128 → i64 only overflows ~292 million years from now.
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

pub fn from_millis(ms: i64) -> Result<OffsetDateTime, DbError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| DbError::Invalid(format!("corrupt timestamp {ms}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_at(at: OffsetDateTime) -> String {
        let ms = u64::try_from(millis(at)).expect("after 1970");
        Uuid::new_v7(uuid::Timestamp::from_unix_time(
            ms / 1000,
            u32::try_from(ms % 1000).expect("ms") * 1_000_000,
            0,
            0,
        ))
        .to_string()
    }

    #[test]
    fn the_first_id_since_an_instant_sorts_before_every_later_id_only() {
        let since = OffsetDateTime::from_unix_timestamp(1_790_000_000).expect("valid");
        let (bound, _) = day_bounds(Some(since));
        // Strings compare as the database compares the TEXT ids.
        assert!(id_at(since) >= bound);
        assert!(id_at(since + time::Duration::days(3)) >= bound);
        assert!(id_at(since - time::Duration::seconds(59)) >= bound);
        assert!(id_at(since - time::Duration::seconds(61)) < bound);
        assert!(Uuid::now_v7().to_string() >= bound);
        let (nothing, _) = day_bounds(None);
        assert!(Uuid::now_v7().to_string() < nothing);
    }
}
