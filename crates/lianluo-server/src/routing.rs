//! Auto-assignment of new conversations: round-robin among the team's agents who are online now (a
//! live connection, not away, still active), each below the cap of open conversations; otherwise the
//! conversation waits unassigned.

use std::{collections::HashMap, sync::Mutex};

use lianluo_domain::{
    ChannelId, TeamId, UserId, WorkspaceId,
    routing::{Candidate, pick},
};

use crate::{AppState, error::AppError, realtime::PresenceStatus};

/// Remembers, per team, who was assigned last, so the next conversation goes to the next agent.
#[derive(Default)]
pub struct Routing {
    last: Mutex<HashMap<(WorkspaceId, TeamId), UserId>>,
}

impl Routing {
    /// The agent who should get a new conversation on `channel`: routed within `team` if given, else within
    /// the channel's team; `None` when there is no team or nobody is available.
    pub async fn assignee_for_new(
        &self,
        state: &AppState,
        ws: WorkspaceId,
        channel: ChannelId,
        team: Option<TeamId>,
    ) -> Result<Option<UserId>, AppError> {
        let team = match team {
            Some(t) => Some(t),
            None => state.store.get_channel(ws, channel).await.ok().and_then(|c| c.team_id),
        };
        match team {
            Some(team) => self.assignee_for(state, ws, team).await,
            None => Ok(None),
        }
    }

    /// The agent who should get a new conversation of `team`, if any is available.
    pub async fn assignee_for(
        &self,
        state: &AppState,
        ws: WorkspaceId,
        team: TeamId,
    ) -> Result<Option<UserId>, AppError> {
        let team_row = match state.store.get_team(ws, team).await {
            Ok(t) => t,
            Err(lianluo_store::StoreError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let mut online = Vec::new();
        for user in team_row.member_ids {
            if state.realtime.presence.status(ws, user) == PresenceStatus::Online
                && state.store.get_user(ws, user).await.is_ok_and(|u| u.active)
            {
                online.push(user);
            }
        }
        if online.is_empty() {
            return Ok(None);
        }
        let counts = state.store.open_counts(ws, &online).await?;
        let candidates: Vec<Candidate> =
            counts.into_iter().map(|(user, open)| Candidate { user, open }).collect();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let chosen =
            pick(&candidates, state.config.max_open_conversations_per_agent, last.get(&(ws, team)).copied());
        if let Some(user) = chosen {
            last.insert((ws, team), user);
        }
        Ok(chosen)
    }
}
