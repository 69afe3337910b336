//! `lianluo bench ingest`: concurrent clients post messages into conversations through the real HTTP
//! API (loopback TCP, JSON, bearer token, idempotency keys); reports messages/s and latency percentiles.

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use clap::Args;
use lianluo_server::{AppState, setup::NewWorkspace};
use lianluo_store::Store;
use serde_json::{Value, json};

use crate::config::Config;

#[derive(Args, Debug)]
pub struct IngestArgs {
    /// `sqlite` or `postgres`.
    #[arg(long, default_value = "sqlite")]
    backend: String,
    /// Concurrent clients, each posting one message at a time.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Conversations the messages are spread over.
    #[arg(long, default_value_t = 256)]
    conversations: usize,
    /// Measured seconds (after the warm-up).
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Warm-up seconds, not measured.
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// PostgreSQL URL for `--backend postgres` [default: LIANLUO_DATABASE_URL, else LIANLUO_TEST_DATABASE_URL].
    #[arg(long)]
    database_url: Option<String>,
}

struct Target {
    store: Arc<dyn Store>,
    cleanup: Box<dyn FnOnce() + Send>,
}

async fn target(cfg: &Config, args: &IngestArgs) -> anyhow::Result<Target> {
    let tag = uuid::Uuid::now_v7().simple().to_string();
    match args.backend.as_str() {
        "sqlite" => {
            let dir: PathBuf = std::env::temp_dir().join(format!("lianluo-bench-{tag}"));
            let store = lianluo_store_sqlite::open_in_dir(&dir)?;
            Ok(Target {
                store: Arc::new(store),
                cleanup: Box::new(move || drop(std::fs::remove_dir_all(dir))),
            })
        }
        "postgres" => {
            let url = args
                .database_url
                .clone()
                .or_else(|| cfg.database_url.as_ref().map(|s| s.expose().to_string()))
                .or_else(|| std::env::var("LIANLUO_TEST_DATABASE_URL").ok())
                .context("--backend postgres needs --database-url or LIANLUO_DATABASE_URL")?;
            let schema = format!("bench_{tag}");
            let store =
                lianluo_store_postgres::connect_in_schema(&url, Some(&schema), cfg.database_pool_size)
                    .await?;
            let cleanup = move || lianluo_store_postgres::drop_schema_blocking(&url, &schema);
            Ok(Target { store: Arc::new(store), cleanup: Box::new(cleanup) })
        }
        other => bail!("unknown backend {other:?}; use sqlite or postgres"),
    }
}

async fn post(client: &reqwest::Client, url: &str, token: &str, body: Value) -> anyhow::Result<Value> {
    let res = client.post(url).bearer_auth(token).json(&body).send().await?;
    let status = res.status();
    let body: Value = res.json().await?;
    if !status.is_success() {
        bail!("{url}: {status} {body}");
    }
    Ok(body)
}

