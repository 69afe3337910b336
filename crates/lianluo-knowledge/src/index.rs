//! The hybrid search index: BM25 over jieba-segmented, lower-cased, stemmed words and exact dot products
//! over unit vectors, fused by a weighted sum of their scaled scores. Each workspace has an index of its own, so its
//! ranking statistics (document frequencies, average passage length) come from its own passages alone:
//! another workspace's documents change nothing in its scores. Changes are visible as soon as
//! `load`/`replace_source`/`remove_source` return.

use std::{
    collections::HashMap,
    sync::{Arc, LazyLock, RwLock},
};

use lianluo_domain::{KbChunkId, KbSourceId, WorkspaceId, knowledge::KbChunk};
use lianluo_models::dot;

use crate::lang::{self, Lang};

static JIEBA: LazyLock<jieba_rs::Jieba> = LazyLock::new(jieba_rs::Jieba::new);

/// BM25's term-frequency saturation and length normalisation (the usual values, as Lucene uses).
const K1: f32 = 1.2;
const B: f32 = 0.75;

/// One piece of segmented text as the index reads it: lower-cased, an English word stemmed.
fn normalise(piece: &str) -> String {
    thread_local! {
        static STEMMER: frostem::Stemmer = frostem::Stemmer::new(frostem::Algorithm::English);
    }
    let lower = piece.trim().to_lowercase();
    if lower.is_ascii() { STEMMER.with(|s| s.stem(&lower).into_owned()) } else { lower }
}

/// Words as the index sees them, in order and repeated: jieba's search-mode segmentation (a long Chinese
/// word also yields its shorter words), lower-cased, English words stemmed; punctuation, stopwords and
/// tokens over 40 bytes dropped.
pub fn words(text: &str) -> Vec<String> {
    JIEBA
        .tokenize(text, jieba_rs::TokenizeMode::Search, true)
        .into_iter()
        .filter_map(|t| {
            let w = t.word.trim();
            if w.is_empty() || w.len() > 40 || !w.chars().any(char::is_alphanumeric) {
                return None;
            }
            let word = normalise(w);
            (!lang::is_stopword(&word) && !lang::is_stopword(w)).then_some(word)
        })
        .collect()
}

/// The text without the pieces whose word (as the index reads it) is one of `drop`: "how long does the
/// watch battery last?" without `watch` is "how long does the battery last?".
pub fn without_words(text: &str, drop: &[String]) -> String {
    JIEBA
        .cut(text, true)
        .into_iter()
        .map(|t| t.word)
        .filter(|piece| !drop.contains(&normalise(piece)))
        .collect()
}

/// The distinct words of a text, in order of first appearance.
pub fn terms(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in words(text) {
        if !out.contains(&w) {
            out.push(w);
        }
    }
    out
}

/// A passage as the index keeps it.
#[derive(Debug, Clone)]
struct Stored {
    id: KbChunkId,
    source: KbSourceId,
    curated: bool,
    heading: String,
    text: String,
    url: Option<String>,
    /// Its distinct words with their counts, and how many words it has.
    tf: Vec<(u32, u32)>,
    len: u32,
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

impl Hit {
    /// A passage given rather than searched (a mined reply, a strength probe's passage): first in both
    /// lists, with no scores of its own.
    pub fn given(heading: &str, text: &str) -> Hit {
        Hit {
            chunk_id: KbChunkId::new(),
            source_id: KbSourceId::new(),
            heading: heading.to_string(),
            text: text.to_string(),
            score: 1.0,
            bm25_rank: Some(1),
            bm25_score: None,
            vector_rank: Some(1),
            similarity: None,
            curated: false,
            url: None,
        }
    }
}

/// How the two lists are fused.
#[derive(Debug, Clone, Copy)]
pub struct SearchOptions {
    pub limit: usize,
    /// How many fused results to skip (paging).
    pub offset: usize,
    /// How deep each list is read before fusing.
    pub depth: usize,
    /// Weight of the full-text list (0 leaves it out).
    pub bm25_weight: f32,
    /// Weight of the vector list for English and for Chinese questions (BM25's weight is 1). An
    /// English-only embedder gets 0 in Chinese (`Answerer::search_options`); measured in EVALUATION.md.
    pub vector_weight_en: f32,
    pub vector_weight_zh: f32,
    /// Weight of the vector list for entries a person wrote (FAQ rows, corrections, question banks),
    /// where the list has a vote at all: a question matched against questions leans on meaning more
    /// than on shared words (measured in EVALUATION.md).
    pub vector_weight_entries: f32,
}

impl Default for SearchOptions {
    fn default() -> Self {
        Self {
            limit: 5,
            offset: 0,
            depth: 50,
            bm25_weight: 1.0,
            vector_weight_en: 1.0,
            vector_weight_zh: 1.0,
            vector_weight_entries: 1.0,
        }
    }
}

/// One workspace's passages: a slab of passages, an inverted index of their words, and their vectors.
#[derive(Default)]
struct Space {
    slots: Vec<Option<Stored>>,
    free: Vec<u32>,
    by_id: HashMap<KbChunkId, u32>,
    /// Word ids, and for each word the slots holding it with the count. A word no passage holds any more
    /// is forgotten and its id reused, so the vocabulary is that of the live passages.
    vocabulary: HashMap<String, u32>,
    postings: Vec<Vec<(u32, u32)>>,
    /// Each word id's word (empty for a free id), and the free ids.
    names: Vec<String>,
    free_words: Vec<u32>,
    total_len: u64,
    /// The vectors' width (the first loaded vector's); vectors of another width are not kept.
    dims: usize,
    vector_slots: Vec<u32>,
    vectors: Vec<f32>,
}

impl Space {
    fn live(&self) -> usize {
        self.by_id.len()
    }

