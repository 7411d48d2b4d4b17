//! Logout, logout everywhere, and the session list.

use crate::support::{send, TestServer, T0};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn logout_ends_the_session_and_is_idempotent() {
    let t = TestServer::start().await;
    let u = t.user("ada@x.io").await;
    let other = t.login("ada@x.io").await;
    let body = json!({ "refresh_token": u.tokens.refresh });
    let r = t.post("/v1/auth/logout", &body).await.expect(204);
    assert!(r.text.is_empty());
    t.post("/v1/auth/logout", &body).await.expect(204);
    t.me(&u.tokens.access).await.expect_invalid_token();
    t.refresh(&u.tokens.refresh)
        .await
        .expect_error(401, "invalid_grant");
    // Only that session.
    t.me(&other.access).await.expect(200);
    // An unknown (well-formed) token is not an error either.
    let u2 = t.user("bob@x.io").await;
    t.post(
        "/v1/auth/logout",
        &json!({ "refresh_token": u2.tokens.refresh }),
    )
    .await
    .expect(204);
    t.post(
        "/v1/auth/logout",
        &json!({ "refresh_token": u2.tokens.refresh }),
    )
    .await
    .expect(204);
}

#[tokio::test]
async fn logout_with_a_spent_token_ends_the_session() {
    let t = TestServer::start().await;
    let u = t.user("ada@x.io").await;
    let next = t.refresh_ok(&u.tokens.refresh).await;
    t.post(
        "/v1/auth/logout",
        &json!({ "refresh_token": u.tokens.refresh }),
    )
    .await
    .expect(204);
    t.me(&next.access).await.expect_invalid_token();
    t.refresh(&next.refresh)
        .await
        .expect_error(401, "invalid_grant");
}

#[tokio::test]
async fn logout_refuses_what_is_not_a_refresh_token_and_forgeries_change_nothing() {
    let t = TestServer::start().await;
    let u = t.user("ada@x.io").await;
    t.post("/v1/auth/logout", &json!({ "refresh_token": "garbage" }))
        .await
        .expect_error(400, "invalid_request");
    t.post("/v1/auth/logout", &json!({}))
        .await
        .expect_error(400, "invalid_request");
    send(t.req(Method::POST, "/v1/auth/logout"))
        .await
        .expect_error(400, "invalid_request");
    // A forgery of this session's current token: 204, and the session lives.
    let mut forged = u.tokens.refresh.clone().into_bytes();
    let i = forged.len() - 2;
    forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    t.post("/v1/auth/logout", &json!({ "refresh_token": forged }))
        .await
        .expect(204);
    t.me(&u.tokens.access).await.expect(200);
}

#[tokio::test]
async fn logout_all_ends_every_session_of_the_caller() {
    let t = TestServer::start().await;
    let u = t.user("ada@x.io").await;
    let s2 = t.login("ada@x.io").await;
    let s3 = t.login("ada@x.io").await;
    let bob = t.user("bob@x.io").await;
    let r = t
        .post_auth("/v1/auth/logout-all", &s2.access)
        .await
        .expect(204);
    assert!(r.text.is_empty());
    for s in [&u.tokens, &s2, &s3] {
        t.me(&s.access).await.expect_invalid_token();
        t.refresh(&s.refresh)
            .await
            .expect_error(401, "invalid_grant");
    }
    t.me(&bob.tokens.access).await.expect(200);
    // The caller's token is now dead, so a second call is a 401.
    t.post_auth("/v1/auth/logout-all", &s2.access)
        .await
        .expect_invalid_token();
    t.post("/v1/auth/logout-all", &json!({}))
        .await
        .expect_invalid_token();
    // New logins work.
    let fresh = t.login("ada@x.io").await;
    t.me(&fresh.access).await.expect(200);
}

