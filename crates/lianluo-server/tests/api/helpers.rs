//! `TestApp`: the real router over a fresh database (a SQLite file or a PostgreSQL schema), with helpers
//! to call it as a signed-in browser or with an API token.

use std::sync::Arc;

use axum::{
    Router,
    body::Body,
    http::{Method, Request, StatusCode, header},
};
use http_body_util::BodyExt;
use lianluo_server::{AppState, ServerConfig, setup::NewWorkspace};
use lianluo_store::Store;
use serde_json::{Value, json};
use tower::ServiceExt;

/// Runs an `async fn(TestApp)` once on SQLite and once on PostgreSQL, optionally with a server
/// configuration (`config = expr;`, evaluated inside the generated module, so use `super::…`).
#[macro_export]
macro_rules! on_both_backends {
    (config = $cfg:expr; $($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::helpers::TestApp::sqlite_with($cfg).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::helpers::TestApp::postgres_with($cfg).await).await
            }
        }
    )*};
    ($($name:ident),* $(,)?) => {
        $crate::on_both_backends!(config = lianluo_server::ServerConfig::default(); $($name),*);
    };
}

/// The embedded models, loaded once per test process and shared by every app (each app has its own index).
pub fn models() -> (Arc<dyn lianluo_models::Embedder>, Arc<dyn lianluo_models::ChatModel>) {
    static MODELS: std::sync::OnceLock<(
        Arc<dyn lianluo_models::Embedder>,
        Arc<dyn lianluo_models::ChatModel>,
    )> = std::sync::OnceLock::new();
    MODELS
        .get_or_init(|| {
            let dir =
                std::env::var_os("LIANLUO_MODELS_DIR").map(std::path::PathBuf::from).unwrap_or_else(|| {
                    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/models")
                });
            let paths = lianluo_models::EmbeddedPaths::in_dir(&dir);
            // The default embedder, as `lianluo serve` runs it.
            let embedder = lianluo_models::E5Small::load(&paths.multilingual_embedder)
                .expect("run scripts/fetch-models first");
            let chat =
                lianluo_models::LlamaChat::load(&paths.chat_gguf, 2).expect("run scripts/fetch-models first");
            (Arc::new(embedder), Arc::new(chat))
        })
        .clone()
}

/// Removes the test's database when dropped.
pub enum Cleanup {
    Dir(#[expect(dead_code, reason = "held for its Drop")] tempfile::TempDir),
    Schema { url: String, schema: String },
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Cleanup::Schema { url, schema } = self {
            lianluo_store_postgres::drop_schema_blocking(url, schema);
        }
    }
}

pub const ADMIN_EMAIL: &str = "admin@acme.example";
pub const ADMIN_PASSWORD: &str = "correct horse battery";

/// How a request authenticates.
#[derive(Clone, Debug)]
pub enum Caller {
    Anonymous,
    Token(String),
    Browser { cookie: String, csrf: Option<String> },
}

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub store: Arc<dyn Store>,
    /// The server started by [`TestApp::serve`], stopped when the app is dropped.
    server: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// An admin API token of the first workspace.
    pub admin: Caller,
    _cleanup: Cleanup,
}

pub struct Response {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
}

impl Response {
    /// Asserts the status, printing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        self.body
    }

    /// Asserts an error response with this status and code, and returns its message.
    #[track_caller]
    pub fn expect_error(self, status: u16, code: &str) -> String {
        let body = self.expect(status);
        assert_eq!(body["error"]["code"], code, "body: {body}");
        body["error"]["message"].as_str().expect("an error message").to_string()
    }
}

impl TestApp {
    pub async fn sqlite() -> Self {
        Self::sqlite_with(ServerConfig::default()).await
    }

    pub async fn sqlite_with(config: ServerConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = lianluo_store_sqlite::open_in_dir(dir.path()).unwrap();
        Self::with_store(Arc::new(store), Cleanup::Dir(dir), config).await
    }

    pub async fn postgres_with(config: ServerConfig) -> Self {
        let url = std::env::var("LIANLUO_TEST_DATABASE_URL")
            .expect("LIANLUO_TEST_DATABASE_URL must name a PostgreSQL database (scripts/test sets it)");
        let schema = format!("api_{}", uuid::Uuid::now_v7().simple());
        let cleanup = Cleanup::Schema { url: url.clone(), schema: schema.clone() };
        let store = lianluo_store_postgres::connect_in_schema(&url, Some(&schema), 4).await.unwrap();
        Self::with_store(Arc::new(store), cleanup, config).await
    }

