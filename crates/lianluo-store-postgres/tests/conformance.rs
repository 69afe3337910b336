//! The storage contract, run against PostgreSQL: each case in its own schema, dropped afterwards.
//! `LIANLUO_TEST_DATABASE_URL` names the server; without it the run fails rather than skipping.

use lianluo_store_postgres::{Postgres, connect_in_schema};

/// Drops the test's schema when the test ends.
struct SchemaGuard {
    url: String,
    schema: String,
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        let (url, schema) = (self.url.clone(), self.schema.clone());
        // A fresh runtime on its own thread: the test's runtime is shutting down.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                if let Ok((client, conn)) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
                    tokio::spawn(conn);
                    let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
                }
            });
        })
        .join();
    }
}

async fn fresh_store() -> (lianluo_store::SqlStore<Postgres>, SchemaGuard) {
    let url = std::env::var("LIANLUO_TEST_DATABASE_URL")
        .expect("LIANLUO_TEST_DATABASE_URL must name a PostgreSQL database (scripts/test sets it)");
    let schema = format!("conformance_{}", uuid::Uuid::now_v7().simple());
    let guard = SchemaGuard { url: url.clone(), schema: schema.clone() };
    let store = connect_in_schema(&url, Some(&schema), 4).await.expect("connect to PostgreSQL");
    (store, guard)
}

lianluo_store::conformance_tests!(fresh_store().await);
