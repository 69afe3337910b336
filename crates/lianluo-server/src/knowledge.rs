//! The knowledge service: keeps the search index in step with the store and indexes sources (parse,
//! chunk, embed, store, index) as durable jobs (`JobSpec::IndexSource`, run by `crate::jobs`): they
//! survive a restart, several run at once, and one workspace's long queue never holds back another's.
//! Each running source reports its progress.

use std::sync::Arc;

use lianluo_domain::{
    KbChunkId, KbSourceId, Timestamp, WorkspaceId,
    knowledge::{KbChunk, KbSource, SourceKind},
};
use lianluo_domain::{event::Actor, job::JobSpec};
use lianluo_knowledge::{
    AnswerMode, Answerer, Hit, HybridIndex, ReadFailure, chunk_sections,
    crawl::{CrawlOptions, crawl, crawl_client},
    guard,
    parse::Section,
    parse_source,
};
use lianluo_models::{ChatModel, Embedder};
use lianluo_store::Store;

/// The models and index behind the knowledge base.
pub struct Knowledge {
    pub answerer: Answerer,
    store: Arc<dyn Store>,
    /// Each workspace's chat model and answer mode, from its AI settings (dropped when they change).
    generation: std::sync::Mutex<std::collections::HashMap<WorkspaceId, Generation>>,
    /// Wakes the node's job workers when a source is queued (shared with `AppState::jobs_wake`).
    jobs_wake: Arc<crate::jobs::Wake>,
    /// What the strength check found for each chat model (by address and name), or `None` while it runs.
    strength:
        std::sync::Mutex<std::collections::HashMap<String, Option<lianluo_knowledge::strength::Strength>>>,
    /// How far each running source has got.
    progress: std::sync::Mutex<std::collections::HashMap<KbSourceId, Arc<Progress>>>,
    /// The question vectors of mined candidates, by embedder and candidate, so that each mining run
    /// embeds only the questions it found (at most `CANDIDATE_VECTORS`, then cleared).
    candidate_vectors:
        std::sync::Mutex<std::collections::HashMap<(String, lianluo_domain::KbCandidateId), Vec<f32>>>,
    crawler: lianluo_knowledge::crawl::Client,
    settings: Settings,
}

/// The models and mode a workspace answers with.
#[derive(Clone)]
struct Generation {
    embedder: Arc<dyn Embedder>,
    chat: Option<Arc<dyn ChatModel>>,
    /// The chat model's address and name (the node's model id when it is the node's).
    chat_key: String,
    mode: AnswerMode,
    tone: Option<String>,
    min_confidence: f32,
}

/// How the knowledge base behaves.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub answer_mode: AnswerMode,
    /// Lets website sources on private, loopback and link-local addresses be crawled (an intranet help
    /// centre); off by default so that an admin cannot make the server read its own network.
    pub crawl_private_networks: bool,
    /// Lets workspaces use chat and embedding providers on private, loopback and link-local addresses
    /// (a model server on the operator's network); off by default so that a workspace admin cannot make
    /// the server send requests, and the workspace's key, into the server's network. The node's own
    /// configured endpoints are the operator's and always allowed.
    pub private_model_providers: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            answer_mode: AnswerMode::Extractive,
            crawl_private_networks: false,
            private_model_providers: false,
        }
    }
}

/// How an indexing run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Indexed {
    /// The passages are stored and searchable.
    Stored { passages: usize },
    /// The source could not be indexed; the reason is on the source for the admin. `transient` when
    /// trying again later may help (a website or an embedding provider that did not answer, a storage
    /// fault), not when the source itself cannot be read (a broken file, a site's robots.txt).
    Failed { reason: String, transient: bool },
    /// The source was edited while it was read (nothing was stored), or the workspace's embedder changed
    /// meanwhile: it is to be read again.
    Superseded,
    /// The source was deleted: there is nothing to read.
    Deleted,
}

/// How far the indexing of a source has got, while it runs.
#[derive(Debug, Default)]
struct Progress {
    pages_read: std::sync::atomic::AtomicUsize,
    passages_done: std::sync::atomic::AtomicUsize,
    passages_total: std::sync::atomic::AtomicUsize,
}

/// A source's indexing progress as the API shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct IndexProgress {
    /// What the source is at: `crawling` a website, `reading` the text into passages, or `embedding`
    /// the passages.
    pub stage: IndexStage,
    /// Pages of a website read so far (0 for other kinds).
    pub pages_read: usize,
    /// Passages embedded so far, out of `passages_total` (0 until the source has been read).
    pub passages_done: usize,
    pub passages_total: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IndexStage {
    Crawling,
    Reading,
    Embedding,
}

/// Removes a source's progress when its run ends, however it ends.
struct Running<'a> {
    knowledge: &'a Knowledge,
    id: KbSourceId,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.knowledge.progress.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.id);
    }
}

/// What, if anything, a passage must be held for: its headings and text are checked together.
fn flag(c: &KbChunk) -> Option<guard::Flag> {
    guard::inspect(&format!("{}\n{}", c.heading, c.text))
}

/// The confidence from which agents are offered a suggested reply (customers get answers only from the
/// workspace's threshold).
pub const SUGGESTION_MIN_CONFIDENCE: f32 = 0.3;

/// The confidence from which a mined candidate is recommended to the admin (below it, the reply most
/// likely answers something else); measured by `lianluo eval mined` (EVALUATION.md).
pub const MINED_MIN_CONFIDENCE: f32 = 0.5;

