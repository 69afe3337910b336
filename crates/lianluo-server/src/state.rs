//! What every handler can reach: the store, the configuration, the rate limiters.

use std::{sync::Arc, time::Duration};

use lianluo_store::Store;
use serde::Deserialize;

use crate::{
    auth::{RateLimiter, SignInGuard},
    realtime::Realtime,
};

/// The server's part of the configuration.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// How long a browser session lasts, in hours.
    pub session_ttl_hours: u32,
    /// Mark cookies `Secure` (set this when serving over HTTPS).
    pub secure_cookies: bool,
    /// Failed sign-ins to one account from one client address before that address waits before each
    /// further try (1 s, doubling, up to the window); a success starts the count again.
    pub login_failures_per_email: u32,
    /// Failed sign-ins to one account from all addresses in one window; past it, only addresses that
    /// signed in to the account before may try until the window ends.
    pub login_failures_per_account: u32,
    /// Failed sign-ins allowed per client address in one window, whatever the accounts (offices share
    /// one address).
    pub login_failures_per_client: u32,
    /// The sign-in rate-limit window, in seconds.
    pub login_window_secs: u64,
    /// Reverse proxies whose `X-Forwarded-For` gives the client's address (`"127.0.0.1"`,
    /// `"10.0.0.0/8"`); the header is ignored from anyone else. Rate limits are kept per client address.
    pub trusted_proxies: Vec<crate::extract::TrustedProxy>,
    /// Longest time a request may take, in seconds.
    pub request_timeout_secs: u64,
    /// Open or pending conversations an agent can hold before auto-assignment skips them.
    pub max_open_conversations_per_agent: i64,
    /// New widget visitors allowed per client address per minute.
    pub widget_visitors_per_client_per_minute: u32,
    /// Messages a widget visitor may send per minute.
    pub widget_messages_per_minute: u32,
    /// Largest attachment accepted, in bytes.
    pub max_upload_bytes: usize,
    /// Live connections one widget visitor may hold at once (a few tabs); more are refused with 429.
    pub max_sockets_per_visitor: usize,
    /// How long a worker holds a background job before another may take it over, unless it renews the
    /// lease (it does, every third of it, while it runs): after a crash, work resumes within this time.
    pub job_lease_secs: u64,
    /// How many background jobs (indexing, crawling, mining) this node runs at once; one workspace may run
    /// one fewer at a time across all nodes (unless this is 1), so that its long queue never holds back
    /// another workspace's work. Defaults to the number of cores, at most 4; 0 leaves background work to
    /// other nodes.
    pub job_workers: usize,
    /// How many of the AI agent's turns this node runs at once (they wait mostly on the models); one
    /// workspace may take three quarters of them at a time. 0 leaves them to other nodes.
    pub ai_workers: usize,
    /// Where attachments are kept: `DATA_DIR/uploads` when serving (set from the data directory).
    #[serde(skip)]
    pub uploads_dir: Option<std::path::PathBuf>,
    /// Set by `lianluo demo`: the widget channel shown on the demo shop page at `/demo/shop`.
    #[serde(skip)]
    pub demo_shop_channel: Option<String>,
    /// The address customers' browsers reach this server at (`https://chat.example.com`), used in the
    /// widget snippet; without it the request's Host is used.
    pub public_url: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            session_ttl_hours: 24 * 7,
            secure_cookies: false,
            login_failures_per_email: 10,
            login_failures_per_account: 100,
            login_failures_per_client: 50,
            login_window_secs: 15 * 60,
            trusted_proxies: Vec::new(),
            request_timeout_secs: 30,
            max_open_conversations_per_agent: 10,
            widget_visitors_per_client_per_minute: 30,
            widget_messages_per_minute: 30,
            public_url: None,
            demo_shop_channel: None,
            max_upload_bytes: 10 * 1024 * 1024,
            max_sockets_per_visitor: 8,
            job_lease_secs: 60,
            job_workers: crate::jobs::default_workers(),
            ai_workers: 16,
            uploads_dir: None,
        }
    }
}