/// Signs in through the API and creates an API token with `role`; returns the session cookie, the CSRF
/// token and the token's secret.
pub(crate) async fn sign_in(
    client: &reqwest::Client,
    base: &str,
    email: &str,
    password: &str,
    role: &str,
) -> anyhow::Result<(String, String, String)> {
    let login = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await?;
    let cookie = login
        .headers()
        .get("set-cookie")
        .context("no session cookie")?
        .to_str()?
        .split(';')
        .next()
        .unwrap_or("")
        .to_string();
    let csrf = login.json::<Value>().await?["csrf_token"].as_str().unwrap_or_default().to_string();
    let token = client
        .post(format!("{base}/api/v1/api-tokens"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&json!({"name": "bench", "role": role}))
        .send()
        .await?
        .json::<Value>()
        .await?["secret"]
        .as_str()
        .context("no token")?
        .to_string();
    Ok((cookie, csrf, token))
}

pub(crate) fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

pub async fn ingest(cfg: &Config, args: IngestArgs) -> anyhow::Result<()> {
    let t = target(cfg, &args).await?;
    let result = run(t.store.clone(), &args).await;
    (t.cleanup)();
    result
}

async fn run(store: Arc<dyn Store>, args: &IngestArgs) -> anyhow::Result<()> {
    let backend = store.backend();
    let password = "bench-password-123";
    lianluo_server::setup::create_workspace(
        store.as_ref(),
        NewWorkspace {
            workspace_name: "Bench".into(),
            slug: "bench".into(),
            admin_name: "Bench Admin".into(),
            admin_email: "bench@lianluo.example".into(),
            admin_password: password.into(),
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let state = AppState::new(store.clone(), Default::default());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(lianluo_server::serve(listener, state, async {
        let _ = stop_rx.await;
    }));

    let client = reqwest::Client::builder().pool_max_idle_per_host(args.clients * 2).build()?;
    let (_, _, token) = sign_in(&client, &base, "bench@lianluo.example", BENCH_PASSWORD, "agent").await?;
    let ch =
        post(&client, &format!("{base}/api/v1/channels"), &token, json!({"kind": "api", "name": "bench"}))
            .await;
    // Agents cannot create channels: make it with the store's admin path instead.
    let ch = match ch {
        Ok(c) => c["id"].as_str().unwrap_or_default().to_string(),
        Err(_) => {
            let ws = store.workspace_by_slug("bench").await?.context("bench workspace")?;
            let new = lianluo_domain::directory::NewChannel {
                kind: lianluo_domain::directory::ChannelKind::Api,
                name: lianluo_domain::value::Name::parse("bench").expect("valid"),
                team_id: None,
                settings: Default::default(),
            };
            store
                .create_channel(
                    ws.id,
                    &new,
                    lianluo_domain::event::Actor::System,
                    lianluo_domain::Timestamp::now(),
                )
                .await?
                .id
                .to_string()
        }
    };
    let mut convs = Vec::with_capacity(args.conversations);
    for i in 0..args.conversations {
        let contact = post(
            &client,
            &format!("{base}/api/v1/contacts"),
            &token,
            json!({"name": format!("Customer {i}")}),
        )
        .await?;
        let conv = post(
            &client,
            &format!("{base}/api/v1/conversations"),
            &token,
            json!({"channel_id": ch, "contact_id": contact["id"]}),
        )
        .await?;
        convs.push(format!(
            "{base}/api/v1/conversations/{}/messages",
            conv["conversation"]["id"].as_str().unwrap_or_default()
        ));
    }
    let convs = Arc::new(convs);

    let start = Instant::now();
    let measure_from = start + Duration::from_secs(args.warmup);
    let end = measure_from + Duration::from_secs(args.seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..args.clients {
        let (client, token, convs) = (client.clone(), token.clone(), convs.clone());
        tasks.spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            let mut i = 0usize;
            while Instant::now() < end {
                let url = &convs[(c * 7919 + i) % convs.len()];
                let body = json!({"kind": if i.is_multiple_of(2) { "incoming" } else { "outgoing" },
                    "content": "您好，我的订单什么时候发货？ Hello, when will my order ship?"});
                let t0 = Instant::now();
                let res = client
                    .post(url)
                    .bearer_auth(&token)
                    .header("idempotency-key", format!("bench-{c}-{i}"))
                    .json(&body)
                    .send()
                    .await;
                let ok = match res {
                    Ok(r) => r.status().as_u16() == 201 && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                if t0 >= measure_from && Instant::now() <= end {
                    if ok {
                        lat.push(t0.elapsed().as_micros() as u64);
                    } else {
                        errors += 1;
                    }
                }
                i += 1;
            }
            (lat, errors)
        });
    }
    let mut all = Vec::new();
    let mut errors = 0;
    while let Some(r) = tasks.join_next().await {
        let (lat, e) = r?;
        all.extend(lat);
        errors += e;
    }
    all.sort_unstable();
    let rate = all.len() as f64 / args.seconds as f64;
    println!(
        "backend={backend} clients={} conversations={} seconds={} messages={} errors={errors} rate={rate:.0} msg/s \
         p50={:.2}ms p90={:.2}ms p99={:.2}ms max={:.2}ms",
        args.clients,
        args.conversations,
        args.seconds,
        all.len(),
        percentile(&all, 0.50),
        percentile(&all, 0.90),
        percentile(&all, 0.99),
        percentile(&all, 1.0),
    );
    let _ = stop_tx.send(());
    let _ = server.await;
    Ok(())
}

#[derive(Args, Debug)]
pub struct RealtimeArgs {
    /// Idle agent WebSockets to open at once.
    #[arg(long, default_value_t = 10_000)]
    connections: usize,
    /// Sockets that stay open for the latency phase.
    #[arg(long, default_value_t = 1_000)]
    agents: usize,
    /// Visitor messages sent in the latency phase, one after another.
    #[arg(long, default_value_t = 100)]
    messages: usize,
    /// Measure the anchor instead: a bare axum WebSocket broadcast server with the library's default
    /// buffers, no authentication and no database.
    #[arg(long)]
    anchor: bool,
}

/// The resident memory of a process, in KiB (Linux).
fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS line")?;
    Ok(line.split_whitespace().nth(1).context("no VmRSS value")?.parse()?)
}

/// Kills the child server when the benchmark ends.
pub(crate) struct ChildServer(std::process::Child);

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `exe args…` and returns it with the address from its first line (`… http://ADDR`).
pub(crate) fn spawn_server(exe: &std::path::Path, args: &[&str]) -> anyhow::Result<(ChildServer, String)> {
    use std::io::BufRead;
    let mut child = std::process::Command::new(exe)
        .args(args)
        .env_remove("LIANLUO_DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().context("server stdout")?;
    let server = ChildServer(child);
    let mut line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut line)?;
    let addr = line.rsplit("http://").next().context("server address")?.trim().to_string();
    Ok((server, addr))
}

pub(crate) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a WebSocket and waits for the server's `ready` frame.
pub(crate) async fn open_ws(url: &str, bearer: Option<&str>) -> anyhow::Result<Ws> {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};
    let mut req = url.into_client_request()?;
    if let Some(t) = bearer {
        req.headers_mut().insert("authorization", format!("Bearer {t}").parse()?);
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await?;
    while let Some(msg) = ws.next().await {
        if let Message::Text(t) = msg?
            && t.contains("\"ready\"")
        {
            return Ok(ws);
        }
    }
    bail!("socket closed before ready")
}

type SendFn = Box<
    dyn Fn(usize) -> std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send>>
        + Send
        + Sync,
>;

/// Phase 1 (idle sockets and memory) and phase 2 (fan-out latency), the same for Lianluo and the anchor.
async fn measure(
    pid: u32,
    url: &str,
    bearer: Option<&str>,
    args: &RealtimeArgs,
    send: SendFn,
) -> anyhow::Result<()> {
    use futures_util::StreamExt;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = rss_kib(pid)?;
    let mut sockets: Vec<Ws> = Vec::with_capacity(args.connections);
    let started = Instant::now();
    while sockets.len() < args.connections {
        let n = (args.connections - sockets.len()).min(250);
        for s in futures_util::future::join_all((0..n).map(|_| open_ws(url, bearer))).await {
            sockets.push(s?);
        }
    }
    let connect_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(pid)?;
    let per_conn = after.saturating_sub(before) as f64 / args.connections as f64;
    println!(
        "connections={} connect_time={connect_secs:.1}s server_rss_before={before}KiB server_rss_after={after}KiB \
         per_connection={per_conn:.1}KiB",
        args.connections
    );

    sockets.truncate(args.agents);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
    for mut ws in sockets {
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Some(Ok(msg)) = ws.next().await {
                if let tokio_tungstenite::tungstenite::Message::Text(t) = msg
                    && t.contains("message.created")
                    && let Some(i) = t.find("bench-msg-").map(|p| &t[p + 10..])
                {
                    let n: String = i.chars().take_while(char::is_ascii_digit).collect();
                    if let Ok(n) = n.parse() {
                        let _ = tx.send((n, Instant::now()));
                    }
                }
            }
        });
    }
    drop(tx);
    let mut all = Vec::with_capacity(args.messages * args.agents);
    let mut last = Vec::with_capacity(args.messages);
    for i in 0..args.messages {
        let t0 = Instant::now();
        send(i).await?;
        let mut got = 0;
        let deadline = t0 + Duration::from_secs(10);
        while got < args.agents {
            let Ok(Some((n, at))) = tokio::time::timeout_at(deadline.into(), rx.recv()).await else {
                bail!("message {i} reached only {got} of {} sockets", args.agents)
            };
            if n == i {
                got += 1;
                let us = at.duration_since(t0).as_micros() as u64;
                all.push(us);
                if got == args.agents {
                    last.push(us);
                }
            }
        }
    }
    all.sort_unstable();
    last.sort_unstable();
    println!(
        "agents={} messages={} deliveries={} p50={:.2}ms p99={:.2}ms max={:.2}ms; all {} sockets reached: p50={:.2}ms p99={:.2}ms",
        args.agents,
        args.messages,
        all.len(),
        percentile(&all, 0.50),
        percentile(&all, 0.99),
        percentile(&all, 1.0),
        args.agents,
        percentile(&last, 0.50),
        percentile(&last, 0.99),
    );
    Ok(())
}

