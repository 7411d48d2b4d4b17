//! The account lifecycle over HTTP (issue 15). Mail goes to `.eml` files
//! under `data_dir/mail/` (no `smtp_url`), which these tests read, as an
//! operator in development would.

use crate::support::{claims, send, TestServer, Tokens, PASSWORD};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

const NEW: &str = "a brand new passphrase";

/// Every `.eml` written so far, as (file name, decoded text), after the
/// outbox has drained.
pub async fn mails(t: &TestServer) -> Vec<(String, String)> {
    let lifecycle = &t.server().state().app.lifecycle;
    assert!(lifecycle.flush_mail(Duration::from_secs(10)).await);
    let dir = t.cfg.data_dir.join("mail");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    entries
        .map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let raw = std::fs::read_to_string(&p).unwrap();
            // Quoted-printable soft breaks and `=`, should lettre choose it.
            let text = raw.replace("=\r\n", "").replace("=3D", "=");
            (name, text)
        })
        .collect()
}

/// The token of the newest `kind` mail (by file name) sent to `to`.
pub async fn token(t: &TestServer, kind: &str, to: &str) -> String {
    let found: Vec<String> = mails(t)
        .await
        .into_iter()
        .filter(|(n, text)| n.starts_with(kind) && text.contains(&format!("To: {to}")))
        .map(|(_, text)| {
            let at = text.find("token=").expect("a link") + 6;
            text[at..].chars().take(43).collect()
        })
        .collect();
    assert!(!found.is_empty(), "no {kind} mail to {to}");
    // Several: the test asks right after the one it wants, so any unused
    // one works; take the one the store still knows (the newest).
    found.last().unwrap().clone()
}

async fn post_json_auth(
    t: &TestServer,
    path: &str,
    token: &str,
    body: &Value,
) -> crate::support::Resp {
    send(t.req(Method::POST, path).bearer_auth(token).json(body)).await
}

