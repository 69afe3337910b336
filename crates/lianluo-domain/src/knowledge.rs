//! The knowledge base: sources the AI agent answers from, and the passages (chunks) they are cut into.

use serde::{Deserialize, Serialize};

use crate::{DomainError, KbChunkId, KbSourceId, Timestamp, UserId, WorkspaceId, value::double_option};

/// Largest text of one source, in bytes (about 1,300 pages of text). Text sent as JSON is also bound by
/// the API's 1 MiB body limit; files are uploaded as they are and their text extracted.
pub const MAX_SOURCE_BYTES: usize = 4 * 1024 * 1024;
/// Most pages a website source may crawl.
pub const MAX_PAGE_LIMIT: i64 = 500;
/// Pages a website source crawls when no limit is given.
pub const DEFAULT_PAGE_LIMIT: i64 = 50;
/// Longest title.
pub const MAX_TITLE_CHARS: usize = 200;

/// What a source is made of; it decides how the content is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// Markdown: `#` headings start sections.
    Markdown,
    /// Plain text: blank lines separate paragraphs.
    Text,
    /// An HTML page: tags are dropped, headings kept.
    Html,
    /// A question/answer table as CSV (columns named question and answer, or 问题 and 答案).
    FaqCsv,
    /// One question and its answer, written by an admin, an agent's correction or an approved candidate.
    Qa,
    /// A PDF file; its text is extracted on upload and kept as Markdown.
    Pdf,
    /// A Word document (.docx); headings are kept, the text is kept as Markdown.
    Docx,
    /// A question/answer table as an Excel workbook (.xlsx); its first sheet is kept as CSV.
    Xlsx,
    /// A website crawled from `url` within the same site, up to `page_limit` pages.
    Website,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Markdown => "markdown",
            SourceKind::Text => "text",
            SourceKind::Html => "html",
            SourceKind::FaqCsv => "faq_csv",
            SourceKind::Qa => "qa",
            SourceKind::Pdf => "pdf",
            SourceKind::Docx => "docx",
            SourceKind::Xlsx => "xlsx",
            SourceKind::Website => "website",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "markdown" => SourceKind::Markdown,
            "text" => SourceKind::Text,
            "html" => SourceKind::Html,
            "faq_csv" => SourceKind::FaqCsv,
            "qa" => SourceKind::Qa,
            "pdf" => SourceKind::Pdf,
            "docx" => SourceKind::Docx,
            "xlsx" => SourceKind::Xlsx,
            "website" => SourceKind::Website,
            _ => return None,
        })
    }

    /// A file kind: uploaded as bytes, its text extracted once.
    pub fn is_file(self) -> bool {
        matches!(self, SourceKind::Pdf | SourceKind::Docx | SourceKind::Xlsx)
    }
}

/// Where a source is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceStatus {
    Queued,
    Processing,
    Indexed,
    Failed,
}

impl SourceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceStatus::Queued => "queued",
            SourceStatus::Processing => "processing",
            SourceStatus::Indexed => "indexed",
            SourceStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => SourceStatus::Queued,
            "processing" => SourceStatus::Processing,
            "indexed" => SourceStatus::Indexed,
            "failed" => SourceStatus::Failed,
            _ => return None,
        })
    }
}

/// A knowledge source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct KbSource {
    pub id: KbSourceId,
    pub workspace_id: WorkspaceId,
    pub kind: SourceKind,
    pub title: String,
    /// The text the source was read from (for re-indexing and editing); for a file, its extracted text;
    /// empty for a website (its passages keep each page's text).
    pub content: String,
    /// A public address customers may be shown when an answer cites this source; a website's start page.
    pub url: Option<String>,
    /// How many pages a website source crawls.
    pub page_limit: Option<i64>,
    pub status: SourceStatus,
    /// Why indexing failed, in words an admin can act on.
    pub error: Option<String>,
    pub chunk_count: i64,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

