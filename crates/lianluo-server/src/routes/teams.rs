//! Teams of agents.

use axum::{Json as Out, extract::State, http::StatusCode};
use lianluo_domain::{
    TeamId, Timestamp,
    directory::{NewTeam, Team, TeamPatch},
};

use super::{Created, List};
use crate::{
    AppState,
    auth::{Admin, Auth},
    error::AppResult,
    extract::{Id, Json},
};

pub async fn list_teams(State(state): State<AppState>, auth: Auth) -> AppResult<Out<List<Team>>> {
    Ok(Out(List { items: state.store.list_teams(auth.workspace_id).await? }))
}

pub async fn get_team(State(state): State<AppState>, auth: Auth, Id(id): Id<TeamId>) -> AppResult<Out<Team>> {
    Ok(Out(state.store.get_team(auth.workspace_id, id).await?))
}

pub async fn create_team(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Json(mut new): Json<NewTeam>,
) -> AppResult<Created<Team>> {
    new.validate()?;
    Ok(Created(state.store.create_team(auth.workspace_id, &new, auth.actor(), Timestamp::now()).await?))
}

pub async fn update_team(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Id(id): Id<TeamId>,
    Json(mut patch): Json<TeamPatch>,
) -> AppResult<Out<Team>> {
    patch.validate()?;
    Ok(Out(state.store.update_team(auth.workspace_id, id, &patch, auth.actor(), Timestamp::now()).await?))
}

/// Deletes a team; its channels and conversations keep no team.
pub async fn delete_team(
    State(state): State<AppState>,
    auth: Auth<Admin>,
    Id(id): Id<TeamId>,
) -> AppResult<StatusCode> {
    state.store.delete_team(auth.workspace_id, id, auth.actor(), Timestamp::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
