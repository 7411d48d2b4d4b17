//! Logout, logout everywhere, session lists, ending sessions, roles.

use crate::{ctx, env, T0};
use tessera_core::{Error, RefreshOutcome};

fn session_ended() -> Error {
    Error::InvalidToken(tessera_core::TokenRefused::SessionEnded)
}

#[tokio::test]
async fn logout_is_idempotent_and_kills_access_tokens_at_once() {
    let env = env().await;
    let a = env.user("ada@example.com").await;
    let b = env.login("ada@example.com").await;
    env.at(30);
    env.auth
        .sessions
        .logout(&a.refresh_token, &ctx())
        .await
        .unwrap();
    let s = env.session(&a.session_id).await;
    assert_eq!(s.revoked_at, Some(T0 + 30));
    assert_eq!(s.revoked_reason.as_deref(), Some("logout"));
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .authenticate(&a.access_token)
                .await
                .unwrap_err()
        ),
        crate::key(&session_ended())
    );
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .refresh(&a.refresh_token, &ctx())
                .await
                .unwrap_err()
        ),
        crate::key(&Error::InvalidGrant("session has ended"))
    );
    // Again, and again later: no error, nothing changes.
    env.auth
        .sessions
        .logout(&a.refresh_token, &ctx())
        .await
        .unwrap();
    env.at(60);
    env.auth
        .sessions
        .logout(&a.refresh_token, &ctx())
        .await
        .unwrap();
    assert_eq!(env.session(&a.session_id).await.revoked_at, Some(T0 + 30));
    let audit = env.audit().await;
    let logouts: Vec<_> = audit.iter().filter(|e| e.event == "logout").collect();
    assert_eq!(logouts.len(), 1);
    assert_eq!(
        logouts[0].session_id.as_deref(),
        Some(a.session_id.as_str())
    );

    // The other session of the same user lives on.
    env.auth
        .sessions
        .authenticate(&b.access_token)
        .await
        .unwrap();
    let (b1, how) = env
        .auth
        .sessions
        .refresh(&b.refresh_token, &ctx())
        .await
        .unwrap();
    assert_eq!(how, RefreshOutcome::Rotated);
    // A spent token of the family still logs it out (its holder could have
    // revoked it through reuse detection anyway).
    env.at(100);
    env.auth
        .sessions
        .logout(&b.refresh_token, &ctx())
        .await
        .unwrap();
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .authenticate(&b1.access_token)
                .await
                .unwrap_err()
        ),
        crate::key(&session_ended())
    );
    // A purged or never-existing session is not an error either.
    let mut nowhere = crate::raw(&b.refresh_token);
    nowhere[..16].fill(0xab);
    env.auth
        .sessions
        .logout(&crate::encode_raw(&nowhere), &ctx())
        .await
        .unwrap();
}

#[tokio::test]
async fn logout_all_ends_every_session_of_the_caller_only() {
    let env = env().await;
    let a1 = env.user("ada@example.com").await;
    let a2 = env.login("ada@example.com").await;
    let a3 = env.login("ada@example.com").await;
    let bob = env.user("bob@example.com").await;
    let me = env
        .auth
        .sessions
        .authenticate(&a1.access_token)
        .await
        .unwrap();
    let mut listed: Vec<String> = env
        .auth
        .sessions
        .list(&me)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    listed.sort();
    let mut expected = vec![
        a1.session_id.clone(),
        a2.session_id.clone(),
        a3.session_id.clone(),
    ];
    expected.sort();
    assert_eq!(listed, expected);

    env.at(5);
    assert_eq!(env.auth.sessions.logout_all(&me, &ctx()).await.unwrap(), 3);
    for p in [&a1, &a2, &a3] {
        assert_eq!(
            crate::key(
                &env.auth
                    .sessions
                    .authenticate(&p.access_token)
                    .await
                    .unwrap_err()
            ),
            crate::key(&session_ended())
        );
        let s = env.session(&p.session_id).await;
        assert_eq!(s.revoked_reason.as_deref(), Some("logout_all"));
        assert_eq!(
            crate::key(
                &env.auth
                    .sessions
                    .refresh(&p.refresh_token, &ctx())
                    .await
                    .unwrap_err()
            ),
            crate::key(&Error::InvalidGrant("session has ended"))
        );
    }
    assert!(env.auth.sessions.list(&me).await.unwrap().is_empty());
    assert_eq!(env.auth.sessions.logout_all(&me, &ctx()).await.unwrap(), 0);
    // Bob is untouched.
    env.auth
        .sessions
        .authenticate(&bob.access_token)
        .await
        .unwrap();
    let audit = env.audit().await;
    let all = audit.iter().find(|e| e.event == "logout.all").unwrap();
    assert_eq!(all.detail.as_deref(), Some("3 sessions"));
}

