//! Signing keys: publish lead, retirement, retention, scheduled rotation,
//! immediate rotation.

use crate::{cfg, ctx, env, env_with, kid, secret, T0};
use std::time::Duration;
use tessera_core::{AuthConfig, Error};

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn a_new_key_is_published_before_it_signs() {
    let env = env().await;
    let first = env.auth.tokens.key_infos();
    assert_eq!(first.len(), 1);
    let k1 = first[0].kid.clone();
    assert!(first[0].signing);
    assert_eq!(first[0].activates_at, T0, "the first key signs at once");
    assert_eq!(first[0].alg, "ES256");

    let p0 = env.user("ada@example.com").await;
    assert_eq!(kid(&p0.access_token), k1);
    assert_eq!(env.jwks_kids(), [k1.as_str()]);

    env.at(10);
    let info = env.auth.tokens.rotate_keys(false, &ctx()).await.unwrap();
    let k2 = info.kid.clone();
    assert_ne!(k2, k1);
    assert_eq!(info.created_at, T0 + 10);
    assert_eq!(info.activates_at, T0 + 310);
    assert_eq!(info.retired_at, None);
    assert!(!info.signing);
    // Published at once...
    assert_eq!(env.jwks_kids(), sorted(vec![k1.clone(), k2.clone()]));
    let audit = env.audit().await;
    let rotated = audit.iter().find(|e| e.event == "key.rotated").unwrap();
    assert_eq!(rotated.detail.as_deref(), Some(k2.as_str()));

    // ...but the old key signs until the publish lead has passed.
    let p1 = env.login("ada@example.com").await;
    assert_eq!(kid(&p1.access_token), k1);
    env.at(309);
    let (p2, _) = env
        .auth
        .sessions
        .refresh(&p1.refresh_token, &ctx())
        .await
        .unwrap();
    assert_eq!(kid(&p2.access_token), k1);
    let infos = env.auth.tokens.key_infos();
    let old = infos.iter().find(|i| i.kid == k1).unwrap();
    assert_eq!(old.retired_at, Some(T0 + 310));
    assert!(old.signing);

    env.at(310);
    let (p3, _) = env
        .auth
        .sessions
        .refresh(&p2.refresh_token, &ctx())
        .await
        .unwrap();
    assert_eq!(kid(&p3.access_token), k2);
    let infos = env.auth.tokens.key_infos();
    assert!(infos.iter().find(|i| i.kid == k2).unwrap().signing);
    assert!(!infos.iter().find(|i| i.kid == k1).unwrap().signing);

    // Tokens signed by the old key keep verifying, and the old key stays
    // published until the last of them has expired: signed at T0+309,
    // exp T0+1209, accepted until T0+1239 (leeway 30).
    env.auth
        .sessions
        .authenticate(&p2.access_token)
        .await
        .unwrap();
    env.at(1238);
    env.auth
        .sessions
        .authenticate(&p2.access_token)
        .await
        .unwrap();
    env.auth.maintenance.run().await.unwrap();
    assert_eq!(env.jwks_kids(), sorted(vec![k1.clone(), k2.clone()]));

    // Retired at T0+310; kept while retired + 900 + 30 >= now.
    env.at(1240);
    env.auth.maintenance.run().await.unwrap();
    assert_eq!(env.jwks_kids(), sorted(vec![k1.clone(), k2.clone()]));
    env.at(1241);
    env.auth.maintenance.run().await.unwrap();
    assert_eq!(env.jwks_kids(), [k2.as_str()]);
    assert_eq!(crate::main_keys(&*env.store).await.len(), 1);
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .authenticate(&p2.access_token)
                .await
                .unwrap_err()
        ),
        crate::key(&Error::InvalidToken(tessera_core::TokenRefused::Jose(
            tessera_jose::Error::UnknownKey
        )))
    );
    let (p4, _) = env
        .auth
        .sessions
        .refresh(&p3.refresh_token, &ctx())
        .await
        .unwrap();
    assert_eq!(kid(&p4.access_token), k2);
    env.auth
        .sessions
        .authenticate(&p4.access_token)
        .await
        .unwrap();

    // After a restart the remaining key is the signer.
    let auth = crate::app_with(env.store.clone(), secret(), cfg(), env.clock.clone())
        .await
        .unwrap();
    env.auth
        .sessions
        .authenticate(&p4.access_token)
        .await
        .unwrap();
    auth.sessions.authenticate(&p4.access_token).await.unwrap();
    let p5 = auth
        .sessions
        .login("ada@example.com", crate::PASSWORD, &ctx())
        .await
        .unwrap();
    assert_eq!(kid(&p5.access_token), k2);
}