    fn add(&mut self, c: &KbChunk) {
        if self.by_id.contains_key(&c.id) {
            self.remove(&[c.id]);
        }
        // A held passage is not searchable until an admin approves it.
        if c.held.is_some() {
            return;
        }
        let mut counts: Vec<(u32, u32)> = Vec::new();
        let all = words(&format!("{}\n{}", c.heading, c.text));
        for w in &all {
            let id = match self.vocabulary.get(w) {
                Some(id) => *id,
                None => {
                    let id = match self.free_words.pop() {
                        Some(id) => id,
                        None => {
                            self.postings.push(Vec::new());
                            self.names.push(String::new());
                            (self.postings.len() - 1) as u32
                        }
                    };
                    self.names[id as usize] = w.clone();
                    self.vocabulary.insert(w.clone(), id);
                    id
                }
            };
            match counts.iter_mut().find(|(t, _)| *t == id) {
                Some((_, n)) => *n += 1,
                None => counts.push((id, 1)),
            }
        }
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slots.push(None);
                (self.slots.len() - 1) as u32
            }
        };
        for (t, n) in &counts {
            self.postings[*t as usize].push((slot, *n));
        }
        self.total_len += all.len() as u64;
        self.slots[slot as usize] = Some(Stored {
            id: c.id,
            source: c.source_id,
            curated: c.curated,
            heading: c.heading.clone(),
            text: c.text.clone(),
            url: c.url.clone(),
            tf: counts,
            len: all.len() as u32,
        });
        self.by_id.insert(c.id, slot);
        if !c.embedding.is_empty() {
            if self.vector_slots.is_empty() {
                self.dims = c.embedding.len();
            }
            // A passage embedded by another model is searchable by words only until it is embedded again.
            if self.dims == c.embedding.len() {
                self.vector_slots.push(slot);
                self.vectors.extend_from_slice(&c.embedding);
            }
        }
    }

    fn remove(&mut self, ids: &[KbChunkId]) {
        let mut gone: Vec<u32> = Vec::new();
        for id in ids {
            let Some(slot) = self.by_id.remove(id) else { continue };
            if let Some(s) = self.slots[slot as usize].take() {
                self.total_len -= u64::from(s.len);
                for (t, _) in &s.tf {
                    let postings = &mut self.postings[*t as usize];
                    postings.retain(|(p, _)| *p != slot);
                    if postings.is_empty() {
                        postings.shrink_to_fit();
                        let word = std::mem::take(&mut self.names[*t as usize]);
                        self.vocabulary.remove(&word);
                        self.free_words.push(*t);
                    }
                }
            }
            gone.push(slot);
        }
        if gone.is_empty() {
            return;
        }
        if !self.vector_slots.is_empty() {
            let (mut slots, mut data) = (Vec::new(), Vec::with_capacity(self.vectors.len()));
            for (i, s) in self.vector_slots.iter().enumerate() {
                if !gone.contains(s) {
                    slots.push(*s);
                    data.extend_from_slice(&self.vectors[i * self.dims..(i + 1) * self.dims]);
                }
            }
            self.vector_slots = slots;
            self.vectors = data;
        }
        self.free.extend(gone);
    }

    /// Inverse document frequency of a word id in this workspace (BM25's, never negative).
    fn idf(&self, term: u32) -> f32 {
        let n = self.live() as f32;
        let df = self.postings[term as usize].len() as f32;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    fn bm25(&self, query: &str, depth: usize) -> Vec<(u32, f32)> {
        let ids: Vec<u32> = terms(query).iter().filter_map(|t| self.vocabulary.get(t).copied()).collect();
        if ids.is_empty() || self.live() == 0 {
            return Vec::new();
        }
        let avg = self.total_len as f32 / self.live() as f32;
        let mut scores = vec![0f32; self.slots.len()];
        let mut touched: Vec<u32> = Vec::new();
        for t in ids {
            let idf = self.idf(t);
            for &(slot, tf) in &self.postings[t as usize] {
                let Some(s) = &self.slots[slot as usize] else { continue };
                let tf = tf as f32;
                let norm = K1 * (1.0 - B + B * s.len as f32 / avg.max(1.0));
                if scores[slot as usize] == 0.0 {
                    touched.push(slot);
                }
                scores[slot as usize] += idf * tf * (K1 + 1.0) / (tf + norm);
            }
        }
        let mut out: Vec<(u32, f32)> = touched.into_iter().map(|s| (s, scores[s as usize])).collect();
        top(&mut out, depth, |s| self.slots[s as usize].as_ref().map(|x| x.id));
        out
    }

    fn nearest(&self, query: &[f32], depth: usize) -> Vec<(u32, f32)> {
        if self.dims != query.len() || self.vector_slots.is_empty() {
            return Vec::new();
        }
        let mut out: Vec<(u32, f32)> = self
            .vectors
            .chunks_exact(self.dims)
            .zip(&self.vector_slots)
            .map(|(row, slot)| (*slot, dot(row, query)))
            .collect();
        top(&mut out, depth, |s| self.slots[s as usize].as_ref().map(|x| x.id));
        out
    }
}

