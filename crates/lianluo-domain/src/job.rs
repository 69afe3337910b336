//! Background work that survives a restart: a job is a typed piece of work ([`JobSpec`]) in a durable
//! queue. A worker claims it with a lease, renews the lease while it runs, and marks it done, or failed
//! with a reason; a failed attempt waits longer before each retry, and after the last one the job stays
//! failed until an admin retries it. A job whose lease ran out (its worker stopped) is claimed again.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{ConversationId, JobId, KbSourceId, MessageId, Timestamp, WorkspaceId};

/// What a job does, with its typed input. Stored as `kind` plus a JSON `payload`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", content = "payload", rename_all = "snake_case")]
pub enum JobSpec {
    /// Mine question/answer candidates from the most recently resolved conversations.
    MineConversations {
        /// How many resolved conversations to read, newest first.
        conversations: u32,
    },
    /// Read a knowledge source (crawling a website first), cut it into passages, embed and store them,
    /// and put them in the search index. Also how a source is embedded again when the embedder changes.
    IndexSource {
        /// The source, in the job's workspace.
        source: KbSourceId,
    },
    /// The AI agent's turn after a customer's message: answer it, ask to rephrase, or hand over.
    AnswerCustomer {
        conversation: ConversationId,
        /// The customer's message to answer.
        message: MessageId,
    },
    /// The AI agent's turn after a customer rated one of its answers not helpful: ask to rephrase the
    /// first time, hand over to a person after that.
    FollowUpRating {
        conversation: ConversationId,
        /// The answer rated.
        answer: MessageId,
        /// The language of the question it answered (`en`, `zh`), for what the AI agent writes.
        language: String,
    },
}

/// Which workers run a job: a customer waiting for the AI agent must never wait behind a long indexing
/// queue, so each lane has workers of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Lane {
    /// A customer is waiting (the AI agent's answers): seconds matter.
    Interactive,
    /// Work an admin started or the system needs (indexing, crawling, mining): minutes are fine.
    Background,
}

impl Lane {
    /// The kinds of job in this lane.
    pub fn kinds(self) -> &'static [JobKind] {
        match self {
            Lane::Interactive => &[JobKind::AnswerCustomer, JobKind::FollowUpRating],
            Lane::Background => &[JobKind::MineConversations, JobKind::IndexSource],
        }
    }
}

impl JobSpec {
    /// The kind as stored and shown.
    pub fn kind(&self) -> JobKind {
        match self {
            JobSpec::MineConversations { .. } => JobKind::MineConversations,
            JobSpec::IndexSource { .. } => JobKind::IndexSource,
            JobSpec::AnswerCustomer { .. } => JobKind::AnswerCustomer,
            JobSpec::FollowUpRating { .. } => JobKind::FollowUpRating,
        }
    }

    /// The input as stored (the kind goes in its own column).
    pub fn payload(&self) -> Value {
        match serde_json::to_value(self) {
            Ok(Value::Object(mut o)) => o.remove("payload").unwrap_or(Value::Null),
            _ => Value::Null,
        }
    }

    /// Reads a stored kind and payload back; `None` for a kind or payload this version does not know.
    pub fn from_parts(kind: &str, payload: Value) -> Option<Self> {
        serde_json::from_value(serde_json::json!({ "kind": kind, "payload": payload })).ok()
    }

    /// How many times the job is tried before it stays failed.
    pub fn max_attempts(&self) -> i64 {
        match self {
            JobSpec::MineConversations { .. } | JobSpec::IndexSource { .. } => 3,
            // A customer is waiting: one more try (after a storage fault, or a node that stopped), then the
            // conversation waits for a person as it would without the AI agent.
            JobSpec::AnswerCustomer { .. } | JobSpec::FollowUpRating { .. } => 2,
        }
    }

    /// What at most one job may wait or run for, per workspace, at a time (asking again returns the one
    /// already queued): one mining run per workspace, one indexing run per source. A source edited while
    /// it is being indexed is indexed again by the same job, which sees that its version changed.
    pub fn active_key(&self) -> Option<String> {
        match self {
            JobSpec::MineConversations { .. } => Some(JobKind::MineConversations.as_str().to_string()),
            JobSpec::IndexSource { source } => {
                Some(format!("{}:{}", JobKind::IndexSource.as_str(), source.0))
            }
            JobSpec::AnswerCustomer { message, .. } => {
                Some(format!("{}:{}", JobKind::AnswerCustomer.as_str(), message.0))
            }
            JobSpec::FollowUpRating { answer, .. } => {
                Some(format!("{}:{}", JobKind::FollowUpRating.as_str(), answer.0))
            }
        }
    }

