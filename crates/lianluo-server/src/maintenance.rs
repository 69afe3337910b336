//! Periodic upkeep while serving: reopen conversations whose snooze ended, delete expired sessions and
//! jobs that finished more than 30 days ago.

use std::{sync::Arc, time::Duration};

use lianluo_domain::Timestamp;
use lianluo_store::Store;

/// Most conversations woken in one pass; the next pass takes the rest.
const WAKE_BATCH: u32 = 500;

/// One pass of upkeep; returns (conversations woken, sessions deleted).
pub async fn run_once(store: &dyn Store, now: Timestamp) -> Result<(usize, u64), lianluo_store::StoreError> {
    let woken = store.wake_snoozed(now, WAKE_BATCH).await?.len();
    let expired = store.delete_expired_sessions(now).await?;
    let old_jobs = store.delete_old_jobs(now).await?;
    if old_jobs > 0 {
        tracing::info!(jobs.deleted = old_jobs, "finished jobs deleted after 30 days");
    }
    Ok((woken, expired))
}

/// Runs upkeep every `every` until the task is dropped or aborted.
pub fn spawn(store: Arc<dyn Store>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match run_once(store.as_ref(), Timestamp::now()).await {
                Ok((0, 0)) => {}
                Ok((woken, expired)) => {
                    tracing::info!(conversations.woken = woken, sessions.deleted = expired, "maintenance")
                }
                Err(e) => tracing::warn!(error = %e, "maintenance pass failed"),
            }
        }
    })
}
