//! The real-time layer: a sequencer that tails the durable event log and publishes each event on the
//! bus (enriched with the entity it is about), and the presence of agents.
//!
//! The sequencer is the single order in which events reach clients. It publishes strictly by event id
//! and, where an id is missing (PostgreSQL hands out ids before commit), waits briefly for it to commit
//! before treating it as rolled back. A client that reconnects asks for the events after the last id it
//! saw: those up to the published watermark come from the log, the rest from the bus, deduplicated by id.

mod presence;

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::{Duration, Instant},
};

use lianluo_domain::{
    ConversationId, MessageId, WorkspaceId,
    event::{Event, EventKind},
};
use lianluo_events::{EventBus, Notice};
use lianluo_store::Store;
pub use presence::{Presence, PresenceStatus};
use serde_json::json;
use tokio::sync::Notify;

/// How long a missing event id is waited for before it is taken as rolled back.
const GAP_WAIT: Duration = Duration::from_secs(1);
/// Events read from the log per pass.
const BATCH: u32 = 500;
/// Longest sleep between passes when nothing pokes the sequencer.
const IDLE_POLL: Duration = Duration::from_millis(250);

/// Shared by handlers, the sequencer and the sockets.
pub struct Realtime {
    pub bus: Arc<dyn EventBus>,
    pub presence: Presence,
    /// Every event up to this id has been published.
    watermark: AtomicI64,
    wake: Notify,
}

/// Routing asks the realtime part who is online.
impl lianluo_app::Presence for Realtime {
    fn is_online(&self, ws: lianluo_domain::WorkspaceId, user: lianluo_domain::UserId) -> bool {
        self.presence.status(ws, user) == PresenceStatus::Online
    }
}

/// The AI agent's notices and writes go out through the bus and the sequencer.
#[async_trait::async_trait]
impl lianluo_app::Live for Realtime {
    async fn notify(&self, notice: Notice) {
        let _ = self.bus.publish(notice).await;
    }
    fn written(&self) {
        self.poke();
    }
}

impl Realtime {
    pub fn new(bus: Arc<dyn EventBus>) -> Self {
        Self { bus, presence: Presence::default(), watermark: AtomicI64::new(-1), wake: Notify::new() }
    }

    /// The id of the newest published event (-1 before the sequencer started).
    pub fn watermark(&self) -> i64 {
        self.watermark.load(Ordering::Acquire)
    }

    /// Tells the sequencer that new events were committed.
    pub fn poke(&self) {
        self.wake.notify_one();
    }

    /// Starts the sequencer from the end of the log: history is served to clients that ask for it,
    /// not republished.
    pub async fn start(
        self: &Arc<Self>,
        store: Arc<dyn Store>,
    ) -> Result<tokio::task::JoinHandle<()>, lianluo_store::StoreError> {
        let start = store.latest_event_id().await?;
        self.watermark.store(start, Ordering::Release);
        let me = self.clone();
        Ok(tokio::spawn(async move { me.run(store).await }))
    }

    async fn run(self: Arc<Self>, store: Arc<dyn Store>) {
        let mut gap_since: Option<Instant> = None;
        loop {
            let mut wm = self.watermark();
            let batch = match store.events_since(wm, BATCH).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the event log");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let full = batch.len() == BATCH as usize;
            let mut waiting = false;
            for event in batch {
                if event.id != wm + 1 {
                    let since = *gap_since.get_or_insert_with(Instant::now);
                    if since.elapsed() < GAP_WAIT {
                        waiting = true;
                        break;
                    }
                    tracing::debug!(
                        event.id = event.id,
                        gap.from = wm + 1,
                        "skipping ids that never committed"
                    );
                }
                gap_since = None;
                let notice = enrich(store.as_ref(), &event).await;
                // The watermark moves before the publication, so a client that subscribes in between
                // finds the event in the log and deduplicates the copy from the bus.
                wm = event.id;
                self.watermark.store(wm, Ordering::Release);
                let _ = self.bus.publish(notice).await;
            }
            if waiting {
                tokio::time::sleep(Duration::from_millis(5)).await;
            } else if !full {
                let _ = tokio::time::timeout(IDLE_POLL, self.wake.notified()).await;
            }
        }
    }
}

/// Turns a log entry into what a client needs: the change, plus the message or conversation as it is now.
pub async fn enrich(store: &dyn Store, e: &Event) -> Notice {
    let ws: WorkspaceId = e.workspace_id;
    let mut notice = Notice {
        workspace_id: ws,
        id: Some(e.id),
        kind: e.kind,
        subject_id: Some(e.subject_id),
        conversation_id: None,
        data: json!({ "change": e.data, "actor": e.actor, "at": e.created_at }),
    };
    match e.kind {
        EventKind::MessageCreated => {
            let conv = e
                .data
                .get("conversation_id")
                .and_then(|v| v.as_str())
                .and_then(|s| s.parse::<ConversationId>().ok());
            notice.conversation_id = conv.map(|c| c.0);
            if let Ok(m) = store.get_message(ws, MessageId(e.subject_id)).await {
                notice.data["message"] = json!(m);
            }
            if let Some(c) = conv
                && let Ok(c) = store.get_conversation(ws, c).await
            {
                notice.data["conversation"] = json!(c);
            }
        }
        EventKind::ConversationCreated | EventKind::ConversationUpdated | EventKind::ConversationDeleted => {
            notice.conversation_id = Some(e.subject_id);
            if let Ok(c) = store.get_conversation(ws, ConversationId(e.subject_id)).await {
                notice.data["conversation"] = json!(c);
            }
        }
        EventKind::ConversationRated => notice.conversation_id = Some(e.subject_id),
        _ => {}
    }
    notice
}
