//! The admin API the console uses (issue 20): the front door, user search
//! and detail, ending one session, client secret rotation, key states,
//! audit filters with the acting admin, and the overview.

use crate::support::{send, Resp, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

/// The audit events matching `query`, newest first.
async fn audit(t: &TestServer, token: &str, query: &str) -> Vec<Value> {
    let r = t
        .get_auth(&format!("/v1/admin/audit?{query}"), token)
        .await
        .expect(200);
    r.body["events"].as_array().cloned().unwrap_or_default()
}

async fn client_credentials(t: &TestServer, id: &str, secret: &str) -> Resp {
    send(
        t.req(Method::POST, "/oauth2/token")
            .form(&[("grant_type", "client_credentials")])
            .basic_auth(id, Some(secret)),
    )
    .await
}

#[tokio::test]
async fn the_new_admin_routes_refuse_anonymous_and_non_admin_callers() {
    let t = TestServer::start().await;
    let user = t.user("ada@x.io").await;
    let sid = user.tokens.sid();
    let routes = [
        (Method::GET, format!("/v1/admin/users/{}", user.id)),
        (
            Method::DELETE,
            format!("/v1/admin/users/{}/sessions/{sid}", user.id),
        ),
        (Method::POST, "/v1/admin/clients/app/secret".to_owned()),
        (Method::GET, "/v1/admin/overview".to_owned()),
        (Method::GET, "/v1/admin/users?q=ada".to_owned()),
        (
            Method::GET,
            "/v1/admin/audit?event=login.success".to_owned(),
        ),
    ];
    for (method, path) in &routes {
        send(t.req(method.clone(), path))
            .await
            .expect_invalid_token();
        send(t.req(method.clone(), path).bearer_auth(&user.tokens.access))
            .await
            .expect_error(403, "insufficient_scope");
    }
    // The session the non-admin tried to end is still alive.
    t.refresh_ok(&user.tokens.refresh).await;
}

#[tokio::test]
async fn bad_queries_are_400() {
    let t = TestServer::start().await;
    let admin = t.admin("root@x.io").await;
    for q in [
        "/v1/admin/audit?event=Login!",
        "/v1/admin/audit?limit=abc",
        "/v1/admin/audit?since=yesterday",
        "/v1/admin/audit?actor=",
        "/v1/admin/audit?nope=1",
        "/v1/admin/users?q=a%00b",
        "/v1/admin/users?nope=1",
    ] {
        t.get_auth(q, &admin.tokens.access)
            .await
            .expect_error(400, "invalid_request");
    }
    let long = format!("/v1/admin/users?q={}", "a".repeat(321));
    for q in [long.as_str()] {
        t.get_auth(q, &admin.tokens.access)
            .await
            .expect_error(400, "invalid_request");
    }
    t.get_auth("/v1/admin/users/nobody", &admin.tokens.access)
        .await
        .expect(404);
}

#[tokio::test]
async fn users_are_searched_by_prefix_and_shown_with_sessions_and_last_login() {
    let t = TestServer::start().await;
    let admin = t.admin("root@x.io").await;
    let ada = t.user("ada@x.io").await;
    t.user("adam@x.io").await;
    t.user("bob@x.io").await;
    let r = t
        .get_auth("/v1/admin/users?q=ADA&limit=1", &admin.tokens.access)
        .await
        .expect(200);
    assert_eq!(r.body["users"][0]["email"], "ada@x.io");
    assert_eq!(r.body["next"], "ada@x.io");
    let r = t
        .get_auth(
            "/v1/admin/users?q=ada&after=ada%40x.io",
            &admin.tokens.access,
        )
        .await
        .expect(200);
    let emails: Vec<&str> = r.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["email"].as_str())
        .collect();
    assert_eq!(emails, ["adam@x.io"]);

    let second = t.login("ada@x.io").await;
    let r = t
        .get_auth(&format!("/v1/admin/users/{}", ada.id), &admin.tokens.access)
        .await
        .expect(200);
    assert_eq!(r.body["user"]["email"], "ada@x.io");
    assert!(r.body["user"]["last_login_at"].as_i64().unwrap() > 0);
    let sids: Vec<&str> = r.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert_eq!(sids.len(), 2);
    assert!(sids.contains(&ada.tokens.sid().as_str()));
    assert!(sids.contains(&second.sid().as_str()));
}

