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

pub use answer::{Answer, AnswerMode, Answerer, Citation, DEFAULT_MIN_CONFIDENCE, Models, Ranking, Scored};
pub use chunk::{ChunkText, chunk_sections};
pub use files::{MAX_FILE_BYTES, extract_text, kind_for_file_name};
pub use index::{Hit, HybridIndex, SearchOptions};
pub use parse::{ParseError, Section, parse_source};
