//! Refresh rotation, the grace window, reuse detection, forgeries,
//! concurrency, restarts and expiry.

use crate::{cfg, ctx, encode_raw, env, env_with, forge, generation, kid, raw, secret, T0};
use std::sync::Arc;
use std::time::Duration;
use tessera_core::{AuthConfig, Error, RefreshOutcome, ServerSecret};

const REUSED: Error =
    Error::InvalidGrant("refresh token was already used; the session has been revoked");
const UNKNOWN: Error = Error::InvalidGrant("unknown refresh token");
const MALFORMED: Error = Error::InvalidGrant("malformed refresh token");
const ENDED: Error = Error::InvalidGrant("session has ended");
const EXPIRED: Error = Error::InvalidGrant("refresh token has expired");

fn session_ended() -> Error {
    Error::InvalidToken(tessera_core::TokenRefused::SessionEnded)
}

#[tokio::test]
async fn the_current_token_rotates() {
    let env = env().await;
    let p0 = env.user("ada@example.com").await;
    env.at(60);
    let (p1, how) = env
        .auth
        .sessions
        .refresh(&p0.refresh_token, &ctx())
        .await
        .unwrap();
    assert_eq!(how, RefreshOutcome::Rotated);
    assert_ne!(*p1.refresh_token, *p0.refresh_token);
    assert_eq!(generation(&p1.refresh_token), 1);
    assert_eq!(p1.session_id, p0.session_id);
    assert_eq!(p1.user_id, p0.user_id);
    // The session id is kept, the secret is new.
    assert_eq!(raw(&p1.refresh_token)[..16], raw(&p0.refresh_token)[..16]);
    assert_ne!(raw(&p1.refresh_token)[24..], raw(&p0.refresh_token)[24..]);

    let s = env.session(&p0.session_id).await;
    assert_eq!(s.generation, 1);
    assert_eq!(s.rotated_at, Some(T0 + 60));
    assert_eq!(s.last_used_at, T0 + 60);
    assert_eq!(s.idle_expires_at, T0 + 60 + 7 * 24 * 3600);
    assert_eq!(
        s.token_hash,
        tessera_jose::crypto::sha256(&raw(&p1.refresh_token)).to_vec()
    );

    let c = crate::claims(&p1.access_token);
    assert_eq!(c["iat"], T0 + 60);
    assert_eq!(c["sid"], p0.session_id.as_str());
    let me = env
        .auth
        .sessions
        .authenticate(&p1.access_token)
        .await
        .unwrap();
    assert_eq!(me.user_id(), p0.user_id);

    env.at(120);
    let (p2, how) = env
        .auth
        .sessions
        .refresh(&p1.refresh_token, &ctx())
        .await
        .unwrap();
    assert_eq!(how, RefreshOutcome::Rotated);
    assert_eq!(generation(&p2.refresh_token), 2);
    assert_eq!(env.session(&p0.session_id).await.generation, 2);
    assert_eq!(
        env.events().await,
        [
            "user.registered",
            "login.success",
            "refresh.rotated",
            "refresh.rotated"
        ]
    );
}

