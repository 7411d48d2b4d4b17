//! Signing-key rotation through the admin API.

use crate::support::{kid, send, TestServer, T0};
use reqwest::Method;

#[tokio::test]
async fn rotation_publishes_first_and_signs_after_the_lead() {
    let t = TestServer::start().await;
    let admin = t.admin("root@x.io").await;
    let user = t.user("ada@x.io").await;
    let old_kid = kid(&user.tokens.access);
    assert_eq!(t.kids().await, vec![old_kid.clone()]);

    t.advance(10);
    let r = send(
        t.req(Method::POST, "/v1/admin/keys/rotate")
            .bearer_auth(&admin.tokens.access),
    )
    .await
    .expect(201);
    let new_kid = r.str("kid").to_owned();
    assert_ne!(new_kid, old_kid);
    assert_eq!(r.body["alg"], "ES256");
    assert_eq!(r.body["created_at"], T0 + 10);
    assert_eq!(r.body["activates_at"], T0 + 10 + 300);
    assert_eq!(r.body["retired_at"], serde_json::Value::Null);
    assert_eq!(r.body["signing"], false);

    // Published at once, next to the old key.
    let kids = t.kids().await;
    assert_eq!(kids.len(), 2);
    assert!(
        kids.contains(&old_kid) && kids.contains(&new_kid),
        "{kids:?}"
    );
    // The admin view agrees.
    let r = t
        .get_auth("/v1/admin/keys", &admin.tokens.access)
        .await
        .expect(200);
    let infos = r.body["keys"].as_array().unwrap();
    assert_eq!(infos.len(), 2);
    for k in infos {
        let signing = k["kid"] == old_kid.as_str();
        assert_eq!(k["signing"], signing, "{}", r.text);
        if signing {
            assert_eq!(k["retired_at"], T0 + 10 + 300, "{}", r.text);
        }
    }

    // Old tokens keep working; new tokens still use the old key.
    t.me(&user.tokens.access).await.expect(200);
    let before = t.login("ada@x.io").await;
    assert_eq!(kid(&before.access), old_kid);
    let refreshed = t.refresh_ok(&before.refresh).await;
    assert_eq!(kid(&refreshed.access), old_kid);

    // One second before the lead has passed: still the old key.
    t.clock.set(T0 + 10 + 299);
    assert_eq!(kid(&t.login("ada@x.io").await.access), old_kid);
    // Once it has passed, the new key signs.
    t.clock.set(T0 + 10 + 300);
    let after = t.login("ada@x.io").await;
    assert_eq!(kid(&after.access), new_kid);
    t.verify(&after.access).await.unwrap();
    t.me(&after.access).await.expect(200);
    // Tokens signed by the old key still verify and still work.
    t.verify(&user.tokens.access).await.unwrap();
    t.me(&user.tokens.access).await.expect(200);
    t.me(&before.access).await.expect(200);
    let r = t
        .get_auth("/v1/admin/keys", &admin.tokens.access)
        .await
        .expect(200);
    for k in r.body["keys"].as_array().unwrap() {
        assert_eq!(k["signing"], k["kid"] == new_kid.as_str(), "{}", r.text);
    }
}

