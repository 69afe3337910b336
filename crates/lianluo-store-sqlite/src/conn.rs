//! Connections: the writer thread with group commit, and the read pool.

use std::{
    future::Future,
    path::Path,
    sync::{Arc, Mutex},
    task::{Context, Poll, Waker},
};

use async_trait::async_trait;
use lianluo_store::{
    Result, StoreError,
    migrate::{Migration, edited_error},
    tx::{Backend, TxFn},
};
use rusqlite::Connection;
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::rows::SqliteTx;

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

/// Tuning knobs; the defaults suit a small server.
#[derive(Debug, Clone)]
pub struct Options {
    pub readers: usize,
    /// Units of work waiting for the writer before new writes are refused as busy.
    pub write_queue: usize,
    /// Most units of work committed together.
    pub max_batch: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self { readers: 4, write_queue: 16_384, max_batch: 1024 }
    }
}

type Completion = Box<dyn FnOnce(Result<()>) + Send>;
type Job = Box<dyn FnOnce(&mut SqliteTx) -> (bool, Completion) + Send>;

/// The SQLite backend: a writer thread and a pool of readers over one database file.
pub struct Sqlite {
    writer: mpsc::Sender<Job>,
    readers: Arc<Mutex<Vec<SqliteTx>>>,
    permits: Arc<Semaphore>,
}

fn db_err(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn connect(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).map_err(db_err)?;
    // synchronous=FULL: a commit is on disk before the caller hears of it.
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000;",
    )
    .map_err(db_err)?;
    Ok(conn)
}

fn migrate(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at INTEGER NOT NULL)",
    )
    .map_err(db_err)?;
    for m in MIGRATIONS {
        let applied: Option<String> = conn
            .query_row("SELECT checksum FROM schema_migrations WHERE version = ?1", [m.version], |r| r.get(0))
            .map(Some)
            .or_else(|e| if e == rusqlite::Error::QueryReturnedNoRows { Ok(None) } else { Err(e) })
            .map_err(db_err)?;
        match applied {
            Some(sum) if sum == m.checksum() => continue,
            Some(_) => return Err(edited_error(m)),
            None => {}
        }
        let tx = conn.unchecked_transaction().map_err(db_err)?;
        tx.execute_batch(m.sql).map_err(db_err)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![m.version, m.name, m.checksum(), lianluo_domain::Timestamp::now().0],
        )
        .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        tracing::info!(migration.version = m.version, migration.name = m.name, "applied migration");
    }
    Ok(())
}

/// Runs a future that never waits: every SQLite primitive is synchronous, so it completes on its first poll.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}

impl Sqlite {
    pub fn open(path: &Path, opts: Options) -> Result<Self> {
        let writer_conn = connect(path)?;
        migrate(&writer_conn)?;
        let mut readers = Vec::with_capacity(opts.readers);
        for _ in 0..opts.readers.max(1) {
            let c = connect(path)?;
            c.execute_batch("PRAGMA query_only=ON;").map_err(db_err)?;
            readers.push(SqliteTx::new(c));
        }
        let (tx, rx) = mpsc::channel(opts.write_queue);
        let max_batch = opts.max_batch.max(1);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(SqliteTx::new(writer_conn), rx, max_batch))
            .map_err(|e| StoreError::Backend(format!("cannot start the SQLite writer: {e}")))?;
        Ok(Self {
            writer: tx,
            permits: Arc::new(Semaphore::new(readers.len())),
            readers: Arc::new(Mutex::new(readers)),
        })
    }
}

fn writer_loop(mut tx: SqliteTx, mut rx: mpsc::Receiver<Job>, max_batch: usize) {
    let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let n = batch.len();
        if let Err(e) = tx.conn.execute_batch("BEGIN IMMEDIATE") {
            // Nothing ran; dropping the jobs answers their callers with an error.
            tracing::error!(error = %e, batch.size = n, "cannot begin a write transaction");
            batch.clear();
            continue;
        }
        let mut completions: Vec<Completion> = Vec::with_capacity(n);
        for job in batch.drain(..) {
            let sp = tx.conn.execute_batch("SAVEPOINT job");
            // A panicking unit of work (a bug) must not take the writer, and every later write, with it:
            // its changes are rolled back and its caller gets an error when the completion is dropped.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut tx)));
            let (ok, done) = match outcome {
                Ok((ok, done)) => (ok, Some(done)),
                Err(_) => {
                    tracing::error!("a unit of work panicked; its changes were rolled back");
                    (false, None)
                }
            };
            if sp.is_ok() {
                let end = if ok { "RELEASE job" } else { "ROLLBACK TO job; RELEASE job" };
                if let Err(e) = tx.conn.execute_batch(end) {
                    tracing::error!(error = %e, "savepoint failed");
                }
            }
            completions.extend(done);
        }
        let commit = tx.conn.execute_batch("COMMIT").map_err(db_err);
        if commit.is_err() {
            let _ = tx.conn.execute_batch("ROLLBACK");
        }
        for done in completions {
            done(match &commit {
                Ok(()) => Ok(()),
                Err(e) => Err(StoreError::Backend(e.to_string())),
            });
        }
    }
}

#[async_trait]
impl Backend for Sqlite {
    type Tx = SqliteTx;

    fn name(&self) -> &'static str {
        "sqlite"
    }

    async fn write<R: Send + 'static>(&self, f: TxFn<SqliteTx, R>) -> Result<R> {
        let (reply, answer) = oneshot::channel::<Result<R>>();
        let job: Job = Box::new(move |tx| {
            let result = block_on(f(tx));
            let ok = result.is_ok();
            let done: Completion = Box::new(move |commit| {
                let _ = reply.send(commit.and(result));
            });
            (ok, done)
        });
        self.writer.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => StoreError::Busy,
            mpsc::error::TrySendError::Closed(_) => {
                StoreError::Backend("the SQLite writer has stopped".into())
            }
        })?;
        answer.await.map_err(|_| StoreError::Backend("the SQLite writer dropped a request".into()))?
    }

    async fn read<R: Send + 'static>(&self, f: TxFn<SqliteTx, R>) -> Result<R> {
        let _permit = self.permits.acquire().await.map_err(|_| StoreError::Busy)?;
        let pool = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let mut tx = pool.lock().unwrap_or_else(|p| p.into_inner()).pop().ok_or(StoreError::Busy)?;
            let result = match tx.conn.execute_batch("BEGIN") {
                Ok(()) => {
                    let r = block_on(f(&mut tx));
                    let _ = tx.conn.execute_batch("COMMIT");
                    r
                }
                Err(e) => Err(db_err(e)),
            };
            pool.lock().unwrap_or_else(|p| p.into_inner()).push(tx);
            result
        })
        .await
        .map_err(|e| StoreError::Backend(format!("read task failed: {e}")))?
    }
}
