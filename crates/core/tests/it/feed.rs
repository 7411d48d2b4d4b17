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
        e.auth
            .feed
            .revocations(Some(p.cursor.clone()))
            .await
            .unwrap(),
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
        .revocations(Some(p.cursor.clone()))
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
        Cursor::window(0, 0),
        Cursor::window(now + 10_000, 0),
        Cursor::window(now - 200_000, 7),
        Cursor {
            after: Some((now, "x".into())),
            ..Cursor::window(now - 200_000, 7)
        },
    ] {
        let p = e
            .auth
            .feed
            .revocations(Some(c.clone()))
            .await
            .unwrap()
            .unwrap();
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

/// Follows the feed from `since` until a page is not cut; all sids seen.
async fn drain(
    e: &crate::Env,
    mut since: Option<Cursor>,
    limit: u32,
) -> (HashSet<String>, Option<Cursor>, usize) {
    let mut all = HashSet::new();
    let mut pages = 0;
    while let Some(p) = e
        .auth
        .feed
        .revocations_paged(since.clone(), limit)
        .await
        .unwrap()
    {
        pages += 1;
        assert!(pages < 50, "the feed does not move on: {p:?}");
        all.extend(sids(&p));
        since = Some(p.cursor.clone());
        if !p.more {
            break;
        }
    }
    (all, since, pages)
}

#[tokio::test]
async fn more_revocations_in_one_second_than_a_page_are_all_delivered() {
    let e = env().await;
    let first = e.user("many@example.com").await;
    let who = e
        .auth
        .sessions
        .authenticate(&first.access_token)
        .await
        .unwrap();
    let mut all = HashSet::from([first.session_id.clone()]);
    for _ in 0..24 {
        all.insert(e.login("many@example.com").await.session_id);
    }
    e.at(50);
    assert_eq!(e.auth.sessions.logout_all(&who, &ctx()).await.unwrap(), 25);
    // 25 revocations in one second, pages of 10.
    let (got, cursor, pages) = drain(&e, None, 10).await;
    assert_eq!(got, all);
    assert_eq!(pages, 3);
    // Then nothing new, until something is.
    assert_eq!(
        e.auth
            .feed
            .revocations_paged(cursor.clone(), 10)
            .await
            .unwrap(),
        None
    );
    let other = e.user("other@example.com").await;
    e.auth
        .sessions
        .logout(&other.refresh_token, &ctx())
        .await
        .unwrap();
    let (got, _, _) = drain(&e, cursor, 10).await;
    assert!(got.contains(&other.session_id), "{got:?}");
}

#[tokio::test]
async fn a_revoked_signing_key_is_news_on_the_feed_and_stays_listed() {
    let e = env().await;
    let a = e.user("a@example.com").await;
    e.auth
        .sessions
        .logout(&a.refresh_token, &ctx())
        .await
        .unwrap();
    let p = e.auth.feed.revocations(None).await.unwrap().unwrap();
    assert!(p.revoked_keys.is_empty());
    assert_eq!(
        e.auth
            .feed
            .revocations(Some(p.cursor.clone()))
            .await
            .unwrap(),
        None
    );
    // A cursor from a server older than key revocation (no `~k`) is
    // answered once, with the keys and a cursor that counts them.
    let old = Cursor {
        keys: None,
        ..p.cursor.clone()
    };
    let q = e.auth.feed.revocations(Some(old)).await.unwrap().unwrap();
    assert_eq!(e.auth.feed.revocations(Some(q.cursor)).await.unwrap(), None);

    // No session is revoked, only a key: still news for a waiting follower.
    let kid = e.auth.tokens.key_infos()[0].kid.clone();
    e.auth.tokens.revoke_key(&kid, &ctx()).await.unwrap();
    let r = e
        .auth
        .feed
        .revocations(Some(p.cursor.clone()))
        .await
        .unwrap()
        .expect("a key revocation is news");
    assert_eq!(
        r.revoked_keys
            .iter()
            .map(|k| k.kid.as_str())
            .collect::<Vec<_>>(),
        [kid.as_str()]
    );
    assert_eq!(r.cursor.keys, Some(1));
    assert_eq!(e.auth.feed.revocations(Some(r.cursor)).await.unwrap(), None);
    // Long after every session entry has aged out, the key is still listed.
    e.at(10 * 86_400);
    let late = e.auth.feed.revocations(None).await.unwrap().unwrap();
    assert!(late.revoked.is_empty());
    assert_eq!(late.revoked_keys.len(), 1);
}

#[tokio::test]
async fn a_revoked_client_credentials_token_is_news_and_listed_until_it_expires() {
    use tessera_core::oauth::{Grant, Granted, TokenHint};
    let e = env().await;
    let secret = "s".repeat(40);
    let svc = e
        .auth
        .clients
        .create("svc", &secret, &[], &[])
        .await
        .unwrap();
    let grant = || Grant::ClientCredentials { scope: None };
    let Granted::Client(token) = e
        .auth
        .oauth
        .exchange(Some(&svc), grant(), &ctx())
        .await
        .unwrap()
    else {
        panic!("client credentials grant a client token")
    };
    let claims = crate::claims(&token.access_token);
    let (jti, exp) = (
        claims["jti"].as_str().unwrap().to_owned(),
        claims["exp"].as_i64().unwrap(),
    );
    let p = e.auth.feed.revocations(None).await.unwrap().unwrap();
    assert!(p.revoked_tokens.is_empty());
    assert_eq!(
        e.auth
            .feed
            .revocations(Some(p.cursor.clone()))
            .await
            .unwrap(),
        None
    );

    // Another client's revocation changes nothing, and is no news.
    let other = e
        .auth
        .clients
        .create("other", &secret, &[], &[])
        .await
        .unwrap();
    e.auth
        .oauth
        .revoke(&token.access_token, TokenHint::Access, &other, &ctx())
        .await
        .unwrap();
    assert_eq!(
        e.auth
            .feed
            .revocations(Some(p.cursor.clone()))
            .await
            .unwrap(),
        None
    );

    // Its own client revokes it: no session is revoked, yet it is news.
    e.auth
        .oauth
        .revoke(&token.access_token, TokenHint::Access, &svc, &ctx())
        .await
        .unwrap();
    let r = e
        .auth
        .feed
        .revocations(Some(p.cursor.clone()))
        .await
        .unwrap()
        .expect("a token revocation is news");
    assert!(r.revoked.is_empty());
    assert_eq!(
        r.revoked_tokens
            .iter()
            .map(|t| (t.jti.as_str(), t.exp))
            .collect::<Vec<_>>(),
        [(jti.as_str(), exp)]
    );
    assert_ne!(r.cursor.tokens, p.cursor.tokens);
    assert_eq!(
        e.auth
            .feed
            .revocations(Some(r.cursor.clone()))
            .await
            .unwrap(),
        None
    );
    // A cursor without the digest (an older server's) is answered once.
    let old = Cursor {
        tokens: None,
        ..r.cursor.clone()
    };
    assert!(e.auth.feed.revocations(Some(old)).await.unwrap().is_some());

    // Listed while the token could verify (`exp` plus the leeway), then
    // dropped: which is news again, once.
    let leeway =
        e.auth.feed.max_age() - claims["exp"].as_i64().unwrap() + claims["iat"].as_i64().unwrap();
    e.at(exp - crate::T0 + leeway);
    let still = e.auth.feed.revocations(None).await.unwrap().unwrap();
    assert_eq!(still.revoked_tokens.len(), 1, "kept through the leeway");
    e.at(exp - crate::T0 + leeway + 1);
    let gone = e
        .auth
        .feed
        .revocations(Some(r.cursor.clone()))
        .await
        .unwrap()
        .expect("the list changed");
    assert!(gone.revoked_tokens.is_empty());
    assert_eq!(
        e.auth.feed.revocations(Some(gone.cursor)).await.unwrap(),
        None
    );
}