/// Open connections per key, so that one visitor cannot hold thousands.
#[derive(Debug, Default)]
pub struct SocketCount(std::sync::Mutex<std::collections::HashMap<String, usize>>);

/// One counted connection; dropping it (the socket closed) frees its place.
#[derive(Debug)]
pub struct SocketSlot {
    count: Arc<SocketCount>,
    key: String,
}

impl SocketCount {
    /// A place for one more connection under `key`, unless it already holds `max`.
    pub fn take(self: &Arc<Self>, key: &str, max: usize) -> Option<SocketSlot> {
        let mut open = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(key.to_string()).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(SocketSlot { count: self.clone(), key: key.to_string() })
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut open = self.count.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// Shared by all handlers.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<ServerConfig>,
    pub sign_in_guard: Arc<SignInGuard>,
    pub login_by_client: Arc<RateLimiter>,
    pub realtime: Arc<Realtime>,
    /// The use cases (intake, routing) that every entry point shares.
    pub app: Arc<lianluo_app::App>,
    pub visitor_starts: Arc<RateLimiter>,
    pub visitor_messages: Arc<RateLimiter>,
    /// Open live connections per widget visitor.
    pub visitor_sockets: Arc<SocketCount>,
    /// Says "a credential of this workspace may have ended" (sign-out, a revoked token, a deactivated
    /// or changed user, a new password): its live connections check theirs again at once.
    pub revoked: tokio::sync::broadcast::Sender<lianluo_domain::WorkspaceId>,
    /// The knowledge base, when its models are loaded.
    pub knowledge: Option<Arc<crate::knowledge::Knowledge>>,
    /// Wakes this node's job workers when a job is queued (`crate::jobs`).
    pub jobs_wake: Arc<crate::jobs::Wake>,
}

impl AppState {
    /// State with the in-process event bus.
    pub fn new(store: Arc<dyn Store>, config: ServerConfig) -> Self {
        Self::with_bus(store, config, Arc::new(lianluo_events::InProcessBus::default()))
    }

    pub fn with_bus(
        store: Arc<dyn Store>,
        config: ServerConfig,
        bus: Arc<dyn lianluo_events::EventBus>,
    ) -> Self {
        let window = Duration::from_secs(config.login_window_secs.max(1));
        let realtime = Arc::new(Realtime::new(bus));
        Self {
            sign_in_guard: Arc::new(SignInGuard::new(
                config.login_failures_per_email,
                config.login_failures_per_account,
                window,
            )),
            login_by_client: Arc::new(RateLimiter::new(config.login_failures_per_client, window)),
            app: Arc::new(Self::app_of(&store, &realtime, &config, None)),
            realtime,
            visitor_starts: Arc::new(RateLimiter::new(
                config.widget_visitors_per_client_per_minute,
                Duration::from_secs(60),
            )),
            visitor_messages: Arc::new(RateLimiter::new(
                config.widget_messages_per_minute,
                Duration::from_secs(60),
            )),
            visitor_sockets: Arc::new(SocketCount::default()),
            revoked: tokio::sync::broadcast::channel(64).0,
            store,
            config: Arc::new(config),
            knowledge: None,
            jobs_wake: Arc::new(crate::jobs::Wake::default()),
        }
    }

    /// Adds the knowledge base.
    pub fn with_knowledge(mut self, knowledge: Arc<crate::knowledge::Knowledge>) -> Self {
        self.jobs_wake = knowledge.jobs_wake();
        self.knowledge = Some(knowledge.clone());
        let answers = Arc::new(crate::knowledge::AnswersOf(knowledge));
        self.app = Arc::new(Self::app_of(&self.store, &self.realtime, &self.config, Some(answers)));
        self
    }

    fn app_of(
        store: &Arc<dyn Store>,
        realtime: &Arc<Realtime>,
        config: &ServerConfig,
        answers: Option<Arc<dyn lianluo_app::Answers>>,
    ) -> lianluo_app::App {
        let routing = lianluo_app::Routing::new(realtime.clone(), config.max_open_conversations_per_agent);
        lianluo_app::App::new(store.clone(), routing, realtime.clone(), answers)
    }
}