#[tokio::test]
async fn parent_within_grace_gets_the_same_successor() {
    let env = env().await;
    let p0 = env.user("ada@example.com").await;
    let (p1, _) = env
        .auth
        .sessions
        .refresh(&p0.refresh_token, &ctx())
        .await
        .unwrap();

    // 5 s later, and again at the very edge of the 10 s window.
    for at in [5, 10] {
        env.at(at);
        let (again, how) = env
            .auth
            .sessions
            .refresh(&p0.refresh_token, &ctx())
            .await
            .unwrap();
        assert_eq!(how, RefreshOutcome::GraceReplay, "at +{at}s");
        assert_eq!(*again.refresh_token, *p1.refresh_token, "same successor");
        // A fresh, valid access token.
        assert_ne!(again.access_token, p1.access_token);
        assert_eq!(crate::claims(&again.access_token)["iat"], T0 + at);
        let me = env
            .auth
            .sessions
            .authenticate(&again.access_token)
            .await
            .unwrap();
        assert_eq!(me.session_id(), Some(p0.session_id.as_str()));
    }
    // No rotation happened: the successor is still current and rotates.
    let s = env.session(&p0.session_id).await;
    assert_eq!(
        (s.generation, s.rotated_at, s.revoked_at),
        (1, Some(T0), None)
    );
    let (p2, how) = env
        .auth
        .sessions
        .refresh(&p1.refresh_token, &ctx())
        .await
        .unwrap();
    assert_eq!(how, RefreshOutcome::Rotated);
    assert_eq!(generation(&p2.refresh_token), 2);
    let events = env.events().await;
    assert_eq!(
        events
            .iter()
            .filter(|e| *e == "refresh.grace_replay")
            .count(),
        2
    );
    assert!(!events.contains(&"refresh.reuse_detected".to_owned()));
}

#[tokio::test]
async fn parent_after_grace_revokes_the_session() {
    let env = env().await;
    let p0 = env.user("ada@example.com").await;
    let (p1, _) = env
        .auth
        .sessions
        .refresh(&p0.refresh_token, &ctx())
        .await
        .unwrap();
    env.auth
        .sessions
        .authenticate(&p0.access_token)
        .await
        .unwrap();
    env.auth
        .sessions
        .authenticate(&p1.access_token)
        .await
        .unwrap();

    env.at(11);
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .refresh(&p0.refresh_token, &ctx())
                .await
                .unwrap_err()
        ),
        crate::key(&REUSED)
    );
    let s = env.session(&p0.session_id).await;
    assert_eq!(s.revoked_at, Some(T0 + 11));
    assert_eq!(s.revoked_reason.as_deref(), Some("refresh_token_reuse"));

    let audit = env.audit().await;
    let reuse: Vec<_> = audit
        .iter()
        .filter(|e| e.event == "refresh.reuse_detected")
        .collect();
    assert_eq!(reuse.len(), 1);
    assert_eq!(reuse[0].session_id.as_deref(), Some(p0.session_id.as_str()));
    assert_eq!(reuse[0].user_id.as_deref(), Some(p0.user_id.as_str()));
    assert_eq!(reuse[0].at, T0 + 11);
    assert_eq!(
        reuse[0].detail.as_deref(),
        Some("presented generation 0, current 1")
    );

    // Every access token of the session dies at once, and so does the family.
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .authenticate(&p0.access_token)
                .await
                .unwrap_err()
        ),
        crate::key(&session_ended())
    );
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .authenticate(&p1.access_token)
                .await
                .unwrap_err()
        ),
        crate::key(&session_ended())
    );
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .refresh(&p1.refresh_token, &ctx())
                .await
                .unwrap_err()
        ),
        crate::key(&ENDED)
    );
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .refresh(&p0.refresh_token, &ctx())
                .await
                .unwrap_err()
        ),
        crate::key(&ENDED)
    );
}

#[tokio::test]
async fn grandparent_within_grace_revokes() {
    let env = env().await;
    let p0 = env.user("ada@example.com").await;
    let (p1, _) = env
        .auth
        .sessions
        .refresh(&p0.refresh_token, &ctx())
        .await
        .unwrap();
    env.at(1);
    let (p2, _) = env
        .auth
        .sessions
        .refresh(&p1.refresh_token, &ctx())
        .await
        .unwrap();
    env.at(2);
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .refresh(&p0.refresh_token, &ctx())
                .await
                .unwrap_err()
        ),
        crate::key(&REUSED)
    );
    assert!(env.session(&p0.session_id).await.revoked_at.is_some());
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .authenticate(&p2.access_token)
                .await
                .unwrap_err()
        ),
        crate::key(&session_ended())
    );
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .refresh(&p2.refresh_token, &ctx())
                .await
                .unwrap_err()
        ),
        crate::key(&ENDED)
    );
    let audit = env.audit().await;
    let reuse = audit
        .iter()
        .find(|e| e.event == "refresh.reuse_detected")
        .unwrap();
    assert_eq!(
        reuse.detail.as_deref(),
        Some("presented generation 0, current 2")
    );
}