wire_enum! {
    /// Why a passage is held for review.
    pub enum HeldCode ("held_code") {
        /// Text addressed to an AI assistant ("Note for the AI").
        AddressedToAssistant = "addressed_to_assistant",
        /// Written as an AI or system turn ("System:", chat markup).
        AssistantTurn = "assistant_turn",
        /// Tries to change the assistant's behaviour ("ignore previous instructions").
        ChangesBehaviour = "changes_behaviour",
        /// Marked internal-only.
        InternalOnly = "internal_only",
        /// Looks like internal pricing ("staff price").
        InternalPricing = "internal_pricing",
        /// A discount or voucher code.
        Voucher = "voucher",
        /// A private key block.
        PrivateKey = "private_key",
        /// An API key or token.
        ApiKey = "api_key",
        /// A login and password inside an address.
        LoginInAddress = "login_in_address",
        /// A password.
        Password = "password",
    }
}

/// A passage of a source: what retrieval finds and answers cite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct KbChunk {
    pub id: KbChunkId,
    pub workspace_id: WorkspaceId,
    pub source_id: KbSourceId,
    /// Position in the source, from 0.
    pub ordinal: i64,
    /// The headings above the passage, joined with " › ".
    pub heading: String,
    pub text: String,
    /// A question and its answer written by a person (an FAQ row, a correction, a gap's answer): preferred
    /// over other passages that fit as well.
    pub curated: bool,
    /// The page the passage came from, for a website.
    pub url: Option<String>,
    /// Why the passage is held for an admin's review (it reads like instructions to an assistant, or holds
    /// a secret), as one English sentence quoting what was found; a held passage is never searched,
    /// quoted or given to a model until approved.
    pub held: Option<String>,
    /// The same reason as a code, for screens that say it in the reader's language.
    pub held_code: Option<HeldCode>,
    /// The embedder that made `embedding`.
    #[serde(skip)]
    pub model: String,
    #[serde(skip)]
    #[schemars(skip)]
    pub embedding: Vec<f32>,
}

/// Input to add a source.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKbSource {
    pub kind: SourceKind,
    pub title: String,
    /// The text; empty for a website. Files (PDF, DOCX, XLSX) are uploaded, not sent as JSON.
    #[serde(default)]
    pub content: String,
    /// Public address customers may follow from a citation; for a website, the page the crawl starts at.
    pub url: Option<String>,
    /// For a website: most pages to crawl (1 to 500, default 50).
    pub page_limit: Option<i64>,
}

fn check_title(t: &str) -> Result<(), DomainError> {
    let n = t.trim().chars().count();
    if n == 0 || n > MAX_TITLE_CHARS {
        return Err(DomainError::new("title", format!("1 to {MAX_TITLE_CHARS} characters")));
    }
    Ok(())
}

fn check_content(c: &str) -> Result<(), DomainError> {
    if c.trim().is_empty() {
        return Err(DomainError::new("content", "must not be empty"));
    }
    if c.len() > MAX_SOURCE_BYTES {
        return Err(DomainError::new("content", format!("at most {} KiB", MAX_SOURCE_BYTES / 1024)));
    }
    Ok(())
}

fn check_url(u: &Option<String>) -> Result<(), DomainError> {
    match u {
        Some(u) if !(u.starts_with("https://") || u.starts_with("http://")) || u.len() > 2000 => {
            Err(DomainError::new("url", "an http(s) address of at most 2000 characters"))
        }
        _ => Ok(()),
    }
}

impl NewKbSource {
    /// A question and its answer written by a person (a correction, a gap's answer, an approved
    /// candidate): the question is the title.
    pub fn qa(question: &str, answer: &str) -> Self {
        Self {
            kind: SourceKind::Qa,
            title: question.trim().chars().take(MAX_TITLE_CHARS).collect(),
            content: answer.to_string(),
            url: None,
            page_limit: None,
        }
    }
}

impl KbSource {
    /// A new source from validated input, queued for indexing.
    pub fn queued(ws: WorkspaceId, new: NewKbSource, created_by: Option<UserId>, now: Timestamp) -> Self {
        Self {
            id: KbSourceId::new(),
            workspace_id: ws,
            kind: new.kind,
            title: new.title,
            content: new.content,
            url: new.url,
            page_limit: new.page_limit,
            status: SourceStatus::Queued,
            error: None,
            chunk_count: 0,
            created_by,
            created_at: now,
            updated_at: now,
        }
    }
}

