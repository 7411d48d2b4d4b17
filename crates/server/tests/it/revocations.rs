//! `GET /v1/revocations`: the feed resource servers follow to refuse access
//! tokens of revoked sessions before they expire.

use crate::support::{send, Resp, TestServer};
use reqwest::Method;
use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;
use tokio::time::Instant;

const ID: &str = "backend";
const SECRET: &str = "backend-secret-0123456789abcdefghijklmnopqrstuvwxyz";

async fn with_client() -> TestServer {
    let t = TestServer::start().await;
    t.server()
        .state()
        .app
        .clients
        .create(ID, SECRET, &[], &["client_credentials".into()])
        .await
        .unwrap();
    t
}

async fn feed(t: &TestServer, query: &str) -> Resp {
    send(
        t.req(Method::GET, &format!("/v1/revocations{query}"))
            .basic_auth(ID, Some(SECRET)),
    )
    .await
}

fn sids(body: &Value) -> HashSet<String> {
    body["revoked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["sid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn requires_client_authentication() {
    let t = with_client().await;
    let r = t
        .get("/v1/revocations")
        .await
        .expect_error(401, "invalid_client");
    assert!(r.header("www-authenticate").starts_with("Basic"), "{r:?}");
    send(t.req(Method::GET, "/v1/revocations").basic_auth(
        ID,
        Some("wrong-secret-0123456789abcdefghijklmnopqrstuvwxyz"),
    ))
    .await
    .expect_error(401, "invalid_client");
    // A user's bearer token is not a client credential.
    let u = t.user("ada@example.com").await;
    t.get_auth("/v1/revocations", &u.tokens.access)
        .await
        .expect_error(401, "invalid_client");
}

#[tokio::test]
async fn bad_parameters_are_400() {
    let t = with_client().await;
    for q in [
        "?since=abc",
        "?since=1.2.3",
        "?wait=soon",
        "?wait=-1",
        "?since=1.2&since=1.2",
        "?color=red",
    ] {
        feed(&t, q).await.expect_error(400, "invalid_request");
    }
}

#[tokio::test]
async fn logout_reuse_and_logout_all_appear_once_each_then_nothing_new() {
    let t = with_client().await;
    let first = feed(&t, "").await.expect(200);
    assert_eq!(first.header("cache-control"), "no-store");
    assert!(sids(&first.body).is_empty());
    assert_eq!(first.body["more"], false);
    // 15 minutes of access token plus the 30 s leeway of the base config.
    assert!(first.body["max_age"].as_i64().unwrap() >= 900);
    let mut cursor = first.str("cursor").to_owned();

    // Nothing happened: the same cursor, nothing listed.
    let again = feed(&t, &format!("?since={cursor}")).await.expect(200);
    assert!(sids(&again.body).is_empty());
    assert_eq!(again.str("cursor"), cursor);

    // Logout.
    let a = t.user("a@example.com").await;
    t.post(
        "/v1/auth/logout",
        &serde_json::json!({ "refresh_token": a.tokens.refresh }),
    )
    .await
    .expect(204);
    let r = feed(&t, &format!("?since={cursor}")).await.expect(200);
    assert_eq!(sids(&r.body), HashSet::from([a.tokens.sid()]));
    cursor = r.str("cursor").to_owned();

    // Reuse of a spent refresh token (after the grace window) kills the session.
    let b = t.user("b@example.com").await;
    t.refresh_ok(&b.tokens.refresh).await;
    t.advance(60);
    t.refresh(&b.tokens.refresh).await.expect(401);
    let r = feed(&t, &format!("?since={cursor}")).await.expect(200);
    let got = sids(&r.body);
    assert!(got.contains(&b.tokens.sid()), "{got:?}");
    cursor = r.str("cursor").to_owned();

    // Logout everywhere lists every session of the user.
    let c1 = t.user("c@example.com").await;
    let c2 = t.login("c@example.com").await;
    t.post_auth("/v1/auth/logout-all", &c1.tokens.access)
        .await
        .expect(204);
    let r = feed(&t, &format!("?since={cursor}")).await.expect(200);
    let got = sids(&r.body);
    assert!(
        got.contains(&c1.tokens.sid()) && got.contains(&c2.sid()),
        "{got:?}"
    );
    cursor = r.str("cursor").to_owned();

    // Then quiet again.
    let r = feed(&t, &format!("?since={cursor}")).await.expect(200);
    assert!(sids(&r.body).is_empty(), "{:?}", r.body);
    assert_eq!(r.str("cursor"), cursor);
}

#[tokio::test]
async fn entries_older_than_an_access_token_are_dropped() {
    let t = with_client().await;
    let a = t.user("a@example.com").await;
    t.post_auth("/v1/auth/logout-all", &a.tokens.access)
        .await
        .expect(204);
    let r = feed(&t, "").await.expect(200);
    assert_eq!(sids(&r.body), HashSet::from([a.tokens.sid()]));
    let max_age = r.body["max_age"].as_u64().unwrap();
    // Once no access token of the session can still be valid, it is gone.
    t.advance(max_age + 1);
    let r = feed(&t, "").await.expect(200);
    assert!(sids(&r.body).is_empty(), "{:?}", r.body);
}

#[tokio::test]
async fn a_long_poll_answers_as_soon_as_a_session_is_revoked() {
    let t = with_client().await;
    let a = t.user("a@example.com").await;
    let cursor = feed(&t, "").await.expect(200).str("cursor").to_owned();
    let started = Instant::now();
    let query = format!("?since={cursor}&wait=20");
    let poll = feed(&t, &query);
    let logout = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        t.post_auth("/v1/auth/logout-all", &a.tokens.access)
            .await
            .expect(204);
    };
    let (r, ()) = tokio::join!(poll, logout);
    let r = r.expect(200);
    assert_eq!(sids(&r.body), HashSet::from([a.tokens.sid()]));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(300),
        "answered before the logout: {took:?}"
    );
    assert!(
        took < Duration::from_secs(10),
        "the wait was not cut short: {took:?}"
    );
}

#[tokio::test]
async fn a_long_poll_without_change_returns_the_same_cursor() {
    let t = with_client().await;
    let cursor = feed(&t, "").await.expect(200).str("cursor").to_owned();
    let started = Instant::now();
    let r = feed(&t, &format!("?since={cursor}&wait=1"))
        .await
        .expect(200);
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert!(sids(&r.body).is_empty());
    assert_eq!(r.str("cursor"), cursor);
}

#[tokio::test]
async fn shutdown_ends_a_long_poll_at_once() {
    let mut t = with_client().await;
    let cursor = feed(&t, "").await.expect(200).str("cursor").to_owned();
    let url = t.url(&format!("/v1/revocations?since={cursor}&wait=50"));
    let http = reqwest::Client::new();
    let poll = tokio::spawn(async move {
        http.get(url)
            .basic_auth(ID, Some(SECRET))
            .send()
            .await
            .map(|r| r.status().as_u16())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    t.restart().await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "graceful shutdown waited for the long poll: {:?}",
        started.elapsed()
    );
    assert_eq!(poll.await.unwrap().unwrap(), 200);
}

#[tokio::test]
async fn discovery_names_the_feed() {
    let t = TestServer::start().await;
    let d = t.get("/.well-known/openid-configuration").await.expect(200);
    assert!(d
        .str("revocation_feed_endpoint")
        .ends_with("/v1/revocations"));
}
