//! Typed identifiers. Every entity id is a UUIDv7, so ids sort by creation time.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
        #[serde(transparent)]
        #[schemars(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    )*};
}

ids! {
    /// A tenant: every other row belongs to exactly one workspace.
    WorkspaceId,
    /// A person who signs in: an admin or an agent.
    UserId,
    /// A group of agents that conversations can be routed to.
    TeamId,
    /// A customer.
    ContactId,
    /// An inbox: one instance of a channel (a web widget, an email address, a WeChat account).
    ChannelId,
    /// A thread between a contact and the workspace on one channel.
    ConversationId,
    /// One message in a conversation.
    MessageId,
    /// A bearer token for integrations.
    ApiTokenId,
    /// A saved reply.
    CannedResponseId,
    /// A knowledge source: a document, an FAQ table, a website, a correction.
    KbSourceId,
    /// A passage of a knowledge source, the unit of retrieval.
    KbChunkId,
    /// A customer's question the AI agent handled.
    KbQuestionId,
    /// A question/answer pair mined from a resolved conversation, waiting for approval.
    KbCandidateId,
    /// A unit of background work in the durable queue.
    JobId,
}
