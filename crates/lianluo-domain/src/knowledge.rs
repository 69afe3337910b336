//! The knowledge base: sources the AI agent answers from, and the passages (chunks) they are cut into.

use serde::{Deserialize, Serialize};

use crate::{DomainError, KbChunkId, KbSourceId, Timestamp, UserId, WorkspaceId, value::double_option};

/// Largest text of one source, in bytes (about 300 pages of text; the JSON API takes bodies up to 1 MiB).
pub const MAX_SOURCE_BYTES: usize = 900 * 1024;
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
    /// One question and its answer, written by an admin or an agent's correction.
    Qa,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Markdown => "markdown",
            SourceKind::Text => "text",
            SourceKind::Html => "html",
            SourceKind::FaqCsv => "faq_csv",
            SourceKind::Qa => "qa",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "markdown" => SourceKind::Markdown,
            "text" => SourceKind::Text,
            "html" => SourceKind::Html,
            "faq_csv" => SourceKind::FaqCsv,
            "qa" => SourceKind::Qa,
            _ => return None,
        })
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
    /// The text the source was read from (for re-indexing and editing).
    pub content: String,
    /// A public address customers may be shown when an answer cites this source.
    pub url: Option<String>,
    pub status: SourceStatus,
    /// Why indexing failed, in words an admin can act on.
    pub error: Option<String>,
    pub chunk_count: i64,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
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
    pub content: String,
    /// Public address customers may follow from a citation.
    pub url: Option<String>,
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
    pub fn validate(&mut self) -> Result<(), DomainError> {
        self.title = self.title.trim().to_string();
        check_title(&self.title)?;
        check_content(&self.content)?;
        check_url(&self.url)
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
        Ok(())
    }

    /// Applies the changes; true when the content changed and the source must be indexed again.
    pub fn apply(&self, s: &mut KbSource, now: Timestamp) -> bool {
        if let Some(t) = &self.title {
            s.title = t.clone();
        }
        if let Some(u) = &self.url {
            s.url = u.clone();
        }
        let reindex = self.content.as_ref().is_some_and(|c| *c != s.content) || self.title.is_some();
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