#[tokio::test]
async fn zero_grace_makes_any_parent_replay_a_reuse() {
    let env = env_with(AuthConfig {
        refresh_reuse_grace: Duration::ZERO,
        ..cfg()
    })
    .await;
    let p0 = env.user("ada@example.com").await;
    let (p1, _) = env
        .auth
        .sessions
        .refresh(&p0.refresh_token, &ctx())
        .await
        .unwrap();
    // Same second as the rotation.
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .refresh(&p0.refresh_token, &ctx())
                .await
                .unwrap_err()
        ),
        crate::key(&REUSED)
    );
    assert_eq!(
        env.session(&p0.session_id).await.revoked_reason.as_deref(),
        Some("refresh_token_reuse")
    );
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .authenticate(&p1.access_token)
                .await
                .unwrap_err()
        ),
        crate::key(&session_ended())
    );
    assert!(env
        .events()
        .await
        .contains(&"refresh.reuse_detected".to_owned()));
}

#[tokio::test]
async fn forged_tokens_are_refused_and_never_revoke() {
    let env = env().await;
    let p0 = env.user("ada@example.com").await;
    let (p1, _) = env
        .auth
        .sessions
        .refresh(&p0.refresh_token, &ctx())
        .await
        .unwrap();
    let (p2, _) = env
        .auth
        .sessions
        .refresh(&p1.refresh_token, &ctx())
        .await
        .unwrap();

    // Right session id, random secret, every interesting generation: the
    // current one, the parent (inside and after the grace window), older
    // ones, future ones, the maximum.
    for at in [0, 100] {
        env.at(at);
        for g in [0, 1, 2, 3, 1000, i64::MAX] {
            let forged = forge(&p0.refresh_token, g);
            assert_eq!(generation(&forged), g);
            assert_eq!(
                crate::key(
                    &env.auth
                        .sessions
                        .refresh(&forged, &ctx())
                        .await
                        .unwrap_err()
                ),
                crate::key(&UNKNOWN),
                "generation {g} at +{at}s"
            );
            env.auth.sessions.logout(&forged, &ctx()).await.unwrap();
        }
    }
    // A genuine secret with its generation changed.
    let mut shifted = raw(&p1.refresh_token);
    shifted[16..24].copy_from_slice(&0i64.to_be_bytes());
    // Another session's genuine token moved onto this session id.
    let other = env.user("bob@example.com").await;
    let mut moved = raw(&other.refresh_token);
    moved[..16].copy_from_slice(&raw(&p0.refresh_token)[..16]);
    // The current token with one bit flipped.
    let mut flipped = raw(&p2.refresh_token);
    flipped[40] ^= 1;
    for bad in [shifted, moved, flipped] {
        let text = encode_raw(&bad);
        assert_eq!(
            crate::key(&env.auth.sessions.refresh(&text, &ctx()).await.unwrap_err()),
            crate::key(&UNKNOWN)
        );
        env.auth.sessions.logout(&text, &ctx()).await.unwrap();
    }
    // A session id that does not exist.
    let mut nowhere = raw(&p2.refresh_token);
    nowhere[..16].fill(0);
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .refresh(&encode_raw(&nowhere), &ctx())
                .await
                .unwrap_err()
        ),
        crate::key(&UNKNOWN)
    );

    // The session is untouched, and its real current token still works.
    let s = env.session(&p0.session_id).await;
    assert_eq!((s.revoked_at, s.generation), (None, 2));
    env.auth
        .sessions
        .authenticate(&p2.access_token)
        .await
        .unwrap();
    let (p3, how) = env
        .auth
        .sessions
        .refresh(&p2.refresh_token, &ctx())
        .await
        .unwrap();
    assert_eq!(how, RefreshOutcome::Rotated);
    assert_eq!(generation(&p3.refresh_token), 3);
    let events = env.events().await;
    assert!(!events.contains(&"refresh.reuse_detected".to_owned()));
    assert!(!events.contains(&"logout".to_owned()));
}

