//! What every list route reads from its query to pick a page: `limit` and
//! `cursor`, checked the same way everywhere.

use std::str::FromStr;

use crate::db::Page;
use crate::http::ApiError;

/// The page a list's `limit` (1 to `Page::MAX_LIMIT`, `Page::DEFAULT_LIMIT`
/// when absent) and `cursor` (a `nextCursor` this API gave) ask for.
pub fn page<K: FromStr + Clone>(
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<Page<K>, ApiError> {
    let limit = limit.unwrap_or(Page::<K>::DEFAULT_LIMIT);
    if !(1..=Page::<K>::MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid_field(
            "limit",
            format!("limit: must be between 1 and {}", Page::<K>::MAX_LIMIT),
        ));
    }
    let before = cursor
        .map(|c| {
            c.parse().map_err(|_| {
                ApiError::invalid_field("cursor", "cursor: not a cursor from this API")
            })
        })
        .transpose()?;
    Ok(Page { before, limit })
}