/// Passages embedded at a time while indexing, between progress updates.
const EMBEDDING_BATCH: usize = 32;

/// Most mined questions' vectors kept between mining runs (about 15 MB with E5-small).
const CANDIDATE_VECTORS: usize = 10_000;

/// Most passages one source may be cut into.
pub const MAX_CHUNKS_PER_SOURCE: usize = 5_000;

impl Knowledge {
    /// Builds the index from every stored passage.
    pub async fn load(
        store: Arc<dyn Store>,
        embedder: Arc<dyn Embedder>,
        chat: Option<Arc<dyn ChatModel>>,
        settings: Settings,
    ) -> Result<Arc<Self>, String> {
        let index = Arc::new(HybridIndex::new());
        let mut after: Option<KbChunkId> = None;
        let mut restale: std::collections::BTreeSet<(WorkspaceId, KbSourceId)> = Default::default();
        // The embedder each workspace's vectors must come from: its own provider, or the node's.
        let mut expected: std::collections::HashMap<WorkspaceId, String> = Default::default();
        loop {
            let page = store.kb_chunks_after(after, 5_000).await.map_err(|e| e.to_string())?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            for c in &page {
                if let std::collections::hash_map::Entry::Vacant(slot) = expected.entry(c.workspace_id) {
                    let s = store.ai_settings(c.workspace_id).await.map_err(|e| e.to_string())?;
                    slot.insert(
                        s.embeddings
                            .map(|e| lianluo_models::OpenAiEmbedder::id_for(&e.model))
                            .unwrap_or_else(|| embedder.id().to_string()),
                    );
                }
            }
            let (current, stale): (Vec<KbChunk>, Vec<KbChunk>) =
                page.into_iter().partition(|c| expected.get(&c.workspace_id) == Some(&c.model));
            index.load(&current);
            if !stale.is_empty() {
                // Embedded by another model: searchable by words until it is embedded again (queued below).
                restale.extend(stale.iter().map(|c| (c.workspace_id, c.source_id)));
                let words: Vec<KbChunk> =
                    stale.into_iter().map(|c| KbChunk { embedding: Vec::new(), ..c }).collect();
                index.load(&words);
            }
        }
        tracing::info!(passages = index.len(), embedder = embedder.id(), "knowledge index loaded");
        let pending = store.pending_kb_sources().await.map_err(|e| e.to_string())?;
        let this = Arc::new(Self {
            answerer: Answerer::new(index, embedder, chat, settings.answer_mode),
            store,
            generation: Default::default(),
            jobs_wake: Default::default(),
            strength: Default::default(),
            progress: Default::default(),
            candidate_vectors: Default::default(),
            crawler: crawl_client(CrawlOptions::default().timeout),
            settings,
        });
        // Sources added while no models were loaded, or interrupted by a stop, are indexed now; so are
        // those embedded by another model (the configured embedder changed).
        if !restale.is_empty() {
            tracing::info!(sources = restale.len(), "embedding sources again with the configured embedder");
        }
        for (ws, id) in pending.into_iter().chain(restale) {
            this.queue_index(ws, id, Actor::System).await?;
        }
        Ok(this)
    }

    /// What wakes the node's job workers when this service queues work.
    pub fn jobs_wake(&self) -> Arc<crate::jobs::Wake> {
        self.jobs_wake.clone()
    }

    pub fn index(&self) -> &HybridIndex {
        &self.answerer.index
    }

