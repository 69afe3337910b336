//! The hybrid search index: BM25 over jieba-segmented, lower-cased, stemmed words (tantivy, in memory) and
//! exact dot products over unit vectors, fused by weighted reciprocal rank. Every workspace only ever
//! sees its own passages. Changes are visible as soon as `upsert`/`remove_source` return.

use std::{
    collections::HashMap,
    sync::{Mutex, RwLock},
};

use lianluo_domain::{KbChunkId, KbSourceId, WorkspaceId, knowledge::KbChunk};
use tantivy::{
    Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term,
    collector::TopDocs,
    query::{BooleanQuery, ConstScoreQuery, Occur, Query, TermQuery},
    schema::{Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value},
    tokenizer::{Language, LowerCaser, RemoveLongFilter, Stemmer, TextAnalyzer, TokenStream},
};

use crate::lang::{self, Lang};

const TOKENIZER: &str = "lianluo_jieba";

/// A dot product in eight independent lanes, which the compiler turns into SIMD (a single running sum
/// cannot be reordered, so it stays scalar).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// A passage as the index keeps it.
#[derive(Debug, Clone)]
struct Stored {
    workspace: WorkspaceId,
    source: KbSourceId,
    curated: bool,
    heading: String,
    text: String,
    url: Option<String>,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct Hit {
    pub chunk_id: KbChunkId,
    pub source_id: KbSourceId,
    pub heading: String,
    pub text: String,
    /// The fused score (higher is better).
    pub score: f32,
    /// Rank in the full-text list, from 1, when the passage was in it.
    pub bm25_rank: Option<usize>,
    pub bm25_score: Option<f32>,
    /// Rank in the vector list, from 1, when the passage was in it.
    pub vector_rank: Option<usize>,
    /// Cosine similarity to the question.
    pub similarity: Option<f32>,
    /// A question and its answer written by a person.
    pub curated: bool,
    /// The page the passage came from, for a website.
    pub url: Option<String>,
}

/// How the two lists are fused.
#[derive(Debug, Clone, Copy)]
pub struct SearchOptions {
    pub limit: usize,
    /// How deep each list is read before fusing.
    pub depth: usize,
    /// The reciprocal-rank constant.
    pub k: f32,
    /// Weight of the full-text list (0 leaves it out).
    pub bm25_weight: f32,
    /// Weight of the vector list for English and for Chinese questions (BM25's weight is 1). An
    /// English-only embedder gets 0 in Chinese (`Answerer::search_options`); measured in EVALUATION.md.
    pub vector_weight_en: f32,
    pub vector_weight_zh: f32,
}

impl Default for SearchOptions {
    fn default() -> Self {
        Self { limit: 5, depth: 50, k: 60.0, bm25_weight: 1.0, vector_weight_en: 1.0, vector_weight_zh: 1.0 }
    }
}

struct Vectors {
    dims: usize,
    ids: Vec<KbChunkId>,
    data: Vec<f32>,
}

/// The in-memory hybrid index of every workspace's passages.
pub struct HybridIndex {
    index: Index,
    writer: Mutex<IndexWriter>,
    reader: IndexReader,
    f_id: Field,
    f_ws: Field,
    f_source: Field,
    f_body: Field,
    analyzer: TextAnalyzer,
    chunks: RwLock<HashMap<KbChunkId, Stored>>,
    vectors: RwLock<HashMap<WorkspaceId, Vectors>>,
}

#[derive(Debug, thiserror::Error)]
#[error("search index: {0}")]
pub struct IndexError(String);

fn ie(e: impl std::fmt::Display) -> IndexError {
    IndexError(e.to_string())
}

fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(tantivy_jieba::JiebaTokenizer::new())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(Stemmer::new(Language::English))
        .build()
}