#[tokio::test]
async fn malformed_tokens_are_refused() {
    let env = env().await;
    let p0 = env.user("ada@example.com").await;
    let good: &str = &p0.refresh_token;
    let body = &good[4..];
    let negative = {
        let mut r = raw(good);
        r[16..24].copy_from_slice(&(-5i64).to_be_bytes());
        encode_raw(&r)
    };
    let min = forge(good, i64::MIN);
    let cases = [
        String::new(),
        "tsr_".into(),
        body.into(),
        format!("TSR_{body}"),
        format!("tsx_{body}"),
        format!(" {good}"),
        format!("{good} "),
        format!("{good}="),
        format!("{good}A"),
        good[..good.len() - 1].to_owned(),
        format!("tsr_{}", "!".repeat(75)),
        // 75 bytes, but not 75 base64url characters.
        format!("tsr_{}x", "é".repeat(37)),
        // Standard-alphabet characters are not base64url.
        format!("tsr_{}+", &body[..74]),
        // Non-canonical: the last character carries unused bits.
        format!("tsr_{}B", &body[..74]),
        p0.access_token.clone(),
        format!("tsr_{}", "A".repeat(1 << 20)),
        // Generations are never negative (and a negative one would buy a
        // forger a long chain walk).
        negative,
        min,
    ];
    for (i, bad) in cases.iter().enumerate() {
        assert_eq!(
            crate::key(&env.auth.sessions.refresh(bad, &ctx()).await.unwrap_err()),
            crate::key(&MALFORMED),
            "case {i}"
        );
        match env.auth.sessions.logout(bad, &ctx()).await.unwrap_err() {
            Error::InvalidInput { field, .. } => assert_eq!(field, "refresh_token"),
            other => panic!("case {i}: {other:?}"),
        }
    }
    // The canonical form of the last character check above is accepted.
    assert_eq!(generation(good), 0);
    assert!(env.session(&p0.session_id).await.revoked_at.is_none());
    env.auth.sessions.refresh(good, &ctx()).await.unwrap();
}

#[tokio::test]
async fn long_chains_tell_genuine_from_forged() {
    // Over 256 rotations: the chain walk runs on a blocking thread.
    let env = env().await;
    let p0 = env.user("ada@example.com").await;
    let mut current = p0.clone();
    for _ in 0..300 {
        current = env
            .auth
            .sessions
            .refresh(&current.refresh_token, &ctx())
            .await
            .unwrap()
            .0;
    }
    assert_eq!(generation(&current.refresh_token), 300);
    env.at(60);
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .refresh(&forge(&p0.refresh_token, 0), &ctx())
                .await
                .unwrap_err()
        ),
        crate::key(&UNKNOWN)
    );
    assert!(env.session(&p0.session_id).await.revoked_at.is_none());
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .refresh(&p0.refresh_token, &ctx())
                .await
                .unwrap_err()
        ),
        crate::key(&REUSED)
    );
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .authenticate(&current.access_token)
                .await
                .unwrap_err()
        ),
        crate::key(&session_ended())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_get_one_identical_successor() {
    let env = env().await;
    let p0 = env.user("ada@example.com").await;
    let auth = Arc::new(env.auth);
    let token: Arc<str> = Arc::from(&**p0.refresh_token);
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (auth, token) = (auth.clone(), token.clone());
            tokio::spawn(async move { auth.sessions.refresh(&token, &ctx()).await })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap().unwrap());
    }
    let first = results[0].0.refresh_token.clone();
    assert_eq!(generation(&first), 1);
    for (pair, _) in &results {
        assert_eq!(*pair.refresh_token, *first);
        assert_eq!(pair.session_id, p0.session_id);
        auth.sessions
            .authenticate(&pair.access_token)
            .await
            .unwrap();
    }
    let rotated = results
        .iter()
        .filter(|(_, how)| *how == RefreshOutcome::Rotated)
        .count();
    assert_eq!(rotated, 1);
    let s = env.store.session(&p0.session_id).await.unwrap().unwrap();
    assert_eq!((s.generation, s.revoked_at), (1, None));
    let events: Vec<String> = env
        .store
        .audit_after(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.event.event)
        .collect();
    assert!(!events.contains(&"refresh.reuse_detected".to_owned()));
    assert_eq!(events.iter().filter(|e| *e == "refresh.rotated").count(), 1);
    assert_eq!(
        events
            .iter()
            .filter(|e| *e == "refresh.grace_replay")
            .count(),
        31
    );
    // The one successor carries on.
    let (p2, how) = auth.sessions.refresh(&first, &ctx()).await.unwrap();
    assert_eq!(how, RefreshOutcome::Rotated);
    assert_eq!(generation(&p2.refresh_token), 2);
}