#[tokio::test]
async fn immediate_rotation_switches_at_once() {
    let t = TestServer::start().await;
    let admin = t.admin("root@x.io").await;
    let old_kid = kid(&admin.tokens.access);
    let r = send(
        t.req(Method::POST, "/v1/admin/keys/rotate?immediate=true")
            .bearer_auth(&admin.tokens.access),
    )
    .await
    .expect(201);
    let new_kid = r.str("kid").to_owned();
    assert_eq!(r.body["activates_at"], T0);
    assert_eq!(r.body["signing"], true);
    let next = t.login("root@x.io").await;
    assert_eq!(kid(&next.access), new_kid);
    assert_ne!(new_kid, old_kid);
    // Both keys are published, and both tokens work.
    let kids = t.kids().await;
    assert_eq!(kids.len(), 2);
    assert!(kids.contains(&old_kid) && kids.contains(&new_kid));
    t.me(&admin.tokens.access).await.expect(200);
    t.me(&next.access).await.expect(200);
    t.verify(&admin.tokens.access).await.unwrap();
    t.verify(&next.access).await.unwrap();

    // A pending rotation overtaken by an immediate one never signs.
    let pending = send(
        t.req(Method::POST, "/v1/admin/keys/rotate")
            .bearer_auth(&next.access),
    )
    .await
    .expect(201);
    let pending_kid = pending.str("kid").to_owned();
    let now = send(
        t.req(Method::POST, "/v1/admin/keys/rotate?immediate=true")
            .bearer_auth(&next.access),
    )
    .await
    .expect(201);
    let now_kid = now.str("kid").to_owned();
    assert_eq!(t.kids().await.len(), 4);
    assert_eq!(kid(&t.login("root@x.io").await.access), now_kid);
    t.advance(301);
    assert_eq!(kid(&t.login("root@x.io").await.access), now_kid);
    assert_ne!(pending_kid, now_kid);

    // Overtaking a pending rotation within the same second, repeatedly: the
    // immediate key always signs (kids are random, so ties must not decide).
    for _ in 0..6 {
        let pending = send(
            t.req(Method::POST, "/v1/admin/keys/rotate")
                .bearer_auth(&next.access),
        )
        .await
        .expect(201);
        assert_eq!(pending.body["signing"], false);
        let now = send(
            t.req(Method::POST, "/v1/admin/keys/rotate?immediate=true")
                .bearer_auth(&next.access),
        )
        .await
        .expect(201);
        assert_eq!(now.body["signing"], true, "{}", now.text);
        assert_eq!(kid(&t.login("root@x.io").await.access), now.str("kid"));
    }

    // `immediate=false` is the default; anything else in the query is refused.
    for q in ["?immediate=maybe", "?now=true"] {
        send(
            t.req(Method::POST, &format!("/v1/admin/keys/rotate{q}"))
                .bearer_auth(&next.access),
        )
        .await
        .expect_error(400, "invalid_request");
    }
    send(
        t.req(Method::POST, "/v1/admin/keys/rotate?immediate=false")
            .bearer_auth(&next.access),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn a_revoked_key_is_unpublished_and_its_tokens_refused_at_once() {
    let mut t = TestServer::start().await;
    let admin = t.admin("root@x.io").await;
    let user = t.user("ada@x.io").await;
    let leaked = kid(&user.tokens.access);
    t.me(&user.tokens.access).await.expect(200);

    // Only admins may revoke; an unknown kid is 404.
    send(
        t.req(Method::POST, &format!("/v1/admin/keys/{leaked}/revoke"))
            .bearer_auth(&user.tokens.access),
    )
    .await
    .expect_error(403, "insufficient_scope");
    send(
        t.req(Method::POST, "/v1/admin/keys/no-such-kid/revoke")
            .bearer_auth(&admin.tokens.access),
    )
    .await
    .expect_error(404, "not_found");

    t.advance(5);
    let r = send(
        t.req(Method::POST, &format!("/v1/admin/keys/{leaked}/revoke"))
            .bearer_auth(&admin.tokens.access),
    )
    .await
    .expect(200);
    assert_eq!(r.body["revoked"]["kid"], leaked.as_str());
    let fresh = r.body["signing"]["kid"].as_str().unwrap().to_owned();
    assert_ne!(fresh, leaked);
    assert_eq!(r.body["signing"]["activates_at"], T0 + 5, "signs at once");

    // Unpublished at once; every token it signed is refused, the admin's too.
    assert_eq!(t.kids().await, vec![fresh.clone()]);
    t.me(&user.tokens.access).await.expect_invalid_token();
    t.me(&admin.tokens.access).await.expect_invalid_token();
    // The sessions live on: a refresh gives a token from the new key.
    let next = t.refresh_ok(&user.tokens.refresh).await;
    assert_eq!(kid(&next.access), fresh);
    t.me(&next.access).await.expect(200);
    // The audit log says who revoked what.
    let admin2 = t.refresh_ok(&admin.tokens.refresh).await;
    let log = t
        .get_auth("/v1/admin/audit?limit=20", &admin2.access)
        .await
        .expect(200);
    let revoked = log.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "key.revoked")
        .unwrap_or_else(|| panic!("no key.revoked in {}", log.text));
    assert!(revoked["detail"].as_str().unwrap().contains(&leaked));
    // A second revocation of the same kid: it is gone.
    send(
        t.req(Method::POST, &format!("/v1/admin/keys/{leaked}/revoke"))
            .bearer_auth(&admin2.access),
    )
    .await
    .expect_error(404, "not_found");
    // And it never comes back, also after a restart.
    t.restart().await;
    assert_eq!(t.kids().await, vec![fresh]);
    t.me(&user.tokens.access).await.expect_invalid_token();
}

#[tokio::test]
async fn a_key_revoked_elsewhere_is_dropped_by_a_running_server_within_the_watch_interval() {
    let t = TestServer::start().await;
    let user = t.user("ada@x.io").await;
    let leaked = kid(&user.tokens.access);
    t.me(&user.tokens.access).await.expect(200);

    // `tessera keys revoke` beside the running server: the core over the
    // same store, not this server's state.
    let cli = tessera_server::open_app(&t.cfg, t.clock.clone())
        .await
        .unwrap();
    let (revoked, signing) = cli
        .tokens
        .revoke_key(&leaked, &tessera_core::ClientInfo::default())
        .await
        .unwrap();
    assert_eq!(revoked.kid, leaked);

    // The server learns it from the store within the key-watch interval
    // (long before `maintenance_interval`), with no request naming a new kid.
    let step = std::time::Duration::from_millis(100);
    let tries = tessera_server::KEY_WATCH_INTERVAL.as_millis() * 5 / step.as_millis();
    for tried in 0.. {
        let r = t.me(&user.tokens.access).await;
        if r.status == 401 {
            r.expect_invalid_token();
            break;
        }
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(
            tried < tries,
            "the revoked key's token was still accepted after {tries} tries {step:?} apart"
        );
        tokio::time::sleep(step).await;
    }
    assert_eq!(t.kids().await, vec![signing.kid.clone()]);
    // Refresh works and signs with the key the CLI made.
    let next = t.refresh_ok(&user.tokens.refresh).await;
    assert_eq!(kid(&next.access), signing.kid);
}