#[tokio::test]
async fn end_session_refuses_other_users_sessions() {
    let env = env().await;
    let a1 = env.user("ada@example.com").await;
    let a2 = env.login("ada@example.com").await;
    let bob = env.user("bob@example.com").await;
    let ada = env
        .auth
        .sessions
        .authenticate(&a1.access_token)
        .await
        .unwrap();

    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .end(&ada, &bob.session_id, &ctx())
                .await
                .unwrap_err()
        ),
        crate::key(&Error::NotFound("session"))
    );
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .end(&ada, "no-such-session", &ctx())
                .await
                .unwrap_err()
        ),
        crate::key(&Error::NotFound("session"))
    );
    assert!(env.session(&bob.session_id).await.revoked_at.is_none());
    env.auth
        .sessions
        .authenticate(&bob.access_token)
        .await
        .unwrap();

    env.auth
        .sessions
        .end(&ada, &a2.session_id, &ctx())
        .await
        .unwrap();
    assert_eq!(
        env.session(&a2.session_id).await.revoked_reason.as_deref(),
        Some("user_revoked")
    );
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .authenticate(&a2.access_token)
                .await
                .unwrap_err()
        ),
        crate::key(&session_ended())
    );
    // Ending it again is fine; the caller's own current session is unaffected.
    env.auth
        .sessions
        .end(&ada, &a2.session_id, &ctx())
        .await
        .unwrap();
    env.auth
        .sessions
        .authenticate(&a1.access_token)
        .await
        .unwrap();
    let listed: Vec<String> = env
        .auth
        .sessions
        .list(&ada)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed, [a1.session_id.as_str()]);
    let events = env.events().await;
    assert_eq!(events.iter().filter(|e| *e == "session.revoked").count(), 1);
}

#[tokio::test]
async fn admin_revocation_kills_access_tokens() {
    let env = env().await;
    let a1 = env.user("ada@example.com").await;
    let a2 = env.login("ada@example.com").await;
    let bob = env.user("bob@example.com").await;
    assert_eq!(
        env.auth
            .sessions
            .revoke_user_sessions(&a1.user_id, &ctx())
            .await
            .unwrap(),
        2
    );
    for p in [&a1, &a2] {
        assert_eq!(
            crate::key(
                &env.auth
                    .sessions
                    .authenticate(&p.access_token)
                    .await
                    .unwrap_err()
            ),
            crate::key(&session_ended())
        );
    }
    env.auth
        .sessions
        .authenticate(&bob.access_token)
        .await
        .unwrap();
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .revoke_user_sessions("no-such-user", &ctx())
                .await
                .unwrap_err()
        ),
        crate::key(&Error::NotFound("user"))
    );
    // A new login works after a revocation.
    let a3 = env.login("ada@example.com").await;
    env.auth
        .sessions
        .authenticate(&a3.access_token)
        .await
        .unwrap();
}

