//! The bus contract, run by every implementation's tests through
//! [`bus_conformance_tests!`](crate::bus_conformance_tests).

use std::time::Duration;

use lianluo_domain::WorkspaceId;
use serde_json::json;

use crate::{BusError, EventBus, Notice};

/// One `#[tokio::test]` per case; `$make` builds a fresh bus (with room for at most 64 queued events
/// per subscriber, so the lag case can overflow it).
#[macro_export]
macro_rules! bus_conformance_tests {
    ($make:expr) => {
        $crate::bus_conformance_tests!(@cases $make; delivers_in_order, workspaces_are_separate,
            slow_subscribers_are_told_they_lagged, notices_survive_serialisation);
    };
    (@cases $make:expr; $($case:ident),*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $case() {
            let bus = $make;
            $crate::conformance::$case(&bus).await;
        }
    )*};
}

fn notice(ws: WorkspaceId, id: i64) -> Notice {
    Notice {
        workspace_id: ws,
        id: Some(id),
        kind: lianluo_domain::event::EventKind::MessageCreated,
        subject_id: None,
        conversation_id: None,
        data: json!({ "n": id, "text": "您好" }),
    }
}

async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(5), f).await.expect("the bus answered in time")
}

pub async fn delivers_in_order(bus: &dyn EventBus) {
    let ws = WorkspaceId::new();
    let mut a = bus.subscribe(ws).await.unwrap();
    let mut b = bus.subscribe(ws).await.unwrap();
    for i in 1..=20 {
        bus.publish(notice(ws, i)).await.unwrap();
    }
    for sub in [&mut a, &mut b] {
        for i in 1..=20 {
            assert_eq!(within(sub.next()).await.unwrap().id, Some(i));
        }
    }
}

pub async fn workspaces_are_separate(bus: &dyn EventBus) {
    let (x, y) = (WorkspaceId::new(), WorkspaceId::new());
    let mut sx = bus.subscribe(x).await.unwrap();
    let mut sy = bus.subscribe(y).await.unwrap();
    bus.publish(notice(y, 1)).await.unwrap();
    bus.publish(notice(x, 2)).await.unwrap();
    let got = within(sx.next()).await.unwrap();
    assert_eq!((got.workspace_id, got.id), (x, Some(2)), "x never sees y's event");
    assert_eq!(within(sy.next()).await.unwrap().id, Some(1));
    // Publishing where nobody listens is fine.
    bus.publish(notice(WorkspaceId::new(), 3)).await.unwrap();
}

pub async fn slow_subscribers_are_told_they_lagged(bus: &dyn EventBus) {
    let ws = WorkspaceId::new();
    let mut slow = bus.subscribe(ws).await.unwrap();
    for i in 1..=1000 {
        bus.publish(notice(ws, i)).await.unwrap();
    }
    assert!(matches!(within(slow.next()).await, Err(BusError::Lagged(_))));
    // After the lag report it continues with what is still buffered, newest last.
    let mut last = 0;
    while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(200), slow.next()).await {
        last = n.id.unwrap();
    }
    assert_eq!(last, 1000);
}

pub async fn notices_survive_serialisation(bus: &dyn EventBus) {
    let ws = WorkspaceId::new();
    let mut sub = bus.subscribe(ws).await.unwrap();
    let mut sent = notice(ws, 7);
    sent.conversation_id = Some(uuid::Uuid::now_v7());
    sent.id = None;
    sent.kind = lianluo_domain::event::EventKind::Typing;
    bus.publish(sent.clone()).await.unwrap();
    let got = within(sub.next()).await.unwrap();
    assert_eq!(*got, sent);
    let wire = serde_json::to_string(&*got).unwrap();
    assert_eq!(serde_json::from_str::<Notice>(&wire).unwrap(), sent);
}
