//! The admin API: users, roles, sessions, keys, audit.

use crate::support::{claims, send, TestServer, PASSWORD};
use reqwest::Method;
use serde_json::{json, Value};

/// Every admin endpoint, with a body where it needs one.
fn admin_endpoints(user_id: &str) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::GET, "/v1/admin/users".into(), None),
        (
            Method::PUT,
            format!("/v1/admin/users/{user_id}/roles"),
            Some(json!({ "roles": ["admin"] })),
        ),
        (
            Method::DELETE,
            format!("/v1/admin/users/{user_id}/sessions"),
            None,
        ),
        (Method::POST, "/v1/admin/keys/rotate".into(), None),
        (Method::GET, "/v1/admin/keys".into(), None),
        (Method::GET, "/v1/admin/audit".into(), None),
    ]
}

#[tokio::test]
async fn admin_endpoints_need_a_token_and_the_admin_role() {
    let t = TestServer::start().await;
    let admin = t.admin("root@x.io").await;
    let user = t.user("ada@x.io").await;
    let kids = t.kids().await;
    for (method, path, body) in admin_endpoints(&user.id) {
        // No token: 401 with a Bearer challenge.
        let mut req = t.req(method.clone(), &path);
        if let Some(b) = &body {
            req = req.json(b);
        }
        send(req).await.expect_invalid_token();
        // A user without the role: 403 insufficient_scope.
        let mut req = t
            .req(method.clone(), &path)
            .bearer_auth(&user.tokens.access);
        if let Some(b) = &body {
            req = req.json(b);
        }
        let r = send(req).await.expect_error(403, "insufficient_scope");
        let www = r.header("www-authenticate");
        assert!(www.starts_with("Bearer "), "{www}");
        assert!(
            www.contains("error=\"insufficient_scope\""),
            "{method} {path}: {www}"
        );
        // A garbage token: 401.
        let mut req = t.req(method.clone(), &path).bearer_auth("garbage");
        if let Some(b) = &body {
            req = req.json(b);
        }
        send(req).await.expect_invalid_token();
    }
    // Nothing happened: no role change, no revocation, no new key.
    let me = t.me(&user.tokens.access).await.expect(200);
    assert_eq!(me.body["roles"], json!([]));
    assert_eq!(t.kids().await, kids);
    // The admin passes every one of them.
    for (method, path, body) in admin_endpoints(&user.id) {
        let mut req = t
            .req(method.clone(), &path)
            .bearer_auth(&admin.tokens.access);
        if let Some(b) = &body {
            req = req.json(b);
        }
        let r = send(req).await;
        assert!(r.status.is_success(), "{method} {path}: {r:?}");
    }
}

#[tokio::test]
async fn the_role_is_read_from_the_store() {
    // A user promoted after login acts as an admin at once (issue 14,
    // finding 2: authorization comes from the store), though the token's
    // claims still carry the roles it was issued with.
    let t = TestServer::start().await;
    let u = t.user("ada@x.io").await;
    t.server()
        .state()
        .app
        .accounts
        .set_roles(&u.id, &["admin".into()], &Default::default())
        .await
        .unwrap();
    assert_eq!(claims(&u.tokens.access)["roles"], json!([]));
    t.get_auth("/v1/admin/users", &u.tokens.access)
        .await
        .expect(200);
    let fresh = t.login("ada@x.io").await;
    t.get_auth("/v1/admin/users", &fresh.access)
        .await
        .expect(200);
    // A refresh also picks up the current roles.
    let refreshed = t.refresh_ok(&u.tokens.refresh).await;
    assert_eq!(claims(&refreshed.access)["roles"], json!(["admin"]));
    t.get_auth("/v1/admin/users", &refreshed.access)
        .await
        .expect(200);
}

