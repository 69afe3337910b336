//! Extractors that answer bad input with the API's own error body.

use std::net::IpAddr;

use axum::{
    extract::{FromRequest, FromRequestParts, Request, rejection::JsonRejection},
    http::{HeaderMap, request::Parts},
};
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// A JSON body: malformed JSON, wrong types, unknown fields and oversize bodies become clear 4xx errors.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(AppError::MalformedJson(inner(&e))),
            // Well-formed JSON of the wrong shape: the field path says where, not the character offset.
            Err(JsonRejection::JsonDataError(e)) => Err(AppError::InvalidBody(without_position(inner(&e)))),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(AppError::UnsupportedMediaType),
            Err(JsonRejection::BytesRejection(e))
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(AppError::PayloadTooLarge(crate::MAX_BODY_BYTES))
            }
            Err(e) => Err(AppError::InvalidBody(e.body_text())),
        }
    }
}

/// The innermost cause of a rejection (serde's own message, with the field path).
fn inner(e: &dyn std::error::Error) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// serde's message without its trailing " at line L column C".
fn without_position(message: String) -> String {
    let Some(at) = message.rfind(" at line ") else { return message };
    let tail: Vec<&str> = message[at + 9..].split(' ').collect();
    let numbers = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match tail.as_slice() {
        [line, "column", col] if numbers(line) && numbers(col) => message[..at].to_string(),
        _ => message,
    }
}

/// Query parameters; unknown or malformed parameters are a 400.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e| AppError::InvalidQuery(inner(&e)))
    }
}

/// An id taken from the path, parsed into its typed form.
pub struct Id<T>(pub T);

impl<S: Send + Sync, T: std::str::FromStr> FromRequestParts<S> for Id<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let axum::extract::Path(raw) = axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::InvalidId(String::new()))?;
        raw.parse().map(Id).map_err(|_| AppError::InvalidId(raw))
    }
}

/// The client's address: the connecting peer's, or, when the peer is a trusted proxy
/// (`server.trusted_proxies`), the nearest address in `X-Forwarded-For` that is not a trusted proxy.
/// Addresses that an untrusted peer puts in the header are ignored, so a client cannot choose its own.
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<crate::AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &crate::AppState) -> Result<Self, Self::Rejection> {
        let peer =
            parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        Ok(ClientIp(client_ip(peer, &parts.headers, &state.config.trusted_proxies)))
    }
}

/// Walks `X-Forwarded-For` from the right (the hop nearest this server) while the hops are trusted
/// proxies; a hop that does not parse ends the walk at the last address known.
fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[TrustedProxy]) -> Option<IpAddr> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|t| t.0.contains(&ip.to_canonical()));
    let mut ip = peer?;
    if !is_trusted(&ip) {
        return Some(ip);
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    for hop in hops.iter().rev() {
        let hop = hop.trim();
        let parsed =
            hop.parse::<IpAddr>().ok().or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()));
        let Some(next) = parsed else { break };
        ip = next.to_canonical();
        if !is_trusted(&ip) {
            break;
        }
    }
    Some(ip)
}

/// A reverse proxy whose `X-Forwarded-For` is believed: one address (`10.0.0.5`) or a network
/// (`10.0.0.0/8`).
#[derive(Debug, Clone, PartialEq)]
pub struct TrustedProxy(pub ipnet::IpNet);

impl std::str::FromStr for TrustedProxy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        s.parse::<ipnet::IpNet>()
            .or_else(|_| s.parse::<IpAddr>().map(ipnet::IpNet::from))
            .map(TrustedProxy)
            .map_err(|_| {
                format!("trusted proxy {s:?} is neither an address nor a network such as 10.0.0.0/8")
            })
    }
}

impl<'de> serde::Deserialize<'de> for TrustedProxy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}