#[tokio::test]
async fn forgot_answers_alike_and_a_reset_link_works_once() {
    let t = TestServer::start().await;
    t.register("ada@x.io").await;
    let old = t.login("ada@x.io").await;
    let known = t
        .post("/v1/auth/password/forgot", &json!({"email": "ada@x.io"}))
        .await
        .expect(202);
    let unknown = t
        .post("/v1/auth/password/forgot", &json!({"email": "nobody@x.io"}))
        .await
        .expect(202);
    assert_eq!(known.text, unknown.text);
    assert_eq!(known.headers.len(), unknown.headers.len());
    assert!(mails(&t)
        .await
        .iter()
        .all(|(_, m)| !m.contains("nobody@x.io")));
    let tok = token(&t, "password_reset", "ada@x.io").await;
    let issuer = t.issuer().await;
    let metrics = t.get("/metrics").await.expect(200).text;
    assert!(
        metrics.contains("tessera_mail_total{kind=\"password_reset\",outcome=\"sent\"}"),
        "{metrics}"
    );
    let all = mails(&t).await;
    assert!(all
        .iter()
        .any(|(_, m)| m.contains(&format!("{issuer}/account/reset?token={tok}"))));
    // Policy, then the token.
    t.post(
        "/v1/auth/password/reset",
        &json!({"token": tok, "new_password": "short"}),
    )
    .await
    .expect_error(400, "invalid_request");
    t.post(
        "/v1/auth/password/reset",
        &json!({"token": tok, "new_password": NEW}),
    )
    .await
    .expect(204);
    t.post(
        "/v1/auth/password/reset",
        &json!({"token": tok, "new_password": "another passphrase"}),
    )
    .await
    .expect_error(400, "invalid_grant");
    t.post(
        "/v1/auth/password/reset",
        &json!({"token": "x", "new_password": NEW}),
    )
    .await
    .expect_error(400, "invalid_grant");
    t.refresh(&old.refresh)
        .await
        .expect_error(401, "invalid_grant");
    t.me(&old.access).await.expect_invalid_token();
    t.post(
        "/v1/auth/login",
        &json!({"email": "ada@x.io", "password": PASSWORD}),
    )
    .await
    .expect_error(401, "invalid_credentials");
    t.post(
        "/v1/auth/login",
        &json!({"email": "ada@x.io", "password": NEW}),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn changing_the_password_keeps_only_the_current_session() {
    let t = TestServer::start().await;
    let ada = t.user("ada@x.io").await;
    let other = t.login("ada@x.io").await;
    let path = "/v1/account/password";
    let body = |cur: &str, new: &str| json!({"current_password": cur, "new_password": new});
    post_json_auth(&t, path, &ada.tokens.access, &body("wrong password", NEW))
        .await
        .expect_error(401, "invalid_credentials");
    post_json_auth(&t, path, &ada.tokens.access, &body(PASSWORD, "password"))
        .await
        .expect_error(400, "invalid_request");
    send(t.req(Method::POST, path).json(&body(PASSWORD, NEW)))
        .await
        .expect_invalid_token();
    post_json_auth(&t, path, &ada.tokens.access, &body(PASSWORD, NEW))
        .await
        .expect(204);
    t.me(&ada.tokens.access).await.expect(200);
    t.refresh_ok(&ada.tokens.refresh).await;
    t.refresh(&other.refresh)
        .await
        .expect_error(401, "invalid_grant");
    t.me(&other.access).await.expect_invalid_token();
    assert!(mails(&t)
        .await
        .iter()
        .any(|(n, m)| n.starts_with("password_changed") && m.contains("To: ada@x.io")));
}

#[tokio::test]
async fn verification_gates_login_when_required_and_shows_everywhere() {
    let t =
        TestServer::start_with(|c| c.require_verified_email = tessera_server::config::Flag(true))
            .await;
    t.register("ada@x.io").await;
    let login = json!({"email": "ada@x.io", "password": PASSWORD});
    t.post("/v1/auth/login", &login)
        .await
        .expect_error(403, "email_not_verified");
    t.post(
        "/v1/auth/login",
        &json!({"email": "ada@x.io", "password": "wrong password"}),
    )
    .await
    .expect_error(401, "invalid_credentials");
    t.post(
        "/v1/auth/login",
        &json!({"email": "bob@x.io", "password": PASSWORD}),
    )
    .await
    .expect_error(401, "invalid_credentials");
    let tok = token(&t, "verify_email", "ada@x.io").await;
    t.post("/v1/auth/email/verify", &json!({"token": tok}))
        .await
        .expect(204);
    t.post("/v1/auth/email/verify", &json!({"token": tok}))
        .await
        .expect_error(400, "invalid_grant");
    let tokens = t.login("ada@x.io").await;
    assert_eq!(claims(&tokens.access)["email_verified"], json!(true));
    let me = t.me(&tokens.access).await.expect(200);
    assert_eq!(me.body["email_verified"], json!(true));
    t.post_auth("/v1/account/email/verify", &tokens.access)
        .await
        .expect(202);
}

#[tokio::test]
async fn an_unverified_user_sees_false_and_can_ask_again() {
    let t = TestServer::start().await;
    let ada = t.user("ada@x.io").await;
    assert_eq!(claims(&ada.tokens.access)["email_verified"], json!(false));
    let me = t.me(&ada.tokens.access).await.expect(200);
    assert_eq!(me.body["email_verified"], json!(false));
    t.post_auth("/v1/account/email/verify", &ada.tokens.access)
        .await
        .expect(202);
    let verify_mails = mails(&t)
        .await
        .into_iter()
        .filter(|(n, _)| n.starts_with("verify_email"))
        .count();
    assert_eq!(verify_mails, 2, "registration, then the resend");
    // The Bearer check's cache forgets the account once it is verified.
    let tok = token(&t, "verify_email", "ada@x.io").await;
    t.post("/v1/auth/email/verify", &json!({ "token": tok }))
        .await
        .expect(204);
    let me = t.me(&ada.tokens.access).await.expect(200);
    assert_eq!(me.body["email_verified"], json!(true));
    let admin = t.admin("root@x.io").await;
    let users = t
        .get_auth("/v1/admin/users", &admin.tokens.access)
        .await
        .expect(200);
    let row = users.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "ada@x.io")
        .unwrap()
        .clone();
    assert_eq!(row["email_verified"], json!(true));
    assert_eq!(row["disabled"], json!(false));
    let unverified = users.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "root@x.io")
        .unwrap()
        .clone();
    assert_eq!(unverified["email_verified"], json!(false));
}