#[tokio::test]
async fn an_admin_ends_one_session_and_the_audit_names_the_admin() {
    let t = TestServer::start().await;
    let admin = t.admin("root@x.io").await;
    let ada = t.user("ada@x.io").await;
    let other = t.login("ada@x.io").await;
    let path = format!("/v1/admin/users/{}/sessions/{}", ada.id, ada.tokens.sid());
    t.delete_auth(&path, &admin.tokens.access).await.expect(204);
    // That session is over; the other one lives.
    assert!(!t.refresh(&ada.tokens.refresh).await.status.is_success());
    t.refresh_ok(&other.refresh).await;
    // Again: no such live session.
    t.delete_auth(&path, &admin.tokens.access).await.expect(404);
    // Someone else's session id under this user: 404, and it stays alive.
    let bob = t.user("bob@x.io").await;
    let wrong = format!("/v1/admin/users/{}/sessions/{}", ada.id, bob.tokens.sid());
    t.delete_auth(&wrong, &admin.tokens.access)
        .await
        .expect(404);
    t.refresh_ok(&bob.tokens.refresh).await;

    let rows = audit(
        &t,
        &admin.tokens.access,
        &format!("event=session.revoked&actor={}", admin.id),
    )
    .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["user_id"], json!(ada.id));
    assert_eq!(rows[0]["session_id"], json!(ada.tokens.sid()));
    assert_eq!(rows[0]["actor"], json!(admin.id));
    // Other admin actions name the actor too; a user's own login does not.
    t.put_auth(
        &format!("/v1/admin/users/{}/roles", ada.id),
        &admin.tokens.access,
        &json!({"roles": ["editor"]}),
    )
    .await
    .expect(200);
    t.post_auth(
        &format!("/v1/admin/users/{}/disable", ada.id),
        &admin.tokens.access,
    )
    .await
    .expect(200);
    let mine = audit(&t, &admin.tokens.access, &format!("actor={}", admin.id)).await;
    let events: Vec<&str> = mine.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(
        events,
        ["user.disabled", "roles.changed", "session.revoked"]
    );
    let logins = audit(&t, &admin.tokens.access, "event=login.success").await;
    assert!(!logins.is_empty());
    assert!(logins.iter().all(|e| e["actor"].is_null()));
    let about_ada = audit(&t, &admin.tokens.access, &format!("user_id={}", ada.id)).await;
    assert!(about_ada.iter().all(|e| e["user_id"] == json!(ada.id)));
    assert!(about_ada.len() >= 5, "{about_ada:?}");
}

#[tokio::test]
async fn client_secrets_rotate_once_shown_and_client_actions_are_audited() {
    let t = TestServer::start().await;
    let admin = t.admin("root@x.io").await;
    let old = "an-old-secret-of-at-least-32-characters!";
    let body = json!({"client_id": "app", "client_secret": old, "scopes": ["read"],
                      "grant_types": ["client_credentials"]});
    send(
        t.req(Method::POST, "/v1/admin/clients")
            .bearer_auth(&admin.tokens.access)
            .json(&body),
    )
    .await
    .expect(201);
    client_credentials(&t, "app", old).await.expect(200);
    let r = t
        .post_auth("/v1/admin/clients/app/secret", &admin.tokens.access)
        .await
        .expect(200);
    assert_eq!(r.str("client_id"), "app");
    let new = r.str("client_secret").to_owned();
    assert!(new.len() >= 32);
    assert!(!client_credentials(&t, "app", old).await.status.is_success());
    client_credentials(&t, "app", &new).await.expect(200);
    // Not listed anywhere afterwards.
    let list = t
        .get_auth("/v1/admin/clients", &admin.tokens.access)
        .await
        .expect(200);
    assert!(!list.text.contains(&new));
    t.post_auth("/v1/admin/clients/nope/secret", &admin.tokens.access)
        .await
        .expect(404);
    let public = json!({"client_id": "spa", "public": true,
                        "redirect_uris": ["https://a.example/cb"]});
    send(
        t.req(Method::POST, "/v1/admin/clients")
            .bearer_auth(&admin.tokens.access)
            .json(&public),
    )
    .await
    .expect(201);
    t.post_auth("/v1/admin/clients/spa/secret", &admin.tokens.access)
        .await
        .expect_error(409, "public_client");
    t.delete_auth("/v1/admin/clients/spa", &admin.tokens.access)
        .await
        .expect(204);

    let rows = audit(&t, &admin.tokens.access, "client_id=app").await;
    let events: Vec<&str> = rows.iter().filter_map(|e| e["event"].as_str()).collect();
    assert!(events.starts_with(&["client.secret_rotated"]), "{events:?}");
    assert!(events.contains(&"client.created"), "{events:?}");
    let admin_rows: Vec<&Value> = rows.iter().filter(|e| !e["actor"].is_null()).collect();
    assert!(admin_rows.iter().all(|e| e["actor"] == json!(admin.id)));
    let spa = audit(&t, &admin.tokens.access, "client_id=spa").await;
    let events: Vec<&str> = spa.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(events, ["client.deleted", "client.created"]);
}