#[tokio::test]
async fn maintain_rotates_when_the_interval_has_elapsed() {
    let env = env_with(AuthConfig {
        key_rotation_interval: Duration::from_secs(1000),
        ..cfg()
    })
    .await;
    let k1 = env.auth.tokens.key_infos()[0].kid.clone();
    env.at(999);
    env.auth.maintenance.run().await.unwrap();
    assert_eq!(env.jwks_kids(), [k1.as_str()]);

    env.at(1000);
    env.auth.maintenance.run().await.unwrap();
    let infos = env.auth.tokens.key_infos();
    assert_eq!(infos.len(), 2);
    let new = infos.iter().find(|i| i.kid != k1).unwrap().clone();
    assert_eq!(new.created_at, T0 + 1000);
    assert_eq!(new.activates_at, T0 + 1300);
    assert!(!new.signing);
    let audit = env.audit().await;
    let rotated: Vec<_> = audit.iter().filter(|e| e.event == "key.rotated").collect();
    // The main key, and the RS256 ID-token key beside it, on the same schedule.
    let (id, main): (Vec<&&_>, Vec<&&_>) = rotated
        .iter()
        .partition(|e| e.detail.as_deref().is_some_and(|d| d.starts_with("oidc-")));
    assert_eq!((main.len(), id.len()), (1, 1));
    assert_eq!(main[0].detail.as_deref(), Some(new.kid.as_str()));

    // The interval counts from the newest key: no second rotation yet.
    env.at(1001);
    env.auth.maintenance.run().await.unwrap();
    env.at(1999);
    env.auth.maintenance.run().await.unwrap();
    assert_eq!(crate::main_keys(&*env.store).await.len(), 2);

    let p = env.user("ada@example.com").await;
    assert_eq!(kid(&p.access_token), new.kid);

    // The first key retired at T0+1300 and is kept until T0+2230
    // (+ 900 s access lifetime + 30 s leeway); the next rotation is due.
    env.at(2231);
    env.auth.maintenance.run().await.unwrap();
    let infos = env.auth.tokens.key_infos();
    let kids: Vec<&str> = infos.iter().map(|i| i.kid.as_str()).collect();
    assert_eq!(kids.len(), 2);
    assert!(!kids.contains(&k1.as_str()));
    assert!(kids.contains(&new.kid.as_str()));
    let third = infos.iter().find(|i| i.kid != new.kid).unwrap();
    assert_eq!(
        (third.created_at, third.activates_at),
        (T0 + 2231, T0 + 2531)
    );
}

#[tokio::test]
async fn zero_interval_disables_scheduled_rotation() {
    let env = env_with(AuthConfig {
        key_rotation_interval: Duration::ZERO,
        ..cfg()
    })
    .await;
    env.at(100 * 24 * 3600);
    env.auth.maintenance.run().await.unwrap();
    assert_eq!(crate::main_keys(&*env.store).await.len(), 1);
}

#[tokio::test]
async fn immediate_rotation_signs_at_once_and_overrides_a_pending_key() {
    let env = env().await;
    let k1 = env.auth.tokens.key_infos()[0].kid.clone();
    let p0 = env.user("ada@example.com").await;

    // A scheduled-style rotation: K2 would sign from T0+300...
    let k2 = env.auth.tokens.rotate_keys(false, &ctx()).await.unwrap();
    assert_eq!(k2.activates_at, T0 + 300);
    // ...then a suspected compromise: K3 signs now.
    env.at(10);
    let k3 = env.auth.tokens.rotate_keys(true, &ctx()).await.unwrap();
    assert_eq!(k3.activates_at, T0 + 10);
    assert!(k3.signing);
    let (p1, _) = env
        .auth
        .sessions
        .refresh(&p0.refresh_token, &ctx())
        .await
        .unwrap();
    assert_eq!(kid(&p1.access_token), k3.kid);

    let infos = env.auth.tokens.key_infos();
    let by = |k: &str| infos.iter().find(|i| i.kid == k).unwrap().clone();
    assert_eq!(by(&k2.kid).retired_at, Some(T0 + 10));
    assert_eq!(by(&k1).retired_at, Some(T0 + 300));

    // When K2's activation time comes, the retired K2 must not take over.
    env.at(300);
    let (p2, _) = env
        .auth
        .sessions
        .refresh(&p1.refresh_token, &ctx())
        .await
        .unwrap();
    assert_eq!(kid(&p2.access_token), k3.kid);
    assert!(env
        .auth
        .tokens
        .key_infos()
        .iter()
        .all(|i| i.signing == (i.kid == k3.kid)));
    // Old tokens still verify meanwhile.
    env.auth
        .sessions
        .authenticate(&p0.access_token)
        .await
        .unwrap();
    // And a restart agrees.
    let auth = crate::app_with(env.store.clone(), secret(), cfg(), env.clock.clone())
        .await
        .unwrap();
    let p3 = auth
        .sessions
        .login("ada@example.com", crate::PASSWORD, &ctx())
        .await
        .unwrap();
    assert_eq!(kid(&p3.access_token), k3.kid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_sharing_a_store_agree_on_keys_and_rotate_once() {
    // Four instances start together on an empty database: one key, not four.
    let dir = tempfile::tempdir().unwrap();
    let db_url = tessera_store::testing::fresh_database_url().await.unwrap();
    let store = tessera_store::open(db_url.as_deref(), dir.path())
        .await
        .unwrap();
    let clock = std::sync::Arc::new(tessera_jose::ManualClock::new(T0));
    let mut starts = Vec::new();
    for _ in 0..4 {
        let (store, clock) = (store.clone(), clock.clone());
        starts.push(tokio::spawn(async move {
            let now = tessera_jose::Clock::now(&*clock);
            tessera_core::Keys::init(store, secret(), &cfg(), now)
                .await
                .unwrap()
        }));
    }
    let mut instances = Vec::new();
    for s in starts {
        instances.push(s.await.unwrap());
    }
    assert_eq!(store.keys().await.unwrap().len(), 1, "one first key");
    let kid0 = store.keys().await.unwrap()[0].kid.clone();
    for a in &instances {
        assert_eq!(a.current(T0).signer().kid(), kid0);
    }

    // The rotation interval passes: every instance runs maintenance, one rotates.
    let interval = cfg().key_rotation_interval.as_secs() as i64;
    clock.set(T0 + interval);
    let mut rotated = 0;
    for a in &instances {
        if a.maintain(T0 + interval).await.unwrap().is_some() {
            rotated += 1;
        }
    }
    assert_eq!(rotated, 1, "exactly one instance rotates");
    assert_eq!(store.keys().await.unwrap().len(), 2);
    // Every instance publishes both keys after its next reload.
    for a in &instances {
        a.reload(T0 + interval).await.unwrap();
        assert_eq!(a.current(T0 + interval).keyset().len(), 2);
    }
}
