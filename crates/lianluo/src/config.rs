//! The configuration: defaults, then a TOML file, then `LIANLUO_*` environment variables, then flags.

use std::{
    fmt,
    net::SocketAddr,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use lianluo_server::ServerConfig;
use serde::{Deserialize, Deserializer};

/// A secret value: usable, but never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// Everything `lianluo` can be configured with. See `config.example.toml`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Where the SQLite database (and later models and uploads) live.
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL instead of the embedded SQLite database.
    pub database_url: Option<Secret>,
    /// PostgreSQL connections to keep.
    pub database_pool_size: usize,
    /// Log filter, in `tracing` syntax (`info`, `lianluo=debug,info`).
    pub log: String,
    /// `text` or `json`.
    pub log_format: String,
    pub server: ServerConfig,
    pub models: ModelsConfig,
    pub knowledge: KnowledgeConfig,
}

/// The knowledge base's sources.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct KnowledgeConfig {
    /// Lets website sources on private, loopback and link-local addresses be crawled, for an intranet
    /// help centre (LIANLUO_CRAWL_PRIVATE_NETWORKS). Off, an admin cannot make the server read its network.
    pub crawl_private_networks: bool,
    /// Lets workspaces use their own chat and embedding providers on private, loopback and link-local
    /// addresses (LIANLUO_PRIVATE_MODEL_PROVIDERS). Off, a workspace admin cannot make the server send
    /// requests and keys into its network; the endpoints in `[models]` are always allowed.
    pub private_model_providers: bool,
}

/// The models behind the knowledge base and the AI agent.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ModelsConfig {
    /// Where the embedded models are (LIANLUO_MODELS_DIR); absent: `models` under the data directory,
    /// where `scripts/fetch-models` puts them for the default `./data`.
    pub dir: Option<PathBuf>,
    /// A GGUF chat model to run instead of the bundled SmolLM2 (for example a Qwen2.5 instruct GGUF).
    pub chat_gguf: Option<PathBuf>,
    /// `extractive` quotes the best passage; `generative` lets the chat model write the answer from the
    /// passages and checks it against them. Use `generative` with a stronger model than the bundled one.
    pub answer_mode: lianluo_knowledge::AnswerMode,
    /// The embedded embedder: `multilingual-e5-small` (Chinese and English) or `all-minilm-l6-v2`
    /// (English only). Changing it re-embeds every source at the next start.
    pub embedder: EmbedderChoice,
    /// CPU threads for the embedded models; 0 uses every core.
    pub threads: usize,
    /// Requests that may wait for the embedded chat model while it answers one; more are refused at
    /// once (`429` with `Retry-After` on `/v1/chat/completions`; the AI agent quotes instead).
    pub chat_queue: usize,
    /// An OpenAI-compatible endpoint to chat with instead of the embedded model.
    pub chat_endpoint: Option<lianluo_models::OpenAiEndpoint>,
    /// An OpenAI-compatible endpoint for embeddings instead of the embedded model.
    pub embedding_endpoint: Option<lianluo_models::OpenAiEndpoint>,
}

/// Which embedded embedder to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum EmbedderChoice {
    #[serde(rename = "multilingual-e5-small")]
    MultilingualE5Small,
    #[serde(rename = "all-minilm-l6-v2")]
    AllMiniLmL6V2,
}

impl Default for ModelsConfig {
    fn default() -> Self {
        Self {
            dir: None,
            chat_gguf: None,
            answer_mode: lianluo_knowledge::AnswerMode::Extractive,
            embedder: EmbedderChoice::MultilingualE5Small,
            threads: 0,
            chat_queue: lianluo_models::DEFAULT_CHAT_QUEUE,
            chat_endpoint: None,
            embedding_endpoint: None,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            database_pool_size: lianluo_store_postgres::DEFAULT_POOL_SIZE,
            log: "info".into(),
            log_format: "text".into(),
            server: ServerConfig::default(),
            models: ModelsConfig::default(),
            knowledge: KnowledgeConfig::default(),
        }
    }
}