    /// An app on SQLite with given knowledge settings (the others run with what the tests need:
    /// websites and model providers on 127.0.0.1 allowed).
    pub async fn sqlite_with_knowledge(settings: lianluo_server::knowledge::Settings) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = lianluo_store_sqlite::open_in_dir(dir.path()).unwrap();
        Self::with_settings(Arc::new(store), Cleanup::Dir(dir), ServerConfig::default(), settings).await
    }

    async fn with_store(store: Arc<dyn Store>, cleanup: Cleanup, config: ServerConfig) -> Self {
        // The tests' websites and model providers are served on 127.0.0.1.
        let settings = lianluo_server::knowledge::Settings {
            crawl_private_networks: true,
            private_model_providers: true,
            ..Default::default()
        };
        Self::with_settings(store, cleanup, config, settings).await
    }

    /// An app on SQLite whose node chat model is `chat` (the others share the embedded one).
    pub async fn sqlite_with_chat(chat: Arc<dyn lianluo_models::ChatModel>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = lianluo_store_sqlite::open_in_dir(dir.path()).unwrap();
        let settings = lianluo_server::knowledge::Settings::default();
        Self::with_models(Arc::new(store), Cleanup::Dir(dir), ServerConfig::default(), settings, Some(chat))
            .await
    }

    async fn with_settings(
        store: Arc<dyn Store>,
        cleanup: Cleanup,
        config: ServerConfig,
        settings: lianluo_server::knowledge::Settings,
    ) -> Self {
        Self::with_models(store, cleanup, config, settings, None).await
    }

    async fn with_models(
        store: Arc<dyn Store>,
        cleanup: Cleanup,
        config: ServerConfig,
        settings: lianluo_server::knowledge::Settings,
        chat: Option<Arc<dyn lianluo_models::ChatModel>>,
    ) -> Self {
        let (embedder, shared_chat) = models();
        let chat = chat.unwrap_or(shared_chat);
        let kb = lianluo_server::knowledge::Knowledge::load(store.clone(), embedder, Some(chat), settings)
            .await
            .unwrap();
        let state = AppState::new(store.clone(), config).with_knowledge(kb);
        // The AI agent answers customers as it does when serving, on its own workers; background jobs
        // (indexing, mining) run when a test asks (`run_jobs`, `wait_indexed`).
        lianluo_server::jobs::spawn_lanes(state.clone(), &[lianluo_domain::job::Lane::Interactive]);
        let mut app = TestApp {
            router: lianluo_server::router(state.clone()),
            state,
            store,
            server: std::sync::Mutex::new(None),
            admin: Caller::Anonymous,
            _cleanup: cleanup,
        };
        app.workspace("acme", ADMIN_EMAIL).await;
        app.admin = app.token_for(&app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await, "admin").await;
        app
    }

    /// The PostgreSQL database URL and schema of an app on PostgreSQL.
    pub fn postgres_schema(&self) -> Option<(&str, &str)> {
        match &self._cleanup {
            Cleanup::Schema { url, schema } => Some((url, schema)),
            Cleanup::Dir(_) => None,
        }
    }

    /// Serves the same application state on a loopback port (for WebSocket clients); returns `host:port`.
    pub async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let state = self.state.clone();
        let task = tokio::spawn(async move {
            lianluo_server::serve(listener, state, std::future::pending()).await.unwrap();
        });
        *self.server.lock().unwrap() = Some(task);
        // Serving starts the real-time sequencer; wait until it has read the end of the log.
        while self.state.realtime.watermark() < 0 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        addr
    }

    /// Runs the queued background jobs to their end, as a node's worker would, and checks that none is
    /// left waiting or running; returns how many ran.
    pub async fn run_jobs(&self) -> usize {
        let ran = lianluo_server::jobs::run_until_idle(&self.state).await.unwrap();
        // The AI agent's workers may still be finishing a turn they claimed.
        let started = std::time::Instant::now();
        while self.store.unfinished_jobs().await.unwrap() > 0 {
            assert!(started.elapsed() < std::time::Duration::from_secs(10), "no job is left over");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        ran
    }

    /// Waits until the real-time sequencer has published every event committed so far.
    pub async fn settle(&self) {
        let latest = self.store.latest_event_id().await.unwrap();
        while self.state.realtime.watermark() < latest {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// Creates a workspace with its first admin, as `lianluo admin create` does.
    pub async fn workspace(&self, slug: &str, admin_email: &str) {
        lianluo_server::setup::create_workspace(
            self.store.as_ref(),
            NewWorkspace {
                workspace_name: format!("{slug} Inc."),
                slug: slug.into(),
                admin_name: "Admin".into(),
                admin_email: admin_email.into(),
                admin_password: ADMIN_PASSWORD.into(),
            },
        )
        .await
        .unwrap();
    }

    pub async fn call(&self, method: Method, path: &str, caller: &Caller, body: Option<Value>) -> Response {
        let mut req = Request::builder().method(method).uri(path);
        match caller {
            Caller::Anonymous => {}
            Caller::Token(t) => req = req.header(header::AUTHORIZATION, format!("Bearer {t}")),
            Caller::Browser { cookie, csrf } => {
                req = req.header(header::COOKIE, cookie.as_str());
                if let Some(c) = csrf {
                    req = req.header("x-csrf-token", c.as_str());
                }
            }
        }
        let req = match body {
            Some(b) => req.header(header::CONTENT_TYPE, "application/json").body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        };
        self.send(req.unwrap()).await
    }

    pub async fn send(&self, req: Request<Body>) -> Response {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Response { status, headers, body }
    }

    pub async fn get(&self, path: &str, caller: &Caller) -> Response {
        self.call(Method::GET, path, caller, None).await
    }

    pub async fn post(&self, path: &str, caller: &Caller, body: Value) -> Response {
        self.call(Method::POST, path, caller, Some(body)).await
    }

    pub async fn patch(&self, path: &str, caller: &Caller, body: Value) -> Response {
        self.call(Method::PATCH, path, caller, Some(body)).await
    }

    pub async fn delete(&self, path: &str, caller: &Caller) -> Response {
        self.call(Method::DELETE, path, caller, None).await
    }

    /// Signs in; returns the browser's cookie and CSRF token.
    pub async fn login(&self, email: &str, password: &str) -> Caller {
        let res = self
            .post("/api/v1/auth/login", &Caller::Anonymous, json!({"email": email, "password": password}))
            .await;
        let cookie = res.headers.get(header::SET_COOKIE).map(|v| v.to_str().unwrap().to_string());
        let body = res.expect(200);
        let cookie = cookie.expect("a session cookie");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
        let pair = cookie.split(';').next().unwrap().to_string();
        Caller::Browser { cookie: pair, csrf: Some(body["csrf_token"].as_str().unwrap().to_string()) }
    }

    /// Creates an API token with the given role, as the given signed-in admin.
    pub async fn token_for(&self, admin: &Caller, role: &str) -> Caller {
        let body = self
            .post("/api/v1/api-tokens", admin, json!({"name": format!("{role} token"), "role": role}))
            .await
            .expect(201);
        Caller::Token(body["secret"].as_str().unwrap().to_string())
    }

    /// Adds an agent to the admin's workspace and returns a session for them.
    pub async fn agent(&self, admin: &Caller, email: &str) -> (String, Caller) {
        let body = self
            .post("/api/v1/users", admin, json!({"name": "Agent Zhang", "email": email, "role": "agent", "password": "agent-password-1"}))
            .await
            .expect(201);
        (body["id"].as_str().unwrap().to_string(), self.login(email, "agent-password-1").await)
    }

    /// A channel and a contact in the caller's workspace: (channel id, contact id).
    pub async fn channel_and_contact(&self, admin: &Caller) -> (String, String) {
        let ch = self
            .post("/api/v1/channels", admin, json!({"kind": "web_widget", "name": "Web shop"}))
            .await
            .expect(201);
        let contact = self
            .post(
                "/api/v1/contacts",
                admin,
                json!({"name": "陈静", "identities": [{"kind": "email", "value": "chen.jing@example.com"}]}),
            )
            .await
            .expect(201);
        (ch["id"].as_str().unwrap().into(), contact["id"].as_str().unwrap().into())
    }

    /// Starts a conversation and returns its id.
    pub async fn conversation(
        &self,
        caller: &Caller,
        channel: &str,
        contact: &str,
        first: Option<&str>,
    ) -> String {
        let mut body = json!({"channel_id": channel, "contact_id": contact});
        if let Some(text) = first {
            body["message"] = json!({"kind": "incoming", "content": text});
        }
        let res = self.post("/api/v1/conversations", caller, body).await.expect(201);
        res["conversation"]["id"].as_str().unwrap().into()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(task) = self.server.lock().unwrap().take() {
            task.abort();
        }
    }
}

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens the agents' WebSocket as `caller`; `origin` is sent as the Origin header when given.
pub async fn open_socket(
    addr: &str,
    query: &str,
    caller: &Caller,
    origin: Option<&str>,
) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("ws://{addr}/api/v1/realtime{query}").into_client_request().unwrap();
    let h = req.headers_mut();
    match caller {
        Caller::Anonymous => {}
        Caller::Token(t) => {
            h.insert(header::AUTHORIZATION, format!("Bearer {t}").parse().unwrap());
        }
        Caller::Browser { cookie, .. } => {
            h.insert(header::COOKIE, cookie.parse().unwrap());
        }
    }
    if let Some(o) = origin {
        h.insert(header::ORIGIN, o.parse().unwrap());
    }
    tokio_tungstenite::connect_async(req).await.map(|(s, _)| s)
}

/// The next JSON frame, skipping pings; panics after 5 seconds.
pub async fn next_frame(socket: &mut Socket) -> Value {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(5), socket.next())
            .await
            .expect("a frame within 5 seconds")
            .expect("the socket is open")
            .expect("a valid frame");
        if let Message::Text(t) = msg {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

/// Frames until one satisfies `pred`; returns them all, the match last.
pub async fn frames_until(socket: &mut Socket, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let f = next_frame(socket).await;
        let done = pred(&f);
        seen.push(f);
        if done {
            return seen;
        }
    }
}

/// Asserts that no frame other than pings arrives within `ms` milliseconds.
pub async fn expect_silence(socket: &mut Socket, ms: u64) {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(ms);
    while let Ok(msg) = tokio::time::timeout_at(deadline, socket.next()).await {
        if let Some(Ok(Message::Text(t))) = msg {
            panic!("expected no frame, got {t}");
        }
    }
}

/// Sends a JSON frame.
pub async fn send_frame(socket: &mut Socket, frame: Value) {
    use futures_util::SinkExt;
    socket.send(tokio_tungstenite::tungstenite::Message::Text(frame.to_string().into())).await.unwrap();
}

/// A server that accepts connections and never answers: a provider that times out.
pub async fn silent_server() -> std::net::SocketAddr {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    addr
}

/// A step of a scripted provider's answer: a piece of text, or a pause until the test says go.
pub enum Step {
    Say(&'static str),
    Wait,
}

/// An OpenAI-compatible chat provider (a stand-in for a third-party service) that streams scripted
/// answers, one per request in order; at `Step::Wait` it waits for `go` to be notified, so that a test
/// can look at what reached the customer so far.
pub async fn scripted_provider(
    answers: Vec<Vec<Step>>,
    go: std::sync::Arc<tokio::sync::Notify>,
) -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for answer in answers {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            // The request: headers, then as many bytes of body as they announce.
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            let body_at = loop {
                let n = socket.read(&mut buf).await.unwrap();
                req.extend_from_slice(&buf[..n]);
                if let Some(p) = req.windows(4).position(|w| w == b"\r\n\r\n") {
                    break p + 4;
                }
            };
            let head = String::from_utf8_lossy(&req[..body_at]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().unwrap())
                .unwrap_or(0);
            while req.len() < body_at + length {
                let n = socket.read(&mut buf).await.unwrap();
                req.extend_from_slice(&buf[..n]);
            }
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n")
                .await;
            let mut pieces = 0;
            for step in answer {
                match step {
                    Step::Say(text) => {
                        pieces += 1;
                        let event =
                            serde_json::json!({ "choices": [{ "index": 0, "delta": { "content": text } }] });
                        if socket.write_all(format!("data: {event}\n\n").as_bytes()).await.is_err() {
                            break;
                        }
                    }
                    Step::Wait => go.notified().await,
                }
            }
            let end = serde_json::json!({
                "choices": [{ "index": 0, "delta": {}, "finish_reason": "stop" }],
                "usage": { "prompt_tokens": 100, "completion_tokens": pieces },
            });
            let _ = socket.write_all(format!("data: {end}\n\ndata: [DONE]\n\n").as_bytes()).await;
        }
    });
    addr
}

/// Runs the queued jobs (indexing among them) until a knowledge source has been indexed (or has failed),
/// for at most `within`, and returns it.
pub async fn wait_indexed(app: &TestApp, caller: &Caller, id: &str, within: std::time::Duration) -> Value {
    let started = std::time::Instant::now();
    while started.elapsed() < within {
        lianluo_server::jobs::run_until_idle(&app.state).await.unwrap();
        let s = app.get(&format!("/api/v1/kb/sources/{id}"), caller).await.expect(200);
        if s["status"] == "indexed" || s["status"] == "failed" {
            return s;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("source {id} was not indexed within {within:?}");
}