#[tokio::test]
async fn set_roles_validates_and_new_tokens_carry_new_roles() {
    let env = env().await;
    let p0 = env.user("ada@example.com").await;
    let roles = vec!["admin".to_owned(), "billing:read".to_owned()];
    let user = env
        .auth
        .accounts
        .set_roles(&p0.user_id, &roles, &ctx())
        .await
        .unwrap();
    assert_eq!(user.roles, roles);

    // Tokens already issued keep the roles they were issued with in their
    // claims (for resource servers), but authorization on Tessera's own
    // endpoints follows the store at once...
    let old = env
        .auth
        .sessions
        .authenticate(&p0.access_token)
        .await
        .unwrap();
    assert!(old.has_role("admin"));
    assert!(old.claims.roles.is_empty());
    // ...the next refresh carries the new ones in its claims too.
    let (p1, _) = env
        .auth
        .sessions
        .refresh(&p0.refresh_token, &ctx())
        .await
        .unwrap();
    let me = env
        .auth
        .sessions
        .authenticate(&p1.access_token)
        .await
        .unwrap();
    assert_eq!(me.claims.roles, roles);
    assert!(me.has_role("admin") && me.has_role("billing:read"));
    assert!(!me.has_role("Admin"));

    let invalid: Vec<Vec<String>> = vec![
        vec![String::new()],
        vec!["has space".into()],
        vec!["x".repeat(65)],
        vec!["émoji".into()],
        vec!["a,b".into()],
        (0..65).map(|i| format!("r{i}")).collect(),
    ];
    for bad in &invalid {
        match env.auth.accounts.set_roles(&p0.user_id, bad, &ctx()).await {
            Err(Error::InvalidInput { field, .. }) => assert_eq!(field, "roles"),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    // Edge cases that are valid.
    let edge: Vec<String> = (0..64).map(|i| format!("r{i}")).collect();
    env.auth
        .accounts
        .set_roles(&p0.user_id, &edge, &ctx())
        .await
        .unwrap();
    let long = vec!["A-z_0.9:".repeat(8)];
    assert_eq!(long[0].len(), 64);
    env.auth
        .accounts
        .set_roles(&p0.user_id, &long, &ctx())
        .await
        .unwrap();
    env.auth
        .accounts
        .set_roles(&p0.user_id, &[], &ctx())
        .await
        .unwrap();
    let (p2, _) = env
        .auth
        .sessions
        .refresh(&p1.refresh_token, &ctx())
        .await
        .unwrap();
    assert_eq!(
        crate::claims(&p2.access_token)["roles"],
        serde_json::json!([])
    );

    assert_eq!(
        crate::key(
            &env.auth
                .accounts
                .set_roles("no-such-user", &roles, &ctx())
                .await
                .unwrap_err()
        ),
        crate::key(&Error::NotFound("user"))
    );
    let audit = env.audit().await;
    let changed: Vec<_> = audit
        .iter()
        .filter(|e| e.event == "roles.changed")
        .collect();
    assert_eq!(changed.len(), 4);
    assert_eq!(changed[0].detail.as_deref(), Some("admin,billing:read"));
}

/// The Bearer check's liveness cache (`session_cache_ttl`): this process's
/// revocations apply at once; a revocation committed by another process
/// (here: straight into the store) within the ttl, and never later.
#[tokio::test]
async fn liveness_cache_other_processes_revocations_apply_within_the_ttl() {
    use std::time::Duration;
    let env = crate::env_with(tessera_core::AuthConfig {
        session_cache_ttl: Duration::from_millis(1500),
        ..crate::cfg()
    })
    .await;
    let a = env.user("ada@example.com").await;
    env.auth
        .sessions
        .authenticate(&a.access_token)
        .await
        .unwrap();
    // Another process ends the session.
    assert!(env
        .store
        .revoke_session(&a.session_id, T0, "admin_revoked")
        .await
        .unwrap());
    env.clock.advance(Duration::from_millis(1400));
    let who = env.auth.sessions.authenticate(&a.access_token).await;
    assert!(who.is_ok(), "inside the ttl the cached answer may serve");
    env.clock.advance(Duration::from_millis(100));
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .authenticate(&a.access_token)
                .await
                .unwrap_err()
        ),
        crate::key(&session_ended()),
        "at the ttl the store is asked again"
    );
    // Negative answers are not cached, and stay negative.
    env.clock.advance(Duration::from_millis(10));
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .authenticate(&a.access_token)
                .await
                .unwrap_err()
        ),
        crate::key(&session_ended())
    );
}

