//! The SQLite writer thread survives a unit of work that panics.

use lianluo_domain::{Timestamp, WorkspaceId, directory::Workspace, value::Name};
use lianluo_store::{
    Store,
    tx::{Backend, Tx, tx_fn},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_write_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = lianluo_store_sqlite::open_in_dir(dir.path()).unwrap();
    let ws = Workspace {
        id: WorkspaceId::new(),
        name: Name::parse("Acme").unwrap(),
        slug: "acme".into(),
        created_at: Timestamp(0),
    };
    let doomed = ws.clone();
    let failed = store
        .0
        .write::<()>(tx_fn(move |tx: &mut lianluo_store_sqlite::SqliteTx| {
            Box::pin(async move {
                tx.insert_workspace(&doomed).await?;
                panic!("a bug in a unit of work");
            })
        }))
        .await;
    assert!(failed.is_err(), "the caller hears of the failure");
    assert!(store.workspace_by_slug("acme").await.unwrap().is_none(), "its changes were rolled back");
    store.create_workspace(&ws).await.expect("the writer still takes work");
    assert_eq!(store.get_workspace(ws.id).await.unwrap().slug, "acme");
}