    /// The workers that run it.
    pub fn lane(&self) -> Lane {
        self.kind().lane()
    }
}

/// The kinds of job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    MineConversations,
    IndexSource,
    AnswerCustomer,
    FollowUpRating,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::MineConversations => "mine_conversations",
            JobKind::IndexSource => "index_source",
            JobKind::AnswerCustomer => "answer_customer",
            JobKind::FollowUpRating => "follow_up_rating",
        }
    }

    pub fn lane(self) -> Lane {
        match self {
            JobKind::AnswerCustomer | JobKind::FollowUpRating => Lane::Interactive,
            JobKind::MineConversations | JobKind::IndexSource => Lane::Background,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "mine_conversations" => JobKind::MineConversations,
            "index_source" => JobKind::IndexSource,
            "answer_customer" => JobKind::AnswerCustomer,
            "follow_up_rating" => JobKind::FollowUpRating,
            _ => return None,
        })
    }
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for a worker (from `run_after`).
    Pending,
    /// Claimed by a worker, whose lease runs until `lease_until`.
    Running,
    Done,
    /// Failed on its last attempt; `error` says why. An admin may retry it.
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => JobState::Pending,
            "running" => JobState::Running,
            "done" => JobState::Done,
            "failed" => JobState::Failed,
            _ => return None,
        })
    }
}

/// A job in the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Job {
    pub id: JobId,
    pub workspace_id: WorkspaceId,
    #[serde(flatten)]
    pub spec: JobSpec,
    pub state: JobState,
    /// Attempts started so far.
    pub attempts: i64,
    pub max_attempts: i64,
    /// Not run before this time (a retry's back-off).
    pub run_after: Timestamp,
    /// While running: the worker's lease; when it passes, another worker may take the job over.
    pub lease_until: Option<Timestamp>,
    /// How far the running attempt has got, as the job reports it.
    pub progress: Value,
    /// What a finished job produced.
    pub result: Option<Value>,
    /// Why the last attempt failed (readable; never a database's or model's internal text).
    pub error: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

impl Job {
    /// A new job, pending from `now`.
    pub fn new(ws: WorkspaceId, spec: JobSpec, now: Timestamp) -> Self {
        Job {
            id: JobId::new(),
            workspace_id: ws,
            max_attempts: spec.max_attempts(),
            spec,
            state: JobState::Pending,
            attempts: 0,
            run_after: now,
            lease_until: None,
            progress: Value::Null,
            result: None,
            error: None,
            created_at: now,
            updated_at: now,
            finished_at: None,
        }
    }

    /// How long a failed attempt waits before the next: 10 s, then 40 s, 90 s, … (capped at an hour).
    pub fn backoff_ms(attempts: i64) -> i64 {
        (attempts.max(1).pow(2) * 10_000).min(3_600_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_is_stored_as_kind_and_payload_and_read_back() {
        let spec = JobSpec::MineConversations { conversations: 200 };
        assert_eq!(spec.kind().as_str(), "mine_conversations");
        assert_eq!(spec.payload(), serde_json::json!({ "conversations": 200 }));
        assert_eq!(JobSpec::from_parts("mine_conversations", spec.payload()), Some(spec));
        assert_eq!(JobSpec::from_parts("unknown", Value::Null), None);
        let source = KbSourceId(uuid::Uuid::nil());
        let index = JobSpec::IndexSource { source };
        assert_eq!(index.payload(), serde_json::json!({ "source": uuid::Uuid::nil() }));
        assert_eq!(JobSpec::from_parts("index_source", index.payload()), Some(index));
    }

    #[test]
    fn every_kind_is_in_the_lane_it_names() {
        for kind in [
            JobKind::MineConversations,
            JobKind::IndexSource,
            JobKind::AnswerCustomer,
            JobKind::FollowUpRating,
        ] {
            assert!(kind.lane().kinds().contains(&kind), "{kind:?}");
            assert_eq!(JobKind::parse(kind.as_str()), Some(kind));
        }
    }

    #[test]
    fn retries_wait_longer_each_time() {
        assert_eq!(Job::backoff_ms(1), 10_000);
        assert_eq!(Job::backoff_ms(2), 40_000);
        assert!(Job::backoff_ms(100) <= 3_600_000);
    }
}