#[tokio::test]
async fn tokens_and_keys_survive_a_restart() {
    let env = env().await;
    let p0 = env.user("ada@example.com").await;
    let (p1, _) = env
        .auth
        .sessions
        .refresh(&p0.refresh_token, &ctx())
        .await
        .unwrap();
    let kid_before = kid(&p1.access_token);
    let crate::Env {
        dir,
        db_url,
        store,
        clock,
        auth,
    } = env;
    drop(auth);
    drop(store);

    // Reopen the database file and build a new Auth with the same secret.
    let store = tessera_store::open(db_url.as_deref(), dir.path())
        .await
        .unwrap();
    clock.set(T0 + 5);
    let auth = crate::app_with(store.clone(), secret(), cfg(), clock.clone())
        .await
        .unwrap();
    let me = auth.sessions.authenticate(&p1.access_token).await.unwrap();
    assert_eq!(me.session_id(), Some(p0.session_id.as_str()));
    auth.sessions.authenticate(&p0.access_token).await.unwrap();
    // The grace replay derives the very same successor after the restart...
    let (again, how) = auth
        .sessions
        .refresh(&p0.refresh_token, &ctx())
        .await
        .unwrap();
    assert_eq!(how, RefreshOutcome::GraceReplay);
    assert_eq!(*again.refresh_token, *p1.refresh_token);
    // ...the current token rotates, signed by the same key...
    let (p2, how) = auth
        .sessions
        .refresh(&p1.refresh_token, &ctx())
        .await
        .unwrap();
    assert_eq!(how, RefreshOutcome::Rotated);
    assert_eq!(generation(&p2.refresh_token), 2);
    assert_eq!(kid(&p2.access_token), kid_before);
    // ...and reuse is still recognised.
    clock.set(T0 + 100);
    assert_eq!(
        crate::key(
            &auth
                .sessions
                .refresh(&p0.refresh_token, &ctx())
                .await
                .unwrap_err()
        ),
        crate::key(&REUSED)
    );
    drop(auth);

    // Another server secret cannot unseal the keys.
    let other = ServerSecret::from_bytes(&[8; 32]).unwrap();
    match crate::app_with(store.clone(), other, cfg(), clock.clone()).await {
        Err(e @ Error::Internal(_)) => {
            let msg = e.to_string();
            assert!(msg.contains("cannot be unsealed"), "{msg}")
        }
        other => panic!("expected an unsealing error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_different_secret_cannot_continue_a_chain() {
    // Even with the keys out of the way (fresh database, same tokens), a
    // successor derived under another secret is not this server's.
    let env = env().await;
    let p0 = env.user("ada@example.com").await;
    let rogue = tessera_core::refresh::RefreshToken::parse(&p0.refresh_token)
        .unwrap()
        .successor(&ServerSecret::from_bytes(&[9; 32]).unwrap());
    assert_eq!(rogue.generation(), 1);
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .refresh(&rogue.encode(), &ctx())
                .await
                .unwrap_err()
        ),
        crate::key(&UNKNOWN)
    );
    let genuine = tessera_core::refresh::RefreshToken::parse(&p0.refresh_token)
        .unwrap()
        .successor(&secret());
    let (p1, _) = env
        .auth
        .sessions
        .refresh(&p0.refresh_token, &ctx())
        .await
        .unwrap();
    assert_eq!(*genuine.encode(), *p1.refresh_token);
}

