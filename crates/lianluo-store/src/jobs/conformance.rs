//! The job queue's contract, run against every backend with the rest of the conformance suite.

use lianluo_domain::{
    event::Actor,
    job::{JobKind, JobSpec, JobState, Lane},
};
use serde_json::json;

use crate::{
    Store, StoreError,
    conformance::{futures_join, t, workspace},
};

const MINE: JobSpec = JobSpec::MineConversations { conversations: 50 };
const LEASE: i64 = 60_000;
const BG: Lane = Lane::Background;
/// No limit on the jobs one workspace runs at once.
const ANY: i64 = i64::MAX;

fn index(n: u128) -> JobSpec {
    JobSpec::IndexSource { source: lianluo_domain::KbSourceId(uuid::Uuid::from_u128(n)) }
}

pub async fn jobs_are_claimed_once_and_finished(store: &dyn Store) {
    let ws = workspace(store, "jobs").await;
    let (queued, created) = store.enqueue_job(ws, MINE, Actor::System, t(0)).await.unwrap();
    assert!(created);
    assert_eq!((queued.state, queued.attempts, queued.max_attempts), (JobState::Pending, 0, 3));
    assert_eq!(store.unfinished_jobs().await.unwrap(), 1);

    let claimed = store.claim_job(t(1), LEASE, ANY, BG).await.unwrap().expect("the job is due");
    assert_eq!((claimed.id, claimed.state, claimed.attempts), (queued.id, JobState::Running, 1));
    assert_eq!(claimed.lease_until, Some(lianluo_domain::Timestamp(t(1).0 + LEASE)));
    assert_eq!(
        store.claim_job(t(1), LEASE, ANY, BG).await.unwrap(),
        None,
        "a running job is not claimed twice"
    );

    let renewed = store.renew_job(&claimed, json!({ "conversations_read": 20 }), t(2), LEASE).await.unwrap();
    assert_eq!(store.get_job(ws, queued.id).await.unwrap().progress, json!({ "conversations_read": 20 }));
    assert_eq!(renewed.lease_until, Some(lianluo_domain::Timestamp(t(2).0 + LEASE)));

    let done = store
        .finish_job(&claimed, json!({ "conversations_read": 50 }), json!({ "added": 4 }), t(3))
        .await
        .unwrap();
    assert_eq!((done.state, done.finished_at), (JobState::Done, Some(t(3))));
    let stored = store.latest_job(ws, JobKind::MineConversations).await.unwrap().unwrap();
    assert_eq!(stored, done);
    assert_eq!(stored.result, Some(json!({ "added": 4 })));
    assert_eq!(stored.progress, json!({ "conversations_read": 50 }), "the final progress is kept");
    assert_eq!(stored.spec, MINE);
    assert_eq!(store.unfinished_jobs().await.unwrap(), 0);
    assert!(matches!(
        store.finish_job(&claimed, json!({}), json!({}), t(4)).await,
        Err(StoreError::Conflict(_))
    ));

    // Finished jobs are kept 30 days, then maintenance deletes them.
    let kept = crate::jobs::FINISHED_JOBS_KEPT_MS;
    assert_eq!(store.delete_old_jobs(lianluo_domain::Timestamp(t(3).0 + kept)).await.unwrap(), 0);
    assert_eq!(store.list_jobs(ws, None, None, 10).await.unwrap().len(), 1);
    assert_eq!(store.delete_old_jobs(lianluo_domain::Timestamp(t(4).0 + kept)).await.unwrap(), 1);
    assert!(store.list_jobs(ws, None, None, 10).await.unwrap().is_empty());
    let kinds: Vec<&str> =
        store.list_events(ws, 0, 100).await.unwrap().into_iter().map(|e| e.kind.as_str()).collect();
    assert!(kinds.contains(&"job.queued") && kinds.contains(&"job.done"), "{kinds:?}");
}

pub async fn one_at_a_time_jobs_are_not_queued_twice(store: &dyn Store) {
    let ws = workspace(store, "once").await;
    let (first, _) = store.enqueue_job(ws, MINE, Actor::System, t(0)).await.unwrap();
    let (again, created) = store.enqueue_job(ws, MINE, Actor::System, t(1)).await.unwrap();
    assert!(!created);
    assert_eq!(again.id, first.id, "asking again returns the job already waiting");
    // Asked at the same moment: still one job.
    let other = workspace(store, "race").await;
    let raced = futures_join((0..4).map(|_| store.enqueue_job(other, MINE, Actor::System, t(0)))).await;
    let ids: std::collections::BTreeSet<_> = raced.into_iter().map(|r| r.unwrap().0.id).collect();
    assert_eq!(ids.len(), 1);

    let claimed = store.claim_job(t(2), LEASE, ANY, BG).await.unwrap().unwrap();
    let (still, created) = store.enqueue_job(claimed.workspace_id, MINE, Actor::System, t(2)).await.unwrap();
    assert!(!created && still.id == claimed.id, "nor while it runs");
    store.finish_job(&claimed, json!({}), json!({}), t(3)).await.unwrap();
    let (next, created) = store.enqueue_job(claimed.workspace_id, MINE, Actor::System, t(4)).await.unwrap();
    assert!(created && next.id != claimed.id, "once it is done, a new one is queued");
}