/// Keeps the `depth` best of `scored`, best first; equal scores are ordered by passage id (the older
/// passage first), so the same question always gets the same list.
fn top(scored: &mut Vec<(u32, f32)>, depth: usize, id: impl Fn(u32) -> Option<KbChunkId>) {
    let cmp = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then_with(|| id(a.0).cmp(&id(b.0)));
    let depth = depth.min(scored.len());
    if depth == 0 {
        scored.clear();
        return;
    }
    scored.select_nth_unstable_by(depth - 1, cmp);
    scored.truncate(depth);
    scored.sort_by(cmp);
}

/// The in-memory hybrid index: one [`Space`] per workspace.
#[derive(Default)]
pub struct HybridIndex {
    spaces: RwLock<HashMap<WorkspaceId, Arc<RwLock<Space>>>>,
}

impl HybridIndex {
    pub fn new() -> Self {
        Self::default()
    }

    fn space(&self, ws: WorkspaceId) -> Option<Arc<RwLock<Space>>> {
        self.spaces.read().unwrap_or_else(|p| p.into_inner()).get(&ws).cloned()
    }

    fn space_mut(&self, ws: WorkspaceId) -> Arc<RwLock<Space>> {
        self.spaces.write().unwrap_or_else(|p| p.into_inner()).entry(ws).or_default().clone()
    }

