//! `lianluo`: one binary whose subcommands are the roles — serve, migrate, admin, demo, bench.

mod bench;
mod bench_kb;
mod config;
mod demo;
mod eval;
mod eval_mined;

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use config::Config;
use lianluo_server::{AppState, setup::NewWorkspace};
use lianluo_store::Store;

#[derive(Parser)]
#[command(name = "lianluo", version, about = "Lianluo 联络: a self-hosted AI customer contact center")]
struct Cli {
    /// Configuration file (TOML). Default: $LIANLUO_CONFIG, else ./lianluo.toml if present.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: the API on --listen, data in --data-dir (or PostgreSQL via LIANLUO_DATABASE_URL).
    Serve(Place),
    /// Apply pending database migrations and exit (serve and demo also do this at start).
    Migrate(Place),
    /// Administer workspaces and users.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Create (once) a demo workspace for a fictional electronics brand with agents, contacts and
    /// thousands of conversations, then serve it and print the URL and logins.
    Demo(DemoArgs),
    /// Measure performance; results go to BENCHMARKS.md.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Measure the AI features on a labelled set.
    #[command(subcommand)]
    Eval(EvalCommand),
}

#[derive(Subcommand)]
enum EvalCommand {
    /// Retrieval, re-ranking and answers on our own labelled questions (JSONL), or `--fit` on a training set.
    Kb(eval::KbArgs),
    /// The same measures on our FAQ set: a FAQ table (CSV) and customer questions matched against it (JSONL).
    Faq(eval::FaqArgs),
    /// The same measures on PAWS-X Chinese framed as FAQ retrieval (the folder of faq_bank.tsv and the rest).
    Pawsx(eval::PublicArgs),
    /// The same measures on BANKING77 framed as question matching (the folder of train.csv and test.csv).
    Banking77(eval::PublicArgs),
    /// How mined candidates are sorted: precision of the candidates kept at each confidence, on a
    /// labelled JSONL sample of the demo's candidates.
    Mined(eval_mined::MinedArgs),
}

/// Where to listen and keep data; flags override the configuration.
#[derive(Args, Clone, Default)]
struct Place {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Directory for the embedded database [default: ./data].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a workspace and its first admin user.
    Create(AdminCreate),
}

#[derive(Args)]
struct AdminCreate {
    #[command(flatten)]
    place: Place,
    /// The workspace's display name.
    #[arg(long)]
    workspace: String,
    /// Short unique handle of the workspace (a-z, 0-9, -).
    #[arg(long)]
    slug: String,
    /// The admin's display name.
    #[arg(long)]
    name: String,
    /// The admin's sign-in email.
    #[arg(long)]
    email: String,
    /// The admin's password (10 to 200 characters); prefer the environment variable.
    #[arg(long, env = "LIANLUO_ADMIN_PASSWORD", hide_env_values = true)]
    password: String,
}

#[derive(Args)]
struct DemoArgs {
    #[command(flatten)]
    place: Place,
    /// Seed of the generator: the same seed gives the same demo content.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Number of contacts to create.
    #[arg(long, default_value_t = 300)]
    contacts: usize,
    /// Number of conversations to create.
    #[arg(long, default_value_t = 3000)]
    conversations: usize,
    /// Create the demo workspace and exit without serving.
    #[arg(long)]
    no_serve: bool,
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Concurrent clients posting messages through the real HTTP API: messages/s and latency.
    Ingest(bench::IngestArgs),
    /// Idle WebSockets held and memory per connection, then latency from a visitor's message to many agents.
    Realtime(bench::RealtimeArgs),
    /// Knowledge base: embedding, hybrid search, chat model speed, first streamed token of an answer.
    Kb(bench_kb::KbArgs),
    /// The bare WebSocket broadcast server `bench realtime --anchor` measures (not for direct use).
    #[command(hide = true)]
    WsAnchorServer,
}