#[tokio::test]
async fn an_email_changes_when_its_link_is_used_and_a_taken_one_never() {
    let t = TestServer::start().await;
    let ada = t.user("ada@x.io").await;
    t.register("bob@x.io").await;
    let path = "/v1/account/email";
    let taken = post_json_auth(
        &t,
        path,
        &ada.tokens.access,
        &json!({"new_email": "bob@x.io", "current_password": PASSWORD}),
    )
    .await
    .expect(202);
    let free = post_json_auth(
        &t,
        path,
        &ada.tokens.access,
        &json!({"new_email": "ada@new.io", "current_password": PASSWORD}),
    )
    .await
    .expect(202);
    assert_eq!(taken.text, free.text);
    post_json_auth(
        &t,
        path,
        &ada.tokens.access,
        &json!({"new_email": "ada@new.io", "current_password": "wrong password"}),
    )
    .await
    .expect_error(401, "invalid_credentials");
    let bob_link = token(&t, "change_email", "bob@x.io").await;
    t.post("/v1/auth/email/verify", &json!({"token": bob_link}))
        .await
        .expect_error(400, "invalid_grant");
    assert!(mails(&t)
        .await
        .iter()
        .any(|(n, m)| n.starts_with("email_change_notice") && m.contains("To: ada@x.io")));
    let link = token(&t, "change_email", "ada@new.io").await;
    t.post("/v1/auth/email/verify", &json!({"token": link}))
        .await
        .expect(204);
    let me = t.me(&ada.tokens.access).await.expect(200);
    assert_eq!(me.body["email"], "ada@new.io");
    t.login("ada@new.io").await;
    t.post(
        "/v1/auth/login",
        &json!({"email": "ada@x.io", "password": PASSWORD}),
    )
    .await
    .expect_error(401, "invalid_credentials");
}

#[tokio::test]
async fn deleting_my_account_ends_everything_and_frees_the_email() {
    let t = TestServer::start().await;
    let ada = t.user("ada@x.io").await;
    let del = |tok: &str, pw: &str| {
        send(
            t.req(Method::DELETE, "/v1/account")
                .bearer_auth(tok)
                .json(&json!({"current_password": pw})),
        )
    };
    del(&ada.tokens.access, "wrong password")
        .await
        .expect_error(401, "invalid_credentials");
    send(
        t.req(Method::DELETE, "/v1/account")
            .bearer_auth(&ada.tokens.access),
    )
    .await
    .expect(415);
    del(&ada.tokens.access, PASSWORD).await.expect(204);
    t.me(&ada.tokens.access).await.expect_invalid_token();
    t.refresh(&ada.tokens.refresh)
        .await
        .expect_error(401, "invalid_grant");
    let again = t.register("ada@x.io").await;
    assert_ne!(again["id"], json!(ada.id));
}

