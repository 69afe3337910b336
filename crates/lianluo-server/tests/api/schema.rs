//! The two backends' schemas agree: after every migration, SQLite and PostgreSQL have the same tables
//! with the same columns, so a migration written for one and forgotten (or misspelt) for the other fails
//! here rather than in production.

use std::collections::{BTreeMap, BTreeSet};

type Schema = BTreeMap<String, BTreeSet<String>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_backends_have_the_same_tables_and_columns() {
    let dir = tempfile::tempdir().unwrap();
    lianluo_store_sqlite::open_in_dir(dir.path()).unwrap();
    let db = rusqlite::Connection::open(lianluo_store_sqlite::db_path(dir.path())).unwrap();
    let mut stmt = db
        .prepare(
            "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
        )
        .unwrap();
    let mut sqlite = Schema::new();
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).unwrap() {
        let (table, column) = row.unwrap();
        sqlite.entry(table).or_default().insert(column);
    }

    let url = std::env::var("LIANLUO_TEST_DATABASE_URL")
        .expect("LIANLUO_TEST_DATABASE_URL must name a PostgreSQL database (scripts/test sets it)");
    let schema = format!("schema_{}", uuid::Uuid::now_v7().simple());
    let _store = lianluo_store_postgres::connect_in_schema(&url, Some(&schema), 1).await.unwrap();
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let rows = client
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns WHERE table_schema = $1",
            &[&schema],
        )
        .await
        .unwrap();
    let mut postgres = Schema::new();
    for r in rows {
        postgres.entry(r.get(0)).or_default().insert(r.get(1));
    }
    lianluo_store_postgres::drop_schema_blocking(&url, &schema);

    assert!(sqlite.contains_key("jobs") && sqlite.contains_key("conversations"), "{sqlite:?}");
    for (table, columns) in &sqlite {
        assert_eq!(Some(columns), postgres.get(table), "table {table}: SQLite's columns, then PostgreSQL's");
    }
    let only_postgres: Vec<&String> = postgres.keys().filter(|t| !sqlite.contains_key(*t)).collect();
    assert!(only_postgres.is_empty(), "tables only PostgreSQL has: {only_postgres:?}");
}