#[tokio::test]
async fn liveness_cache_off_asks_the_store_every_time() {
    let env = crate::env_with(tessera_core::AuthConfig {
        session_cache_ttl: std::time::Duration::ZERO,
        ..crate::cfg()
    })
    .await;
    let a = env.user("ada@example.com").await;
    env.auth
        .sessions
        .authenticate(&a.access_token)
        .await
        .unwrap();
    assert!(env
        .store
        .revoke_session(&a.session_id, T0, "admin_revoked")
        .await
        .unwrap());
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .authenticate(&a.access_token)
                .await
                .unwrap_err()
        ),
        crate::key(&session_ended())
    );
}

#[tokio::test]
async fn liveness_cache_never_outlives_local_changes() {
    // Default ttl (1 s) and a clock that does not move: only the
    // invalidation can make these pass.
    let env = env().await;
    let a = env.user("ada@example.com").await;
    let b = env.login("ada@example.com").await;
    let other = env.user("bob@example.com").await;
    for t in [&a, &b, &other] {
        env.auth
            .sessions
            .authenticate(&t.access_token)
            .await
            .unwrap();
    }
    // A role change shows in /v1/me at once.
    let who = env
        .auth
        .sessions
        .authenticate(&a.access_token)
        .await
        .unwrap();
    assert!(env.auth.accounts.me(&who).await.unwrap().roles.is_empty());
    env.auth
        .accounts
        .set_roles(&a.user_id, &["editor".into()], &ctx())
        .await
        .unwrap();
    let who = env
        .auth
        .sessions
        .authenticate(&a.access_token)
        .await
        .unwrap();
    let me = env.auth.accounts.me(&who).await.unwrap();
    assert_eq!(
        (me.id.as_str(), me.email.as_str(), me.roles.clone()),
        (
            a.user_id.as_str(),
            "ada@example.com",
            vec!["editor".to_owned()]
        )
    );
    // Logout: that session at once, the other sessions untouched.
    env.auth
        .sessions
        .logout(&a.refresh_token, &ctx())
        .await
        .unwrap();
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .authenticate(&a.access_token)
                .await
                .unwrap_err()
        ),
        crate::key(&session_ended())
    );
    env.auth
        .sessions
        .authenticate(&b.access_token)
        .await
        .unwrap();
    env.auth
        .sessions
        .authenticate(&other.access_token)
        .await
        .unwrap();
    // Ending a session by id, and logout everywhere.
    let who_b = env
        .auth
        .sessions
        .authenticate(&b.access_token)
        .await
        .unwrap();
    env.auth.sessions.logout_all(&who_b, &ctx()).await.unwrap();
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .authenticate(&b.access_token)
                .await
                .unwrap_err()
        ),
        crate::key(&session_ended())
    );
    let who_o = env
        .auth
        .sessions
        .authenticate(&other.access_token)
        .await
        .unwrap();
    env.auth
        .sessions
        .end(&who_o, &other.session_id, &ctx())
        .await
        .unwrap();
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .authenticate(&other.access_token)
                .await
                .unwrap_err()
        ),
        crate::key(&session_ended())
    );
    // Reuse detection kills the family's access tokens at once too.
    let c = env.user("cy@example.com").await;
    env.auth
        .sessions
        .authenticate(&c.access_token)
        .await
        .unwrap();
    env.auth
        .sessions
        .refresh(&c.refresh_token, &ctx())
        .await
        .unwrap();
    env.at(60);
    assert!(env
        .auth
        .sessions
        .refresh(&c.refresh_token, &ctx())
        .await
        .is_err());
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .authenticate(&c.access_token)
                .await
                .unwrap_err()
        ),
        crate::key(&session_ended())
    );
}

