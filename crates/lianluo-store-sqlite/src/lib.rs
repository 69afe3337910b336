//! The embedded SQLite store: one file, WAL, no server to run.
//!
//! Writes go to a single writer thread that commits them in groups: every unit of work runs inside its
//! own savepoint, and one `COMMIT` (one fsync) makes a whole batch durable before any caller is answered.
//! Reads run on a small pool of read-only connections off the async runtime.

mod conn;
mod csat;
mod jobs;
mod rows;

use std::path::{Path, PathBuf};

pub use conn::Sqlite;
use lianluo_store::{SqlStore, StoreError};
pub use rows::SqliteTx;

/// Opens (creating if needed) the database file, applies pending migrations and starts the writer.
pub fn open(path: &Path) -> Result<SqlStore<Sqlite>, StoreError> {
    Sqlite::open(path, conn::Options::default()).map(SqlStore)
}

/// Opens the database at `DIR/lianluo.db`.
pub fn open_in_dir(dir: &Path) -> Result<SqlStore<Sqlite>, StoreError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| StoreError::Backend(format!("cannot create data directory {}: {e}", dir.display())))?;
    open(&db_path(dir))
}

/// Where the database file lives inside a data directory.
pub fn db_path(dir: &Path) -> PathBuf {
    dir.join("lianluo.db")
}
