//! Auto-assignment of new conversations: round-robin among the team's agents who are online now (a live
//! connection, not away, still active), each below the cap of open conversations; otherwise the
//! conversation waits unassigned.

use std::{collections::HashMap, sync::Arc, sync::Mutex};

use lianluo_domain::{
    TeamId, UserId, WorkspaceId,
    directory::Channel,
    routing::{Candidate, pick},
};
use lianluo_store::{Store, StoreError};

use crate::Result;

/// Who is at work right now: agents with a live connection who have not set themselves away.
pub trait Presence: Send + Sync {
    fn is_online(&self, ws: WorkspaceId, user: UserId) -> bool;
}

/// Remembers, per team, who was assigned last, so the next conversation goes to the next agent.
pub struct Routing {
    presence: Arc<dyn Presence>,
    /// Open or pending conversations an agent can hold before being skipped.
    cap: i64,
    last: Mutex<HashMap<(WorkspaceId, TeamId), UserId>>,
}

impl Routing {
    pub fn new(presence: Arc<dyn Presence>, cap: i64) -> Self {
        Self { presence, cap, last: Mutex::default() }
    }

    /// The agent who should get a new conversation on `channel`: routed within `team` if given, else
    /// within the channel's team; `None` when there is no team or nobody is available.
    pub async fn assignee_for_new(
        &self,
        store: &dyn Store,
        channel: &Channel,
        team: Option<TeamId>,
    ) -> Result<Option<UserId>> {
        match team.or(channel.team_id) {
            Some(team) => self.assignee_for(store, channel.workspace_id, team).await,
            None => Ok(None),
        }
    }

    /// The agent who should get a new conversation of `team`, if any is available.
    pub async fn assignee_for(
        &self,
        store: &dyn Store,
        ws: WorkspaceId,
        team: TeamId,
    ) -> Result<Option<UserId>> {
        let team_row = match store.get_team(ws, team).await {
            Ok(t) => t,
            Err(StoreError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let mut online = Vec::new();
        for user in team_row.member_ids {
            if self.presence.is_online(ws, user) && store.get_user(ws, user).await.is_ok_and(|u| u.active) {
                online.push(user);
            }
        }
        if online.is_empty() {
            return Ok(None);
        }
        let counts = store.open_counts(ws, &online).await?;
        let candidates: Vec<Candidate> =
            counts.into_iter().map(|(user, open)| Candidate { user, open }).collect();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let chosen = pick(&candidates, self.cap, last.get(&(ws, team)).copied());
        if let Some(user) = chosen {
            last.insert((ws, team), user);
        }
        Ok(chosen)
    }
}