/// `lianluo bench realtime`: idle connections and their memory, then fan-out latency; `--anchor` measures
/// the bare broadcast server the same way.
pub async fn realtime(args: RealtimeArgs) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    let client = reqwest::Client::new();
    if args.anchor {
        let (server, addr) = spawn_server(&exe, &["bench", "ws-anchor-server"])?;
        let base = format!("http://{addr}");
        let send: SendFn = Box::new(move |i| {
            let (client, base) = (client.clone(), base.clone());
            Box::pin(async move {
                let body = format!(
                    r#"{{"type":"event","kind":"message.created","data":{{"content":"bench-msg-{i}"}}}}"#
                );
                client.post(format!("{base}/send")).body(body).send().await?.error_for_status()?;
                Ok(())
            })
        });
        let r = measure(server.0.id(), &format!("ws://{addr}/ws"), None, &args, send).await;
        drop(server);
        return r;
    }
    let (server, addr, dir) = bench_server("rt", "")?;
    let base = format!("http://{addr}");
    let (cookie, csrf, token) =
        sign_in(&client, &base, "bench@lianluo.example", BENCH_PASSWORD, "agent").await?;
    let admin_post = |path: &str, body: Value| {
        client
            .post(format!("{base}{path}"))
            .header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
            .json(&body)
            .send()
    };
    let channel = admin_post("/api/v1/channels", json!({"kind": "web_widget", "name": "bench"}))
        .await?
        .json::<Value>()
        .await?;
    let public = channel["public_token"].as_str().context("no public token")?.to_string();
    let visitor = client
        .post(format!("{base}/widget/v1/sessions"))
        .json(&json!({"channel": public}))
        .send()
        .await?
        .json::<Value>()
        .await?["visitor_token"]
        .as_str()
        .context("no visitor token")?
        .to_string();
    let send: SendFn = Box::new(move |i| {
        let (client, base, visitor) = (client.clone(), base.clone(), visitor.clone());
        Box::pin(async move {
            client
                .post(format!("{base}/widget/v1/messages"))
                .bearer_auth(&visitor)
                .json(&json!({"content": format!("bench-msg-{i} 请问什么时候发货？")}))
                .send()
                .await?
                .error_for_status()?;
            Ok(())
        })
    });
    let r = measure(server.0.id(), &format!("ws://{addr}/api/v1/realtime"), Some(&token), &args, send).await;
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    r
}

