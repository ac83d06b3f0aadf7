//! `?limit=&after=` read into a [`PageRequest`], the same on every list.

use serde::Deserialize;

use super::error::ApiError;
use crate::domain::{Invalid, PageRequest, parse_limit, parse_row_cursor};

/// The query of a list with no filter of its own; lists with filters
/// carry the same two fields and use the functions below.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PageQuery {
    limit: Option<u32>,
    after: Option<String>,
}

impl PageQuery {
    /// See [`request`].
    pub(super) fn request<K>(
        &self,
        parse: impl FnOnce(&str) -> Result<K, Invalid>,
    ) -> Result<PageRequest<K>, ApiError> {
        request(self.limit, self.after.as_deref(), parse)
    }

    /// See [`by_id`].
    pub(super) fn by_id<K, E>(
        &self,
        parse: impl FnOnce(&str) -> Result<K, E>,
    ) -> Result<PageRequest<K>, ApiError> {
        by_id(self.limit, self.after.as_deref(), parse)
    }

    /// See [`by_row`].
    pub(super) fn by_row(&self) -> Result<PageRequest<i64>, ApiError> {
        by_row(self.limit, self.after.as_deref())
    }
}

/// A page request whose cursor `parse` reads; a bad `limit` or `after`
/// is named.
pub(super) fn request<K>(
    limit: Option<u32>,
    after: Option<&str>,
    parse: impl FnOnce(&str) -> Result<K, Invalid>,
) -> Result<PageRequest<K>, ApiError> {
    let limit = parse_limit(limit).map_err(|e| ApiError::invalid("limit", e))?;
    let after = after
        .map(parse)
        .transpose()
        .map_err(|e| ApiError::invalid("after", e))?;
    Ok(PageRequest { limit, after })
}

/// A page request over a list numbered as it is written.
pub(super) fn by_row(
    limit: Option<u32>,
    after: Option<&str>,
) -> Result<PageRequest<i64>, ApiError> {
    request(limit, after, parse_row_cursor)
}

/// A page request over a list keyed by a typed id: a cursor that is not
/// such an id is refused.
pub(super) fn by_id<K, E>(
    limit: Option<u32>,
    after: Option<&str>,
    parse: impl FnOnce(&str) -> Result<K, E>,
) -> Result<PageRequest<K>, ApiError> {
    request(limit, after, |raw| {
        parse(raw).map_err(|_| Invalid(format!("{raw:?} is not a cursor this list gave")))
    })
}