#[tokio::test]
async fn idle_expiry_moves_on_refresh() {
    let env = env_with(AuthConfig {
        refresh_idle_ttl: Duration::from_secs(100),
        refresh_token_ttl: Duration::from_secs(1000),
        ..cfg()
    })
    .await;
    let p0 = env.user("ada@example.com").await;
    assert_eq!(p0.refresh_token_expires_in, 100);

    env.at(99);
    let (p1, _) = env
        .auth
        .sessions
        .refresh(&p0.refresh_token, &ctx())
        .await
        .unwrap();
    assert_eq!(p1.refresh_token_expires_in, 100);
    assert_eq!(env.session(&p0.session_id).await.idle_expires_at, T0 + 199);

    env.at(198);
    let (p2, _) = env
        .auth
        .sessions
        .refresh(&p1.refresh_token, &ctx())
        .await
        .unwrap();
    assert_eq!(env.session(&p0.session_id).await.idle_expires_at, T0 + 298);
    env.auth
        .sessions
        .authenticate(&p2.access_token)
        .await
        .unwrap();

    // Idle for exactly the idle lifetime: expired.
    env.at(298);
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .refresh(&p2.refresh_token, &ctx())
                .await
                .unwrap_err()
        ),
        crate::key(&EXPIRED)
    );
    // The access token is within its own lifetime, but its session is over.
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .authenticate(&p2.access_token)
                .await
                .unwrap_err()
        ),
        crate::key(&session_ended())
    );
    // Expiry is not a revocation, and it is not reuse.
    let s = env.session(&p0.session_id).await;
    assert_eq!((s.revoked_at, s.generation), (None, 2));
    assert!(!env
        .events()
        .await
        .contains(&"refresh.reuse_detected".to_owned()));
}

#[tokio::test]
async fn idle_expiry_never_passes_the_absolute_expiry() {
    let env = env_with(AuthConfig {
        refresh_idle_ttl: Duration::from_secs(100),
        refresh_token_ttl: Duration::from_secs(250),
        ..cfg()
    })
    .await;
    let p0 = env.user("ada@example.com").await;
    env.at(90);
    let (p1, _) = env
        .auth
        .sessions
        .refresh(&p0.refresh_token, &ctx())
        .await
        .unwrap();
    assert_eq!(env.session(&p0.session_id).await.idle_expires_at, T0 + 190);
    assert_eq!(p1.refresh_token_expires_in, 100);

    env.at(180);
    let (p2, _) = env
        .auth
        .sessions
        .refresh(&p1.refresh_token, &ctx())
        .await
        .unwrap();
    let s = env.session(&p0.session_id).await;
    assert_eq!((s.idle_expires_at, s.expires_at), (T0 + 250, T0 + 250));
    assert_eq!(p2.refresh_token_expires_in, 70);

    env.at(249);
    let (p3, _) = env
        .auth
        .sessions
        .refresh(&p2.refresh_token, &ctx())
        .await
        .unwrap();
    assert_eq!(p3.refresh_token_expires_in, 1);
    assert_eq!(env.session(&p0.session_id).await.idle_expires_at, T0 + 250);
    env.auth
        .sessions
        .authenticate(&p3.access_token)
        .await
        .unwrap();

    env.at(250);
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .refresh(&p3.refresh_token, &ctx())
                .await
                .unwrap_err()
        ),
        crate::key(&EXPIRED)
    );
    // A grace replay of the parent does not outlive the session either.
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .refresh(&p2.refresh_token, &ctx())
                .await
                .unwrap_err()
        ),
        crate::key(&EXPIRED)
    );
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .authenticate(&p3.access_token)
                .await
                .unwrap_err()
        ),
        crate::key(&session_ended())
    );
}