    /// Queues a source for indexing as a job (one per source: a source already waiting or running is
    /// not queued twice); its status tells how it went.
    pub async fn queue_index(&self, ws: WorkspaceId, id: KbSourceId, actor: Actor) -> Result<(), String> {
        let spec = JobSpec::IndexSource { source: id };
        crate::jobs::enqueue(self.store.as_ref(), &self.jobs_wake, ws, spec, actor)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// How far a source being indexed has got; `None` when it is not running.
    pub fn progress(&self, id: KbSourceId) -> Option<IndexProgress> {
        use std::sync::atomic::Ordering::Relaxed;
        let p = self.progress.lock().unwrap_or_else(|p| p.into_inner()).get(&id).cloned()?;
        let (pages_read, passages_total) = (p.pages_read.load(Relaxed), p.passages_total.load(Relaxed));
        let stage = match (pages_read, passages_total) {
            (_, 1..) => IndexStage::Embedding,
            (1.., 0) => IndexStage::Crawling,
            (0, 0) => IndexStage::Reading,
        };
        Some(IndexProgress {
            stage,
            pages_read,
            passages_done: p.passages_done.load(Relaxed),
            passages_total,
        })
    }

    /// Parses, chunks and embeds a source, stores the passages and updates the index. `Err` is a fault
    /// of the store (worth another try); a source that cannot be indexed is `Indexed::Failed`, and when
    /// `retried` (its job has attempts left) the reason on a transient failure says it is tried again.
    pub async fn index_source(
        &self,
        ws: WorkspaceId,
        id: KbSourceId,
        retried: bool,
    ) -> Result<Indexed, String> {
        let source = match self.store.start_kb_source(ws, id).await {
            Err(lianluo_store::StoreError::NotFound(_)) => return Ok(Indexed::Deleted),
            started => started.map_err(|e| e.to_string())?,
        };
        let progress = Arc::new(Progress::default());
        self.progress.lock().unwrap_or_else(|p| p.into_inner()).insert(id, progress.clone());
        let _running = Running { knowledge: self, id };
        let outcome = self.passages(&source, &progress).await;
        let outcome = match outcome {
            Ok(chunks) => self.hold(ws, id, chunks).await,
            Err(e) => Err(e),
        };
        let failed = outcome.as_ref().err().cloned();
        let chunks = outcome.as_ref().ok().cloned();
        let outcome = outcome.map_err(|e| match e.transient && retried {
            true => format!("{}; it is tried again automatically", e.reason),
            false => e.reason,
        });
        let stored = self
            .store
            .finish_kb_source(ws, id, source.updated_at, outcome, Timestamp::now())
            .await
            .map_err(|e| e.to_string())?;
        match (stored, chunks) {
            (Some(_), Some(chunks)) => {
                // The workspace's embedder changed while this ran (asking to index the source again
                // returned this job): its passages are read again with the new one, and the index keeps
                // the previous ones meanwhile.
                let embedder = self.generation(ws).await?.embedder;
                if chunks.first().is_some_and(|c| c.model != embedder.id()) {
                    return Ok(Indexed::Superseded);
                }
                self.index().replace_source(ws, id, &chunks);
                Ok(Indexed::Stored { passages: chunks.len() })
            }
            (Some(_), None) => {
                let ReadFailure { reason, transient } = failed.unwrap_or_else(|| String::new().into());
                Ok(Indexed::Failed { reason, transient })
            }
            (None, _) => Ok(Indexed::Superseded),
        }
    }

    /// Holds every passage that reads like instructions to an assistant or holds a secret or internal
    /// material, with the reason, for an admin to review; a passage an admin approved before keeps its
    /// approval when the source is indexed again with the same text.
    async fn hold(
        &self,
        ws: WorkspaceId,
        id: KbSourceId,
        chunks: Vec<KbChunk>,
    ) -> Result<Vec<KbChunk>, ReadFailure> {
        let approved: std::collections::HashSet<String> = self
            .store
            .list_kb_chunks(ws, id)
            .await
            .map_err(ReadFailure::transient)?
            .into_iter()
            .filter(|c| c.held.is_none() && flag(c).is_some())
            .map(|c| c.text)
            .collect();
        let mut held = 0;
        let chunks: Vec<KbChunk> = chunks
            .into_iter()
            .map(|c| {
                let found = flag(&c).filter(|_| !approved.contains(&c.text));
                held += usize::from(found.is_some());
                let (held_code, held) = found.map(|f| (f.code, f.reason)).unzip();
                KbChunk { held, held_code, ..c }
            })
            .collect();
        if held > 0 {
            tracing::info!(source = %id, passages = held, "passages held for an admin's review");
        }
        Ok(chunks)
    }

    async fn passages(&self, source: &KbSource, progress: &Progress) -> Result<Vec<KbChunk>, ReadFailure> {
        use std::sync::atomic::Ordering::Relaxed;
        let sections = if source.kind == SourceKind::Website {
            self.crawl(source, &progress.pages_read).await?
        } else {
            parse_source(source.kind, &source.title, &source.content).map_err(|e| e.to_string())?
        };
        // Invisible characters that could split a word past the checks are gone before anything is stored.
        let texts: Vec<lianluo_knowledge::ChunkText> = chunk_sections(&sections)
            .into_iter()
            .map(|t| lianluo_knowledge::ChunkText {
                heading: guard::clean(&t.heading),
                text: guard::clean(&t.text),
                ..t
            })
            .collect();
        if texts.len() > MAX_CHUNKS_PER_SOURCE {
            return Err(format!(
                "the source makes {} passages; split it into sources of at most {MAX_CHUNKS_PER_SOURCE}",
                texts.len()
            )
            .into());
        }
        let inputs: Vec<String> = texts.iter().map(|t| t.indexed_text()).collect();
        let embedder = self.generation(source.workspace_id).await.map_err(ReadFailure::transient)?.embedder;
        progress.passages_total.store(inputs.len(), Relaxed);
        // Embedded shortest first, so that each batch holds passages of about one length (little padding),
        // then put back in order.
        let mut order: Vec<usize> = (0..inputs.len()).collect();
        order.sort_by_key(|&i| inputs[i].len());
        let mut vectors: Vec<Vec<f32>> = vec![Vec::new(); inputs.len()];
        let mut done = 0;
        for batch in order.chunks(EMBEDDING_BATCH) {
            let texts: Vec<String> = batch.iter().map(|&i| inputs[i].clone()).collect();
            let embedded = embedder
                .embed(&texts)
                .await
                .map_err(|e| ReadFailure::transient(format!("embedding failed: {e}")))?;
            if embedded.len() != batch.len() {
                return Err(ReadFailure::transient(format!(
                    "embedding failed: {} vectors for {} passages",
                    embedded.len(),
                    batch.len()
                )));
            }
            for (&i, v) in batch.iter().zip(embedded) {
                vectors[i] = v;
            }
            done += batch.len();
            progress.passages_done.store(done, Relaxed);
        }
        Ok(texts
            .into_iter()
            .zip(vectors)
            .enumerate()
            .map(|(i, (t, v))| KbChunk {
                id: KbChunkId::new(),
                workspace_id: source.workspace_id,
                source_id: source.id,
                ordinal: i as i64,
                heading: t.heading,
                text: t.text,
                curated: t.curated,
                url: t.url,
                held: None,
                held_code: None,
                model: embedder.id().to_string(),
                embedding: v,
            })
            .collect())
    }

    /// Crawls a website source and reads each page; a page without text is left out.
    async fn crawl(
        &self,
        source: &KbSource,
        read: &std::sync::atomic::AtomicUsize,
    ) -> Result<Vec<Section>, ReadFailure> {
        let start = source.url.as_deref().ok_or("a website source needs the address to start from")?;
        let opts = CrawlOptions {
            page_limit: source.page_limit.unwrap_or(lianluo_domain::knowledge::DEFAULT_PAGE_LIMIT).max(1)
                as usize,
            allow_private: self.settings.crawl_private_networks,
            ..CrawlOptions::default()
        };
        let pages = crawl(&self.crawler, start, &opts, read).await?;
        let mut sections = Vec::new();
        for page in pages {
            let Ok(read) = parse_source(SourceKind::Html, &page.title, &page.html) else { continue };
            sections.extend(read.into_iter().map(|s| Section { url: Some(page.url.clone()), ..s }));
        }
        if sections.is_empty() {
            return Err("the site's pages have no text".into());
        }
        Ok(sections)
    }

    /// Answers for a workspace with its own chat model and answer mode (the node's when it has none),
    /// and counts the tokens a generated answer used.
    pub async fn answer(
        self: &Arc<Self>,
        ws: WorkspaceId,
        question: &str,
        earlier: &[String],
        tone: Option<&str>,
        sink: Option<lianluo_models::TokenSink>,
    ) -> Result<lianluo_knowledge::Answer, String> {
        self.answer_above(ws, question, earlier, tone, sink, None).await
    }

    /// A suggested reply for an agent, who reads it before sending: offered from a lower confidence than
    /// the AI agent answers customers with (its confidence is shown beside it).
    pub async fn suggest(
        self: &Arc<Self>,
        ws: WorkspaceId,
        question: &str,
        earlier: &[String],
    ) -> Result<lianluo_knowledge::Answer, String> {
        self.answer_above(ws, question, earlier, None, None, Some(SUGGESTION_MIN_CONFIDENCE)).await
    }

    async fn answer_above(
        self: &Arc<Self>,
        ws: WorkspaceId,
        question: &str,
        earlier: &[String],
        tone: Option<&str>,
        sink: Option<lianluo_models::TokenSink>,
        min_confidence: Option<f32>,
    ) -> Result<lianluo_knowledge::Answer, String> {
        let g = self.generation(ws).await?;
        let models = lianluo_knowledge::Models {
            embedder: &g.embedder,
            chat: g.chat.as_ref(),
            mode: self.resolve(&g),
            min_confidence: min_confidence.map_or(g.min_confidence, |m| m.min(g.min_confidence)),
        };
        // The channel's tone, else the workspace's.
        let tone = tone.or(g.tone.as_deref());
        let answer = self.answerer.answer_with(ws, question, earlier, tone, sink, models).await?;
        if let Some(chat) = &g.chat
            && answer.prompt_tokens + answer.completion_tokens > 0
            && let Err(e) = self
                .store
                .record_ai_usage(
                    ws,
                    chat.id(),
                    answer.prompt_tokens,
                    answer.completion_tokens,
                    Timestamp::now(),
                )
                .await
        {
            tracing::warn!(error = %e, "could not count the tokens of an answer");
        }
        Ok(answer)
    }

    async fn generation(&self, ws: WorkspaceId) -> Result<Generation, String> {
        if let Some(g) = self.generation.lock().unwrap_or_else(|p| p.into_inner()).get(&ws) {
            return Ok(g.clone());
        }
        let settings = self.store.ai_settings(ws).await.map_err(|e| e.to_string())?;
        let chat_key = match &settings.chat {
            Some(c) => format!("{} {}", c.base_url, c.model),
            None => self.answerer.chat.as_ref().map(|c| c.id().to_string()).unwrap_or_default(),
        };
        let endpoint = |p: lianluo_domain::ai::ModelProvider| lianluo_models::OpenAiEndpoint {
            base_url: p.base_url,
            api_key: p.api_key,
            model: p.model,
            timeout_secs: p.timeout_secs,
            max_retries: p.max_retries,
        };
        // A workspace's own providers reach public addresses only, checked at each connection (the name
        // may resolve elsewhere than when the settings were saved), unless the operator allows more.
        let public_only = !self.settings.private_model_providers;
        let chat: Option<Arc<dyn ChatModel>> = match settings.chat {
            Some(c) if public_only => Some(Arc::new(lianluo_models::OpenAiChat::public_only(endpoint(c)))),
            Some(c) => Some(Arc::new(lianluo_models::OpenAiChat::new(endpoint(c)))),
            None => self.answerer.chat.clone(),
        };
        let embedder: Arc<dyn Embedder> = match settings.embeddings {
            Some(e) if public_only => Arc::new(lianluo_models::OpenAiEmbedder::public_only(endpoint(e))),
            Some(e) => Arc::new(lianluo_models::OpenAiEmbedder::new(endpoint(e))),
            None => self.answerer.embedder.clone(),
        };
        let mode = match settings.answer_mode {
            Some(lianluo_domain::ai::AnswerStyle::Generative) => AnswerMode::Generative,
            Some(lianluo_domain::ai::AnswerStyle::Extractive) => AnswerMode::Extractive,
            Some(lianluo_domain::ai::AnswerStyle::Auto) => AnswerMode::Auto,
            None => self.answerer.mode,
        };
        let min_confidence = settings.min_confidence.unwrap_or(self.answerer.min_confidence);
        let g = Generation { embedder, chat, chat_key, mode, tone: settings.tone, min_confidence };
        self.generation.lock().unwrap_or_else(|p| p.into_inner()).insert(ws, g.clone());
        Ok(g)
    }

    /// Refuses a workspace's provider on a private network unless the operator allows it.
    pub async fn check_provider(
        &self,
        field: &str,
        provider: &lianluo_domain::ai::ModelProvider,
    ) -> Result<(), lianluo_domain::DomainError> {
        if self.settings.private_model_providers {
            return Ok(());
        }
        let field = format!("{field}.base_url");
        match lianluo_knowledge::crawl::on_private_network(&provider.base_url).await {
            Ok(false) => Ok(()),
            Ok(true) => Err(lianluo_domain::DomainError::new(
                field,
                "is on a private network; the server's operator can allow that with \
                 knowledge.private_model_providers",
            )),
            // A name that does not resolve now (a server without DNS for the outside) is saved; calling
            // it fails with the provider's error.
            Err(e) => {
                tracing::info!(error = %e, "a workspace's model provider could not be resolved when saved");
                Ok(())
            }
        }
    }

    /// The mode a workspace answers in now: `auto` writes answers once its chat model passed the strength
    /// check, and quotes until then (the check runs in the background, once per model).
    fn resolve(self: &Arc<Self>, g: &Generation) -> AnswerMode {
        if g.mode != AnswerMode::Auto {
            return g.mode;
        }
        match self.strength_of(g) {
            Some(Some(s)) if s.strong => AnswerMode::Generative,
            _ => AnswerMode::Extractive,
        }
    }

    /// The strength check's result for a workspace's chat model: `None` without a chat model,
    /// `Some(None)` while it runs (started here when it has not run yet).
    fn strength_of(
        self: &Arc<Self>,
        g: &Generation,
    ) -> Option<Option<lianluo_knowledge::strength::Strength>> {
        let chat = g.chat.clone()?;
        let mut known = self.strength.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = known.get(&g.chat_key) {
            return Some(s.clone());
        }
        known.insert(g.chat_key.clone(), None);
        let (this, key) = (self.clone(), g.chat_key.clone());
        tokio::spawn(async move {
            let s = lianluo_knowledge::strength::check(chat.as_ref()).await;
            tracing::info!(model = %key, strong = s.strong, passed = s.passed, total = s.total, "chat model strength checked");
            this.strength.lock().unwrap_or_else(|p| p.into_inner()).insert(key, Some(s));
        });
        Some(None)
    }

    /// What the strength check found for a workspace's chat model (see `strength_of`); starts it when
    /// the workspace answers in the `auto` mode and it has not run.
    pub async fn strength(
        self: &Arc<Self>,
        ws: WorkspaceId,
    ) -> Result<Option<Option<lianluo_knowledge::strength::Strength>>, String> {
        let g = self.generation(ws).await?;
        if g.mode != AnswerMode::Auto {
            let known = self.strength.lock().unwrap_or_else(|p| p.into_inner());
            return Ok(g.chat.as_ref().and_then(|_| known.get(&g.chat_key).cloned()));
        }
        Ok(self.strength_of(&g))
    }

    /// Forgets a workspace's cached models after its AI settings changed; a new embedding model embeds
    /// every source of the workspace again (searched by words meanwhile).
    pub async fn settings_changed(
        self: &Arc<Self>,
        ws: WorkspaceId,
        new_embedder: bool,
    ) -> Result<(), String> {
        if let Some(g) = self.generation.lock().unwrap_or_else(|p| p.into_inner()).remove(&ws) {
            // Saving the settings checks the chat model again (a provider may have changed the model
            // behind the same name).
            self.strength.lock().unwrap_or_else(|p| p.into_inner()).remove(&g.chat_key);
        }
        if new_embedder {
            self.index().forget_vectors(ws);
            for s in self.store.list_kb_sources(ws).await.map_err(|e| e.to_string())? {
                self.queue_index(ws, s.id, Actor::System).await?;
            }
        }
        Ok(())
    }

    /// Hybrid search with the workspace's embedder (by words alone when it fails).
    pub async fn search(
        &self,
        ws: WorkspaceId,
        query: &str,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Hit>, String> {
        let g = self.generation(ws).await?;
        self.answerer.retrieve(ws, query, &g.embedder, offset, limit).await
    }

    /// Makes an approved passage searchable (by words alone when another embedder made its vector).
    pub async fn add_approved(&self, chunk: &KbChunk) -> Result<(), String> {
        let g = self.generation(chunk.workspace_id).await?;
        let chunk = if chunk.model == g.embedder.id() {
            chunk.clone()
        } else {
            KbChunk { embedding: Vec::new(), ..chunk.clone() }
        };
        self.index().load(std::slice::from_ref(&chunk));
        Ok(())
    }

    /// Drops a deleted source from the index.
    pub fn forget_source(&self, ws: WorkspaceId, id: KbSourceId) {
        self.index().remove_source(ws, id)
    }
}

/// Questions that ask the same thing, grouped for the knowledge-gaps list.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct GapCluster {
    /// The most recent wording.
    pub question: String,
    pub language: String,
    /// How many times it was asked.
    pub count: usize,
    /// Up to five wordings, newest first.
    pub examples: Vec<String>,
    pub question_ids: Vec<lianluo_domain::KbQuestionId>,
    pub last_asked_at: Timestamp,
}

impl Knowledge {
    /// Groups unresolved gap questions: two questions are one gap when their vectors are close or they
    /// share most of their words. Biggest groups first.
    pub async fn gaps(&self, ws: WorkspaceId) -> Result<Vec<GapCluster>, String> {
        let questions = self.store.list_kb_gap_questions(ws, 2_000).await.map_err(|e| e.to_string())?;
        let texts: Vec<(String, String)> =
            questions.iter().map(|q| (q.question.clone(), q.language.clone())).collect();
        let reps = self.group_similar(ws, &texts).await?;
        let mut clusters: Vec<(usize, GapCluster)> = Vec::new(); // (index of the representative, cluster)
        for (i, q) in questions.iter().enumerate() {
            match clusters.iter_mut().find(|(rep, _)| *rep == reps[i]) {
                Some((_, c)) => {
                    c.count += 1;
                    c.question_ids.push(q.id);
                    if c.examples.len() < 5 && !c.examples.contains(&q.question) {
                        c.examples.push(q.question.clone());
                    }
                }
                None => clusters.push((
                    i,
                    GapCluster {
                        question: q.question.clone(),
                        language: q.language.clone(),
                        count: 1,
                        examples: vec![q.question.clone()],
                        question_ids: vec![q.id],
                        last_asked_at: q.created_at,
                    },
                )),
            }
        }
        let mut out: Vec<GapCluster> = clusters.into_iter().map(|(_, c)| c).collect();
        out.sort_by(|a, b| b.count.cmp(&a.count).then(b.last_asked_at.cmp(&a.last_asked_at)));
        Ok(out)
    }