/// Reads an environment variable, treating an empty value as unset.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Config {
    /// The directory the embedded models are read from: `models.dir`, else `models` under the data
    /// directory (so a server started from anywhere with `--data-dir` finds them).
    pub fn models_dir(&self) -> PathBuf {
        self.models.dir.clone().unwrap_or_else(|| self.data_dir.join("models"))
    }

    /// How the knowledge service behaves.
    pub fn knowledge_settings(&self) -> lianluo_server::knowledge::Settings {
        lianluo_server::knowledge::Settings {
            answer_mode: self.models.answer_mode,
            crawl_private_networks: self.knowledge.crawl_private_networks,
            private_model_providers: self.knowledge.private_model_providers,
        }
    }

    /// Loads the layers below the command-line flags. `file` is `--config`; without it,
    /// `LIANLUO_CONFIG` or `./lianluo.toml` is read if present.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let explicit = file.map(Path::to_path_buf).or_else(|| env("LIANLUO_CONFIG").map(PathBuf::from));
        let mut cfg = match &explicit {
            Some(path) => Self::from_file(path)?,
            None if Path::new("lianluo.toml").exists() => Self::from_file(Path::new("lianluo.toml"))?,
            None => Self::default(),
        };
        cfg.apply_env()?;
        Ok(cfg)
    }

    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid configuration in {}", path.display()))
    }

    fn apply_env(&mut self) -> anyhow::Result<()> {
        if let Some(v) = env("LIANLUO_LISTEN") {
            self.listen = v.parse().with_context(|| format!("LIANLUO_LISTEN={v:?} is not an address"))?;
        }
        if let Some(v) = env("LIANLUO_DATA_DIR") {
            self.data_dir = v.into();
        }
        if let Some(v) = env("LIANLUO_DATABASE_URL") {
            self.database_url = Some(Secret::new(v));
        }
        if let Some(v) = env("LIANLUO_DATABASE_POOL_SIZE") {
            self.database_pool_size = v.parse().context("LIANLUO_DATABASE_POOL_SIZE must be a number")?;
        }
        if let Some(v) = env("LIANLUO_MODELS_DIR") {
            self.models.dir = Some(v.into());
        }
        if let Some(v) = env("LIANLUO_LOG") {
            self.log = v;
        }
        if let Some(v) = env("LIANLUO_LOG_FORMAT") {
            self.log_format = v;
        }
        if let Some(v) = env("LIANLUO_SECURE_COOKIES") {
            self.server.secure_cookies = matches!(v.as_str(), "1" | "true" | "yes");
        }
        if let Some(v) = env("LIANLUO_CRAWL_PRIVATE_NETWORKS") {
            self.knowledge.crawl_private_networks = matches!(v.as_str(), "1" | "true" | "yes");
        }
        if let Some(v) = env("LIANLUO_PRIVATE_MODEL_PROVIDERS") {
            self.knowledge.private_model_providers = matches!(v.as_str(), "1" | "true" | "yes");
        }
        if let Some(v) = env("LIANLUO_AI_WORKERS") {
            self.server.ai_workers =
                v.parse().map_err(|_| anyhow::anyhow!("LIANLUO_AI_WORKERS must be a number"))?;
        }
        if let Some(v) = env("LIANLUO_JOB_WORKERS") {
            self.server.job_workers =
                v.parse().map_err(|_| anyhow::anyhow!("LIANLUO_JOB_WORKERS must be a number"))?;
        }
        Ok(())
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> anyhow::Result<()> {
        if !matches!(self.log_format.as_str(), "text" | "json") {
            bail!("log_format must be \"text\" or \"json\"");
        }
        if let Some(url) = &self.database_url
            && !(url.expose().starts_with("postgres://") || url.expose().starts_with("postgresql://"))
        {
            bail!(
                "database_url must start with postgres:// (leave it unset for the embedded SQLite database)"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_file_matches_the_defaults() {
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config.example.toml");
        assert_eq!(Config::from_file(Path::new(example)).unwrap(), Config::default());
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<Config>("listne = \"0.0.0.0:80\"").is_err());
    }

    #[test]
    fn secrets_do_not_print() {
        let cfg =
            Config { database_url: Some(Secret::new("postgres://u:hunter2@db/x")), ..Config::default() };
        assert!(!format!("{cfg:?}").contains("hunter2"));
    }
}