fn check_page_limit(n: Option<i64>) -> Result<(), DomainError> {
    match n {
        Some(n) if !(1..=MAX_PAGE_LIMIT).contains(&n) => {
            Err(DomainError::new("page_limit", format!("1 to {MAX_PAGE_LIMIT} pages")))
        }
        _ => Ok(()),
    }
}

impl NewKbSource {
    pub fn validate(&mut self) -> Result<(), DomainError> {
        self.title = self.title.trim().to_string();
        check_title(&self.title)?;
        check_url(&self.url)?;
        check_page_limit(self.page_limit)?;
        if self.kind == SourceKind::Website {
            if self.url.is_none() {
                return Err(DomainError::new("url", "a website source needs the address to start from"));
            }
            if !self.content.trim().is_empty() {
                return Err(DomainError::new("content", "a website source's text comes from its pages"));
            }
            self.page_limit = Some(self.page_limit.unwrap_or(DEFAULT_PAGE_LIMIT));
            return Ok(());
        }
        if self.page_limit.is_some() {
            return Err(DomainError::new("page_limit", "only a website source has a page limit"));
        }
        check_content(&self.content)
    }
}

/// Changes to a source; a changed content is indexed again.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KbSourcePatch {
    pub title: Option<String>,
    pub content: Option<String>,
    /// `null` removes the address.
    #[serde(default, deserialize_with = "double_option")]
    pub url: Option<Option<String>>,
    /// For a website: most pages to crawl.
    pub page_limit: Option<i64>,
}

impl KbSourcePatch {
    pub fn validate(&mut self) -> Result<(), DomainError> {
        if let Some(t) = &self.title {
            let t = t.trim().to_string();
            check_title(&t)?;
            self.title = Some(t);
        }
        if let Some(c) = &self.content {
            check_content(c)?;
        }
        if let Some(u) = &self.url {
            check_url(u)?;
        }
        check_page_limit(self.page_limit)
    }

    /// Checks the changes against the kind of source they apply to.
    pub fn check_kind(&self, kind: SourceKind) -> Result<(), DomainError> {
        if kind == SourceKind::Website {
            if self.content.is_some() {
                return Err(DomainError::new("content", "a website source's text comes from its pages"));
            }
            if matches!(self.url, Some(None)) {
                return Err(DomainError::new("url", "a website source needs the address to start from"));
            }
        } else if self.page_limit.is_some() {
            return Err(DomainError::new("page_limit", "only a website source has a page limit"));
        }
        Ok(())
    }

    /// Applies the changes; true when the content changed and the source must be indexed again.
    pub fn apply(&self, s: &mut KbSource, now: Timestamp) -> bool {
        if let Some(t) = &self.title {
            s.title = t.clone();
        }
        let recrawl = s.kind == SourceKind::Website
            && (self.page_limit.is_some_and(|n| Some(n) != s.page_limit)
                || self.url.as_ref().is_some_and(|u| *u != s.url));
        if let Some(u) = &self.url {
            s.url = u.clone();
        }
        if let Some(n) = self.page_limit {
            s.page_limit = Some(n);
        }
        let reindex =
            self.content.as_ref().is_some_and(|c| *c != s.content) || self.title.is_some() || recrawl;
        if let Some(c) = &self.content {
            s.content = c.clone();
        }
        if reindex {
            s.status = SourceStatus::Queued;
            s.error = None;
        }
        s.updated_at = now;
        reindex
    }
}

/// How a question put to the AI agent turned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuestionOutcome {
    /// Answered; the customer has not rated it.
    Answered,
    /// The knowledge had no supported answer.
    Unanswered,
    /// The customer rated the answer helpful.
    Helpful,
    /// The customer rated the answer not helpful.
    NotHelpful,
}