    /// Number of passages indexed, in every workspace.
    pub fn len(&self) -> usize {
        let spaces = self.spaces.read().unwrap_or_else(|p| p.into_inner());
        spaces.values().map(|s| s.read().unwrap_or_else(|p| p.into_inner()).live()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many distinct words a workspace's searchable passages hold.
    pub fn vocabulary_len(&self, ws: WorkspaceId) -> usize {
        self.space(ws).map(|s| s.read().unwrap_or_else(|p| p.into_inner()).vocabulary.len()).unwrap_or(0)
    }

    /// How telling each word is in a workspace (inverse document frequency over its passages); `None`
    /// for a word none of its passages contains.
    pub fn term_weights(&self, ws: WorkspaceId, terms: &[String]) -> Vec<Option<f32>> {
        let Some(space) = self.space(ws) else { return vec![None; terms.len()] };
        let space = space.read().unwrap_or_else(|p| p.into_inner());
        terms
            .iter()
            .map(|t| {
                space
                    .vocabulary
                    .get(t)
                    .filter(|id| !space.postings[**id as usize].is_empty())
                    .map(|id| space.idf(*id))
            })
            .collect()
    }

    /// Replaces every passage of a source with these; visible to searches on return.
    pub fn replace_source(&self, ws: WorkspaceId, source: KbSourceId, chunks: &[KbChunk]) {
        let space = self.space_mut(ws);
        let mut space = space.write().unwrap_or_else(|p| p.into_inner());
        let old: Vec<KbChunkId> =
            space.slots.iter().flatten().filter(|s| s.source == source).map(|s| s.id).collect();
        space.remove(&old);
        for c in chunks.iter().filter(|c| c.workspace_id == ws) {
            space.add(c);
        }
    }

    /// Adds passages (each to its own workspace's index), replacing any with the same id.
    pub fn load(&self, chunks: &[KbChunk]) {
        let mut by_ws: HashMap<WorkspaceId, Vec<&KbChunk>> = HashMap::new();
        for c in chunks {
            by_ws.entry(c.workspace_id).or_default().push(c);
        }
        for (ws, chunks) in by_ws {
            let space = self.space_mut(ws);
            let mut space = space.write().unwrap_or_else(|p| p.into_inner());
            for c in chunks {
                space.add(c);
            }
        }
    }

    /// Drops a workspace's vectors (its embedding model changed): it is searched by words until its
    /// sources are embedded again.
    pub fn forget_vectors(&self, ws: WorkspaceId) {
        if let Some(space) = self.space(ws) {
            let mut space = space.write().unwrap_or_else(|p| p.into_inner());
            space.vector_slots.clear();
            space.vectors.clear();
        }
    }

    /// Removes a source's passages; visible to searches on return.
    pub fn remove_source(&self, ws: WorkspaceId, source: KbSourceId) {
        self.replace_source(ws, source, &[]);
    }

    /// Hybrid search: both lists fused by a weighted sum of their scores, each scaled to 0..1 within its
    /// list (BM25 over the best BM25 score; the cosine from the list's lowest to its highest), a passage
    /// missing from a list counting 0 there. Unlike reciprocal ranks, which make the first and the second of
    /// a list nearly equal, this keeps a passage far ahead in one list ahead. Equal fused scores are broken
    /// by the cosine, then by the BM25 score, then by passage id, so a tie goes to the passage closer in
    /// meaning.
    pub fn search(
        &self,
        ws: WorkspaceId,
        query: &str,
        query_vector: Option<&[f32]>,
        opts: SearchOptions,
    ) -> Vec<Hit> {
        let Some(space) = self.space(ws) else { return Vec::new() };
        let space = space.read().unwrap_or_else(|p| p.into_inner());
        let vw = match lang::detect(query) {
            Lang::Zh => opts.vector_weight_zh,
            Lang::En => opts.vector_weight_en,
        };
        // A list with no weight is not searched at all.
        let words = if opts.bm25_weight > 0.0 { space.bm25(query, opts.depth) } else { Vec::new() };
        let vector = match query_vector {
            Some(q) if vw > 0.0 => space.nearest(q, opts.depth),
            _ => Vec::new(),
        };
        let mut fused: HashMap<u32, Hit> = HashMap::new();
        fn entry<'a>(fused: &'a mut HashMap<u32, Hit>, space: &Space, slot: u32) -> Option<&'a mut Hit> {
            let s = space.slots[slot as usize].as_ref()?;
            Some(fused.entry(slot).or_insert_with(|| Hit {
                chunk_id: s.id,
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
        // Entries a person wrote mix the two lists in their own proportion, scaled so that a match first
        // in both lists scores the same as a passage's: neither kind crowds the other out.
        let (passages_vw, entries_vw) =
            if vector.is_empty() { (0.0, 0.0) } else { (vw, opts.vector_weight_entries) };
        let scale = (opts.bm25_weight + passages_vw) / (opts.bm25_weight + entries_vw).max(f32::EPSILON);
        let weights = |curated: bool| {
            if curated { (opts.bm25_weight * scale, entries_vw * scale) } else { (opts.bm25_weight, vw) }
        };
        let best_words = words.iter().map(|w| w.1).fold(0.0f32, f32::max);
        for (rank, (slot, score)) in words.iter().enumerate() {
            if let Some(h) = entry(&mut fused, &space, *slot) {
                if best_words > 0.0 {
                    h.score += weights(h.curated).0 * score / best_words;
                }
                h.bm25_rank = Some(rank + 1);
                h.bm25_score = Some(*score);
            }
        }
        let (low, high) = vector.iter().fold((f32::MAX, f32::MIN), |(l, h), v| (l.min(v.1), h.max(v.1)));
        for (rank, (slot, sim)) in vector.iter().enumerate() {
            if let Some(h) = entry(&mut fused, &space, *slot) {
                h.score += weights(h.curated).1 * if high > low { (sim - low) / (high - low) } else { 1.0 };
                h.vector_rank = Some(rank + 1);
                h.similarity = Some(*sim);
            }
        }
        let mut hits: Vec<Hit> = fused.into_values().collect();
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(b.similarity.unwrap_or(-1.0).total_cmp(&a.similarity.unwrap_or(-1.0)))
                .then(b.bm25_score.unwrap_or(0.0).total_cmp(&a.bm25_score.unwrap_or(0.0)))
                .then(a.chunk_id.cmp(&b.chunk_id))
        });
        hits.into_iter().skip(opts.offset).take(opts.limit).collect()
    }
}

#[cfg(test)]
mod tests {
    use lianluo_domain::{KbChunkId, KbSourceId, WorkspaceId, knowledge::KbChunk};

    use super::{HybridIndex, SearchOptions};

    fn passage(ws: WorkspaceId, source: KbSourceId, text: &str) -> KbChunk {
        KbChunk {
            id: KbChunkId::new(),
            workspace_id: ws,
            source_id: source,
            ordinal: 0,
            heading: "Orders".into(),
            text: text.into(),
            curated: false,
            url: None,
            held: None,
            held_code: None,
            model: String::new(),
            embedding: vec![],
        }
    }

    /// A source edited again and again (each version with words of its own, such as order numbers)
    /// leaves the index with the words of its live passages only, and searches still find them.
    #[test]
    fn the_vocabulary_is_that_of_the_live_passages() {
        let index = HybridIndex::new();
        let (ws, source, other) = (WorkspaceId::new(), KbSourceId::new(), KbSourceId::new());
        index.replace_source(ws, other, &[passage(ws, other, "Refunds reach your card within five days")]);
        let before = index.vocabulary_len(ws);
        for i in 0..500 {
            let text = format!("Order ZX{i} ships from warehouse W{i} tomorrow");
            index.replace_source(ws, source, &[passage(ws, source, &text)]);
        }
        let words = index.vocabulary_len(ws) - before;
        assert!(words <= 8, "one version's words are kept, not 500 versions': {words}");
        let hits = index.search(ws, "order zx499", None, SearchOptions::default());
        assert!(hits[0].text.contains("ZX499"), "{hits:?}");
        assert!(index.search(ws, "zx17", None, SearchOptions::default()).is_empty(), "old words are gone");
        let refunds = index.search(ws, "refunds card", None, SearchOptions::default());
        assert!(refunds[0].text.contains("Refunds"), "other sources keep theirs");
        index.remove_source(ws, source);
        index.remove_source(ws, other);
        assert_eq!(index.vocabulary_len(ws), 0);
    }

    /// Entries a person wrote lean on the vector list more than passages do, on the same scale: a
    /// passage first in both lists stays ahead of an entry second in both, and among entries the closer
    /// meaning wins over more shared words.
    #[test]
    fn entries_weigh_meaning_more_on_the_passages_scale() {
        let index = HybridIndex::new();
        let (ws, docs, faq) = (WorkspaceId::new(), KbSourceId::new(), KbSourceId::new());
        let unit = |x: f32| vec![x, (1.0 - x * x).sqrt()];
        let doc = KbChunk {
            embedding: unit(0.95),
            ..passage(ws, docs, "Gift cards never expire and can be used for any order")
        };
        let entry =
            |text: &str, x: f32| KbChunk { curated: true, embedding: unit(x), ..passage(ws, faq, text) };
        // Shares the question's words but means something else; the other means the same in other words.
        let words_alike = entry("Do gift cards expire when a gift order is cancelled?", 0.2);
        let meaning_alike = entry("How long can a present voucher be used?", 0.85);
        index.replace_source(ws, docs, &[doc]);
        index.replace_source(ws, faq, &[words_alike, meaning_alike]);
        let opts = SearchOptions { vector_weight_entries: 8.0, ..SearchOptions::default() };
        let hits = index.search(ws, "do gift cards expire", Some(&unit(0.95)), opts);
        let order: Vec<&str> = hits.iter().map(|h| h.text.as_str()).collect();
        assert_eq!(
            order,
            [
                "Gift cards never expire and can be used for any order",
                "How long can a present voucher be used?",
                "Do gift cards expire when a gift order is cancelled?",
            ]
        );
        // With the passages' weight, the entry sharing words would come first among entries.
        let even = index.search(ws, "do gift cards expire", Some(&unit(0.95)), SearchOptions::default());
        assert!(even[1].text.starts_with("Do gift cards"), "{even:?}");
    }
}
