//! Cookie mode: the refresh token travels only in an HttpOnly cookie, and
//! requests that use it must prove they are not cross-site.

use crate::support::{send, Resp, TestServer, PASSWORD};
use reqwest::Method;
use serde_json::json;

/// The refresh token in a `Set-Cookie` answer, and the whole header.
fn set_cookie(r: &Resp) -> (String, String) {
    let all: Vec<&str> = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(all.len(), 1, "{all:?}");
    let v = all[0].to_owned();
    let token = v
        .strip_prefix("tessera_refresh=")
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("{v}"))
        .to_owned();
    (token, v)
}

async fn cookie_login(t: &TestServer) -> (Resp, String) {
    let r = t
        .post(
            "/v1/auth/login",
            &json!({ "email": "ada@x.io", "password": PASSWORD, "cookie": true }),
        )
        .await
        .expect(200);
    let (token, _) = set_cookie(&r);
    (r, token)
}

fn with_cookie(t: &TestServer, path: &str, token: &str) -> reqwest::RequestBuilder {
    t.req(Method::POST, path)
        .header("cookie", format!("other=1; tessera_refresh={token}"))
}

#[tokio::test]
async fn login_sets_an_http_only_cookie_and_keeps_the_token_out_of_the_body() {
    let t = TestServer::start().await;
    t.register("ada@x.io").await;
    let (r, token) = cookie_login(&t).await;
    assert!(r.body.get("refresh_token").is_none(), "{}", r.text);
    assert!(!r.text.contains(&token));
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.header("cache-control"), "no-store");
    let (_, header) = set_cookie(&r);
    assert_eq!(
        header,
        format!("tessera_refresh={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=604800")
    );
    assert!(token.starts_with("tsr_"));
    t.me(r.str("access_token")).await.expect(200);
}

#[tokio::test]
async fn an_https_issuer_makes_the_cookie_secure_with_the_host_prefix() {
    let t = TestServer::start_with(|c| c.issuer = Some("https://auth.example.test".into())).await;
    t.register("ada@x.io").await;
    let r = t
        .post(
            "/v1/auth/login",
            &json!({ "email": "ada@x.io", "password": PASSWORD, "cookie": true }),
        )
        .await
        .expect(200);
    let v = r.header("set-cookie");
    assert!(v.starts_with("__Host-tessera_refresh=tsr_"), "{v}");
    assert!(v.contains("; Secure;") && v.contains("; Path=/;"), "{v}");
}

#[tokio::test]
async fn refresh_and_logout_with_the_cookie_need_csrf_proof() {
    let t = TestServer::start().await;
    t.register("ada@x.io").await;
    let (login, token) = cookie_login(&t).await;

    // No proof: 403, and the token is not consumed.
    let r = send(with_cookie(&t, "/v1/auth/refresh", &token))
        .await
        .expect_error(403, "csrf_failed");
    assert!(r.headers.get("set-cookie").is_none());
    // Cross-site or a foreign Origin: 403.
    send(
        with_cookie(&t, "/v1/auth/refresh", &token)
            .header("x-tessera-csrf", "1")
            .header("sec-fetch-site", "cross-site"),
    )
    .await
    .expect_error(403, "csrf_failed");
    send(
        with_cookie(&t, "/v1/auth/refresh", &token)
            .header("x-tessera-csrf", "1")
            .header("origin", "https://evil.example"),
    )
    .await
    .expect_error(403, "csrf_failed");

    // With proof (and the server's own origin): rotated, in a new cookie.
    let r = send(
        with_cookie(&t, "/v1/auth/refresh", &token)
            .header("x-tessera-csrf", "1")
            .header("origin", t.url("")),
    )
    .await
    .expect(200);
    let (next, _) = set_cookie(&r);
    assert_ne!(next, token);
    assert!(r.body.get("refresh_token").is_none());
    t.me(r.str("access_token")).await.expect(200);

    // Logout with the cookie: needs proof too, then clears it.
    send(with_cookie(&t, "/v1/auth/logout", &next))
        .await
        .expect_error(403, "csrf_failed");
    t.me(login.str("access_token")).await.expect(200);
    let r = send(with_cookie(&t, "/v1/auth/logout", &next).header("x-tessera-csrf", "1"))
        .await
        .expect(204);
    let (cleared, header) = set_cookie(&r);
    assert_eq!(cleared, "");
    assert!(header.contains("Max-Age=0"), "{header}");
    t.me(login.str("access_token")).await.expect_invalid_token();

    // A dead cookie is refused and cleared.
    let r = send(with_cookie(&t, "/v1/auth/refresh", &next).header("x-tessera-csrf", "1"))
        .await
        .expect_error(401, "invalid_grant");
    let (cleared, _) = set_cookie(&r);
    assert_eq!(cleared, "");
}

#[tokio::test]
async fn a_token_in_the_body_needs_no_csrf_proof_and_wins_over_the_cookie() {
    let t = TestServer::start().await;
    t.register("ada@x.io").await;
    let (_, cookie_token) = cookie_login(&t).await;
    let body_user = t.login("ada@x.io").await;
    let r = send(
        with_cookie(&t, "/v1/auth/refresh", &cookie_token)
            .json(&json!({ "refresh_token": body_user.refresh })),
    )
    .await
    .expect(200);
    assert!(r.headers.get("set-cookie").is_none());
    assert_eq!(
        crate::support::claims(r.str("access_token"))["sid"]
            .as_str()
            .unwrap(),
        body_user.sid()
    );
    // The cookie's session was not touched: it still refreshes (with proof).
    send(with_cookie(&t, "/v1/auth/refresh", &cookie_token).header("x-tessera-csrf", "1"))
        .await
        .expect(200);
}
