//! The knowledge base: sources (admins add, edit, re-sync and delete them; agents read them), their
//! passages, search and answers.

use std::sync::Arc;

use axum::{Json as Out, extract::State, http::StatusCode};
use lianluo_domain::{
    KbCandidateId, KbChunkId, KbSourceId, Timestamp,
    knowledge::{
        CandidateDecision, CandidateStatus, KbCandidate, KbChunk, KbSource, KbSourcePatch, MAX_TITLE_CHARS,
        NewKbSource, SourceKind,
    },
};
use lianluo_knowledge::{Answer, Hit, MAX_FILE_BYTES, extract_text, kind_for_file_name};
use serde::{Deserialize, Serialize};

use super::{Created, List};
use crate::{
    AppState,
    auth::{Admin, Auth},
    error::{AppError, AppResult},
    extract::{Id, Json, Query},
    knowledge::Knowledge,
};

fn kb(state: &AppState) -> AppResult<Arc<Knowledge>> {
    state.knowledge.clone().ok_or_else(|| {
        AppError::Unavailable(
            "the knowledge base needs its models: run scripts/fetch-models, then restart the server".into(),
        )
    })
}

/// A knowledge source and, while it is being indexed, how far that has got.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SourceView {
    #[serde(flatten)]
    pub source: KbSource,
    /// Present while the source is being indexed (`status` is `processing`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<crate::knowledge::IndexProgress>,
}

fn view(state: &AppState, source: KbSource) -> SourceView {
    // The run outlives the stored status by a moment (the index is updated after it).
    let progress = state
        .knowledge
        .as_ref()
        .filter(|_| source.status == lianluo_domain::knowledge::SourceStatus::Processing)
        .and_then(|kb| kb.progress(source.id));
    SourceView { source, progress }
}

pub async fn list_sources(State(state): State<AppState>, auth: Auth) -> AppResult<Out<List<SourceView>>> {
    let sources = state.store.list_kb_sources(auth.workspace_id).await?;
    Ok(Out(List { items: sources.into_iter().map(|s| view(&state, s)).collect() }))
}

pub async fn create_source(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Json(mut new): Json<NewKbSource>,
) -> AppResult<Created<KbSource>> {
    let kb = kb(&state)?;
    if new.kind.is_file() {
        return Err(lianluo_domain::DomainError::new(
            "kind",
            "PDF, DOCX and XLSX files are uploaded as they are: POST the file to /api/v1/kb/files",
        )
        .into());
    }
    new.validate()?;
    let source = state
        .store
        .create_kb_source(auth.workspace_id, &new, auth.actor(), Some(auth.user_id), Timestamp::now())
        .await?;
    kb.queue_index(auth.workspace_id, source.id, auth.actor()).await.map_err(AppError::Internal)?;
    Ok(Created(source))
}

pub async fn get_source(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<KbSourceId>,
) -> AppResult<Out<SourceView>> {
    let source = state.store.get_kb_source(auth.workspace_id, id).await?;
    Ok(Out(view(&state, source)))
}

pub async fn update_source(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Id(id): Id<KbSourceId>,
    Json(mut patch): Json<KbSourcePatch>,
) -> AppResult<Out<KbSource>> {
    let kb = kb(&state)?;
    patch.validate()?;
    patch.check_kind(state.store.get_kb_source(auth.workspace_id, id).await?.kind)?;
    save_patch(&state, &kb, &auth, id, &patch).await
}

