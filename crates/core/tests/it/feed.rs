//! The revocation feed's cursor: nothing lost, nothing spinning.

use crate::{ctx, env};
use std::collections::HashSet;
use tessera_core::feed::{Cursor, OVERLAP};

fn sids(p: &tessera_core::feed::Page) -> HashSet<String> {
    p.revoked.iter().map(|r| r.sid.clone()).collect()
}

#[tokio::test]
async fn a_late_commit_inside_the_overlap_is_still_delivered() {
    let e = env().await;
    let a = e.user("a@example.com").await;
    let b = e.user("b@example.com").await;
    e.at(100);
    e.auth
        .sessions
        .logout(&a.refresh_token, &ctx())
        .await
        .unwrap();
    let p = e.auth.feed.revocations(None).await.unwrap().unwrap();
    assert_eq!(sids(&p), HashSet::from([a.session_id.clone()]));
    assert_eq!(
        e.auth.feed.revocations(Some(p.cursor)).await.unwrap(),
        None,
        "nothing new"
    );

    // Another instance revoked `b` a few seconds *earlier* by its clock,
    // and its row commits only now: the follower must still see it.
    e.store
        .revoke_session(&b.session_id, e.clock_now() - (OVERLAP - 5), "logout")
        .await
        .unwrap();
    let q = e
        .auth
        .feed
        .revocations(Some(p.cursor))
        .await
        .unwrap()
        .unwrap();
    assert!(sids(&q).contains(&b.session_id), "{q:?}");
    assert_eq!(e.auth.feed.revocations(Some(q.cursor)).await.unwrap(), None);
}

#[tokio::test]
async fn old_forged_or_future_cursors_start_afresh() {
    let e = env().await;
    let a = e.user("a@example.com").await;
    e.auth
        .sessions
        .logout(&a.refresh_token, &ctx())
        .await
        .unwrap();
    let now = e.clock_now();
    for c in [
        Cursor { start: 0, seen: 0 },
        Cursor {
            start: now + 10_000,
            seen: 0,
        },
        Cursor {
            start: now - 200_000,
            seen: 7,
        },
    ] {
        let p = e.auth.feed.revocations(Some(c)).await.unwrap().unwrap();
        assert_eq!(sids(&p), HashSet::from([a.session_id.clone()]), "{c:?}");
    }
}

#[tokio::test]
async fn the_window_is_bounded_by_the_access_token_lifetime() {
    let e = env().await;
    let a = e.user("a@example.com").await;
    e.auth
        .sessions
        .logout(&a.refresh_token, &ctx())
        .await
        .unwrap();
    let max_age = e.auth.feed.max_age();
    assert_eq!(max_age, 900 + 30);
    e.at(max_age);
    assert_eq!(
        e.auth
            .feed
            .revocations(None)
            .await
            .unwrap()
            .unwrap()
            .revoked
            .len(),
        1
    );
    e.at(max_age + 1);
    assert!(e
        .auth
        .feed
        .revocations(None)
        .await
        .unwrap()
        .unwrap()
        .revoked
        .is_empty());
    // Maintenance keeps revoked rows a day, whatever their expiry.
    e.auth.maintenance.run().await.unwrap();
    assert!(e.store.session(&a.session_id).await.unwrap().is_some());
}
