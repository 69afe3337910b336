//! The knowledge base's retrieval and answering: reading sources into sections, cutting them into
//! passages by language-aware rules, a hybrid index (BM25 over jieba-segmented words fused with dense
//! vectors), and grounded answers that cite their passages or say that the knowledge does not cover the
//! question.
//!
//! Storage of sources and chunks is the store's job; this crate keeps the in-memory search index that
//! mirrors them and is updated the moment a source changes.

pub mod answer;
pub mod chunk;
pub mod crawl;
pub mod files;
pub mod guard;
pub mod index;
pub mod lang;
pub mod mine;
pub mod parse;
pub mod reply;
pub mod rerank;
pub mod strength;

/// Why a source could not be read, and whether trying again later may help (`transient`): a site or a
/// model provider that did not answer, answered that it is busy or failing (429, 5xx), or a storage
/// fault. A source that itself cannot be read (its address, robots.txt, a 404, a broken file) is not
/// transient, which is what a bare reason converts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadFailure {
    pub reason: String,
    pub transient: bool,
}

impl ReadFailure {
    /// A fault outside the source, worth another try later.
    pub fn transient(reason: impl std::fmt::Display) -> Self {
        Self { reason: reason.to_string(), transient: true }
    }
}

impl From<String> for ReadFailure {
    fn from(reason: String) -> Self {
        Self { reason, transient: false }
    }
}

impl From<&str> for ReadFailure {
    fn from(reason: &str) -> Self {
        reason.to_string().into()
    }
}

impl std::fmt::Display for ReadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

pub use answer::{Answer, AnswerMode, Answerer, Citation, DEFAULT_MIN_CONFIDENCE, Models, Ranking, Scored};
pub use chunk::{ChunkText, chunk_sections};
pub use files::{MAX_FILE_BYTES, extract_text, kind_for_file_name};
pub use index::{Hit, HybridIndex, SearchOptions};
pub use parse::{ParseError, Section, parse_source};