/// Stores a checked edit; a source whose text changed is indexed again.
async fn save_patch(
    state: &AppState,
    kb: &Arc<Knowledge>,
    auth: &Auth<Admin>,
    id: KbSourceId,
    patch: &KbSourcePatch,
) -> AppResult<Out<KbSource>> {
    let source =
        state.store.update_kb_source(auth.workspace_id, id, patch, auth.actor(), Timestamp::now()).await?;
    if source.status == lianluo_domain::knowledge::SourceStatus::Queued {
        kb.queue_index(auth.workspace_id, id, auth.actor()).await.map_err(AppError::Internal)?;
    }
    Ok(Out(source))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileQuery {
    /// The file's name; its extension says how to read it (.pdf, .docx, .xlsx, .md, .txt, .html, .csv).
    pub name: String,
    /// The source's title (defaults to the file name without its extension).
    pub title: Option<String>,
    /// A public address customers may follow from a citation.
    pub url: Option<String>,
}

/// How long reading one file may take.
const EXTRACT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Reads an uploaded file's text off the request threads, within a time limit.
async fn read_upload(name: &str, req: axum::extract::Request) -> AppResult<(SourceKind, String)> {
    let kind = kind_for_file_name(name).ok_or_else(|| {
        AppError::UnsupportedFile(
            "knowledge files are .pdf, .docx, .xlsx, .md, .txt, .html or .csv (question/answer tables)"
                .into(),
        )
    })?;
    let bytes = axum::body::to_bytes(req.into_body(), MAX_FILE_BYTES)
        .await
        .map_err(|_| AppError::PayloadTooLarge(MAX_FILE_BYTES))?;
    if bytes.is_empty() {
        return Err(AppError::InvalidBody("the file is empty".into()));
    }
    let work = tokio::task::spawn_blocking(move || extract_text(kind, &bytes));
    let text = match tokio::time::timeout(EXTRACT_TIMEOUT, work).await {
        Err(_) => return Err(AppError::InvalidBody("reading the file took too long; refused".into())),
        Ok(Err(_)) => return Err(AppError::InvalidBody("the file could not be read".into())),
        Ok(Ok(read)) => read.map_err(|e| AppError::InvalidBody(format!("{name}: {e}")))?,
    };
    Ok((kind, text))
}

/// Adds a knowledge source from a file (raw body, `?name=`): its text is read now, so a broken or hostile
/// file is refused with the reason and nothing is stored; the text is then indexed in the background.
pub async fn upload_source(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Query(q): Query<FileQuery>,
    req: axum::extract::Request,
) -> AppResult<Created<KbSource>> {
    let kb = kb(&state)?;
    let (kind, content) = read_upload(&q.name, req).await?;
    let stem = q.name.rsplit_once('.').map(|(s, _)| s).unwrap_or(&q.name);
    let title: String = q.title.unwrap_or_else(|| stem.to_string()).chars().take(MAX_TITLE_CHARS).collect();
    let mut new = NewKbSource { kind, title, content, url: q.url, page_limit: None };
    new.validate()?;
    let source = state
        .store
        .create_kb_source(auth.workspace_id, &new, auth.actor(), Some(auth.user_id), Timestamp::now())
        .await?;
    kb.queue_index(auth.workspace_id, source.id, auth.actor()).await.map_err(AppError::Internal)?;
    Ok(Created(source))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceFileQuery {
    /// The new file's name; it must be of the source's kind.
    pub name: String,
}

/// Replaces a file source with a new version of the file; the source is indexed again.
pub async fn replace_source_file(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Id(id): Id<KbSourceId>,
    Query(q): Query<ReplaceFileQuery>,
    req: axum::extract::Request,
) -> AppResult<Out<KbSource>> {
    let kb = kb(&state)?;
    let current = state.store.get_kb_source(auth.workspace_id, id).await?;
    let (kind, content) = read_upload(&q.name, req).await?;
    if kind != current.kind {
        return Err(lianluo_domain::DomainError::new(
            "name",
            format!(
                "this source is a {} file; add a {} as a new source",
                current.kind.as_str(),
                kind.as_str()
            ),
        )
        .into());
    }
    let mut patch = KbSourcePatch { content: Some(content), ..Default::default() };
    patch.validate()?;
    save_patch(&state, &kb, &auth, id, &patch).await
}

pub async fn sync_source(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Id(id): Id<KbSourceId>,
) -> AppResult<(StatusCode, Out<KbSource>)> {
    let kb = kb(&state)?;
    let source = state.store.get_kb_source(auth.workspace_id, id).await?;
    kb.queue_index(auth.workspace_id, id, auth.actor()).await.map_err(AppError::Internal)?;
    Ok((StatusCode::ACCEPTED, Out(source)))
}

pub async fn delete_source(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Id(id): Id<KbSourceId>,
) -> AppResult<StatusCode> {
    state.store.delete_kb_source(auth.workspace_id, id, auth.actor(), Timestamp::now()).await?;
    if let Some(kb) = &state.knowledge {
        kb.forget_source(auth.workspace_id, id);
    }
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_chunks(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<KbSourceId>,
) -> AppResult<Out<List<KbChunk>>> {
    Ok(Out(List { items: state.store.list_kb_chunks(auth.workspace_id, id).await? }))
}

/// Passages held for an admin's review (they read like instructions to an assistant, or hold a secret),
/// each with the reason.
pub async fn list_held(State(state): State<AppState>, auth: Auth<Admin>) -> AppResult<Out<List<KbChunk>>> {
    Ok(Out(List { items: state.store.list_held_kb_chunks(auth.workspace_id).await? }))
}

/// An admin approves a held passage: it is searchable when this returns.
pub async fn approve_chunk(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Id(id): Id<KbChunkId>,
) -> AppResult<Out<KbChunk>> {
    let kb = kb(&state)?;
    let chunk = state.store.release_kb_chunk(auth.workspace_id, id, auth.actor(), Timestamp::now()).await?;
    kb.add_approved(&chunk).await.map_err(AppError::ServiceFailed)?;
    Ok(Out(chunk))
}

/// Longest question or search text, in characters.
const MAX_QUERY_CHARS: usize = 2_000;

fn check_query(field: &str, q: &str) -> AppResult<()> {
    let n = q.trim().chars().count();
    if n == 0 || n > MAX_QUERY_CHARS {
        return Err(
            lianluo_domain::DomainError::new(field, format!("1 to {MAX_QUERY_CHARS} characters")).into()
        );
    }
    Ok(())
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    pub query: String,
    /// Passages to return, 1 to 200 (default 5).
    pub limit: Option<usize>,
    /// Passages to skip, for the next page: 0 to 800 (default 0).
    pub offset: Option<usize>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SearchResponse {
    /// Best first, with the fused score and each list's rank and score.
    pub hits: Vec<Hit>,
    /// The `offset` of the next page, when this one was full.
    pub next_offset: Option<usize>,
}

pub async fn search(
    State(state): State<AppState>,
    auth: Auth,
    Json(req): Json<SearchRequest>,
) -> AppResult<Out<SearchResponse>> {
    let kb = kb(&state)?;
    check_query("query", &req.query)?;
    let limit = req.limit.unwrap_or(5);
    if !(1..=200).contains(&limit) {
        return Err(lianluo_domain::DomainError::new("limit", "1 to 200").into());
    }
    let offset = req.offset.unwrap_or(0);
    if offset > 800 {
        return Err(lianluo_domain::DomainError::new("offset", "0 to 800").into());
    }
    let hits =
        kb.search(auth.workspace_id, &req.query, offset, limit).await.map_err(AppError::ServiceFailed)?;
    let next_offset = (hits.len() == limit && offset + limit <= 800).then_some(offset + limit);
    Ok(Out(SearchResponse { hits, next_offset }))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    pub question: String,
    /// The customer's earlier messages in the conversation, oldest first (for follow-up questions).
    #[serde(default)]
    pub history: Vec<String>,
}

pub async fn answer(
    State(state): State<AppState>,
    auth: Auth,
    Json(req): Json<AnswerRequest>,
) -> AppResult<Out<Answer>> {
    let kb = kb(&state)?;
    check_query("question", &req.question)?;
    if req.history.len() > 20 {
        return Err(lianluo_domain::DomainError::new("history", "at most 20 earlier messages").into());
    }
    for h in &req.history {
        check_query("history", h)?;
    }
    let answer: Answer = kb
        .answer(auth.workspace_id, &req.question, &req.history, None, None)
        .await
        .map_err(AppError::ServiceFailed)?;
    Ok(Out(answer))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Correction {
    /// The AI agent's answer (a `bot` message) being corrected.
    pub message_id: lianluo_domain::MessageId,
    /// The right answer; it becomes a knowledge entry for the customer's question at once.
    pub answer: String,
}

/// An agent corrects an AI answer: the customer's question and the right answer become a knowledge
/// entry, indexed before this returns, so the next customer who asks gets the corrected answer.
pub async fn correct_answer(
    State(state): State<AppState>,
    auth: Auth,
    Json(c): Json<Correction>,
) -> AppResult<Created<KbSource>> {
    let kb = kb(&state)?;
    check_query("answer", &c.answer)?;
    let message = state.store.get_message(auth.workspace_id, c.message_id).await?;
    let questions = state.store.list_kb_questions_in(auth.workspace_id, message.conversation_id).await?;
    // The answer's own question; for a hand-over message ("I could not find that…"), the question the
    // AI agent could not answer just before it.
    let q = questions
        .iter()
        .find(|q| q.answer_message_id == Some(c.message_id))
        .or_else(|| {
            (message.kind == lianluo_domain::message::MessageKind::Bot)
                .then(|| questions.iter().rev().find(|q| q.created_at <= message.created_at))
                .flatten()
        })
        .ok_or_else(|| lianluo_domain::DomainError::new("message_id", "not a message of the AI agent"))?;
    let source = kb
        .add_answer(auth.workspace_id, &q.question, &c.answer, &[q.id], auth.actor(), Some(auth.user_id))
        .await?;
    Ok(Created(source))
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct GapList {
    /// Similar unanswered or not-helpful questions grouped, the most asked first.
    pub items: Vec<crate::knowledge::GapCluster>,
}

pub async fn list_gaps(State(state): State<AppState>, auth: Auth) -> AppResult<Out<GapList>> {
    let kb = kb(&state)?;
    Ok(Out(GapList { items: kb.gaps(auth.workspace_id).await.map_err(AppError::ServiceFailed)? }))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GapAnswer {
    /// The question as the knowledge entry should state it.
    pub question: String,
    pub answer: String,
    /// The gap's questions this answers (from `GET /api/v1/kb/gaps`).
    pub question_ids: Vec<lianluo_domain::KbQuestionId>,
}

/// An admin writes the missing answer for a gap.
pub async fn answer_gap(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Json(g): Json<GapAnswer>,
) -> AppResult<Created<KbSource>> {
    let kb = kb(&state)?;
    check_query("question", &g.question)?;
    check_query("answer", &g.answer)?;
    if g.question_ids.len() > 1_000 {
        return Err(lianluo_domain::DomainError::new("question_ids", "at most 1000").into());
    }
    let source = kb
        .add_answer(
            auth.workspace_id,
            &g.question,
            &g.answer,
            &g.question_ids,
            auth.actor(),
            Some(auth.user_id),
        )
        .await?;
    Ok(Created(source))
}

/// Agent assist: a reply for the open conversation's latest customer message, grounded in the knowledge
/// base with its sources, for the agent to insert and edit. `answered: false` when nothing supports one.
pub async fn suggest_reply(
    State(state): State<AppState>,
    auth: Auth,
    Id(id): Id<lianluo_domain::ConversationId>,
) -> AppResult<Out<Answer>> {
    let kb = kb(&state)?;
    let thread = state.store.thread_end(auth.workspace_id, id, 100).await?;
    let customer: Vec<String> = thread
        .iter()
        .filter(|m| m.kind == lianluo_domain::message::MessageKind::Incoming && !m.content.trim().is_empty())
        .map(|m| m.content.chars().take(MAX_QUERY_CHARS).collect())
        .collect();
    let Some((question, earlier)) = customer.split_last() else {
        return Err(AppError::Conflict("the customer has not written anything to answer yet".into()));
    };
    let earlier: Vec<String> = earlier.iter().rev().take(3).rev().cloned().collect();
    let answer = kb.suggest(auth.workspace_id, question, &earlier).await.map_err(AppError::ServiceFailed)?;
    Ok(Out(answer))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CandidateQuery {
    /// `pending` (default), `approved`, `rejected` or `duplicate`.
    pub status: Option<CandidateStatus>,
}

/// Question/answer pairs mined from resolved conversations, the most asked first.
pub async fn list_candidates(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Query(q): Query<CandidateQuery>,
) -> AppResult<Out<List<CandidateView>>> {
    let status = q.status.unwrap_or(CandidateStatus::Pending);
    let items = state.store.list_kb_candidates(auth.workspace_id, status, 500).await?;
    Ok(Out(List {
        items: items
            .into_iter()
            .map(|candidate| CandidateView {
                recommended: candidate
                    .confidence
                    .is_some_and(|c| c >= crate::knowledge::MINED_MIN_CONFIDENCE),
                candidate,
            })
            .collect(),
    }))
}

/// A mined candidate, and whether its reply most likely answers its question.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CandidateView {
    #[serde(flatten)]
    pub candidate: KbCandidate,
    /// The reply most likely answers the question (`confidence` is at least the level measured to keep
    /// wrong pairs rare, EVALUATION.md); the others most likely answer something else.
    pub recommended: bool,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MineRequest {
    /// How many of the most recently resolved conversations to read, 1 to 1000 (default 200).
    pub conversations: Option<usize>,
}

/// Mines resolved conversations for question/answer candidates; each agent reply is mined once.
pub async fn mine_candidates(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Json(req): Json<MineRequest>,
) -> AppResult<(StatusCode, Out<crate::knowledge::MineRun>)> {
    kb(&state)?;
    let limit = req.conversations.unwrap_or(200);
    if !(1..=1_000).contains(&limit) {
        return Err(lianluo_domain::DomainError::new("conversations", "1 to 1000").into());
    }
    let spec = lianluo_domain::job::JobSpec::MineConversations { conversations: limit as u32 };
    let (job, _) =
        crate::jobs::enqueue(state.store.as_ref(), &state.jobs_wake, auth.workspace_id, spec, auth.actor())
            .await?;
    Ok((StatusCode::ACCEPTED, Out(crate::knowledge::MineRun::of(Some(&job)))))
}

/// The workspace's latest mining run: queued, running (with the conversations read so far), done (with
/// what it found) or failed.
pub async fn mining_run(
    State(state): State<AppState>,
    auth: Auth<Admin>,
) -> AppResult<Out<crate::knowledge::MineRun>> {
    kb(&state)?;
    let job =
        state.store.latest_job(auth.workspace_id, lianluo_domain::job::JobKind::MineConversations).await?;
    Ok(Out(crate::knowledge::MineRun::of(job.as_ref())))
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct DecidedCandidate {
    pub candidate: KbCandidate,
    /// The knowledge entry an approval added (indexed before this returns).
    pub source: Option<KbSource>,
}

/// Approves (optionally edited) or rejects a candidate. An approved one is searchable when this returns.
pub async fn decide_candidate(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Id(id): Id<KbCandidateId>,
    Json(mut d): Json<CandidateDecision>,
) -> AppResult<Out<DecidedCandidate>> {
    let kb = kb(&state)?;
    d.validate()?;
    let (candidate, source) = state
        .store
        .decide_kb_candidate(auth.workspace_id, id, &d, auth.actor(), Some(auth.user_id), Timestamp::now())
        .await?;
    let source = match source {
        Some(s) => {
            if let crate::knowledge::Indexed::Failed { reason, .. } =
                kb.index_source(auth.workspace_id, s.id, false).await.map_err(AppError::Internal)?
            {
                return Err(AppError::Internal(reason));
            }
            Some(state.store.get_kb_source(auth.workspace_id, s.id).await?)
        }
        None => None,
    };
    Ok(Out(DecidedCandidate { candidate, source }))
}