#[tokio::test]
async fn admins_disable_enable_reset_and_delete() {
    let t = TestServer::start().await;
    let admin = t.admin("root@x.io").await;
    let ada = t.user("ada@x.io").await;
    let a = &admin.tokens.access;
    let id = &ada.id;
    for (m, p) in [
        (Method::POST, format!("/v1/admin/users/{id}/disable")),
        (Method::POST, format!("/v1/admin/users/{id}/enable")),
        (Method::POST, format!("/v1/admin/users/{id}/password-reset")),
        (Method::DELETE, format!("/v1/admin/users/{id}")),
    ] {
        send(t.req(m.clone(), &p)).await.expect_invalid_token();
        send(t.req(m.clone(), &p).bearer_auth(&ada.tokens.access))
            .await
            .expect_error(403, "insufficient_scope");
        let missing = p.replace(id.as_str(), "nope");
        send(t.req(m, &missing).bearer_auth(a))
            .await
            .expect_error(404, "not_found");
    }
    let r = t
        .post_auth(&format!("/v1/admin/users/{id}/disable"), a)
        .await
        .expect(200);
    assert_eq!(r.body["disabled"], json!(true));
    t.post(
        "/v1/auth/login",
        &json!({"email": "ada@x.io", "password": PASSWORD}),
    )
    .await
    .expect_error(403, "account_disabled");
    t.refresh(&ada.tokens.refresh)
        .await
        .expect_error(401, "invalid_grant");
    t.server()
        .state()
        .app
        .clients
        .create(
            "rs",
            "rs-secret-0123456789abcdefghijklmnopqrstuvwxyz",
            &[],
            &["client_credentials".into()],
        )
        .await
        .unwrap();
    let feed = send(
        t.req(Method::GET, "/v1/revocations")
            .basic_auth("rs", Some("rs-secret-0123456789abcdefghijklmnopqrstuvwxyz")),
    )
    .await
    .expect(200);
    assert!(feed.text.contains(&ada.tokens.sid()), "{}", feed.text);
    t.post_auth(&format!("/v1/admin/users/{id}/password-reset"), a)
        .await
        .expect_error(403, "account_disabled");
    let r = t
        .post_auth(&format!("/v1/admin/users/{id}/enable"), a)
        .await
        .expect(200);
    assert_eq!(r.body["disabled"], json!(false));
    let fresh: Tokens = t.login("ada@x.io").await;
    t.post_auth(&format!("/v1/admin/users/{id}/password-reset"), a)
        .await
        .expect(202);
    let tok = token(&t, "password_reset", "ada@x.io").await;
    assert_eq!(tok.len(), 43);
    t.delete_auth(&format!("/v1/admin/users/{id}"), a)
        .await
        .expect(204);
    t.me(&fresh.access).await.expect_invalid_token();
    t.post(
        "/v1/auth/password/reset",
        &json!({"token": tok, "new_password": NEW}),
    )
    .await
    .expect_error(400, "invalid_grant");
}

#[tokio::test]
async fn bad_bodies_get_clear_4xx() {
    let t = TestServer::start().await;
    let big = "a".repeat(t.cfg.max_body_bytes + 10);
    for path in [
        "/v1/auth/password/forgot",
        "/v1/auth/password/reset",
        "/v1/auth/email/verify",
    ] {
        let r = t.post(path, &json!({ "email": big, "token": big })).await;
        assert_eq!(r.status, 413, "{path}: {r:?}");
        assert!(r.body["error"].is_string(), "{path}: {r:?}");
        t.post(path, &json!({"unexpected": 1}))
            .await
            .expect_error(400, "invalid_request");
        let r = send(t.req(Method::POST, path).body("{}")).await;
        assert_eq!(r.status, 415, "{path}: {r:?}");
    }
    t.post(
        "/v1/auth/password/forgot",
        &json!({"email": "not an email"}),
    )
    .await
    .expect_error(400, "invalid_request");
}

#[tokio::test]
async fn forgot_password_floods_are_refused() {
    let t = TestServer::start().await;
    let mut codes = Vec::new();
    for _ in 0..8 {
        let r = t
            .post("/v1/auth/password/forgot", &json!({"email": "ada@x.io"}))
            .await;
        codes.push(r.status.as_u16());
    }
    assert_eq!(codes[..5], [202; 5], "{codes:?}");
    assert_eq!(codes[5..], [429; 3], "{codes:?}");
}
