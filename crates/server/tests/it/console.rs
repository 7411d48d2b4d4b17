//! The admin console's client (issue 20): seeded at start, signing in with
//! code + PKCE, and cookie delivery at the token endpoint (`cookie=true`):
//! the refresh token only in the HttpOnly cookie, refreshes from the cookie,
//! the CSRF check, and refusal for any other kind of client. The console
//! itself is tested in Chromium (web/test/browser/admin.test.js).

use crate::oidc::{code_url, qget, validate};
use crate::support::{send, Resp, TestServer};
use reqwest::Method;
use tessera_jose::{b64, crypto};
use tessera_server::console::{redirect_uri, seed, CLIENT_ID};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

async fn token(t: &TestServer, form: &[(&str, &str)], headers: &[(&str, &str)]) -> Resp {
    let mut req = t.req(Method::POST, "/oauth2/token").form(form);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    send(req).await
}

/// The refresh token a `Set-Cookie` carries (`None` when it clears the cookie).
fn cookie_token(r: &Resp) -> Option<String> {
    let c = r.header("set-cookie");
    assert!(
        c.contains("HttpOnly") && c.contains("SameSite=Strict"),
        "{c}"
    );
    let value = c.split(';').next()?.strip_prefix("tessera_refresh=")?;
    (!value.is_empty()).then(|| value.to_owned())
}

/// Seeds the client, signs `user_id` in as the console, and returns the code.
async fn console_code(t: &TestServer, user_id: &str) -> String {
    let state = t.server().state();
    let redirect = redirect_uri(&state.config);
    let challenge = b64::encode(&crypto::sha256(VERIFIER.as_bytes()));
    let p = [
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", redirect.as_str()),
        ("scope", "openid"),
        ("state", "s"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let req = validate(t, &p).await.unwrap();
    let url = code_url(t, user_id, &req).await;
    assert!(url.starts_with(&redirect), "{url}");
    qget(&url, "code").unwrap()
}

#[tokio::test]
async fn the_console_signs_in_and_refreshes_through_the_cookie() {
    let t = TestServer::start().await;
    let state = t.server().state();
    seed(&state.app, &state.config).await;
    seed(&state.app, &state.config).await; // idempotent
    let c = state.app.clients.get(CLIENT_ID).await.unwrap().unwrap();
    assert!(c.public && c.first_party);
    let admin = t.admin("root@x.io").await;
    let code = console_code(&t, &admin.id).await;
    let redirect = redirect_uri(&state.config);
    let exchange = [
        ("grant_type", "authorization_code"),
        ("client_id", CLIENT_ID),
        ("code", code.as_str()),
        ("redirect_uri", redirect.as_str()),
        ("code_verifier", VERIFIER),
        ("cookie", "true"),
    ];
    // Without the CSRF header: refused before the code is spent.
    token(&t, &exchange, &[])
        .await
        .expect_error(403, "csrf_failed");
    let csrf = [("x-tessera-csrf", "1")];
    let r = token(&t, &exchange, &csrf).await.expect(200);
    assert!(r.body.get("refresh_token").is_none(), "{}", r.text);
    let first = cookie_token(&r).unwrap();
    assert!(first.starts_with("tsr_"));
    // The console's token works on the admin API (first-party client).
    t.get_auth("/v1/admin/users", r.str("access_token"))
        .await
        .expect(200);

    // A refresh from the cookie alone.
    let refresh = [
        ("grant_type", "refresh_token"),
        ("client_id", CLIENT_ID),
        ("cookie", "true"),
    ];
    let with_cookie = |v: &str| format!("tessera_refresh={v}");
    let jar = with_cookie(&first);
    let r = token(&t, &refresh, &[csrf[0], ("cookie", &jar)])
        .await
        .expect(200);
    assert!(r.body.get("refresh_token").is_none());
    let second = cookie_token(&r).unwrap();
    assert_ne!(first, second);
    // Without CSRF proof, or from another site: refused.
    let jar2 = with_cookie(&second);
    token(&t, &refresh, &[("cookie", &jar2)])
        .await
        .expect_error(403, "csrf_failed");
    token(
        &t,
        &refresh,
        &[
            csrf[0],
            ("cookie", &jar2),
            ("origin", "https://evil.example"),
        ],
    )
    .await
    .expect_error(403, "csrf_failed");
    // No cookie at all.
    token(&t, &refresh, &csrf)
        .await
        .expect_error(400, "invalid_grant");
    // The spent cookie, after the grace window: reuse, the session ends
    // and the cookie is cleared.
    t.advance(120);
    let r = token(&t, &refresh, &[csrf[0], ("cookie", &jar)])
        .await
        .expect_error(400, "invalid_grant");
    assert_eq!(cookie_token(&r), None);
    assert!(r.header("set-cookie").contains("Max-Age=0"));
    token(&t, &refresh, &[csrf[0], ("cookie", &jar2)])
        .await
        .expect_error(400, "invalid_grant");
}

#[tokio::test]
async fn cookie_delivery_is_only_for_first_party_public_clients() {
    let t = TestServer::start().await;
    let state = t.server().state();
    seed(&state.app, &state.config).await;
    let csrf = ("x-tessera-csrf", "1");
    // No client, or a confidential one.
    let mut web = tessera_core::oauth::ClientSpec::new("svc");
    web.secret = Some("svc-secret-0123456789abcdefghijklmnopqrstuvwxyz".into());
    web.grants = vec!["client_credentials".into()];
    state.app.clients.register(&web).await.unwrap();
    for form in [
        vec![("grant_type", "refresh_token"), ("cookie", "true")],
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", "svc"),
            (
                "client_secret",
                "svc-secret-0123456789abcdefghijklmnopqrstuvwxyz",
            ),
            ("cookie", "true"),
        ],
    ] {
        token(&t, &form, &[csrf])
            .await
            .expect_error(400, "invalid_request");
    }
    // A value other than true or false.
    token(
        &t,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT_ID),
            ("cookie", "yes"),
        ],
        &[csrf],
    )
    .await
    .expect_error(400, "invalid_request");
}
