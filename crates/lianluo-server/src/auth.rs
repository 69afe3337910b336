//! Who is calling: session cookies for the browser (with CSRF protection), bearer tokens for
//! integrations, argon2 password hashes, and the login rate limit.

use std::{
    collections::HashMap,
    marker::PhantomData,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use axum::{
    extract::FromRequestParts,
    http::{Method, header, request::Parts},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use lianluo_domain::{
    ApiTokenId, Timestamp, UserId, WorkspaceId,
    directory::{Role, User},
    event::Actor,
    message::Sender,
};
use sha2::{Digest, Sha256};

use crate::{AppState, error::AppError};

/// Name of the session cookie (HttpOnly).
pub const SESSION_COOKIE: &str = "lianluo_session";
/// Header carrying the CSRF token on state-changing requests made with the session cookie.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Prefix of API token secrets, so leaked tokens are easy to recognise.
pub const TOKEN_PREFIX: &str = "ll_";

/// `n` random bytes from the operating system, as URL-safe base64.
pub fn random_token(n: usize) -> String {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).expect("the operating system's random source");
    URL_SAFE_NO_PAD.encode(buf)
}

/// SHA-256 of a high-entropy secret (session or API token), as hex. Passwords use argon2 instead.
pub fn token_hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Hashes a password with argon2id (default parameters: 19 MiB, 2 passes). CPU-heavy: call off the runtime.
pub fn hash_password(password: &str) -> Result<String, AppError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(e.to_string()))
}

/// Checks a password against a stored argon2 hash. CPU-heavy: call off the runtime.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordVerifier::<str>::verify_password(&Argon2::default(), password.as_bytes(), hash).is_ok()
}

/// Runs password hashing on the blocking pool.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| AppError::Internal(e.to_string()))
}

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum Credential {
    Session { csrf_token: String },
    ApiToken { id: ApiTokenId },
}

/// A role a route requires; see [`Agent`] and [`Admin`].
pub trait Access: Send + Sync + 'static {
    const ROLE: Role;
}

/// Any signed-in user or token of the workspace.
pub struct Agent;
/// Admins only.
pub struct Admin;

impl Access for Agent {
    const ROLE: Role = Role::Agent;
}
impl Access for Admin {
    const ROLE: Role = Role::Admin;
}

/// An authenticated caller with at least the role `A`. Everything a handler does is scoped to
/// `workspace_id`.
pub struct Auth<A: Access = Agent> {
    pub workspace_id: WorkspaceId,
    /// The signed-in user, or the user who created the API token.
    pub user_id: UserId,
    pub role: Role,
    pub credential: Credential,
    /// The signed-in user (absent for API tokens).
    pub user: Option<User>,
    _access: PhantomData<A>,
}

impl<A: Access> Auth<A> {
    /// Who to record in the audit log.
    pub fn actor(&self) -> Actor {
        match self.credential {
            Credential::Session { .. } => Actor::User { id: self.user_id },
            Credential::ApiToken { id } => Actor::ApiToken { id },
        }
    }

    /// Who a message written by this caller is from.
    pub fn sender(&self) -> Sender {
        Sender::User { id: self.user_id }
    }
}

/// Reads a cookie from the request headers.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn bearer_in(headers: &axum::http::HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")).map(str::trim)
}

/// The credential a live connection was opened with (its hash), to check again while it stays open.
#[derive(Debug, Clone)]
pub enum Held {
    ApiToken(String),
    Session(String),
}

impl Held {
    /// The credential of a request, as `Auth` reads it: a bearer token first, else the session cookie.
    pub fn of(headers: &axum::http::HeaderMap) -> Option<Held> {
        if let Some(secret) = bearer_in(headers) {
            Some(Held::ApiToken(token_hash(secret)))
        } else {
            cookie(headers, SESSION_COOKIE).map(|s| Held::Session(token_hash(s)))
        }
    }

    /// Whether the credential still signs its holder in: false once the token is revoked, the session
    /// ended, or the user deactivated. A store that cannot answer now is not taken for a revocation.
    pub async fn still_valid(&self, state: &AppState) -> bool {
        match self {
            Held::ApiToken(hash) => !matches!(state.store.api_token(hash).await, Ok(None)),
            Held::Session(hash) => !matches!(state.store.session(hash, Timestamp::now()).await, Ok(None)),
        }
    }
}

