//! One page of a list, newest first: the one way every list the API serves
//! (uploads, jobs, webhook deliveries) is cut into pages.

/// Which rows of a list to return: at most `limit`, each older than
/// `before`, the id of the previous page's last row (the cursor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<K> {
    pub before: Option<K>,
    pub limit: u32,
}

impl<K: Clone> Default for Page<K> {
    fn default() -> Self {
        Self {
            before: None,
            limit: Self::DEFAULT_LIMIT,
        }
    }
}

impl<K: Clone> Page<K> {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 200;

    /// This page with one row more: the row past the page tells whether
    /// another page exists.
    pub fn with_one_more(&self) -> Page<K> {
        Page {
            before: self.before.clone(),
            limit: self.limit.saturating_add(1),
        }
    }

    /// The page out of the rows `with_one_more` fetched, and the next page's
    /// cursor (`key` of the page's last row) only when more rows exist: a
    /// full last page does not point at an empty one.
    pub fn cut<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> String) -> Listed<T> {
        let limit = usize::try_from(self.limit).unwrap_or(usize::MAX);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = if more { rows.last().map(key) } else { None };
        Listed {
            items: rows,
            next_cursor,
        }
    }
}

/// One page of a list, and the cursor of the next one when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(limit: u32) -> Page<u32> {
        Page {
            before: None,
            limit,
        }
    }

    #[test]
    fn a_cursor_only_when_more_rows_exist() {
        let key = |n: &u32| n.to_string();
        let listed = |items: Vec<u32>, next: Option<&str>| Listed {
            items,
            next_cursor: next.map(str::to_owned),
        };
        assert_eq!(page(2).with_one_more().limit, 3);
        assert_eq!(
            page(2).cut(vec![9, 8, 7], key),
            listed(vec![9, 8], Some("8"))
        );
        assert_eq!(page(2).cut(vec![9, 8], key), listed(vec![9, 8], None));
        assert_eq!(page(2).cut(vec![9], key), listed(vec![9], None));
        assert_eq!(page(2).cut(Vec::new(), key), listed(Vec::new(), None));
    }
}