#[tokio::test]
async fn users_are_listed_by_email_in_pages() {
    let t = TestServer::start().await;
    let admin = t.admin("a-root@x.io").await;
    for e in ["d@x.io", "b@x.io", "e@x.io", "c@x.io"] {
        t.register(e).await;
    }
    let r = t
        .get_auth("/v1/admin/users", &admin.tokens.access)
        .await
        .expect(200);
    let emails = |r: &crate::support::Resp| -> Vec<String> {
        r.body["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        emails(&r),
        ["a-root@x.io", "b@x.io", "c@x.io", "d@x.io", "e@x.io"]
    );
    assert_eq!(r.body["next"], Value::Null);
    let first = &r.body["users"][0];
    assert_eq!(first["id"].as_str().unwrap(), admin.id);
    assert_eq!(first["roles"], json!(["admin"]));
    assert_eq!(first["created_at"], crate::support::T0);
    assert_eq!(first["email_verified"], false);
    assert_eq!(first["disabled"], false);
    // The admin logged in (twice): the store keeps the time (issue 20).
    assert_eq!(first["last_login_at"], crate::support::T0);
    assert_eq!(first.as_object().unwrap().len(), 7, "{first}");
    assert!(!r.text.contains("argon2"), "no password hashes: {}", r.text);

    // Pages of two.
    let page = |after: Option<&str>| {
        let mut q = vec![("limit", "2".to_owned())];
        if let Some(a) = after {
            q.push(("after", a.to_owned()));
        }
        let req = t
            .req(Method::GET, "/v1/admin/users")
            .query(&q)
            .bearer_auth(&admin.tokens.access);
        async move { send(req).await.expect(200) }
    };
    let p1 = page(None).await;
    assert_eq!(emails(&p1), ["a-root@x.io", "b@x.io"]);
    assert_eq!(p1.body["next"], "b@x.io");
    let p2 = page(Some("b@x.io")).await;
    assert_eq!(emails(&p2), ["c@x.io", "d@x.io"]);
    assert_eq!(p2.body["next"], "d@x.io");
    let p3 = page(Some("d@x.io")).await;
    assert_eq!(emails(&p3), ["e@x.io"]);
    assert_eq!(p3.body["next"], Value::Null);
    let p4 = page(Some("e@x.io")).await;
    assert_eq!(emails(&p4), Vec::<String>::new());
    assert_eq!(p4.body["next"], Value::Null);

    // Bad paging parameters: 400.
    for q in ["?limit=abc", "?limit=-1", "?page=2"] {
        t.get_auth(&format!("/v1/admin/users{q}"), &admin.tokens.access)
            .await
            .expect_error(400, "invalid_request");
    }
}

#[tokio::test]
async fn setting_roles() {
    let t = TestServer::start().await;
    let admin = t.admin("root@x.io").await;
    let u = t.user("ada@x.io").await;
    let path = format!("/v1/admin/users/{}/roles", u.id);
    let r = t
        .put_auth(
            &path,
            &admin.tokens.access,
            &json!({ "roles": ["editor", "billing:read"] }),
        )
        .await
        .expect(200);
    assert_eq!(r.str("id"), u.id);
    assert_eq!(r.str("email"), "ada@x.io");
    assert_eq!(r.body["roles"], json!(["editor", "billing:read"]));
    // New tokens carry them; /v1/me shows them.
    let fresh = t.login("ada@x.io").await;
    assert_eq!(
        claims(&fresh.access)["roles"],
        json!(["editor", "billing:read"])
    );
    let me = t.me(&fresh.access).await.expect(200);
    assert_eq!(me.body["roles"], json!(["editor", "billing:read"]));
    // Clearing them.
    let r = t
        .put_auth(&path, &admin.tokens.access, &json!({ "roles": [] }))
        .await
        .expect(200);
    assert_eq!(r.body["roles"], json!([]));

    // Invalid roles: 400, and nothing changes.
    let too_many: Vec<String> = (0..65).map(|i| format!("r{i}")).collect();
    for bad in [
        json!({ "roles": ["bad role"] }),
        json!({ "roles": [""] }),
        json!({ "roles": ["x".repeat(65)] }),
        json!({ "roles": ["émoji"] }),
        json!({ "roles": too_many }),
    ] {
        t.put_auth(&path, &admin.tokens.access, &bad)
            .await
            .expect_error(400, "invalid_request");
    }
    // Wrong shapes: 400.
    for bad in [
        json!({ "roles": "admin" }),
        json!({ "roles": [1] }),
        json!({}),
        json!({ "roles": [], "extra": 1 }),
    ] {
        t.put_auth(&path, &admin.tokens.access, &bad)
            .await
            .expect_error(400, "invalid_request");
    }
    let me = t.me(&fresh.access).await.expect(200);
    assert_eq!(me.body["roles"], json!([]));
    // Unknown user: 404.
    t.put_auth(
        "/v1/admin/users/no-such-user/roles",
        &admin.tokens.access,
        &json!({ "roles": ["editor"] }),
    )
    .await
    .expect_error(404, "not_found");
}

#[tokio::test]
async fn revoking_a_users_sessions() {
    let t = TestServer::start().await;
    let admin = t.admin("root@x.io").await;
    let u = t.user("ada@x.io").await;
    let s2 = t.login("ada@x.io").await;
    let bob = t.user("bob@x.io").await;
    let r = t
        .delete_auth(
            &format!("/v1/admin/users/{}/sessions", u.id),
            &admin.tokens.access,
        )
        .await
        .expect(200);
    assert_eq!(r.body, json!({ "revoked": 2 }));
    for s in [&u.tokens, &s2] {
        t.me(&s.access).await.expect_invalid_token();
        t.refresh(&s.refresh)
            .await
            .expect_error(401, "invalid_grant");
    }
    t.me(&bob.tokens.access).await.expect(200);
    t.me(&admin.tokens.access).await.expect(200);
    // Again: nothing left to revoke.
    let r = t
        .delete_auth(
            &format!("/v1/admin/users/{}/sessions", u.id),
            &admin.tokens.access,
        )
        .await
        .expect(200);
    assert_eq!(r.body, json!({ "revoked": 0 }));
    // The user can log in again.
    t.login("ada@x.io").await;
    // Unknown user: 404.
    t.delete_auth(
        "/v1/admin/users/no-such-user/sessions",
        &admin.tokens.access,
    )
    .await
    .expect_error(404, "not_found");
}

#[tokio::test]
async fn the_audit_log_records_what_happened() {
    let t = TestServer::start().await;
    let admin = t.admin("root@x.io").await;
    t.post(
        "/v1/auth/login",
        &json!({ "email": "root@x.io", "password": "wrong password" }),
    )
    .await
    .expect(401);
    let r = t
        .get_auth("/v1/admin/audit", &admin.tokens.access)
        .await
        .expect(200);
    let events: Vec<&str> = r.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    // Newest first.
    assert_eq!(
        events,
        [
            "login.failure",
            "login.success",
            "roles.changed",
            "login.success",
            "user.registered"
        ],
        "{}",
        r.text
    );
    let newest = &r.body["events"][0];
    assert_eq!(newest["user_id"].as_str().unwrap(), admin.id);
    assert_eq!(newest["ip"], "127.0.0.1");
    assert!(!r.text.contains("wrong password"));
    assert!(!r.text.contains(PASSWORD));
    // Paging back.
    let r = t
        .get_auth("/v1/admin/audit?limit=2", &admin.tokens.access)
        .await
        .expect(200);
    assert_eq!(r.body["events"].as_array().unwrap().len(), 2);
    let before = r.body["next"].as_i64().unwrap();
    let r = t
        .get_auth(
            &format!("/v1/admin/audit?limit=10&before={before}"),
            &admin.tokens.access,
        )
        .await
        .expect(200);
    assert_eq!(r.body["events"].as_array().unwrap().len(), 3);
    assert_eq!(r.body["events"][0]["event"], "roles.changed");
    assert_eq!(r.body["next"], Value::Null);
}

/// Issue 14, finding 2: authorization on Tessera's own endpoints follows
/// the roles in the store, not the token's `roles` claim. A demoted admin's
/// unexpired token is refused at once and cannot grant itself admin again.
#[tokio::test]
async fn a_demoted_admin_loses_admin_at_once() {
    let t = TestServer::start().await;
    let root = t.admin("root@x.io").await;
    let ada = t.admin("ada@x.io").await;
    t.get_auth("/v1/admin/users", &ada.tokens.access)
        .await
        .expect(200);
    t.put_auth(
        &format!("/v1/admin/users/{}/roles", ada.id),
        &root.tokens.access,
        &json!({ "roles": [] }),
    )
    .await
    .expect(200);
    // The token still says admin, and is unexpired and its session alive.
    assert_eq!(claims(&ada.tokens.access)["roles"], json!(["admin"]));
    t.me(&ada.tokens.access).await.expect(200);
    t.get_auth("/v1/admin/users", &ada.tokens.access)
        .await
        .expect_error(403, "insufficient_scope");
    t.put_auth(
        &format!("/v1/admin/users/{}/roles", ada.id),
        &ada.tokens.access,
        &json!({ "roles": ["admin"] }),
    )
    .await
    .expect_error(403, "insufficient_scope");
    // And the other way: a user promoted now is admin with the token it has.
    let bob = t.user("bob@x.io").await;
    t.put_auth(
        &format!("/v1/admin/users/{}/roles", bob.id),
        &root.tokens.access,
        &json!({ "roles": ["admin"] }),
    )
    .await
    .expect(200);
    t.get_auth("/v1/admin/users", &bob.tokens.access)
        .await
        .expect(200);
}