    /// For each (question, language), the index of the first earlier question that asks the same thing
    /// (its own index when none does): same language, and vectors close (the embedder's
    /// `Calibration::same_question`, 0.8 for all-MiniLM-L6-v2) or half of their words shared.
    pub async fn group_similar(
        &self,
        ws: WorkspaceId,
        texts: &[(String, String)],
    ) -> Result<Vec<usize>, String> {
        let plain: Vec<String> = texts.iter().map(|(t, _)| t.clone()).collect();
        let embedder = self.generation(ws).await?.embedder;
        // Without vectors (the provider failed), questions are grouped by their words.
        let vectors = embedder.embed_queries(&plain).await.unwrap_or_else(|_| vec![Vec::new(); plain.len()]);
        Ok(self.group_with(texts, &vectors, &embedder.calibration()))
    }

    /// `group_similar` with the questions' vectors given (empty ones: grouped by words alone).
    fn group_with(
        &self,
        texts: &[(String, String)],
        vectors: &[Vec<f32>],
        calibration: &lianluo_models::Calibration,
    ) -> Vec<usize> {
        // "The same question": the upper part of the band between unrelated and answering cosines.
        let terms: Vec<Vec<String>> = texts.iter().map(|(t, _)| lianluo_knowledge::index::terms(t)).collect();
        let mut reps: Vec<usize> = Vec::with_capacity(texts.len());
        let mut heads: Vec<usize> = Vec::new();
        for i in 0..texts.len() {
            let similar = |j: usize| {
                let cos: f32 = vectors[i].iter().zip(&vectors[j]).map(|(a, b)| a * b).sum();
                let (a, b) = (&terms[i], &terms[j]);
                let shared = a.iter().filter(|t| b.contains(t)).count();
                let union = a.len() + b.len() - shared;
                let jaccard = if union == 0 { 0.0 } else { shared as f32 / union as f32 };
                texts[i].1 == texts[j].1 && (cos >= calibration.same_question() || jaccard >= 0.5)
            };
            match heads.iter().find(|&&h| similar(h)) {
                Some(&h) => reps.push(h),
                None => {
                    heads.push(i);
                    reps.push(i);
                }
            }
        }
        reps
    }