#[tokio::test]
async fn a_refresh_audits_in_the_same_commit() {
    let env = env().await;
    let a = env.user("ada@example.com").await;
    let (next, outcome) = env
        .auth
        .sessions
        .refresh(&a.refresh_token, &ctx())
        .await
        .unwrap();
    assert_eq!(outcome, RefreshOutcome::Rotated);
    let rotated: Vec<_> = env
        .audit()
        .await
        .into_iter()
        .filter(|e| e.event == "refresh.rotated")
        .collect();
    assert_eq!(rotated.len(), 1);
    assert_eq!(
        rotated[0].session_id.as_deref(),
        Some(a.session_id.as_str())
    );
    assert_eq!(rotated[0].user_id.as_deref(), Some(a.user_id.as_str()));
    assert_eq!(rotated[0].ip.as_deref(), Some("203.0.113.9"));
    assert_eq!(next.session_id, a.session_id);
    // A lost race (the token already spent, inside the grace window) is a
    // grace replay with its own event, and no second rotation row.
    let (_, outcome) = env
        .auth
        .sessions
        .refresh(&a.refresh_token, &ctx())
        .await
        .unwrap();
    assert_eq!(outcome, RefreshOutcome::GraceReplay);
    let events = env.events().await;
    assert_eq!(
        events.iter().filter(|e| *e == "refresh.rotated").count(),
        1,
        "{events:?}"
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| *e == "refresh.grace_replay")
            .count(),
        1
    );
}

/// Issue 14, finding 11: a logout (or any revocation) that finds the session
/// already revoked leaves the liveness cache alone, and one that revokes
/// forgets only that session.
#[tokio::test]
async fn replayed_logouts_do_not_empty_the_liveness_cache() {
    let env = crate::env_with(tessera_core::AuthConfig {
        session_cache_ttl: std::time::Duration::from_secs(60),
        ..crate::cfg()
    })
    .await;
    let a = env.user("ada@example.com").await;
    let b = env.user("bob@example.com").await;
    let c = env.login("bob@example.com").await;
    let s = &env.auth.sessions;
    for t in [&a, &b, &c] {
        s.authenticate(&t.access_token).await.unwrap();
    }
    assert_eq!(s.cached_sessions(), 3);
    s.logout(&a.refresh_token, &ctx()).await.unwrap();
    assert_eq!(s.cached_sessions(), 2, "only the revoked session goes");
    for _ in 0..5 {
        s.logout(&a.refresh_token, &ctx()).await.unwrap();
        assert_eq!(
            s.cached_sessions(),
            2,
            "an unchanged revocation forgets nothing"
        );
    }
    // Demoting bob forgets bob's sessions only... and his next check sees it.
    env.auth
        .accounts
        .set_roles(&b.user_id, &[], &ctx())
        .await
        .unwrap();
    assert_eq!(s.cached_sessions(), 0);
    s.authenticate(&b.access_token).await.unwrap();
    assert_eq!(s.cached_sessions(), 1);
}

/// Issue 14, finding 2: a demoted admin's unexpired token is no longer an
/// admin's for Tessera's own authorization, even when its session is cached.
#[tokio::test]
async fn demotion_applies_to_tokens_already_issued() {
    let env = crate::env_with(tessera_core::AuthConfig {
        session_cache_ttl: std::time::Duration::from_secs(60),
        ..crate::cfg()
    })
    .await;
    let a = env.user("ada@example.com").await;
    let admin = vec!["admin".to_owned()];
    env.auth
        .accounts
        .set_roles(&a.user_id, &admin, &ctx())
        .await
        .unwrap();
    let p = env
        .auth
        .sessions
        .refresh(&a.refresh_token, &ctx())
        .await
        .unwrap()
        .0;
    let who = env
        .auth
        .sessions
        .authenticate(&p.access_token)
        .await
        .unwrap();
    assert!(who.has_role("admin") && who.claims.roles == admin);
    env.auth
        .accounts
        .set_roles(&a.user_id, &[], &ctx())
        .await
        .unwrap();
    let who = env
        .auth
        .sessions
        .authenticate(&p.access_token)
        .await
        .unwrap();
    assert_eq!(who.claims.roles, admin, "the token still says admin");
    assert!(!who.has_role("admin"));
}
