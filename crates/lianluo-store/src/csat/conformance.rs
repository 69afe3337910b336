//! The ratings' contract, run against every backend with the rest of the conformance suite.

use lianluo_domain::{
    ContactId,
    conversation::{ConversationPatch, Status},
    csat::NewCsat,
    event::{Actor, EventKind},
};
use serde_json::json;

use crate::{
    Store, StoreError,
    conformance::{conversation, fixture, t},
};

pub async fn a_resolved_conversation_is_rated_by_its_customer(store: &dyn Store) {
    let f = fixture(store, "rated").await;
    let id = conversation(store, &f, t(2)).await;
    let five = NewCsat { rating: 5, comment: Some("很快就解决了".into()) };
    let rate = |ws, contact, rating: &NewCsat, at| {
        let rating = rating.clone();
        async move { store.rate_conversation(ws, id, contact, &rating, at).await }
    };
    assert!(
        matches!(rate(f.ws, f.contact, &five, t(3)).await, Err(StoreError::Conflict(_))),
        "not before it is resolved"
    );
    let resolve = ConversationPatch {
        status: Some(Status::Resolved),
        assignee_id: Some(Some(f.admin)),
        ..Default::default()
    };
    store.update_conversation(f.ws, id, &resolve, f.actor(), t(4)).await.unwrap();

    let rated = rate(f.ws, f.contact, &five, t(5)).await.unwrap();
    assert_eq!((rated.rating, rated.comment.as_deref()), (5, Some("很快就解决了")));
    assert_eq!((rated.assignee_id, rated.created_at), (Some(f.admin), t(5)), "kept with who held it");
    assert_eq!(store.conversation_csat(f.ws, id).await.unwrap(), Some(rated));
    // Rating again replaces the rating and keeps when it was first given.
    let again = rate(f.ws, f.contact, &NewCsat { rating: 2, comment: None }, t(6)).await.unwrap();
    assert_eq!(
        (again.rating, again.comment.clone(), again.created_at, again.updated_at),
        (2, None, t(5), t(6))
    );
    assert_eq!(store.conversation_csat(f.ws, id).await.unwrap(), Some(again));
    let events = store.list_events(f.ws, 0, 200).await.unwrap();
    let rated: Vec<_> = events.iter().filter(|e| e.kind == EventKind::ConversationRated).collect();
    assert_eq!(rated.len(), 2, "one event per rating");
    assert_eq!((rated[1].actor, rated[1].subject_id), (Actor::Contact { id: f.contact }, id.0));
    assert_eq!(rated[1].data, json!({ "rating": 2, "comment": null }));

    // Only the conversation's own customer, in its own workspace, rates it or reads its rating.
    assert!(matches!(rate(f.ws, ContactId::new(), &five, t(7)).await, Err(StoreError::NotFound(_))));
    let other = fixture(store, "other").await;
    assert!(matches!(rate(other.ws, f.contact, &five, t(7)).await, Err(StoreError::NotFound(_))));
    assert_eq!(store.conversation_csat(other.ws, id).await.unwrap(), None);
    assert_eq!(store.conversation_csat(f.ws, id).await.unwrap().unwrap().rating, 2, "unchanged");

    // Reopened, it is not rated again until it is resolved again; deleted, its rating goes with it.
    let reopen = ConversationPatch { status: Some(Status::Open), ..Default::default() };
    store.update_conversation(f.ws, id, &reopen, f.actor(), t(8)).await.unwrap();
    assert!(matches!(rate(f.ws, f.contact, &five, t(9)).await, Err(StoreError::Conflict(_))));
    store.delete_conversation(f.ws, id, f.actor(), t(10)).await.unwrap();
    assert_eq!(store.conversation_csat(f.ws, id).await.unwrap(), None);
}