    /// The question vectors of candidates mined before, from the cache (by embedder and candidate; a
    /// candidate's question never changes) or embedded now; `None` when the embedder fails.
    async fn known_question_vectors(
        &self,
        embedder: &Arc<dyn Embedder>,
        known: &[lianluo_domain::knowledge::KbCandidate],
    ) -> Option<Vec<Vec<f32>>> {
        let id = embedder.id().to_string();
        let mut vectors: Vec<Option<Vec<f32>>> = {
            let cache = self.candidate_vectors.lock().unwrap_or_else(|p| p.into_inner());
            known.iter().map(|c| cache.get(&(id.clone(), c.id)).cloned()).collect()
        };
        let missing: Vec<usize> = (0..known.len()).filter(|&i| vectors[i].is_none()).collect();
        if !missing.is_empty() {
            let texts: Vec<String> = missing.iter().map(|&i| known[i].question.clone()).collect();
            let embedded = embedder.embed_queries(&texts).await.ok()?;
            self.remember_vectors(&id, missing.iter().map(|&i| known[i].id).zip(embedded.iter().cloned()));
            for (&i, v) in missing.iter().zip(embedded) {
                vectors[i] = Some(v);
            }
        }
        vectors.into_iter().collect()
    }

    /// Keeps mined questions' vectors for the next runs (the cache is emptied when it would grow past
    /// `CANDIDATE_VECTORS`).
    fn remember_vectors(
        &self,
        embedder_id: &str,
        entries: impl ExactSizeIterator<Item = (lianluo_domain::KbCandidateId, Vec<f32>)>,
    ) {
        let mut cache = self.candidate_vectors.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() + entries.len() > CANDIDATE_VECTORS {
            cache.clear();
        }
        for (c, v) in entries {
            cache.insert((embedder_id.to_string(), c), v);
        }
    }