#[tokio::test]
async fn keys_show_their_state_and_revoked_keys_stay_listed() {
    let t = TestServer::start().await;
    let admin = t.admin("root@x.io").await;
    let first = t.kids().await[0].clone();
    t.post_auth("/v1/admin/keys/rotate?immediate=true", &admin.tokens.access)
        .await
        .expect(201);
    let r = t
        .get_auth("/v1/admin/keys", &admin.tokens.access)
        .await
        .expect(200);
    let state = |body: &Value, kid: &str| {
        body["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid)
            .map(|k| (k["state"].clone(), k["revoked_at"].clone()))
    };
    assert_eq!(
        state(&r.body, &first),
        Some((json!("retiring"), Value::Null))
    );
    let signing: Vec<&Value> = r.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["state"] == "signing")
        .collect();
    assert_eq!(signing.len(), 1);
    assert_eq!(signing[0]["signing"], true);
    t.post_auth(
        &format!("/v1/admin/keys/{first}/revoke"),
        &admin.tokens.access,
    )
    .await
    .expect(200);
    // The admin's token was signed by the revoked key: a new login.
    let access = t.login("root@x.io").await.access;
    let r = t.get_auth("/v1/admin/keys", &access).await.expect(200);
    let (st, at) = state(&r.body, &first).unwrap();
    assert_eq!(st, "revoked");
    assert!(at.as_i64().unwrap() > 0);
    let revoked = r.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == first.as_str())
        .cloned()
        .unwrap();
    assert!(!revoked["alg"].as_str().unwrap().is_empty());
    let rows = audit(&t, &access, "event=key.revoked").await;
    assert_eq!(rows[0]["actor"], json!(admin.id));
    assert!(rows[0]["detail"].as_str().unwrap_or("").contains(&first));
}

#[tokio::test]
async fn the_overview_counts_the_last_hour_and_day_and_warns() {
    let t = TestServer::start().await;
    let admin = t.admin("root@x.io").await;
    let ada = t.user("ada@x.io").await;
    t.refresh_ok(&ada.tokens.refresh).await;
    send(
        t.req(Method::POST, "/v1/auth/login")
            .json(&json!({"email": "ada@x.io", "password": "wrong password 123"})),
    )
    .await;
    let r = t
        .get_auth("/v1/admin/overview", &admin.tokens.access)
        .await
        .expect(200);
    let b = &r.body;
    // root: register, login, login again (admin); ada: register, login.
    assert_eq!(b["counts"]["logins"], json!({"hour": 3, "day": 3}));
    assert_eq!(b["counts"]["registrations"]["day"], 2);
    assert_eq!(b["counts"]["refreshes"]["hour"], 1);
    assert_eq!(b["counts"]["login_failures"]["hour"], 1);
    assert_eq!(b["counts"]["reuse_detected"]["day"], 0);
    let logins = b["series"]["logins"].as_array().unwrap();
    assert_eq!(logins.len(), 24);
    assert_eq!(logins[23], 3);
    assert_eq!(b["users"], 2);
    assert!(b["active_sessions"].as_i64().unwrap() >= 3);
    assert!(!b["signing_key"]["kid"].as_str().unwrap().is_empty());
    let codes: Vec<&str> = b["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["code"].as_str())
        .collect();
    for code in [
        "registration_open",
        "smtp_not_configured",
        "http_issuer",
        "no_admin_with_mfa",
    ] {
        assert!(codes.contains(&code), "{codes:?}");
    }
    assert!(!codes.contains(&"key_rotation_overdue"));
    // Two days later nothing is in the window, and the key is overdue.
    t.advance(48 * 3600);
    let admin = t.login("root@x.io").await;
    let r = t
        .get_auth("/v1/admin/overview", &admin.access)
        .await
        .expect(200);
    assert_eq!(r.body["counts"]["registrations"]["day"], 0);
    assert_eq!(r.body["counts"]["logins"]["hour"], 1);
    // Once the administrator enrols a second factor, that warning goes.
    crate::mfa::enrol(&t, &admin).await;
    let r = t
        .get_auth("/v1/admin/overview", &admin.access)
        .await
        .expect(200);
    let codes: Vec<&str> = r.body["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["code"].as_str())
        .collect();
    assert!(codes.contains(&"http_issuer"), "{codes:?}");
    assert!(!codes.contains(&"no_admin_with_mfa"), "{codes:?}");
}

#[tokio::test]
async fn the_front_door_answers_json_and_html() {
    let t = TestServer::start().await;
    let r = t.get("/").await.expect(200);
    assert_eq!(r.body["name"], "Tessera");
    assert_eq!(r.body["ready"], true);
    let issuer = t.issuer().await;
    assert_eq!(r.body["issuer"], json!(issuer));
    let base = issuer.trim_end_matches('/');
    assert_eq!(r.body["links"]["console"], json!(format!("{base}/admin")));
    assert_eq!(
        r.body["links"]["discovery"],
        json!(format!("{base}/.well-known/openid-configuration"))
    );
    let r = send(
        t.req(Method::GET, "/")
            .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8"),
    )
    .await
    .expect(200);
    assert!(r.header("content-type").starts_with("text/html"));
    let csp = r.header("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));
    assert!(r.text.contains(env!("CARGO_PKG_VERSION")));
    assert!(r.text.contains(&issuer));
    for link in [
        "/admin",
        "/debugger",
        "/demo",
        "/docs",
        "/.well-known/openid-configuration",
    ] {
        assert!(r.text.contains(&format!("href=\"{link}\"")), "{link}");
    }
    assert!(!r.text.contains("<script"));
}
