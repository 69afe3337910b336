//! Lianluo's domain: ids, entities, validated values and the rules that change them. Pure logic, no I/O.

pub mod ai;
pub mod canned;
pub mod contact;
pub mod conversation;
pub mod directory;
pub mod error;
pub mod event;
pub mod id;
pub mod job;
pub mod knowledge;
pub mod message;
pub mod page;
pub mod routing;
pub mod time;
pub mod value;

pub use error::DomainError;
pub use id::*;
pub use time::Timestamp;