    /// Adds a question-and-answer entry and indexes it before returning, so the next customer who asks
    /// gets it; the questions it answers leave the gaps list.
    pub async fn add_answer(
        &self,
        ws: WorkspaceId,
        question: &str,
        answer: &str,
        closes: &[lianluo_domain::KbQuestionId],
        actor: lianluo_domain::event::Actor,
        by: Option<lianluo_domain::UserId>,
    ) -> Result<KbSource, lianluo_store::StoreError> {
        let mut new = lianluo_domain::knowledge::NewKbSource::qa(question, answer);
        new.validate()?;
        let source = self.store.create_kb_source(ws, &new, actor, by, Timestamp::now()).await?;
        self.index_source(ws, source.id, false).await.map_err(lianluo_store::StoreError::Backend)?;
        if !closes.is_empty() {
            self.store.resolve_kb_questions(ws, closes, source.id, actor, Timestamp::now()).await?;
        }
        self.store.get_kb_source(ws, source.id).await
    }
}

/// What a mining run found.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct MineReport {
    /// Resolved conversations read.
    pub conversations: usize,
    /// New candidates waiting for approval (replies mined before are skipped).
    pub added: Vec<lianluo_domain::knowledge::KbCandidate>,
    /// New replies to a question already among the candidates: counted in that candidate's `asked`.
    pub repeats: usize,
}

