//! Keyset pagination: an opaque cursor naming the last row seen.

use serde::Serialize;
use uuid::Uuid;

/// Default and largest page sizes.
pub const DEFAULT_LIMIT: u32 = 25;
pub const MAX_LIMIT: u32 = 100;

/// Position after which the next page starts: a sort key (time in ms) and the row id as tie-breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub sort: i64,
    pub id: Uuid,
}

impl Cursor {
    /// The opaque text form handed to clients.
    pub fn encode(&self) -> String {
        format!("{:x}.{}", self.sort, self.id.simple())
    }

    pub fn decode(s: &str) -> Option<Self> {
        let (sort, id) = s.split_once('.')?;
        Some(Self { sort: i64::from_str_radix(sort, 16).ok()?, id: Uuid::try_parse(id).ok()? })
    }
}

/// Which page to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<Cursor>,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { limit: DEFAULT_LIMIT, after: None }
    }
}

impl PageRequest {
    /// Clamps the limit to `1..=MAX_LIMIT`.
    pub fn new(limit: Option<u32>, after: Option<Cursor>) -> Self {
        Self { limit: limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT), after }
    }
}

/// One page of a list, newest first unless the endpoint says otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[schemars(rename = "{T}Page")]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to read the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only proves there is more.
    pub fn from_rows(mut rows: Vec<T>, limit: u32, key: impl Fn(&T) -> Cursor) -> Self {
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = if more { rows.last().map(|r| key(r).encode()) } else { None };
        Self { items: rows, next_cursor }
    }
}
