//! The PostgreSQL store, for installations that outgrow one machine. Chosen by a `postgres://` URL.
//!
//! Each unit of work runs in its own transaction on a pooled connection, in a task of its own so that a
//! client hanging up cannot leave a transaction half done. Rows a write will change are locked with
//! `SELECT … FOR UPDATE`, so concurrent writers never lose each other's updates.

mod csat;
mod jobs;
mod rows;

use std::str::FromStr;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use lianluo_store::{
    Result, SqlStore, StoreError,
    migrate::{Migration, edited_error},
    tx::{Backend, TxFn},
};
pub use rows::PgTx;
use tokio_postgres::NoTls;

const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "init", sql: include_str!("../migrations/0001_init.sql") },
    Migration { version: 2, name: "maintenance", sql: include_str!("../migrations/0002_maintenance.sql") },
    Migration { version: 3, name: "widget", sql: include_str!("../migrations/0003_widget.sql") },
    Migration { version: 4, name: "inbox", sql: include_str!("../migrations/0004_inbox.sql") },
    Migration { version: 5, name: "knowledge", sql: include_str!("../migrations/0005_knowledge.sql") },
    Migration { version: 6, name: "kb_questions", sql: include_str!("../migrations/0006_kb_questions.sql") },
    Migration {
        version: 7,
        name: "kb_files_and_candidates",
        sql: include_str!("../migrations/0007_kb_files_and_candidates.sql"),
    },
    Migration { version: 8, name: "workspace_ai", sql: include_str!("../migrations/0008_workspace_ai.sql") },
    Migration { version: 9, name: "kb_held", sql: include_str!("../migrations/0009_kb_held.sql") },
    Migration {
        version: 10,
        name: "kb_candidate_confidence",
        sql: include_str!("../migrations/0010_kb_candidate_confidence.sql"),
    },
    Migration { version: 11, name: "jobs", sql: include_str!("../migrations/0011_jobs.sql") },
    Migration {
        version: 12,
        name: "conversation_opening_key",
        sql: include_str!("../migrations/0012_conversation_opening_key.sql"),
    },
    Migration {
        version: 13,
        name: "team_member_position",
        sql: include_str!("../migrations/0013_team_member_position.sql"),
    },
    Migration { version: 14, name: "held_code", sql: include_str!("../migrations/0014_held_code.sql") },
    Migration { version: 15, name: "csat", sql: include_str!("../migrations/0015_csat.sql") },
];

/// Connections kept open by default.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// The PostgreSQL backend: a pool of connections.
pub struct Postgres {
    pool: Pool,
}

fn pg_err(e: tokio_postgres::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Connects to the database at `url` (`postgres://user@host:port/db`), applies pending migrations,
/// and returns the store.
pub async fn connect(url: &str, pool_size: usize) -> Result<SqlStore<Postgres>> {
    connect_in_schema(url, None, pool_size).await
}

/// Like [`connect`], but keeps every table in `schema` (created if missing): one database can then hold
/// several independent stores, as the tests do.
pub async fn connect_in_schema(
    url: &str,
    schema: Option<&str>,
    pool_size: usize,
) -> Result<SqlStore<Postgres>> {
    let mut cfg = tokio_postgres::Config::from_str(url)
        .map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?;
    if let Some(schema) = schema {
        if !schema.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(StoreError::Backend(format!("invalid schema name {schema:?}")));
        }
        let (client, conn) = cfg.connect(NoTls).await.map_err(pg_err)?;
        let task = tokio::spawn(conn);
        client.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}")).await.map_err(pg_err)?;
        drop(client);
        let _ = task.await;
        cfg.options(format!("-c search_path={schema}"));
    }
    let mgr = Manager::from_config(cfg, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    let pool = Pool::builder(mgr)
        .max_size(pool_size.max(1))
        .build()
        .map_err(|e| StoreError::Backend(format!("cannot build the connection pool: {e}")))?;
    let client =
        pool.get().await.map_err(|e| StoreError::Backend(format!("cannot connect to PostgreSQL: {e}")))?;
    migrate(&client).await?;
    Ok(SqlStore(Postgres { pool }))
}

/// Drops a schema made by [`connect_in_schema`] and everything in it. Runs on a runtime of its own, so it
/// can be called from `Drop` (tests and benchmarks clean up with it). Errors are ignored: it is cleanup.
pub fn drop_schema_blocking(url: &str, schema: &str) {
    if !schema.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
        return;
    }
    let (url, sql) = (url.to_string(), format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
    let _ = std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
        rt.block_on(async {
            if let Ok((client, conn)) = tokio_postgres::connect(&url, NoTls).await {
                tokio::spawn(conn);
                let _ = client.batch_execute(&sql).await;
            }
        });
    })
    .join();
}

async fn migrate(client: &Object) -> Result<()> {
    client.batch_execute("BEGIN; SELECT pg_advisory_xact_lock(7275737401);").await.map_err(pg_err)?;
    let result = async {
        client
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version bigint PRIMARY KEY, name text NOT NULL, \
                 checksum text NOT NULL, applied_at bigint NOT NULL)",
            )
            .await
            .map_err(pg_err)?;
        for m in MIGRATIONS {
            let row = client
                .query_opt("SELECT checksum FROM schema_migrations WHERE version = $1", &[&m.version])
                .await
                .map_err(pg_err)?;
            match row.map(|r| r.get::<_, String>(0)) {
                Some(sum) if sum == m.checksum() => continue,
                Some(_) => return Err(edited_error(m)),
                None => {}
            }
            client.batch_execute(m.sql).await.map_err(pg_err)?;
            client
                .execute(
                    "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
                    &[&m.version, &m.name, &m.checksum(), &lianluo_domain::Timestamp::now().0],
                )
                .await
                .map_err(pg_err)?;
            tracing::info!(migration.version = m.version, migration.name = m.name, "applied migration");
        }
        Ok(())
    }
    .await;
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    client.batch_execute(end).await.map_err(pg_err)?;
    result
}

impl Postgres {
    async fn run<R: Send + 'static>(&self, begin: &'static str, f: TxFn<PgTx, R>) -> Result<R> {
        let client = self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Timeout(_) => StoreError::Busy,
            e => StoreError::Backend(e.to_string()),
        })?;
        // Own task: the transaction finishes even if the caller goes away.
        tokio::spawn(async move {
            let mut tx = PgTx::new(client);
            tx.client().batch_execute(begin).await.map_err(pg_err)?;
            let result = f(&mut tx).await;
            let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
            tx.client().batch_execute(end).await.map_err(rows::db)?;
            tx.finished();
            result
        })
        .await
        .map_err(|e| StoreError::Backend(format!("database task failed: {e}")))?
    }
}

#[async_trait]
impl Backend for Postgres {
    type Tx = PgTx;

    fn name(&self) -> &'static str {
        "postgres"
    }

    async fn write<R: Send + 'static>(&self, f: TxFn<PgTx, R>) -> Result<R> {
        self.run("BEGIN", f).await
    }

    async fn read<R: Send + 'static>(&self, f: TxFn<PgTx, R>) -> Result<R> {
        self.run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", f).await
    }
}