/// A workspace's mining run: reading conversations and scoring their replies takes from seconds to
/// minutes, so it runs as a durable job (it survives a restart) and is looked at while it runs.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct MineRun {
    /// The job that runs it (see `GET /api/v1/jobs`).
    pub job_id: Option<lianluo_domain::JobId>,
    pub state: MineState,
    /// Resolved conversations read so far.
    pub conversations_read: usize,
    /// What the run found, once it is done.
    pub report: Option<MineReport>,
    /// Why it failed, for a failed run.
    pub error: Option<String>,
    /// When the run was asked for.
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MineState {
    /// The workspace never mined.
    Idle,
    /// Waiting for a worker (or for its next attempt after a failed one: `error` says why).
    Queued,
    Running,
    Done,
    /// Failed on its last attempt; an admin may retry the job or start a new run.
    Failed,
}

impl MineRun {
    /// The run a mining job stands for (`idle` when the workspace never mined).
    pub fn of(job: Option<&lianluo_domain::job::Job>) -> MineRun {
        use lianluo_domain::job::JobState;
        let Some(job) = job else {
            return MineRun {
                job_id: None,
                state: MineState::Idle,
                conversations_read: 0,
                report: None,
                error: None,
                started_at: None,
                finished_at: None,
            };
        };
        MineRun {
            job_id: Some(job.id),
            state: match job.state {
                JobState::Pending => MineState::Queued,
                JobState::Running => MineState::Running,
                JobState::Done => MineState::Done,
                JobState::Failed => MineState::Failed,
            },
            conversations_read: job.progress["conversations_read"].as_u64().unwrap_or(0) as usize,
            report: job.result.clone().and_then(|r| serde_json::from_value(r).ok()),
            error: job.error.clone(),
            started_at: Some(job.created_at),
            finished_at: job.finished_at,
        }
    }
}

