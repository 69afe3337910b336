//! Which agents are connected, and whether they set themselves away.

use std::{collections::HashMap, sync::Mutex};

use lianluo_domain::{UserId, WorkspaceId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    Online,
    Away,
    Offline,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    connections: u32,
    away: bool,
}

/// Connected agents per workspace. A user is online while at least one of their sockets is open and
/// they have not set themselves away.
#[derive(Default)]
pub struct Presence {
    users: Mutex<HashMap<(WorkspaceId, UserId), Entry>>,
}

impl Presence {
    fn status_of(e: Option<&Entry>) -> PresenceStatus {
        match e {
            Some(e) if e.connections > 0 && !e.away => PresenceStatus::Online,
            Some(e) if e.connections > 0 => PresenceStatus::Away,
            _ => PresenceStatus::Offline,
        }
    }

    /// Applies `f` and returns the new status if it changed.
    fn update(&self, ws: WorkspaceId, user: UserId, f: impl FnOnce(&mut Entry)) -> Option<PresenceStatus> {
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        let before = Self::status_of(users.get(&(ws, user)));
        let entry = users.entry((ws, user)).or_insert(Entry { connections: 0, away: false });
        f(entry);
        let after = Self::status_of(Some(entry));
        if entry.connections == 0 {
            users.remove(&(ws, user));
        }
        (before != after).then_some(after)
    }

    pub fn connect(&self, ws: WorkspaceId, user: UserId) -> Option<PresenceStatus> {
        self.update(ws, user, |e| e.connections += 1)
    }

    pub fn disconnect(&self, ws: WorkspaceId, user: UserId) -> Option<PresenceStatus> {
        self.update(ws, user, |e| {
            e.connections = e.connections.saturating_sub(1);
            if e.connections == 0 {
                e.away = false;
            }
        })
    }

    pub fn set_away(&self, ws: WorkspaceId, user: UserId, away: bool) -> Option<PresenceStatus> {
        self.update(ws, user, |e| e.away = away)
    }

    /// One user's status.
    pub fn status(&self, ws: WorkspaceId, user: UserId) -> PresenceStatus {
        Self::status_of(self.users.lock().unwrap_or_else(|p| p.into_inner()).get(&(ws, user)))
    }

    /// Everyone connected in a workspace, with their status.
    pub fn list(&self, ws: WorkspaceId) -> Vec<(UserId, PresenceStatus)> {
        let users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<_> = users
            .iter()
            .filter(|((w, _), _)| *w == ws)
            .map(|((_, u), e)| (*u, Self::status_of(Some(e))))
            .collect();
        out.sort_by_key(|(u, _)| *u);
        out
    }
}
