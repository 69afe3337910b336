//! How enums with payloads are split into columns, shared by the SQL backends.

use lianluo_domain::{event::Actor, message::Sender};
use uuid::Uuid;

use crate::{Result, StoreError};

pub fn actor_parts(a: &Actor) -> (&'static str, Option<Uuid>) {
    match a {
        Actor::User { id } => ("user", Some(id.0)),
        Actor::ApiToken { id } => ("api_token", Some(id.0)),
        Actor::Contact { id } => ("contact", Some(id.0)),
        Actor::System => ("system", None),
    }
}

pub fn actor_from_parts(kind: &str, id: Option<Uuid>) -> Result<Actor> {
    Ok(match (kind, id) {
        ("user", Some(id)) => Actor::User { id: lianluo_domain::UserId(id) },
        ("api_token", Some(id)) => Actor::ApiToken { id: lianluo_domain::ApiTokenId(id) },
        ("contact", Some(id)) => Actor::Contact { id: lianluo_domain::ContactId(id) },
        ("system", None) => Actor::System,
        _ => return Err(corrupt("actor")),
    })
}

pub fn sender_parts(s: &Sender) -> (&'static str, Option<Uuid>) {
    match s {
        Sender::Contact { id } => ("contact", Some(id.0)),
        Sender::User { id } => ("user", Some(id.0)),
        Sender::Bot => ("bot", None),
        Sender::System => ("system", None),
    }
}

pub fn sender_from_parts(kind: &str, id: Option<Uuid>) -> Result<Sender> {
    Ok(match (kind, id) {
        ("contact", Some(id)) => Sender::Contact { id: lianluo_domain::ContactId(id) },
        ("user", Some(id)) => Sender::User { id: lianluo_domain::UserId(id) },
        ("bot", None) => Sender::Bot,
        ("system", None) => Sender::System,
        _ => return Err(corrupt("sender")),
    })
}

/// A stored value that the domain cannot read back: a bug or a hand-edited database.
pub fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("stored {what} is not valid"))
}

/// Parses a stored enum or value with the domain's own parser.
pub fn parse_stored<T>(what: &str, v: Option<T>) -> Result<T> {
    v.ok_or_else(|| corrupt(what))
}