pub async fn failed_attempts_back_off_then_fail_for_good(store: &dyn Store) {
    let ws = workspace(store, "failing").await;
    let (job, _) = store.enqueue_job(ws, MINE, Actor::System, t(0)).await.unwrap();
    let first = store.claim_job(t(0), LEASE, ANY, BG).await.unwrap().unwrap();
    let after_first = store.fail_job(&first, "the embedder timed out", t(0)).await.unwrap();
    assert_eq!(after_first.state, JobState::Pending);
    assert_eq!(after_first.error.as_deref(), Some("the embedder timed out"));
    assert_eq!(after_first.run_after.0, t(0).0 + 10_000, "the first retry waits 10 s");
    assert_eq!(
        store.claim_job(lianluo_domain::Timestamp(t(0).0 + 9_000), LEASE, ANY, BG).await.unwrap(),
        None
    );

    // An admin may have it tried now rather than wait; its attempts count on.
    let soon = lianluo_domain::Timestamp(t(0).0 + 5_000);
    let now = store.retry_job(ws, job.id, Actor::System, soon).await.unwrap();
    assert_eq!((now.state, now.attempts, now.run_after), (JobState::Pending, 1, soon));
    let second = store.claim_job(soon, LEASE, ANY, BG).await.unwrap().unwrap();
    assert_eq!(second.attempts, 2);
    assert!(
        matches!(store.retry_job(ws, job.id, Actor::System, soon).await, Err(StoreError::Conflict(_))),
        "not while it runs"
    );
    let after_second = store.fail_job(&second, "again", t(1)).await.unwrap();
    assert_eq!(after_second.run_after.0, t(1).0 + 40_000, "the next waits longer");
    // Asking for the same job again while it waits makes it due now.
    let asked_at = lianluo_domain::Timestamp(t(1).0 + 1_000);
    let (asked, created) = store.enqueue_job(ws, MINE, Actor::System, asked_at).await.unwrap();
    assert!(!created, "nothing new is queued");
    assert_eq!((asked.id, asked.attempts, asked.run_after), (job.id, 2, asked_at));
    let third = store.claim_job(t(2), LEASE, ANY, BG).await.unwrap().unwrap();
    let failed = store.fail_job(&third, "the embedder is down", t(2)).await.unwrap();
    assert_eq!((failed.state, failed.attempts), (JobState::Failed, 3));
    assert_eq!(failed.finished_at, Some(t(2)));
    assert_eq!(
        store.claim_job(t(100), LEASE, ANY, BG).await.unwrap(),
        None,
        "a failed job waits for an admin"
    );
    assert_eq!(store.list_jobs(ws, Some(JobState::Failed), None, 10).await.unwrap().len(), 1);
    assert!(store.list_jobs(ws, Some(JobState::Pending), None, 10).await.unwrap().is_empty());

    let admin = Actor::System;
    let retried = store.retry_job(ws, job.id, admin, t(101)).await.unwrap();
    assert_eq!((retried.state, retried.attempts, retried.run_after), (JobState::Pending, 0, t(101)));
    assert!(matches!(store.retry_job(ws, job.id, admin, t(101)).await, Err(StoreError::Conflict(_))));
    let claimed = store.claim_job(t(101), LEASE, ANY, BG).await.unwrap().unwrap();
    assert_eq!((claimed.id, claimed.attempts), (job.id, 1));
}

