//! Refresh-token rotation, the grace window, reuse detection, and races.

use crate::support::{claims, send, TestServer, T0};
use reqwest::Method;
use serde_json::json;
use std::collections::HashSet;

#[tokio::test]
async fn refresh_rotates() {
    let t = TestServer::start().await;
    let u = t.user("ada@x.io").await;
    t.advance(60);
    let r = t.refresh(&u.tokens.refresh).await.expect(200);
    assert_eq!(r.header("cache-control"), "no-store");
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 900);
    assert_eq!(r.body["refresh_token_expires_in"], 7 * 86_400);
    let next = r.str("refresh_token");
    assert!(next.starts_with("tsr_"));
    assert_ne!(next, u.tokens.refresh);
    let access = r.str("access_token");
    assert_ne!(access, u.tokens.access);
    let c = claims(access);
    assert_eq!(c["sid"].as_str().unwrap(), u.tokens.sid(), "same session");
    assert_eq!(c["sub"].as_str().unwrap(), u.id);
    assert_eq!(c["iat"], T0 + 60);
    assert_eq!(c["exp"], T0 + 60 + 900);
    t.verify(access).await.unwrap();
    t.me(access).await.expect(200);
    // The new refresh token rotates again; both access tokens stay valid.
    let third = t.refresh_ok(next).await;
    assert_ne!(third.refresh, next);
    t.me(&u.tokens.access).await.expect(200);
    t.me(&third.access).await.expect(200);
}

#[tokio::test]
async fn grace_replay_returns_the_identical_refresh_token() {
    let t = TestServer::start().await;
    let u = t.user("ada@x.io").await;
    let first = t.refresh_ok(&u.tokens.refresh).await;
    t.advance(5);
    let replay = t.refresh_ok(&u.tokens.refresh).await;
    assert_eq!(replay.refresh, first.refresh, "same successor");
    assert_ne!(replay.access, first.access, "a fresh access token");
    assert_eq!(claims(&replay.access)["sid"], claims(&first.access)["sid"]);
    t.me(&replay.access).await.expect(200);
    // At the very edge of the window (10 s after the rotation) still a replay.
    t.advance(5);
    let edge = t.refresh_ok(&u.tokens.refresh).await;
    assert_eq!(edge.refresh, first.refresh);
    // The successor still works and rotates normally.
    let next = t.refresh_ok(&first.refresh).await;
    assert_ne!(next.refresh, first.refresh);
    t.me(&next.access).await.expect(200);
}

#[tokio::test]
async fn replay_after_the_window_kills_the_family() {
    let t = TestServer::start().await;
    let u = t.user("ada@x.io").await;
    let other = t.login("ada@x.io").await; // another session of the same user
    let first = t.refresh_ok(&u.tokens.refresh).await;
    t.advance(11);
    let r = t
        .refresh(&u.tokens.refresh)
        .await
        .expect_error(401, "invalid_grant");
    assert!(r.str("error_description").contains("revoked"), "{}", r.text);
    // The current token of the family is dead too ...
    t.refresh(&first.refresh)
        .await
        .expect_error(401, "invalid_grant");
    // ... and so are the session's access tokens, old and new.
    for access in [&u.tokens.access, &first.access] {
        let r = t.me(access).await.expect_invalid_token();
        assert!(r
            .header("www-authenticate")
            .starts_with("Bearer realm=\"tessera\""));
    }
    // Replaying again changes nothing and is still refused.
    t.refresh(&u.tokens.refresh)
        .await
        .expect_error(401, "invalid_grant");
    // The user's other session is untouched.
    t.me(&other.access).await.expect(200);
    t.refresh_ok(&other.refresh).await;
    let list = t.get_auth("/v1/sessions", &other.access).await.expect(200);
    let sessions = list.body["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{}", list.text);
    assert_eq!(sessions[0]["id"].as_str().unwrap(), other.sid());
}

#[tokio::test]
async fn a_grandparent_replay_inside_the_window_is_reuse() {
    let t = TestServer::start().await;
    let u = t.user("ada@x.io").await;
    let g1 = t.refresh_ok(&u.tokens.refresh).await;
    let g2 = t.refresh_ok(&g1.refresh).await;
    t.advance(1);
    t.refresh(&u.tokens.refresh)
        .await
        .expect_error(401, "invalid_grant");
    t.refresh(&g2.refresh)
        .await
        .expect_error(401, "invalid_grant");
    t.me(&g2.access).await.expect_invalid_token();
}

#[tokio::test]
async fn grace_can_be_disabled() {
    let t = TestServer::start_with(|c| {
        c.refresh_reuse_grace = tessera_server::config::Dur(std::time::Duration::ZERO)
    })
    .await;
    let u = t.user("ada@x.io").await;
    let first = t.refresh_ok(&u.tokens.refresh).await;
    t.refresh(&u.tokens.refresh)
        .await
        .expect_error(401, "invalid_grant");
    t.refresh(&first.refresh)
        .await
        .expect_error(401, "invalid_grant");
}

#[tokio::test]
async fn forged_and_malformed_refresh_tokens_are_refused_without_harm() {
    let t = TestServer::start().await;
    let u = t.user("ada@x.io").await;
    // Same session id and generation, different secret: a forgery.
    let mut forged = u.tokens.refresh.clone().into_bytes();
    let last = forged.len() - 2;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    for bad in [
        forged.as_str(),
        "tsr_",
        "tsr_abc",
        "not-a-token",
        &u.tokens.refresh[4..],
        u.tokens.access.as_str(),
    ] {
        t.refresh(bad).await.expect_error(401, "invalid_grant");
    }
    // The forgery did not end the session.
    t.me(&u.tokens.access).await.expect(200);
    t.refresh_ok(&u.tokens.refresh).await;
}