impl<A: Access> FromRequestParts<AppState> for Auth<A> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let auth = match Held::of(&parts.headers).ok_or(AppError::Unauthenticated)? {
            Held::ApiToken(hash) => {
                // Revoked tokens, and tokens whose creator was deactivated, are not found.
                let token = state.store.api_token(&hash).await?.ok_or(AppError::Unauthenticated)?;
                Auth {
                    workspace_id: token.workspace_id,
                    user_id: token.created_by,
                    role: token.role,
                    credential: Credential::ApiToken { id: token.id },
                    user: None,
                    _access: PhantomData,
                }
            }
            Held::Session(hash) => {
                let (session, user) =
                    state.store.session(&hash, Timestamp::now()).await?.ok_or(AppError::Unauthenticated)?;
                let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
                let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
                if !safe
                    && !sent.is_some_and(|s| constant_time_eq(s.as_bytes(), session.csrf_token.as_bytes()))
                {
                    return Err(AppError::CsrfFailed);
                }
                Auth {
                    workspace_id: user.workspace_id,
                    user_id: user.id,
                    role: user.role,
                    credential: Credential::Session { csrf_token: session.csrf_token },
                    user: Some(user),
                    _access: PhantomData,
                }
            }
        };
        if !auth.role.allows(A::ROLE) {
            return Err(AppError::Forbidden(A::ROLE.as_str()));
        }
        Ok(auth)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Slows password guessing without locking the owner out (OWASP's advice): failures are counted per
/// account *and* client address, and from the `free`-th one that address waits before each further try,
/// 1 s doubling up to the window. Failures for one account from all addresses together are capped per
/// window: past the cap, only addresses that signed in to the account before may try, so a guesser
/// spread over many addresses is stopped while the owner at their usual address still gets in. A
/// success clears its address's count. Kept in memory on each node.
pub struct SignInGuard {
    free: u32,
    window: Duration,
    /// Failures for one account from all addresses, per window.
    per_account: RateLimiter,
    state: Mutex<GuardState>,
}

#[derive(Default)]
struct GuardState {
    /// (account, address) → failures in a row and when the last one was.
    pairs: HashMap<(String, Option<IpAddr>), (u32, Instant)>,
    /// (account, address) → when the account last signed in from there.
    known: HashMap<(String, Option<IpAddr>), Instant>,
}

/// How long an address that signed in to an account stays known for it.
const KNOWN_FOR: Duration = Duration::from_secs(30 * 24 * 3600);
/// Entries kept before old ones are swept.
const GUARD_ENTRIES: usize = 100_000;

impl SignInGuard {
    pub fn new(free: u32, per_account: u32, window: Duration) -> Self {
        Self {
            free: free.max(1),
            window,
            per_account: RateLimiter::new(per_account.max(1), window),
            state: Mutex::default(),
        }
    }

    /// Refuses, with the seconds to wait, when this address must wait for this account.
    pub fn check(&self, account: &str, client: Option<IpAddr>) -> Result<(), AppError> {
        let now = Instant::now();
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let key = (account.to_string(), client);
        if let Some((n, last)) =
            state.pairs.get(&key).filter(|(_, last)| now.duration_since(*last) < self.window)
            && *n >= self.free
        {
            let wait = Duration::from_secs(1u64 << (n - self.free).min(20)).min(self.window);
            let left = wait.saturating_sub(now.duration_since(*last));
            if !left.is_zero() {
                return Err(AppError::RateLimited(left.as_secs_f64().ceil().max(1.0) as u64));
            }
        }
        let known = state.known.get(&key).is_some_and(|at| now.duration_since(*at) < KNOWN_FOR);
        drop(state);
        match self.per_account.check(account) {
            Err(limited) if !known => Err(limited),
            _ => Ok(()),
        }
    }

    /// Records a failed sign-in.
    pub fn fail(&self, account: &str, client: Option<IpAddr>) {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.pairs.len() > GUARD_ENTRIES {
            let window = self.window;
            state.pairs.retain(|_, (_, last)| now.duration_since(*last) < window);
        }
        let pair = state.pairs.entry((account.to_string(), client)).or_insert((0, now));
        if now.duration_since(pair.1) >= self.window {
            pair.0 = 0;
        }
        *pair = (pair.0 + 1, now);
        drop(state);
        self.per_account.fail(account);
    }

    /// Records a successful sign-in: the address's failures are forgotten and it becomes known.
    pub fn succeed(&self, account: &str, client: Option<IpAddr>) {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let key = (account.to_string(), client);
        state.pairs.remove(&key);
        if state.known.len() > GUARD_ENTRIES {
            state.known.retain(|_, at| now.duration_since(*at) < KNOWN_FOR);
        }
        state.known.insert(key, now);
    }
}

/// Counts uses or failures per key (a client address) in fixed windows.
pub struct RateLimiter {
    max: u32,
    window: Duration,
    hits: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(max: u32, window: Duration) -> Self {
        Self { max, window, hits: Mutex::new(HashMap::new()) }
    }

    /// Refuses, with the seconds to wait, once `max` failures fell in the current window.
    pub fn check(&self, key: &str) -> Result<(), AppError> {
        let now = Instant::now();
        let hits = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        match hits.get(key) {
            Some((start, n)) if *n >= self.max && now.duration_since(*start) < self.window => {
                let wait = self.window.saturating_sub(now.duration_since(*start)).as_secs().max(1);
                Err(AppError::RateLimited(wait))
            }
            _ => Ok(()),
        }
    }

    /// Counts one use, refusing once `max` uses fell in the current window.
    pub fn hit(&self, key: &str) -> Result<(), AppError> {
        self.check(key)?;
        self.fail(key);
        Ok(())
    }

    /// Records a failure.
    pub fn fail(&self, key: &str) {
        let now = Instant::now();
        let mut hits = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        if hits.len() > 100_000 {
            hits.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let entry = hits.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }
}