/// A temporary data directory and configuration, a workspace with an admin (`bench@lianluo.example`,
/// [`BENCH_PASSWORD`]), and `lianluo serve` on it as a child process. `extra_config` is appended to the
/// configuration file.
pub(crate) fn bench_server(
    name: &str,
    extra_config: &str,
) -> anyhow::Result<(ChildServer, String, std::path::PathBuf)> {
    let exe = std::env::current_exe()?;
    let dir = std::env::temp_dir().join(format!("lianluo-bench-{name}-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("bench.toml");
    std::fs::write(
        &config,
        format!(
            "log = \"warn\"\n{extra_config}\n[server]\nwidget_messages_per_minute = 1000000\nwidget_visitors_per_client_per_minute = 1000000\n"
        ),
    )?;
    let d = dir.to_str().context("temp dir path")?;
    let c = config.to_str().context("config path")?;
    let status = std::process::Command::new(&exe)
        .args(["admin", "create", "--config", c, "--data-dir", d, "--workspace", "Bench", "--slug", "bench"])
        .args(["--name", "Bench", "--email", "bench@lianluo.example"])
        .env("LIANLUO_ADMIN_PASSWORD", BENCH_PASSWORD)
        .env_remove("LIANLUO_DATABASE_URL")
        .stdout(std::process::Stdio::null())
        .status()?;
    if !status.success() {
        bail!("admin create failed");
    }
    let (server, addr) =
        spawn_server(&exe, &["serve", "--config", c, "--data-dir", d, "--listen", "127.0.0.1:0"])?;
    Ok((server, addr, dir))
}

/// The benchmark admin's password.
pub(crate) const BENCH_PASSWORD: &str = "bench-password-123";

/// The anchor: a WebSocket broadcast server as the axum documentation builds one, with the library's
/// defaults (`bench ws-anchor-server`, started by `bench realtime --anchor`).
pub async fn anchor_server() -> anyhow::Result<()> {
    use axum::{
        Router,
        extract::{State, WebSocketUpgrade, ws::Message},
        routing::{get, post},
    };
    let (tx, _) = tokio::sync::broadcast::channel::<String>(1024);
    let app = Router::new()
        .route(
            "/ws",
            get(
                |ws: WebSocketUpgrade, State(tx): State<tokio::sync::broadcast::Sender<String>>| async move {
                    ws.on_upgrade(move |mut socket| async move {
                        let mut rx = tx.subscribe();
                        if socket.send(Message::Text(r#"{"type":"ready"}"#.into())).await.is_err() {
                            return;
                        }
                        loop {
                            tokio::select! {
                                m = socket.recv() => if !matches!(m, Some(Ok(_))) { break },
                                r = rx.recv() => match r {
                                    Ok(t) => if socket.send(Message::Text(t.into())).await.is_err() { break },
                                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                                    Err(_) => break,
                                },
                            }
                        }
                    })
                },
            ),
        )
        .route(
            "/send",
            post(|State(tx): State<tokio::sync::broadcast::Sender<String>>, body: String| async move {
                let _ = tx.send(body);
                axum::http::StatusCode::NO_CONTENT
            }),
        )
        .with_state(tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("anchor listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