#[tokio::test]
async fn sessions_lists_live_sessions_and_marks_the_current_one() {
    let t = TestServer::start().await;
    let reg = t.register("ada@x.io").await;
    let login_as = |ua: &'static str| {
        let req = t
            .req(Method::POST, "/v1/auth/login")
            .header("user-agent", ua)
            .json(&json!({ "email": "ada@x.io", "password": crate::support::PASSWORD }));
        async move { send(req).await.expect(200) }
    };
    let a = login_as("phone/1.0").await;
    t.advance(100);
    let b = login_as("laptop/2.0").await;
    let dead = login_as("old/0.1").await;
    t.post(
        "/v1/auth/logout",
        &json!({ "refresh_token": dead.str("refresh_token") }),
    )
    .await
    .expect(204);
    let bob = t.user("bob@x.io").await;

    t.advance(50);
    let b_next = t.refresh_ok(b.str("refresh_token")).await;
    let r = t
        .get_auth("/v1/sessions", a.str("access_token"))
        .await
        .expect(200);
    let list = r.body["sessions"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{}", r.text);
    let sid_a = crate::support::claims(a.str("access_token"))["sid"].clone();
    let sid_b = crate::support::claims(b.str("access_token"))["sid"].clone();
    let find = |sid: &serde_json::Value| {
        list.iter()
            .find(|s| s["id"] == *sid)
            .unwrap_or_else(|| panic!("{sid} not in {}", r.text))
            .clone()
    };
    let sa = find(&sid_a);
    assert_eq!(sa["current"], true);
    assert_eq!(sa["created_at"], T0);
    assert_eq!(sa["last_used_at"], T0);
    assert_eq!(sa["user_agent"], "phone/1.0");
    assert_eq!(sa["ip"], "127.0.0.1");
    assert_eq!(sa["expires_at"], T0 + 7 * 86_400);
    let sb = find(&sid_b);
    assert_eq!(sb["current"], false);
    assert_eq!(sb["created_at"], T0 + 100);
    // Times are coarse (whole hours, issue 14): a refresh at T0 + 150 is
    // not visible in a list read within the same hour.
    assert_eq!(sb["last_used_at"], T0, "rounded down to the hour");
    assert_eq!(sb["expires_at"], T0 + 7 * 86_400);
    assert_eq!(sb["user_agent"], "laptop/2.0");
    assert_eq!(sb["ip"], "127.0.0.1");
    // The other session's view marks it as current instead.
    let r = t.get_auth("/v1/sessions", &b_next.access).await.expect(200);
    let currents: Vec<_> = r.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["current"] == true)
        .map(|s| s["id"].clone())
        .collect();
    assert_eq!(currents, vec![sid_b]);
    // Bob sees only his own.
    let r = t
        .get_auth("/v1/sessions", &bob.tokens.access)
        .await
        .expect(200);
    let list = r.body["sessions"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"].as_str().unwrap(), bob.tokens.sid());
    assert_ne!(reg["id"].as_str().unwrap(), bob.id);
    // Without a token: 401.
    t.get("/v1/sessions").await.expect_invalid_token();
}

#[tokio::test]
async fn ending_a_session_by_id() {
    let t = TestServer::start().await;
    let u = t.user("ada@x.io").await;
    let other = t.login("ada@x.io").await;
    let bob = t.user("bob@x.io").await;

    // Someone else's session: 404, and it lives on.
    t.delete_auth(
        &format!("/v1/sessions/{}", bob.tokens.sid()),
        &u.tokens.access,
    )
    .await
    .expect_error(404, "not_found");
    t.me(&bob.tokens.access).await.expect(200);
    // An unknown id: 404.
    t.delete_auth("/v1/sessions/no-such-session", &u.tokens.access)
        .await
        .expect_error(404, "not_found");

    // Own other session: 204 and it is gone.
    let r = t
        .delete_auth(&format!("/v1/sessions/{}", other.sid()), &u.tokens.access)
        .await
        .expect(204);
    assert!(r.text.is_empty());
    t.me(&other.access).await.expect_invalid_token();
    t.refresh(&other.refresh)
        .await
        .expect_error(401, "invalid_grant");
    let r = t
        .get_auth("/v1/sessions", &u.tokens.access)
        .await
        .expect(200);
    assert_eq!(r.body["sessions"].as_array().unwrap().len(), 1);
    // Ending it again is still 204 (it is the caller's).
    t.delete_auth(&format!("/v1/sessions/{}", other.sid()), &u.tokens.access)
        .await
        .expect(204);
    // Own current session: 204, and the caller's token dies with it.
    t.delete_auth(
        &format!("/v1/sessions/{}", u.tokens.sid()),
        &u.tokens.access,
    )
    .await
    .expect(204);
    t.me(&u.tokens.access).await.expect_invalid_token();
    // Without a token: 401.
    send(t.req(
        Method::DELETE,
        &format!("/v1/sessions/{}", bob.tokens.sid()),
    ))
    .await
    .expect_invalid_token();
    t.me(&bob.tokens.access).await.expect(200);
}