pub async fn an_expired_lease_is_taken_over(store: &dyn Store) {
    let ws = workspace(store, "lease").await;
    store.enqueue_job(ws, MINE, Actor::System, t(0)).await.unwrap();
    let stopped = store.claim_job(t(0), LEASE, ANY, BG).await.unwrap().unwrap();
    assert_eq!(
        store.claim_job(lianluo_domain::Timestamp(t(0).0 + LEASE - 1), LEASE, ANY, BG).await.unwrap(),
        None
    );
    // The worker stopped without a word; once its lease passes another takes the job over.
    let taken =
        store.claim_job(lianluo_domain::Timestamp(t(0).0 + LEASE), LEASE, ANY, BG).await.unwrap().unwrap();
    assert_eq!((taken.id, taken.attempts), (stopped.id, 2));
    // The first worker comes back late: its attempt changes nothing.
    assert!(matches!(
        store.finish_job(&stopped, json!({}), json!({"stale": true}), t(2)).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(store.renew_job(&stopped, json!({}), t(2), LEASE).await, Err(StoreError::Conflict(_))));
    let done = store.finish_job(&taken, json!({}), json!({ "fresh": true }), t(3)).await.unwrap();
    assert_eq!(done.result, Some(json!({ "fresh": true })));
}

pub async fn concurrent_claims_take_different_jobs(store: &dyn Store) {
    let mut queued = std::collections::BTreeSet::new();
    for i in 0..4 {
        let ws = workspace(store, &format!("claims-{i}")).await;
        queued.insert(store.enqueue_job(ws, MINE, Actor::System, t(0)).await.unwrap().0.id);
    }
    let claims = futures_join((0..6).map(|_| store.claim_job(t(1), LEASE, ANY, BG))).await;
    let claimed: Vec<_> = claims.into_iter().filter_map(Result::unwrap).map(|j| j.id).collect();
    assert_eq!(claimed.len(), 4, "four jobs, four claims succeed");
    assert_eq!(claimed.into_iter().collect::<std::collections::BTreeSet<_>>(), queued, "each job once");
}

pub async fn jobs_stay_in_their_workspace(store: &dyn Store) {
    let (a, b) = (workspace(store, "job-a").await, workspace(store, "job-b").await);
    let (job, _) = store.enqueue_job(a, MINE, Actor::System, t(0)).await.unwrap();
    assert!(matches!(store.get_job(b, job.id).await, Err(StoreError::NotFound(_))));
    assert!(store.list_jobs(b, None, None, 10).await.unwrap().is_empty());
    assert_eq!(store.latest_job(b, JobKind::MineConversations).await.unwrap(), None);
    assert!(matches!(store.retry_job(b, job.id, Actor::System, t(1)).await, Err(StoreError::NotFound(_))));
    let (own, created) = store.enqueue_job(b, MINE, Actor::System, t(0)).await.unwrap();
    assert!(created && own.id != job.id, "one at a time is per workspace");
    assert_eq!(
        store.list_jobs(a, None, None, 10).await.unwrap().iter().map(|j| j.id).collect::<Vec<_>>(),
        [job.id]
    );
}

pub async fn index_jobs_are_one_per_source(store: &dyn Store) {
    let ws = workspace(store, "index-once").await;
    let (first, created) = store.enqueue_job(ws, index(1), Actor::System, t(0)).await.unwrap();
    assert!(created);
    let (again, created) = store.enqueue_job(ws, index(1), Actor::System, t(1)).await.unwrap();
    assert!(!created && again.id == first.id, "the same source is not queued twice");
    let (other, created) = store.enqueue_job(ws, index(2), Actor::System, t(1)).await.unwrap();
    assert!(created && other.id != first.id, "another source has its own job");
    let claimed = store.claim_job(t(2), LEASE, ANY, BG).await.unwrap().unwrap();
    assert_eq!(claimed.id, first.id, "the longest waiting first");
    let (running, created) = store.enqueue_job(ws, index(1), Actor::System, t(3)).await.unwrap();
    assert!(!created && running.id == first.id, "nor while it runs (the run sees a newer version itself)");
    store.finish_job(&claimed, json!({}), json!({}), t(4)).await.unwrap();
    assert!(store.enqueue_job(ws, index(1), Actor::System, t(5)).await.unwrap().1, "queued again once done");
}

pub async fn claims_are_fair_across_workspaces(store: &dyn Store) {
    let (a, b) = (workspace(store, "busy").await, workspace(store, "quiet").await);
    let mut a_jobs = Vec::new();
    for n in 0..3 {
        a_jobs.push(store.enqueue_job(a, index(n), Actor::System, t(n as i64)).await.unwrap().0.id);
    }
    let (b_job, _) = store.enqueue_job(b, index(10), Actor::System, t(5)).await.unwrap();

    // One running job per workspace: B's job, queued last, runs beside A's first instead of after A's queue.
    let first = store.claim_job(t(6), LEASE, 1, BG).await.unwrap().unwrap();
    assert_eq!(first.id, a_jobs[0]);
    let second = store.claim_job(t(6), LEASE, 1, BG).await.unwrap().unwrap();
    assert_eq!(second.id, b_job.id, "workspace B does not wait behind workspace A's queue");
    assert_eq!(store.claim_job(t(6), LEASE, 1, BG).await.unwrap(), None, "A already runs its share");
    store.finish_job(&first, json!({}), json!({}), t(7)).await.unwrap();
    assert_eq!(store.claim_job(t(7), LEASE, 1, BG).await.unwrap().unwrap().id, a_jobs[1]);

    // A job whose lease ran out (its worker stopped) no longer counts as running: it is itself taken over.
    let late = lianluo_domain::Timestamp(t(7).0 + LEASE);
    let taken = store.claim_job(late, LEASE, 1, BG).await.unwrap().unwrap();
    assert!([a_jobs[1], b_job.id].contains(&taken.id), "an expired lease is claimed again");
}

pub async fn the_workspace_running_fewest_goes_first(store: &dyn Store) {
    let (a, b) = (workspace(store, "many").await, workspace(store, "few").await);
    for n in 0..3 {
        store.enqueue_job(a, index(n), Actor::System, t(n as i64)).await.unwrap();
    }
    let (b1, _) = store.enqueue_job(b, index(10), Actor::System, t(4)).await.unwrap();
    let (b2, _) = store.enqueue_job(b, index(11), Actor::System, t(5)).await.unwrap();
    let claim = || async { store.claim_job(t(6), LEASE, 2, BG).await.unwrap().unwrap() };
    let order = [claim().await, claim().await, claim().await, claim().await];
    let workspaces: Vec<_> = order.iter().map(|j| if j.workspace_id == a { 'A' } else { 'B' }).collect();
    assert_eq!(workspaces, ['A', 'B', 'A', 'B'], "turn by turn, up to two each");
    assert_eq!((order[1].id, order[3].id), (b1.id, b2.id));
    assert_eq!(store.claim_job(t(6), LEASE, 2, BG).await.unwrap(), None, "both run their share");
}

pub async fn concurrent_claims_keep_each_workspace_to_its_share(store: &dyn Store) {
    let (a, b) = (workspace(store, "burst-a").await, workspace(store, "burst-b").await);
    for n in 0..4 {
        store.enqueue_job(a, index(n), Actor::System, t(0)).await.unwrap();
    }
    store.enqueue_job(b, index(10), Actor::System, t(1)).await.unwrap();
    // A node's workers all start at once: each claim sees the others', so A runs one job, B the other.
    let claims = futures_join((0..6).map(|_| store.claim_job(t(2), LEASE, 1, BG))).await;
    let claimed: Vec<_> = claims.into_iter().filter_map(Result::unwrap).collect();
    let mut workspaces: Vec<_> = claimed.iter().map(|j| j.workspace_id).collect();
    workspaces.sort();
    let mut expected = vec![a, b];
    expected.sort();
    assert_eq!(workspaces, expected, "one job per workspace");
}

pub async fn lanes_have_their_own_queue_and_share(store: &dyn Store) {
    let ws = workspace(store, "lanes").await;
    store.enqueue_job(ws, index(1), Actor::System, t(0)).await.unwrap();
    let answer = JobSpec::AnswerCustomer {
        conversation: lianluo_domain::ConversationId(uuid::Uuid::from_u128(7)),
        message: lianluo_domain::MessageId(uuid::Uuid::from_u128(8)),
    };
    let (queued, _) = store.enqueue_job(ws, answer.clone(), Actor::System, t(1)).await.unwrap();
    let (again, created) = store.enqueue_job(ws, answer, Actor::System, t(2)).await.unwrap();
    assert!(!created && again.id == queued.id, "one turn per customer message");
    // The workspace runs its one background job, and still a customer's answer beside it.
    let indexing = store.claim_job(t(3), LEASE, 1, BG).await.unwrap().unwrap();
    assert_eq!(indexing.spec, index(1));
    let turn = store.claim_job(t(3), LEASE, 1, Lane::Interactive).await.unwrap().unwrap();
    assert_eq!(turn.id, queued.id);
    assert_eq!(store.claim_job(t(3), LEASE, 1, Lane::Interactive).await.unwrap(), None);
    assert_eq!(store.claim_job(t(3), LEASE, 1, BG).await.unwrap(), None);

    // Admins list a lane; the AI agent's finished turns are kept a day, background jobs 30 days.
    let listed = |lane| async move { store.list_jobs(ws, None, Some(lane), 10).await.unwrap() };
    assert_eq!(listed(Lane::Interactive).await.iter().map(|j| j.id).collect::<Vec<_>>(), [turn.id]);
    assert_eq!(listed(BG).await.iter().map(|j| j.id).collect::<Vec<_>>(), [indexing.id]);
    store.finish_job(&turn, json!({}), json!({}), t(4)).await.unwrap();
    store.finish_job(&indexing, json!({}), json!({}), t(4)).await.unwrap();
    let day_later = lianluo_domain::Timestamp(t(4).0 + crate::jobs::FINISHED_TURNS_KEPT_MS + 1);
    assert_eq!(store.delete_old_jobs(day_later).await.unwrap(), 1);
    assert!(listed(Lane::Interactive).await.is_empty());
    assert_eq!(listed(BG).await.len(), 1, "background jobs stay listed");
}