fn init_logging(cfg: &Config) {
    use tracing_subscriber::{EnvFilter, fmt};
    let filter = EnvFilter::try_new(&cfg.log).unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour codes only for a person at a terminal, never in a file or a log collector.
    use std::io::IsTerminal;
    let builder =
        fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(std::io::stderr().is_terminal());
    if cfg.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Opens PostgreSQL when a URL is configured, else the SQLite file in the data directory.
async fn open_store(cfg: &Config) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match &cfg.database_url {
        Some(url) => Arc::new(
            lianluo_store_postgres::connect(url.expose(), cfg.database_pool_size)
                .await
                .context("cannot open the PostgreSQL database")?,
        ),
        None => Arc::new(
            lianluo_store_sqlite::open_in_dir(&cfg.data_dir)
                .with_context(|| format!("cannot open the database in {}", cfg.data_dir.display()))?,
        ),
    })
}

fn configure(cli_config: Option<&std::path::Path>, place: &Place) -> anyhow::Result<Config> {
    let mut cfg = Config::load(cli_config)?;
    if let Some(l) = place.listen {
        cfg.listen = l;
    }
    if let Some(d) = &place.data_dir {
        cfg.data_dir = d.clone();
    }
    cfg.validate()?;
    cfg.server.uploads_dir = Some(cfg.data_dir.join("uploads"));
    Ok(cfg)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

/// Binds the listener and serves until a signal; `ready` runs once the port is open.
async fn serve(cfg: &Config, store: Arc<dyn Store>, ready: impl FnOnce(SocketAddr)) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(listen = %addr, storage = store.backend(), "serving");
    ready(addr);
    let mut state = AppState::new(store.clone(), cfg.server.clone());
    match load_knowledge(cfg, store).await {
        Ok(kb) => state = state.with_knowledge(kb),
        Err(e) => tracing::warn!("the knowledge base is off: {e}"),
    }
    lianluo_server::serve(listener, state, shutdown_signal()).await?;
    Ok(())
}

/// Loads the configured models and the knowledge index.
async fn load_knowledge(
    cfg: &Config,
    store: Arc<dyn Store>,
) -> anyhow::Result<Arc<lianluo_server::knowledge::Knowledge>> {
    let (embedder, chat) = load_models(cfg).await?;
    lianluo_server::knowledge::Knowledge::load(store, embedder, Some(chat), cfg.knowledge_settings())
        .await
        .map_err(|e| anyhow::anyhow!(e))
}

