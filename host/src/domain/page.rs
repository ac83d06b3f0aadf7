//! One way to page through every list: `?limit=&after=` in, `next` out.
//!
//! A list is read in a fixed order by a unique key (keyset paging: a page
//! is "the next `limit` items after this key", so items written or deleted
//! meanwhile neither repeat nor shift the next page). The cursor is the
//! key of the last item shown; clients pass `next` back as `after` and
//! treat it as opaque.

use serde::Serialize;

use super::Invalid;

/// Items per page when the request does not say.
pub const DEFAULT_LIMIT: u32 = 100;
/// The most items one page holds.
pub const MAX_LIMIT: u32 = 1000;

/// Which page a request wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest<K> {
    pub limit: u32,
    /// The key of the last item of the page before; `None` for the first.
    pub after: Option<K>,
}

impl<K> PageRequest<K> {
    /// The first page of `limit` items.
    pub fn first(limit: u32) -> Self {
        Self { limit, after: None }
    }

    /// How many rows to read: one more than the page, to learn whether
    /// another page follows without counting.
    pub fn probe(&self) -> i64 {
        i64::from(self.limit) + 1
    }
}

/// A requested page size, checked: 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`]
/// when absent.
pub fn parse_limit(limit: Option<u32>) -> Result<u32, Invalid> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(Invalid(format!(
            "must be 1 to {MAX_LIMIT} items a page, not {n}"
        ))),
    }
}

/// One page of a list, as every list answers.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
#[schemars(rename = "PageOf{T}")]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The `after` for the next page; `null` on the last one.
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// The page from `rows` read with [`PageRequest::probe`]: the first
    /// `limit`, and a cursor (the last one's key) when more were found.
    pub fn from_probe(mut rows: Vec<T>, limit: u32, key: impl Fn(&T) -> String) -> Self {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = if more { rows.last().map(&key) } else { None };
        Page { items: rows, next }
    }

    /// The page of a whole list already in memory and in its order (lists
    /// a tenant keeps small, read whole anyway): the items whose key
    /// `sort_key` places after `after`.
    pub fn slice<S: Ord>(
        rows: Vec<T>,
        request: &PageRequest<S>,
        sort_key: impl Fn(&T) -> S,
        cursor: impl Fn(&T) -> String,
    ) -> Self {
        let rows: Vec<T> = match &request.after {
            Some(after) => rows.into_iter().filter(|t| sort_key(t) > *after).collect(),
            None => rows,
        };
        let limit = usize::try_from(request.probe()).unwrap_or(usize::MAX);
        Self::from_probe(
            rows.into_iter().take(limit).collect(),
            request.limit,
            cursor,
        )
    }

    /// The same page with each item changed by `f`.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }
}

/// A cursor that is a row number (lists of records numbered as they are
/// written: failures, runs, changes, notifications).
pub fn parse_row_cursor(raw: &str) -> Result<i64, Invalid> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| Invalid(format!("{raw:?} is not a cursor this list gave")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_is_checked_and_defaults() {
        assert_eq!(parse_limit(None), Ok(DEFAULT_LIMIT));
        assert_eq!(parse_limit(Some(1)), Ok(1));
        assert_eq!(parse_limit(Some(MAX_LIMIT)), Ok(MAX_LIMIT));
        assert!(parse_limit(Some(0)).is_err());
        assert!(parse_limit(Some(MAX_LIMIT + 1)).is_err());
    }

    #[test]
    fn a_probe_one_longer_than_the_page_gives_a_cursor() {
        let page = Page::from_probe(vec![5, 4, 3], 2, ToString::to_string);
        assert_eq!(page.items, vec![5, 4]);
        assert_eq!(page.next.as_deref(), Some("4"));
        let last = Page::from_probe(vec![2, 1], 2, ToString::to_string);
        assert_eq!(last.items, vec![2, 1]);
        assert_eq!(last.next, None, "nothing follows");
    }

    #[test]
    fn slices_walk_a_list_whole_without_repeats_even_when_the_cursor_row_went() {
        let rows = vec![1, 2, 3, 4, 5];
        let mut request = PageRequest::first(2);
        let mut seen = Vec::new();
        loop {
            let page = Page::slice(rows.clone(), &request, |n| *n, ToString::to_string);
            seen.extend(page.items);
            match page.next {
                Some(next) => request.after = Some(next.parse().expect("number")),
                None => break,
            }
        }
        assert_eq!(seen, rows);
        // The row the cursor names was deleted: the page still starts
        // after where it stood.
        let request = PageRequest {
            limit: 2,
            after: Some(2),
        };
        let page = Page::slice(vec![1, 3, 4], &request, |n| *n, ToString::to_string);
        assert_eq!(page.items, vec![3, 4]);
    }

    #[test]
    fn row_cursors_are_positive_numbers() {
        assert_eq!(parse_row_cursor("42"), Ok(42));
        assert!(parse_row_cursor("0").is_err());
        assert!(parse_row_cursor("x").is_err());
        assert!(parse_row_cursor("-3").is_err());
    }
}
