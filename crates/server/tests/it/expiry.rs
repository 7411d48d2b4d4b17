//! Expiry under the controlled clock.

use crate::support::{claims, TestServer, T0};
use std::time::Duration;
use tessera_server::config::Dur;

#[tokio::test]
async fn access_token_lives_until_exp_plus_leeway() {
    let t = TestServer::start().await;
    let u = t.user("ada@x.io").await;
    let exp = claims(&u.tokens.access)["exp"].as_i64().unwrap();
    assert_eq!(exp, T0 + 900);
    // exp + leeway - 1: still accepted.
    t.clock.set(exp + 30 - 1);
    t.me(&u.tokens.access).await.expect(200);
    // exp + leeway: refused.
    t.clock.set(exp + 30);
    let r = t.me(&u.tokens.access).await.expect_invalid_token();
    assert!(r.str("error_description").contains("expired"), "{}", r.text);
    // A token issued in the future (beyond the leeway) is refused too.
    t.clock.set(T0 - 31);
    t.me(&u.tokens.access).await.expect_invalid_token();
    t.clock.set(T0 - 30);
    t.me(&u.tokens.access).await.expect(200);
    // The session itself is alive: a refresh gives a working token.
    t.clock.set(exp + 60);
    let next = t.refresh_ok(&u.tokens.refresh).await;
    t.me(&next.access).await.expect(200);
}

#[tokio::test]
async fn configured_access_ttl_and_leeway_apply() {
    let t = TestServer::start_with(|c| {
        c.access_token_ttl = Dur(Duration::from_secs(60));
        c.leeway = Dur(Duration::ZERO);
    })
    .await;
    let u = t.user("ada@x.io").await;
    assert_eq!(u.tokens.body["expires_in"], 60);
    assert_eq!(claims(&u.tokens.access)["exp"], T0 + 60);
    t.clock.set(T0 + 59);
    t.me(&u.tokens.access).await.expect(200);
    t.clock.set(T0 + 60);
    t.me(&u.tokens.access).await.expect_invalid_token();
}

#[tokio::test]
async fn idle_refresh_tokens_expire() {
    let t = TestServer::start_with(|c| c.refresh_idle_ttl = Dur(Duration::from_secs(3600))).await;
    let u = t.user("ada@x.io").await;
    assert_eq!(u.tokens.body["refresh_token_expires_in"], 3600);
    // Used just before the idle limit: works, and the idle clock restarts.
    t.clock.set(T0 + 3599);
    let next = t.refresh_ok(&u.tokens.refresh).await;
    assert_eq!(next.body["refresh_token_expires_in"], 3600);
    t.clock.set(T0 + 3599 + 3599);
    let next = t.refresh_ok(&next.refresh).await;
    // Then left alone for the whole idle period: gone.
    t.clock.set(T0 + 3599 + 3599 + 3600);
    let r = t
        .refresh(&next.refresh)
        .await
        .expect_error(401, "invalid_grant");
    assert!(r.str("error_description").contains("expired"), "{}", r.text);
    // And it is not listed.
    let fresh = t.login("ada@x.io").await;
    let r = t.get_auth("/v1/sessions", &fresh.access).await.expect(200);
    let list = r.body["sessions"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{}", r.text);
    assert_eq!(list[0]["id"].as_str().unwrap(), fresh.sid());
}

#[tokio::test]
async fn an_idle_expired_session_no_longer_backs_its_access_tokens() {
    // Idle lifetime shorter than the access token's: the session ends first.
    let t = TestServer::start_with(|c| c.refresh_idle_ttl = Dur(Duration::from_secs(600))).await;
    let u = t.user("ada@x.io").await;
    t.clock.set(T0 + 599);
    t.me(&u.tokens.access).await.expect(200);
    t.clock.set(T0 + 600);
    let r = t.me(&u.tokens.access).await.expect_invalid_token();
    assert!(r.str("error_description").contains("session"), "{}", r.text);
    // The token itself would still verify: only the session ended.
    t.verify(&u.tokens.access).await.unwrap();
    t.refresh(&u.tokens.refresh)
        .await
        .expect_error(401, "invalid_grant");
}

#[tokio::test]
async fn the_absolute_session_lifetime_caps_refreshing() {
    let t = TestServer::start_with(|c| {
        c.refresh_token_ttl = Dur(Duration::from_secs(7200));
        c.refresh_idle_ttl = Dur(Duration::from_secs(3600));
    })
    .await;
    let u = t.user("ada@x.io").await;
    t.clock.set(T0 + 3000);
    let a = t.refresh_ok(&u.tokens.refresh).await;
    assert_eq!(a.body["refresh_token_expires_in"], 3600);
    t.clock.set(T0 + 6000);
    let b = t.refresh_ok(&a.refresh).await;
    // Idle would allow 3600 more, but the session ends at T0 + 7200.
    assert_eq!(b.body["refresh_token_expires_in"], 1200);
    t.clock.set(T0 + 7199);
    let c = t.refresh_ok(&b.refresh).await;
    assert_eq!(c.body["refresh_token_expires_in"], 1);
    t.clock.set(T0 + 7200);
    t.refresh(&c.refresh)
        .await
        .expect_error(401, "invalid_grant");
    t.me(&c.access).await.expect_invalid_token();
}

#[tokio::test]
async fn access_tokens_never_outlive_their_session() {
    // A session of two minutes, access tokens of fifteen.
    let t = TestServer::start_with(|c| c.refresh_token_ttl = Dur(Duration::from_secs(120))).await;
    let u = t.user("ada@x.io").await;
    assert_eq!(claims(&u.tokens.access)["exp"], T0 + 120);
    assert_eq!(u.tokens.body["expires_in"], 120);
    // Refreshed 100 s in: the new token ends with the session too.
    t.clock.set(T0 + 100);
    let next = t.refresh_ok(&u.tokens.refresh).await;
    assert_eq!(claims(&next.access)["exp"], T0 + 120);
    assert_eq!(next.body["expires_in"], 20);
    // A new login is a new session, with its own bound.
    let r = t
        .post(
            "/v1/auth/login",
            &serde_json::json!({"email": "ada@x.io", "password": crate::support::PASSWORD}),
        )
        .await
        .expect(200);
    assert_eq!(claims(r.str("access_token"))["exp"], T0 + 100 + 120);
    // Past the session's end nothing is accepted (leeway aside).
    t.clock.set(T0 + 120 + 30);
    t.me(&next.access).await.expect_invalid_token();
}