impl Knowledge {
    /// Reads the most recently resolved conversations (up to `limit`) for questions customers asked and
    /// the answers agents gave; new pairs wait for an admin's approval. `read` hears how many
    /// conversations were read so far. Run again after an interruption, it adds only what is new (each
    /// reply is mined once).
    pub async fn mine_conversations(
        &self,
        ws: WorkspaceId,
        limit: usize,
        actor: lianluo_domain::event::Actor,
        read: &(dyn Fn(usize) + Sync),
    ) -> Result<MineReport, lianluo_store::StoreError> {
        use lianluo_domain::{
            KbCandidateId,
            conversation::Status,
            knowledge::{CandidateStatus, KbCandidate},
            message::{MessageKind, Sender},
            page::{Cursor, PageRequest},
        };
        use lianluo_knowledge::mine::{Turn, mine};
        let filter =
            lianluo_store::ConversationFilter { status: Some(Status::Resolved), ..Default::default() };
        let mut after: Option<Cursor> = None;
        let mut conversations = 0;
        let mut candidates = Vec::new();
        let now = Timestamp::now();
        while conversations < limit {
            let page = PageRequest::new(Some(((limit - conversations) as u32).min(100)), after);
            let listed = self.store.list_conversations(ws, &filter, page).await?;
            for c in &listed.items {
                conversations += 1;
                let thread =
                    self.store.list_messages(ws, c.id, PageRequest::new(Some(100), None)).await?.items;
                let turns: Vec<Turn<'_>> = thread
                    .iter()
                    .enumerate()
                    .map(|(i, m)| match (m.kind, &m.sender) {
                        (MessageKind::Incoming, _) => Turn::Customer(&m.content),
                        (MessageKind::Outgoing, Sender::User { .. }) => Turn::Agent(&m.content, i),
                        _ => Turn::Other,
                    })
                    .collect();
                for pair in mine(&turns) {
                    candidates.push(KbCandidate {
                        id: KbCandidateId::new(),
                        workspace_id: ws,
                        conversation_id: c.id,
                        message_id: thread[pair.reply_at].id,
                        question: pair.question,
                        answer: pair.answer,
                        language: pair.language.as_str().into(),
                        status: CandidateStatus::Pending,
                        source_id: None,
                        decided_by: None,
                        asked: 1,
                        duplicate_of: None,
                        confidence: None,
                        created_at: now,
                        updated_at: now,
                    });
                }
            }
            read(conversations);
            match listed.next_cursor.as_deref().and_then(Cursor::decode) {
                Some(c) if !listed.items.is_empty() => after = Some(c),
                _ => break,
            }
        }
        // Replies mined before (by an earlier run, or an attempt a stop interrupted) are not scored again.
        let replies: Vec<lianluo_domain::MessageId> = candidates.iter().map(|c| c.message_id).collect();
        let mined: std::collections::HashSet<_> =
            self.store.mined_replies(ws, &replies).await?.into_iter().collect();
        candidates.retain(|c| !mined.contains(&c.message_id));
        // Each question is embedded once: its reply is scored by the re-ranker against it, and it is
        // grouped with the same question asked before. Without vectors (the embedder failed) replies go
        // unscored and questions are grouped by their words.
        let embedder = self.generation(ws).await.map_err(lianluo_store::StoreError::Backend)?.embedder;
        let questions: Vec<String> = candidates.iter().map(|c| c.question.clone()).collect();
        let new_vectors = embedder.embed_queries(&questions).await.ok();
        let pairs: Vec<(String, String)> =
            candidates.iter().map(|c| (c.question.clone(), c.answer.clone())).collect();
        if let Some(v) = &new_vectors
            && let Some(scores) = self.answerer.score_replies(ws, &embedder, &pairs, v).await
        {
            for (c, s) in candidates.iter_mut().zip(scores) {
                c.confidence = Some(s.confidence);
            }
        }
        // The same question asked again (in this run or mined before) is counted in one candidate: one
        // mined before, else the new one whose reply answers it best.
        let mut known = Vec::new();
        for status in [CandidateStatus::Pending, CandidateStatus::Approved, CandidateStatus::Rejected] {
            known.extend(self.store.list_kb_candidates(ws, status, 1_000).await?);
        }
        let texts: Vec<(String, String)> =
            known.iter().chain(&candidates).map(|c| (c.question.clone(), c.language.clone())).collect();
        let vectors = match (self.known_question_vectors(&embedder, &known).await, &new_vectors) {
            (Some(known), Some(new)) => known.into_iter().chain(new.iter().cloned()).collect(),
            _ => vec![Vec::new(); texts.len()],
        };
        let reps = self.group_with(&texts, &vectors, &embedder.calibration());
        let ids: Vec<KbCandidateId> = known.iter().chain(&candidates).map(|c| c.id).collect();
        let confidence = |at: usize| candidates[at - known.len()].confidence.unwrap_or(0.0);
        let mut best: std::collections::HashMap<usize, usize> = Default::default(); // group → its best
        for (at, &head) in reps.iter().enumerate().skip(known.len()) {
            if head >= known.len() {
                let b = best.entry(head).or_insert(at);
                if confidence(at) > confidence(*b) {
                    *b = at;
                }
            }
        }
        let counted_in: Vec<usize> = (known.len()..ids.len())
            .map(|at| if reps[at] < known.len() { reps[at] } else { best[&reps[at]] })
            .collect();
        for (i, c) in candidates.iter_mut().enumerate() {
            let at = known.len() + i;
            if counted_in[i] != at {
                c.status = CandidateStatus::Duplicate;
                c.duplicate_of = Some(ids[counted_in[i]]);
            }
        }
        // Kept by candidate for the cache, before the order changes below.
        let new_by_id: Option<std::collections::HashMap<KbCandidateId, Vec<f32>>> =
            new_vectors.map(|v| candidates.iter().map(|c| c.id).zip(v).collect());
        // A candidate is stored before the duplicates counted in it.
        candidates.sort_by_key(|c| c.status == CandidateStatus::Duplicate);
        let added = self.store.add_kb_candidates(ws, &candidates, actor, now).await?;
        // The next run finds the new candidates' question vectors in the cache.
        if let Some(mut new) = new_by_id {
            let stored: Vec<_> = added.iter().filter_map(|c| Some((c.id, new.remove(&c.id)?))).collect();
            self.remember_vectors(embedder.id(), stored.into_iter());
        }
        let repeats = added.iter().filter(|c| c.status == CandidateStatus::Duplicate).count();
        let added = added.into_iter().filter(|c| c.status == CandidateStatus::Pending).collect();
        Ok(MineReport { conversations, added, repeats })
    }
}

/// The knowledge service as the AI agent's source of answers (`lianluo_app::Answers`).
pub struct AnswersOf(pub Arc<Knowledge>);

#[async_trait::async_trait]
impl lianluo_app::Answers for AnswersOf {
    async fn answer(
        &self,
        ws: WorkspaceId,
        question: &str,
        earlier: &[String],
        tone: Option<&str>,
        sink: Option<lianluo_models::TokenSink>,
    ) -> Result<lianluo_knowledge::Answer, String> {
        self.0.answer(ws, question, earlier, tone, sink).await
    }
}