impl HybridIndex {
    pub fn new() -> Result<Self, IndexError> {
        let mut schema = Schema::builder();
        let f_id = schema.add_text_field("id", STRING | STORED);
        let f_ws = schema.add_text_field("ws", STRING);
        let f_source = schema.add_text_field("source", STRING);
        let body = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER)
                .set_index_option(IndexRecordOption::WithFreqs),
        );
        let f_body = schema.add_text_field("body", body);
        let index = Index::create_in_ram(schema.build());
        index.tokenizers().register(TOKENIZER, analyzer());
        let writer = index.writer_with_num_threads(1, 32_000_000).map_err(ie)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().map_err(ie)?;
        Ok(Self {
            index,
            writer: Mutex::new(writer),
            reader,
            f_id,
            f_ws,
            f_source,
            f_body,
            analyzer: analyzer(),
            chunks: RwLock::new(HashMap::new()),
            vectors: RwLock::new(HashMap::new()),
        })
    }

    /// Number of passages indexed.
    pub fn len(&self) -> usize {
        self.chunks.read().map(|c| c.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Words as the full-text index sees them (segmented, lower-cased, stemmed), without stopwords.
    pub fn terms(&self, text: &str) -> Vec<String> {
        let mut a = self.analyzer.clone();
        let mut stream = a.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            let t = stream.token().text.trim();
            if !lang::is_stopword(t) && !out.iter().any(|o| o == t) {
                out.push(t.to_string());
            }
        }
        out
    }

    /// How telling each word is (inverse document frequency over every passage); `None` for a word no
    /// passage contains.
    pub fn term_weights(&self, terms: &[String]) -> Vec<Option<f32>> {
        let searcher = self.reader.searcher();
        let n = searcher.num_docs() as f32;
        terms
            .iter()
            .map(|t| {
                let df = searcher.doc_freq(&Term::from_field_text(self.f_body, t)).unwrap_or(0) as f32;
                (df > 0.0).then(|| (1.0 + (n - df + 0.5) / (df + 0.5)).ln())
            })
            .collect()
    }

    /// Replaces every passage of the sources these chunks belong to; visible to searches on return.
    pub fn replace_source(
        &self,
        ws: WorkspaceId,
        source: KbSourceId,
        chunks: &[KbChunk],
    ) -> Result<(), IndexError> {
        self.remove_inner(ws, source);
        self.writer
            .lock()
            .map_err(ie)?
            .delete_term(Term::from_field_text(self.f_source, &source.to_string()));
        self.load(chunks)?;
        self.commit()
    }

    /// Adds chunks loaded from the store at start-up; call [`Self::commit`] after the last batch.
    pub fn load(&self, chunks: &[KbChunk]) -> Result<(), IndexError> {
        {
            let writer = self.writer.lock().map_err(ie)?;
            for c in chunks {
                let mut doc = TantivyDocument::default();
                doc.add_text(self.f_id, c.id.to_string());
                doc.add_text(self.f_ws, c.workspace_id.to_string());
                doc.add_text(self.f_source, c.source_id.to_string());
                doc.add_text(self.f_body, format!("{}\n{}", c.heading, c.text));
                writer.add_document(doc).map_err(ie)?;
            }
        }
        self.add_loaded(chunks);
        Ok(())
    }

    fn add_loaded(&self, chunks: &[KbChunk]) {
        let mut stored = self.chunks.write().unwrap_or_else(|p| p.into_inner());
        let mut vectors = self.vectors.write().unwrap_or_else(|p| p.into_inner());
        for c in chunks {
            stored.insert(
                c.id,
                Stored {
                    workspace: c.workspace_id,
                    source: c.source_id,
                    curated: c.curated,
                    heading: c.heading.clone(),
                    text: c.text.clone(),
                    url: c.url.clone(),
                },
            );
            if c.embedding.is_empty() {
                continue;
            }
            let v = vectors.entry(c.workspace_id).or_insert_with(|| Vectors {
                dims: c.embedding.len(),
                ids: Vec::new(),
                data: Vec::new(),
            });
            if v.ids.is_empty() {
                v.dims = c.embedding.len();
            }
            if v.dims != c.embedding.len() {
                // A passage embedded by another model: searchable by words only until re-indexed.
                continue;
            }
            v.ids.push(c.id);
            v.data.extend_from_slice(&c.embedding);
        }
    }

    /// Drops a workspace's vectors (its embedding model changed): it is searched by words until its
    /// sources are embedded again.
    pub fn forget_vectors(&self, ws: WorkspaceId) {
        self.vectors.write().unwrap_or_else(|p| p.into_inner()).remove(&ws);
    }

    fn remove_inner(&self, ws: WorkspaceId, source: KbSourceId) {
        let mut stored = self.chunks.write().unwrap_or_else(|p| p.into_inner());
        let gone: Vec<KbChunkId> = stored
            .iter()
            .filter(|(_, s)| s.source == source && s.workspace == ws)
            .map(|(id, _)| *id)
            .collect();
        for id in &gone {
            stored.remove(id);
        }
        drop(stored);
        if gone.is_empty() {
            return;
        }
        let mut vectors = self.vectors.write().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = vectors.get_mut(&ws) {
            let (mut ids, mut data) = (Vec::with_capacity(v.ids.len()), Vec::with_capacity(v.data.len()));
            for (i, id) in v.ids.iter().enumerate() {
                if !gone.contains(id) {
                    ids.push(*id);
                    data.extend_from_slice(&v.data[i * v.dims..(i + 1) * v.dims]);
                }
            }
            v.ids = ids;
            v.data = data;
        }
    }

    /// Removes a source's passages; visible to searches on return.
    pub fn remove_source(&self, ws: WorkspaceId, source: KbSourceId) -> Result<(), IndexError> {
        self.remove_inner(ws, source);
        self.writer
            .lock()
            .map_err(ie)?
            .delete_term(Term::from_field_text(self.f_source, &source.to_string()));
        self.commit()
    }

    /// Makes everything written so far searchable.
    pub fn commit(&self) -> Result<(), IndexError> {
        self.writer.lock().map_err(ie)?.commit().map_err(ie)?;
        self.reader.reload().map_err(ie)
    }

    /// Full-text search: (chunk, BM25 score), best first.
    pub fn search_words(
        &self,
        ws: WorkspaceId,
        query: &str,
        depth: usize,
    ) -> Result<Vec<(KbChunkId, f32)>, IndexError> {
        let terms = self.terms(query);
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let words: Vec<(Occur, Box<dyn Query>)> = terms
            .iter()
            .map(|t| {
                let q: Box<dyn Query> = Box::new(TermQuery::new(
                    Term::from_field_text(self.f_body, t),
                    IndexRecordOption::WithFreqs,
                ));
                (Occur::Should, q)
            })
            .collect();
        // The workspace is a filter: it must match and adds nothing to the score.
        let ws_filter: Box<dyn Query> = Box::new(ConstScoreQuery::new(
            Box::new(TermQuery::new(
                Term::from_field_text(self.f_ws, &ws.to_string()),
                IndexRecordOption::Basic,
            )),
            0.0,
        ));
        let query = BooleanQuery::new(vec![
            (Occur::Must, Box::new(BooleanQuery::new(words))),
            (Occur::Must, ws_filter),
        ]);
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(depth.max(1)).order_by_score()).map_err(ie)?;
        let mut out = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr).map_err(ie)?;
            if let Some(id) = doc.get_first(self.f_id).and_then(|v| v.as_str()).and_then(|s| s.parse().ok()) {
                out.push((id, score));
            }
        }
        Ok(out)
    }

    /// Vector search: (chunk, cosine similarity), best first.
    pub fn search_vector(&self, ws: WorkspaceId, query: &[f32], depth: usize) -> Vec<(KbChunkId, f32)> {
        let vectors = self.vectors.read().unwrap_or_else(|p| p.into_inner());
        let Some(v) = vectors.get(&ws).filter(|v| v.dims == query.len()) else { return Vec::new() };
        let mut scored: Vec<(usize, f32)> =
            v.data.chunks_exact(v.dims).enumerate().map(|(i, row)| (i, dot(row, query))).collect();
        let depth = depth.min(scored.len());
        if depth == 0 {
            return Vec::new();
        }
        scored.select_nth_unstable_by(depth - 1, |a, b| b.1.total_cmp(&a.1));
        scored.truncate(depth);
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        scored.into_iter().map(|(i, s)| (v.ids[i], s)).collect()
    }

    /// Hybrid search: both lists fused by weighted reciprocal rank.
    pub fn search(
        &self,
        ws: WorkspaceId,
        query: &str,
        query_vector: Option<&[f32]>,
        opts: SearchOptions,
    ) -> Result<Vec<Hit>, IndexError> {
        let vw = match lang::detect(query) {
            Lang::Zh => opts.vector_weight_zh,
            Lang::En => opts.vector_weight_en,
        };
        // A list with no weight is not searched at all.
        let words =
            if opts.bm25_weight > 0.0 { self.search_words(ws, query, opts.depth)? } else { Vec::new() };
        let vector = match query_vector {
            Some(q) if vw > 0.0 => self.search_vector(ws, q, opts.depth),
            _ => Vec::new(),
        };
        let mut fused: HashMap<KbChunkId, Hit> = HashMap::new();
        let stored = self.chunks.read().unwrap_or_else(|p| p.into_inner());
        fn entry<'a>(
            fused: &'a mut HashMap<KbChunkId, Hit>,
            stored: &HashMap<KbChunkId, Stored>,
            ws: WorkspaceId,
            id: KbChunkId,
        ) -> Option<&'a mut Hit> {
            let s = stored.get(&id).filter(|s| s.workspace == ws)?;
            Some(fused.entry(id).or_insert_with(|| Hit {
                chunk_id: id,
                source_id: s.source,
                heading: s.heading.clone(),
                text: s.text.clone(),
                score: 0.0,
                bm25_rank: None,
                bm25_score: None,
                vector_rank: None,
                similarity: None,
                curated: s.curated,
                url: s.url.clone(),
            }))
        }
        for (rank, (id, score)) in words.iter().enumerate() {
            if let Some(h) = entry(&mut fused, &stored, ws, *id) {
                h.score += opts.bm25_weight / (opts.k + rank as f32 + 1.0);
                h.bm25_rank = Some(rank + 1);
                h.bm25_score = Some(*score);
            }
        }
        for (rank, (id, sim)) in vector.iter().enumerate() {
            if let Some(h) = entry(&mut fused, &stored, ws, *id) {
                h.score += vw / (opts.k + rank as f32 + 1.0);
                h.vector_rank = Some(rank + 1);
                h.similarity = Some(*sim);
            }
        }
        let mut hits: Vec<Hit> = fused.into_values().collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.chunk_id.cmp(&b.chunk_id)));
        hits.truncate(opts.limit);
        Ok(hits)
    }

    /// The index behind the full-text half (for statistics).
    pub fn tantivy(&self) -> &Index {
        &self.index
    }
}
