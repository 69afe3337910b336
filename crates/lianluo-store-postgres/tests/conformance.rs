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
        lianluo_store_postgres::drop_schema_blocking(&self.url, &self.schema);
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