impl QuestionOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionOutcome::Answered => "answered",
            QuestionOutcome::Unanswered => "unanswered",
            QuestionOutcome::Helpful => "helpful",
            QuestionOutcome::NotHelpful => "not_helpful",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "answered" => QuestionOutcome::Answered,
            "unanswered" => QuestionOutcome::Unanswered,
            "helpful" => QuestionOutcome::Helpful,
            "not_helpful" => QuestionOutcome::NotHelpful,
            _ => return None,
        })
    }

    /// Whether the question belongs on the knowledge-gaps list.
    pub fn is_gap(self) -> bool {
        matches!(self, QuestionOutcome::Unanswered | QuestionOutcome::NotHelpful)
    }
}

/// A customer's question the AI agent handled, and how it went: the raw material of the gaps list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct KbQuestion {
    pub id: crate::KbQuestionId,
    pub workspace_id: WorkspaceId,
    pub conversation_id: Option<crate::ConversationId>,
    /// The bot's answer, which the customer rates.
    pub answer_message_id: Option<crate::MessageId>,
    pub question: String,
    /// `zh` or `en`.
    pub language: String,
    pub outcome: QuestionOutcome,
    /// The source the answer cited.
    pub source_id: Option<KbSourceId>,
    /// The knowledge entry written to close this gap.
    pub resolved_by: Option<KbSourceId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Where a mined question/answer pair stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CandidateStatus {
    /// Waiting for an admin; it does not count yet.
    Pending,
    /// Approved: it became a knowledge entry (`source_id`).
    Approved,
    Rejected,
    /// The same question as another candidate (`duplicate_of`), counted there.
    Duplicate,
}

impl CandidateStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateStatus::Pending => "pending",
            CandidateStatus::Approved => "approved",
            CandidateStatus::Rejected => "rejected",
            CandidateStatus::Duplicate => "duplicate",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => CandidateStatus::Pending,
            "approved" => CandidateStatus::Approved,
            "rejected" => CandidateStatus::Rejected,
            "duplicate" => CandidateStatus::Duplicate,
            _ => return None,
        })
    }
}

/// A question a customer asked and the answer an agent gave, mined from a resolved conversation; it counts
/// only once an admin approves it (possibly edited).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct KbCandidate {
    pub id: crate::KbCandidateId,
    pub workspace_id: WorkspaceId,
    pub conversation_id: crate::ConversationId,
    /// The agent's reply the answer comes from; each reply is mined once.
    pub message_id: crate::MessageId,
    pub question: String,
    pub answer: String,
    /// `zh` or `en`.
    pub language: String,
    pub status: CandidateStatus,
    /// The knowledge entry an approval made.
    pub source_id: Option<KbSourceId>,
    pub decided_by: Option<UserId>,
    /// How many mined replies answered this question (this one and its duplicates).
    pub asked: i64,
    /// For a duplicate: the candidate it is counted in.
    pub duplicate_of: Option<crate::KbCandidateId>,
    /// The probability that the reply answers the question, from the re-ranker (0 when the customer
    /// asked nothing); pending candidates are listed most confident first. Absent for candidates mined
    /// before replies were scored, or when the embedder failed.
    pub confidence: Option<f32>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Longest question or answer of a candidate or a Q&A entry, in characters.
pub const MAX_QA_CHARS: usize = 4_000;

/// An admin's decision on a candidate: approve (with the wording, possibly edited) or reject.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CandidateDecision {
    pub approve: bool,
    /// The question as it should be kept (defaults to the mined one).
    pub question: Option<String>,
    /// The answer as it should be kept (defaults to the mined one).
    pub answer: Option<String>,
}

impl CandidateDecision {
    pub fn validate(&mut self) -> Result<(), DomainError> {
        for (field, v) in [("question", &mut self.question), ("answer", &mut self.answer)] {
            if let Some(t) = v {
                let trimmed = t.trim();
                if trimmed.is_empty() || trimmed.chars().count() > MAX_QA_CHARS {
                    return Err(DomainError::new(field, format!("1 to {MAX_QA_CHARS} characters")));
                }
                *t = trimmed.to_string();
            }
        }
        Ok(())
    }
}
