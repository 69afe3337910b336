//! The HTTP API, driven through the real router against both storage backends.

mod helpers;

mod ai;
mod assets;
mod auth;
mod bad_input;
mod bot;
mod contacts;
mod conversations;
mod directory;
mod inbox;
mod injection;
mod jobs;
mod kb_sources;
mod knowledge;
mod limits;
mod messages;
mod models;
mod openapi;
mod realtime;
mod routing;
mod schema;
mod tenants;
mod uploads;
mod widget;
