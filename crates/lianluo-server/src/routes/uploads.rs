//! File attachments: uploaded by agents and widget visitors, served back at unguessable addresses.
//!
//! Only a short list of types is accepted, and the bytes must look like the type declared (an "image"
//! that is really a script is refused). Files are served with `nosniff`, a sandboxing policy, and as
//! downloads unless they are images, so a hostile file cannot run in the product's origin.

use std::path::PathBuf;

use axum::{
    body::{Body, to_bytes},
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use lianluo_domain::{DomainError, WorkspaceId, message::Attachment};
use serde::{Deserialize, Serialize};

use super::Created;
use crate::{
    AppState,
    auth::{Auth, random_token},
    error::{AppError, AppResult},
    extract::Query,
    routes::widget::Visitor,
};

/// The types accepted, with the file signature each must start with.
const ALLOWED: &[(&str, &[&[u8]])] = &[
    ("image/png", &[b"\x89PNG\r\n\x1a\n"]),
    ("image/jpeg", &[b"\xFF\xD8\xFF"]),
    ("image/gif", &[b"GIF87a", b"GIF89a"]),
    ("image/webp", &[b"RIFF"]),
    ("application/pdf", &[b"%PDF-"]),
    ("text/plain", &[]),
];

/// Whether `bytes` are really of `content_type` (one of [`ALLOWED`]).
fn looks_like(content_type: &str, bytes: &[u8]) -> bool {
    match ALLOWED.iter().find(|(t, _)| *t == content_type) {
        None => false,
        Some(("image/webp", _)) => bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP",
        Some(("text/plain", _)) => std::str::from_utf8(bytes).is_ok() && !bytes.contains(&0),
        Some((_, sigs)) => sigs.iter().any(|s| bytes.starts_with(s)),
    }
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// The file's name as the user sees it.
    pub name: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Meta {
    workspace_id: WorkspaceId,
    name: String,
    content_type: String,
    size_bytes: u64,
}

fn clean_name(raw: Option<String>) -> String {
    let name: String = raw
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '/' | '\\' | '"'))
        .take(200)
        .collect();
    let name = name.trim().to_string();
    if name.is_empty() { "file".into() } else { name }
}

fn uploads_dir(state: &AppState) -> PathBuf {
    state.config.uploads_dir.clone().unwrap_or_else(|| std::env::temp_dir().join("lianluo-uploads"))
}

async fn store_upload(
    state: &AppState,
    ws: WorkspaceId,
    name: Option<String>,
    req: Request,
) -> AppResult<Attachment> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_lowercase())
        .unwrap_or_default();
    let max = state.config.max_upload_bytes;
    let bytes = to_bytes(req.into_body(), max).await.map_err(|_| AppError::PayloadTooLarge(max))?;
    if bytes.is_empty() {
        return Err(AppError::InvalidBody("the file is empty".into()));
    }
    if !ALLOWED.iter().any(|(t, _)| *t == content_type) {
        let allowed: Vec<&str> = ALLOWED.iter().map(|(t, _)| *t).collect();
        return Err(AppError::UnsupportedFile(format!("accepted types: {}", allowed.join(", "))));
    }
    if !looks_like(&content_type, &bytes) {
        return Err(AppError::UnsupportedFile(format!("the file is not really {content_type}")));
    }
    let id = random_token(24);
    let dir = uploads_dir(state);
    let meta =
        Meta { workspace_id: ws, name: clean_name(name), content_type, size_bytes: bytes.len() as u64 };
    let io = |e: std::io::Error| AppError::Internal(format!("cannot store an upload: {e}"));
    tokio::fs::create_dir_all(&dir).await.map_err(io)?;
    tokio::fs::write(dir.join(format!("{id}.bin")), &bytes).await.map_err(io)?;
    let meta_json = serde_json::to_vec(&meta).map_err(|e| AppError::Internal(e.to_string()))?;
    tokio::fs::write(dir.join(format!("{id}.json")), meta_json).await.map_err(io)?;
    Ok(Attachment {
        name: meta.name,
        content_type: meta.content_type,
        size_bytes: meta.size_bytes,
        url: format!("/files/{id}"),
    })
}

/// Checks a message's attachments against what the sender may attach: a file uploaded here must be the
/// workspace's own (another workspace's address is refused as if it did not exist), and a widget visitor
/// attaches only files uploaded through the widget, never outside addresses or other paths.
pub async fn check_attachments(
    state: &AppState,
    ws: WorkspaceId,
    attachments: &[Attachment],
    visitor: bool,
) -> AppResult<()> {
    for (i, a) in attachments.iter().enumerate() {
        let field = format!("attachments[{i}].url");
        match a.url.strip_prefix("/files/") {
            Some(id) => {
                let own = id.len() == 32
                    && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                    && match tokio::fs::read(uploads_dir(state).join(format!("{id}.json"))).await {
                        Ok(b) => serde_json::from_slice::<Meta>(&b).is_ok_and(|m| m.workspace_id == ws),
                        Err(_) => false,
                    };
                if !own {
                    return Err(DomainError::new(field, "no such uploaded file").into());
                }
            }
            None if visitor => {
                return Err(DomainError::new(field, "a file uploaded through /widget/v1/uploads").into());
            }
            None => {}
        }
    }
    Ok(())
}

/// Uploads a file for an agent's message; send the returned attachment with the message.
pub async fn upload_file(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<UploadQuery>,
    req: Request,
) -> AppResult<Created<Attachment>> {
    Ok(Created(store_upload(&state, auth.workspace_id, q.name, req).await?))
}

/// Uploads a file for a widget visitor's message.
pub async fn upload_visitor_file(
    State(state): State<AppState>,
    v: Visitor,
    Query(q): Query<UploadQuery>,
    req: Request,
) -> AppResult<Created<Attachment>> {
    state.visitor_messages.hit(&v.contact_id.to_string())?;
    Ok(Created(store_upload(&state, v.workspace_id, q.name, req).await?))
}

/// Serves an uploaded file. The address is the only key, so it is long and random.
pub async fn get_file(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> AppResult<Response> {
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(AppError::NotFound("file"));
    }
    let dir = uploads_dir(&state);
    let meta: Meta = match tokio::fs::read(dir.join(format!("{id}.json"))).await {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| AppError::Internal(e.to_string()))?,
        Err(_) => return Err(AppError::NotFound("file")),
    };
    let bytes =
        tokio::fs::read(dir.join(format!("{id}.bin"))).await.map_err(|_| AppError::NotFound("file"))?;
    let mut res = (StatusCode::OK, Body::from(bytes)).into_response();
    let h = res.headers_mut();
    let ct = HeaderValue::from_str(&meta.content_type).map_err(|e| AppError::Internal(e.to_string()))?;
    h.insert(header::CONTENT_TYPE, ct);
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=86400"));
    let inline = meta.content_type.starts_with("image/");
    let encoded: String = meta
        .name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let disposition = format!("{}; filename*=UTF-8''{encoded}", if inline { "inline" } else { "attachment" });
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).map_err(|e| AppError::Internal(e.to_string()))?,
    );
    Ok(res)
}