/// Loads the configured embedder and chat model.
async fn load_models(
    cfg: &Config,
) -> anyhow::Result<(Arc<dyn lianluo_models::Embedder>, Arc<dyn lianluo_models::ChatModel>)> {
    use lianluo_models::{
        ChatModel, E5Small, EmbeddedPaths, Embedder, LlamaChat, MiniLm, OpenAiChat, OpenAiEmbedder,
    };
    let m = &cfg.models;
    let paths = EmbeddedPaths::in_dir(&cfg.models_dir());
    let threads = if m.threads == 0 { lianluo_models::default_threads() } else { m.threads };
    let embedder: Arc<dyn Embedder> = match &m.embedding_endpoint {
        Some(ep) => Arc::new(OpenAiEmbedder::connect(ep.clone()).await?),
        None => {
            let fetch = |e: lianluo_models::ModelError| {
                anyhow::anyhow!("{e} (run scripts/fetch-models, or set models.dir / LIANLUO_MODELS_DIR)")
            };
            match m.embedder {
                crate::config::EmbedderChoice::MultilingualE5Small => {
                    let file = paths.multilingual_embedder.clone();
                    Arc::new(tokio::task::spawn_blocking(move || E5Small::load(&file)).await?.map_err(fetch)?)
                }
                crate::config::EmbedderChoice::AllMiniLmL6V2 => {
                    let dir = paths.embedder_dir.clone();
                    Arc::new(tokio::task::spawn_blocking(move || MiniLm::load(&dir)).await?.map_err(fetch)?)
                }
            }
        }
    };
    let chat: Arc<dyn ChatModel> = match &m.chat_endpoint {
        Some(ep) => Arc::new(OpenAiChat::new(ep.clone())),
        None => {
            let file = m.chat_gguf.clone().unwrap_or(paths.chat_gguf);
            let queue = m.chat_queue.max(1);
            Arc::new(
                tokio::task::spawn_blocking(move || LlamaChat::load_with_queue(&file, threads, queue))
                    .await?
                    .map_err(|e| {
                        anyhow::anyhow!("{e} (run scripts/fetch-models, or set models.chat_gguf)")
                    })?,
            )
        }
    };
    tracing::info!(embedder = embedder.id(), chat = chat.id(), mode = ?m.answer_mode, "models loaded");
    Ok((embedder, chat))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lianluo_models::install_tls_provider();
    let cli = Cli::parse();
    let cfg_file = cli.config.as_deref();
    match cli.command {
        Command::Serve(place) => {
            let cfg = configure(cfg_file, &place)?;
            init_logging(&cfg);
            let store = open_store(&cfg).await?;
            serve(&cfg, store, |addr| println!("Lianluo is listening on http://{addr}")).await
        }
        Command::Migrate(place) => {
            let cfg = configure(cfg_file, &place)?;
            init_logging(&cfg);
            let store = open_store(&cfg).await?;
            println!("The {} database is up to date.", store.backend());
            Ok(())
        }
        Command::Admin(AdminCommand::Create(a)) => {
            let cfg = configure(cfg_file, &a.place)?;
            init_logging(&cfg);
            let store = open_store(&cfg).await?;
            let new = NewWorkspace {
                workspace_name: a.workspace,
                slug: a.slug,
                admin_name: a.name,
                admin_email: a.email,
                admin_password: a.password,
            };
            let (ws, user) = lianluo_server::setup::create_workspace(store.as_ref(), new)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "Created workspace {:?} ({}) with admin {} <{}>.",
                ws.name.as_str(),
                ws.slug,
                user.name,
                user.email
            );
            Ok(())
        }
        Command::Demo(d) => {
            let cfg = configure(cfg_file, &d.place)?;
            init_logging(&cfg);
            let store = open_store(&cfg).await?;
            let size = demo::Size { contacts: d.contacts, conversations: d.conversations };
            let logins = demo::seed(store.clone(), d.seed, size).await?;
            if d.no_serve {
                demo::print_logins(None, &logins);
                return Ok(());
            }
            let mut cfg = cfg;
            cfg.server.demo_shop_channel = logins.shop_channel.clone();
            serve(&cfg, store, |addr| demo::print_logins(Some(addr), &logins)).await
        }
        Command::Eval(EvalCommand::Kb(args)) => {
            let cfg = Config::load(cfg_file)?;
            eval::kb(&cfg, args).await
        }
        Command::Eval(EvalCommand::Faq(args)) => {
            let cfg = Config::load(cfg_file)?;
            eval::faq(&cfg, args).await
        }
        Command::Eval(EvalCommand::Pawsx(args)) => {
            let cfg = Config::load(cfg_file)?;
            eval::pawsx(&cfg, args).await
        }
        Command::Eval(EvalCommand::Banking77(args)) => {
            let cfg = Config::load(cfg_file)?;
            eval::banking77(&cfg, args).await
        }
        Command::Eval(EvalCommand::Mined(args)) => {
            let cfg = Config::load(cfg_file)?;
            eval_mined::mined(&cfg, args).await
        }
        Command::Bench(BenchCommand::Realtime(args)) => bench::realtime(args).await,
        Command::Bench(BenchCommand::Kb(args)) => {
            let cfg = Config::load(cfg_file)?;
            bench_kb::kb(&cfg, args).await
        }
        Command::Bench(BenchCommand::WsAnchorServer) => bench::anchor_server().await,
        Command::Bench(BenchCommand::Ingest(args)) => {
            let cfg = Config::load(cfg_file)?;
            bench::ingest(&cfg, args).await
        }
    }
}
