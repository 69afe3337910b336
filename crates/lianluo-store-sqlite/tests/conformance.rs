//! The storage contract, run against SQLite: each case on its own database file in its own temp dir.

async fn fresh_store() -> (impl lianluo_store::Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = lianluo_store_sqlite::open_in_dir(dir.path()).expect("open SQLite");
    (store, dir)
}

lianluo_store::conformance_tests!(fresh_store().await);