#[tokio::test]
async fn access_tokens_expire_at_the_leeway_edge() {
    let env = env().await;
    let p0 = env.user("ada@example.com").await;
    // exp = T0 + 900, leeway 30: valid while now < exp + leeway.
    env.at(929);
    env.auth
        .sessions
        .authenticate(&p0.access_token)
        .await
        .unwrap();
    env.at(930);
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .authenticate(&p0.access_token)
                .await
                .unwrap_err()
        ),
        crate::key(&Error::InvalidToken(tessera_core::TokenRefused::Jose(
            tessera_jose::Error::Expired
        )))
    );
    // The refresh token is unaffected.
    let (p1, _) = env
        .auth
        .sessions
        .refresh(&p0.refresh_token, &ctx())
        .await
        .unwrap();
    assert_eq!(crate::claims(&p1.access_token)["exp"], T0 + 930 + 900);
    env.auth
        .sessions
        .authenticate(&p1.access_token)
        .await
        .unwrap();
}

#[tokio::test]
async fn grace_window_is_measured_both_ways() {
    // A clock behind the rotation (another instance, or a step back) must
    // not stretch the window.
    let env = env().await;
    let p0 = env.user("ada@example.com").await;
    env.at(1000);
    let (p1, _) = env
        .auth
        .sessions
        .refresh(&p0.refresh_token, &ctx())
        .await
        .unwrap();
    env.at(990);
    let (again, how) = env
        .auth
        .sessions
        .refresh(&p0.refresh_token, &ctx())
        .await
        .unwrap();
    assert_eq!(how, RefreshOutcome::GraceReplay);
    assert_eq!(*again.refresh_token, *p1.refresh_token);
    env.at(989);
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .refresh(&p0.refresh_token, &ctx())
                .await
                .unwrap_err()
        ),
        crate::key(&REUSED)
    );
}

#[tokio::test]
async fn secrets_stay_out_of_debug_output_and_errors() {
    let env = env().await;
    let p0 = env.user("ada@example.com").await;
    let (p1, _) = env
        .auth
        .sessions
        .refresh(&p0.refresh_token, &ctx())
        .await
        .unwrap();
    let secret_part = |t: &str| t[40..].to_owned();
    let shown = [
        format!("{p0:?}"),
        format!("{p1:?}"),
        format!(
            "{:?}",
            tessera_core::refresh::RefreshToken::parse(&p1.refresh_token).unwrap()
        ),
        format!("{:?}", secret()),
        format!("{:?}", env.auth),
        format!("{:?}", env.auth.tokens),
        format!("{:?}", env.auth.sessions),
    ];
    for text in &shown {
        for token in [&p0.refresh_token, &p1.refresh_token] {
            assert!(!text.contains(&secret_part(token)), "{text}");
        }
        assert!(!text.contains(&p0.access_token), "{text}");
    }
    assert!(format!("{p1:?}").contains(&p1.session_id));
    // Errors name the cause, never the token.
    env.at(100);
    for bad in [
        p0.refresh_token.to_string(),
        forge(&p1.refresh_token, 1),
        format!("{}x", &*p1.refresh_token),
    ] {
        let e = env.auth.sessions.refresh(&bad, &ctx()).await.unwrap_err();
        let text = format!("{e} {e:?}");
        assert!(!text.contains(&secret_part(&bad)), "{text}");
    }
    let audit = env.audit().await;
    for e in &audit {
        let text = format!("{e:?}");
        assert!(!text.contains(&secret_part(&p0.refresh_token)), "{text}");
        assert!(!text.contains(&secret_part(&p1.refresh_token)), "{text}");
    }
}