#[tokio::test]
async fn refresh_needs_a_token() {
    let t = TestServer::start().await;
    for body in [json!({}), json!({ "refresh_token": null })] {
        t.post("/v1/auth/refresh", &body)
            .await
            .expect_error(400, "invalid_request");
    }
    send(t.req(Method::POST, "/v1/auth/refresh"))
        .await
        .expect_error(400, "invalid_request");
    t.post("/v1/auth/refresh", &json!({ "refresh_token": 5 }))
        .await
        .expect_error(400, "invalid_request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_of_one_token_all_get_the_same_successor() {
    let t = TestServer::start().await;
    let u = t.user("ada@x.io").await;
    let url = t.url("/v1/auth/refresh");
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let http = t.http.clone();
        let url = url.clone();
        let token = u.tokens.refresh.clone();
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .json(&json!({ "refresh_token": token }))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: serde_json::Value = r.json().await.unwrap();
            (status, body)
        }));
    }
    let mut refresh_tokens = HashSet::new();
    let mut access_tokens = HashSet::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, 200, "{body}");
        refresh_tokens.insert(body["refresh_token"].as_str().unwrap().to_owned());
        access_tokens.insert(body["access_token"].as_str().unwrap().to_owned());
    }
    assert_eq!(refresh_tokens.len(), 1, "one successor for all");
    assert_eq!(
        access_tokens.len(),
        32,
        "each answer has its own access token"
    );
    // The session moved exactly one generation: the successor rotates, and
    // the session is alive.
    let successor = refresh_tokens.into_iter().next().unwrap();
    let next = t.refresh_ok(&successor).await;
    t.me(&next.access).await.expect(200);
}

#[tokio::test]
async fn refresh_is_rate_limited_per_ip() {
    let t = TestServer::start_with(|c| c.refresh_rate_per_minute = 3).await;
    let u = t.user("ada@x.io").await;
    let a = t.refresh_ok(&u.tokens.refresh).await;
    let b = t.refresh_ok(&a.refresh).await;
    let c = t.refresh_ok(&b.refresh).await;
    let r = t
        .refresh(&c.refresh)
        .await
        .expect_error(429, "too_many_requests");
    assert_eq!(r.header("retry-after"), "20");
    t.advance(20);
    t.refresh_ok(&c.refresh).await;
}

/// Issue 14, finding 5: a grace replay is honoured only from the client
/// that rotated (same network and `User-Agent` on Tessera's own API). A
/// thief presenting the parent after the victim rotated, from another
/// client, trips reuse detection and the session dies.
#[tokio::test]
async fn a_grace_replay_from_another_client_is_reuse() {
    let t = TestServer::start().await;
    t.register("ada@x.io").await;
    let login = send(
        t.req(Method::POST, "/v1/auth/login")
            .header("user-agent", "victim-app/1.0")
            .json(&json!({ "email": "ada@x.io", "password": crate::support::PASSWORD })),
    )
    .await
    .expect(200);
    let rt0 = login.str("refresh_token").to_owned();
    let refresh_as = |ua: &'static str, rt: String| {
        let req = t
            .req(Method::POST, "/v1/auth/refresh")
            .header("user-agent", ua)
            .json(&json!({ "refresh_token": rt }));
        send(req)
    };
    let rt1 = refresh_as("victim-app/1.0", rt0.clone())
        .await
        .expect(200)
        .str("refresh_token")
        .to_owned();
    t.advance(2);
    // The victim's own retry inside the window: the same successor.
    let again = refresh_as("victim-app/1.0", rt0.clone()).await.expect(200);
    assert_eq!(again.str("refresh_token"), rt1);
    // The thief, inside the window, from another client: reuse.
    let r = refresh_as("thief/2.0", rt0.clone())
        .await
        .expect_error(401, "invalid_grant");
    assert!(r.str("error_description").contains("revoked"), "{}", r.text);
    refresh_as("victim-app/1.0", rt1)
        .await
        .expect_error(401, "invalid_grant");
    t.me(login.str("access_token")).await.expect_invalid_token();
}

/// Issue 14, finding 5: the session list shows coarse times (whole hours),
/// so it does not reveal when the refresh token was rotated.
#[tokio::test]
async fn the_session_list_does_not_time_rotations() {
    let t = TestServer::start().await;
    let u = t.user("ada@x.io").await;
    let before = t
        .get_auth("/v1/sessions", &u.tokens.access)
        .await
        .expect(200)
        .body["sessions"][0]
        .clone();
    t.advance(60);
    let next = t.refresh_ok(&u.tokens.refresh).await;
    let after = t
        .get_auth("/v1/sessions", &next.access)
        .await
        .expect(200)
        .body["sessions"][0]
        .clone();
    for field in ["last_used_at", "expires_at"] {
        assert_eq!(
            before[field].as_i64().unwrap() % 3600,
            0,
            "{field}: {before}"
        );
    }
    assert_eq!(
        before["last_used_at"], after["last_used_at"],
        "{before} {after}"
    );
    assert_eq!(
        before["expires_at"], after["expires_at"],
        "{before} {after}"
    );
}
