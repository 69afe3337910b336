//! The bus for a single node: one broadcast channel per workspace, created on first use.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use lianluo_domain::WorkspaceId;
use tokio::sync::broadcast;

use crate::{BusError, EventBus, Notice, Subscription};

/// Events buffered per workspace for slow subscribers before they are told they lagged.
pub const DEFAULT_CAPACITY: usize = 4096;

pub struct InProcessBus {
    capacity: usize,
    channels: Mutex<HashMap<WorkspaceId, broadcast::Sender<Arc<Notice>>>>,
}

impl Default for InProcessBus {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl InProcessBus {
    pub fn new(capacity: usize) -> Self {
        Self { capacity: capacity.max(1), channels: Mutex::new(HashMap::new()) }
    }

    fn sender(&self, ws: WorkspaceId) -> broadcast::Sender<Arc<Notice>> {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        // Drop channels nobody listens to any more, so idle workspaces cost nothing.
        if channels.len() > 1024 {
            channels.retain(|_, tx| tx.receiver_count() > 0);
        }
        channels.entry(ws).or_insert_with(|| broadcast::channel(self.capacity).0).clone()
    }
}

struct InProcessSubscription(broadcast::Receiver<Arc<Notice>>);

#[async_trait]
impl Subscription for InProcessSubscription {
    async fn next(&mut self) -> Result<Arc<Notice>, BusError> {
        self.0.recv().await.map_err(|e| match e {
            broadcast::error::RecvError::Lagged(n) => BusError::Lagged(n),
            broadcast::error::RecvError::Closed => BusError::Closed,
        })
    }
}

#[async_trait]
impl EventBus for InProcessBus {
    async fn publish(&self, notice: Notice) -> Result<(), BusError> {
        // No receivers is not an error: nobody of that workspace is connected.
        let _ = self.sender(notice.workspace_id).send(Arc::new(notice));
        Ok(())
    }

    async fn subscribe(&self, workspace: WorkspaceId) -> Result<Box<dyn Subscription>, BusError> {
        Ok(Box::new(InProcessSubscription(self.sender(workspace).subscribe())))
    }
}
