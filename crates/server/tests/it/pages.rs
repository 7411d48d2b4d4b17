//! The account pages (`/account/reset`, `/account/verify`) driven through the
//! router with `oneshot`: their headers, the CSRF check of the no-JavaScript
//! form, and that every refusal is a clear HTML page (never JSON, never 5xx)
//! with request data escaped.

use crate::support::base_config;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use tessera_jose::ManualClock;
use tower::ServiceExt;

const CSRF: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"; // 43 base64url characters

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    text: String,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

struct Pages {
    router: axum::Router,
    state: tessera_server::AppState,
    dir: TempDir,
}

impl Pages {
    async fn start() -> Self {
        let dir = TempDir::new().unwrap();
        let mut cfg = base_config(&dir);
        // TESSERA_TEST_BACKEND=postgres: a fresh schema, as `TestServer` does.
        cfg.database_url = tessera_store::testing::fresh_database_url().await.unwrap();
        if cfg.database_url.is_some() {
            cfg.secret = Some(tessera_jose::b64::encode(&[7u8; 32]));
        }
        let clock = Arc::new(ManualClock::new(crate::support::T0));
        let state = tessera_server::build_state(cfg, clock).await.unwrap();
        Pages {
            router: tessera_server::router(state.clone()),
            state,
            dir,
        }
    }

    async fn send(&self, req: Request<Body>) -> Answer {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        let a = Answer {
            status,
            headers,
            text: String::from_utf8(bytes.to_vec()).unwrap(),
        };
        // Every answer of a page: HTML under the pages' headers, never 5xx.
        assert!(!a.status.is_server_error(), "{} {}", a.status, a.text);
        assert_eq!(a.header("content-type"), "text/html; charset=utf-8");
        assert!(a.text.starts_with("<!doctype html>"), "{}", a.text);
        let csp = a.header("content-security-policy");
        for part in [
            "default-src 'none'",
            "script-src 'self';",
            "style-src 'self';",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(part), "CSP lacks {part}: {csp}");
        }
        assert!(!csp.contains("unsafe"), "{csp}");
        assert_eq!(a.header("cache-control"), "no-store");
        assert_eq!(a.header("referrer-policy"), "no-referrer");
        assert_eq!(a.header("x-content-type-options"), "nosniff");
        assert_eq!(a.header("x-frame-options"), "DENY");
        assert!(!a.text.contains("<script>") && !a.text.contains(" style="));
        a
    }

    async fn get(&self, uri: &str) -> Answer {
        self.send(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    /// A form post with the CSRF cookie `cookie` (if any) and extra headers.
    async fn post(
        &self,
        path: &str,
        cookie: Option<&str>,
        extra: &[(&str, &str)],
        body: String,
    ) -> Answer {
        let mut req =
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, format!("tessera_csrf={c}"));
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        self.send(req.body(Body::from(body)).unwrap()).await
    }
}

/// The value of the hidden field `name` in a page.
fn hidden(text: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = text.find(&marker).unwrap_or_else(|| panic!("no {name}")) + marker.len();
    let len = text[start..].find('"').unwrap();
    text[start..start + len].to_owned()
}

#[tokio::test]
async fn a_link_renders_the_form_with_a_csrf_cookie_and_spends_nothing() {
    let p = Pages::start().await;
    for (path, action, extra) in [
        ("/account/reset", "/account/reset", "name=\"new_password\""),
        ("/account/verify", "/account/verify", ">Confirm</button>"),
    ] {
        let a = p.get(&format!("{path}?token=tok_123")).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        assert!(a.text.contains(&format!("action=\"{action}\"")));
        assert!(a.text.contains("method=\"post\""));
        assert!(a.text.contains(extra));
        assert!(a
            .text
            .contains("<script type=\"module\" src=\"/assets/account.js\">"));
        assert_eq!(hidden(&a.text, "token"), "tok_123");
        let csrf = hidden(&a.text, "csrf");
        assert_eq!(csrf.len(), 43);
        let cookie = a.header("set-cookie");
        assert_eq!(
            cookie,
            format!("tessera_csrf={csrf}; HttpOnly; SameSite=Strict; Path=/")
        );
        // A browser that holds the cookie keeps it (two tabs both work).
        let again = p
            .send(
                Request::get(format!("{path}?token=t2"))
                    .header(header::COOKIE, format!("tessera_csrf={csrf}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(hidden(&again.text, "csrf"), csrf);
        assert!(again.headers.get("set-cookie").is_none());
    }
}

#[tokio::test]
async fn request_data_is_escaped() {
    let p = Pages::start().await;
    let a = p
        .get("/account/reset?token=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E%27")
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(!a.text.contains("<script>alert"), "{}", a.text);
    assert!(a
        .text
        .contains("value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&#39;\""));
    // Posted back, a differing password pair re-renders the form: still escaped.
    let body = format!(
        "csrf={CSRF}&token=%22%3E%3Cb%3Ex&new_password=aaaaaaaaaa&new_password_confirm=bbbbbbbbbb"
    );
    let a = p.post("/account/reset", Some(CSRF), &[], body).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.text.contains("The two passwords differ"));
    assert!(a.text.contains("value=\"&quot;&gt;&lt;b&gt;x\""));
    assert!(!a.text.contains("<b>x"));
}

#[tokio::test]
async fn a_link_without_a_usable_token_is_a_400_page() {
    let p = Pages::start().await;
    for uri in [
        "/account/reset",
        "/account/verify?other=1",
        "/account/reset?token=",
        "/account/verify?token=has%20space",
        &format!("/account/reset?token={}", "a".repeat(513)),
    ] {
        let a = p.get(uri).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(a.text.contains("class=\"result bad\""), "{uri}");
        assert!(!a.text.contains("<form"), "{uri}");
    }
}

#[tokio::test]
async fn a_post_without_matching_csrf_is_a_403_page() {
    let p = Pages::start().await;
    let other = "Z".repeat(43);
    for path in ["/account/reset", "/account/verify"] {
        let body = |csrf: &str| format!("csrf={csrf}&token=t&new_password=pw12345678");
        // No cookie at all.
        let a = p.post(path, None, &[], body(CSRF)).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.text);
        assert!(a.text.contains("security cookie is missing"));
        // A cookie, and a field that differs, is missing or is malformed.
        for field in [other.as_str(), "", "short"] {
            let a = p.post(path, Some(CSRF), &[], body(field)).await;
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{field:?}");
            assert!(a.text.contains("security check failed"));
        }
        let a = p
            .post(path, Some(CSRF), &[], "token=t&new_password=x".into())
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
        // Matching values, but the browser says another site sent it.
        for extra in [
            ("sec-fetch-site", "cross-site"),
            ("sec-fetch-site", "same-site"),
            ("origin", "https://evil.example"),
        ] {
            let a = p.post(path, Some(CSRF), &[extra], body(CSRF)).await;
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{extra:?}");
            assert!(a.text.contains("only be sent from this site"));
        }
    }
}

#[tokio::test]
async fn a_bad_token_is_a_400_page() {
    let p = Pages::start().await;
    let same_origin = [("sec-fetch-site", "same-origin"), ("origin", "null")];
    let a = p
        .post(
            "/account/reset",
            Some(CSRF),
            &same_origin,
            format!("csrf={CSRF}&token=tpr_unknown&new_password=a+fine+new+password&new_password_confirm=a+fine+new+password"),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    assert!(a
        .text
        .contains("already been used, has expired, or is not valid"));
    assert!(!a.text.contains("<form"), "a spent link offers no form");
    let a = p
        .post(
            "/account/verify",
            Some(CSRF),
            &same_origin,
            format!("csrf={CSRF}&token=tev_unknown"),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    assert!(a
        .text
        .contains("already been used, has expired, or is not valid"));
    // A missing token or password is named.
    let a = p
        .post("/account/verify", Some(CSRF), &[], format!("csrf={CSRF}"))
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = p
        .post(
            "/account/reset",
            Some(CSRF),
            &[],
            format!("csrf={CSRF}&token=t"),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.text.contains("missing the new password"));
}

#[tokio::test]
async fn bodies_that_are_not_a_small_form_are_refused_with_html() {
    let p = Pages::start().await;
    // Oversized: past the pages' 16 KiB cap.
    let big = format!("csrf={CSRF}&token=t&new_password={}", "a".repeat(20_000));
    let a = p.post("/account/reset", Some(CSRF), &[], big).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(a.text.contains("too large"));
    // Not a form.
    let a = p
        .send(
            Request::post("/account/verify")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{\"token\":\"t\"}"))
                .unwrap(),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // A field twice.
    let a = p
        .post(
            "/account/verify",
            Some(CSRF),
            &[],
            format!("csrf={CSRF}&token=a&token=b"),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.text.contains("sent twice"));
}

/// The token of the newest `/account/{kind}` link in a `.eml` the server
/// wrote (no `smtp_url`: messages are files under `data_dir/mail/`).
async fn mailed_token(p: &Pages, file_prefix: &str, kind: &str) -> String {
    assert!(
        p.state
            .app
            .lifecycle
            .flush_mail(Duration::from_secs(10))
            .await
    );
    let dir = p.dir.path().join("mail");
    let mut found = None;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with(file_prefix) {
            continue;
        }
        // Undo quoted-printable soft breaks and `=3D` before searching.
        let raw = std::fs::read_to_string(&path).unwrap();
        let text = raw
            .replace("=\r\n", "")
            .replace("=\n", "")
            .replace("=3D", "=");
        let marker = format!("/account/{kind}?token=");
        let start = text.find(&marker).expect("a link in the mail") + marker.len();
        let token: String = text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || "-_.~".contains(*c))
            .collect();
        found = Some(token);
    }
    found.unwrap_or_else(|| panic!("no {file_prefix} mail in {}", dir.display()))
}

#[tokio::test]
async fn the_no_js_forms_spend_a_real_link_once() {
    let p = Pages::start().await;
    let info = tessera_core::ClientInfo::default();
    let app = &p.state.app;
    let email = "pages@example.com";
    app.accounts
        .register(email, crate::support::PASSWORD, &info)
        .await
        .unwrap();
    let before = app
        .sessions
        .login_unthrottled(email, crate::support::PASSWORD, &info)
        .await
        .unwrap();

    // Verify: the GET spends nothing, the POST does, a second POST is a 400.
    let token = mailed_token(&p, "verify_email", "verify").await;
    let a = p.get(&format!("/account/verify?token={token}")).await;
    assert_eq!(a.status, StatusCode::OK);
    let csrf = hidden(&a.text, "csrf");
    let form = format!("csrf={csrf}&token={token}");
    let a = p
        .post("/account/verify", Some(&csrf), &[], form.clone())
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert!(a.text.contains("Your email address is confirmed"));
    let a = p.post("/account/verify", Some(&csrf), &[], form).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);

    // Reset: a verify token is not a reset token.
    let new = "a brand new horse battery";
    let reset_form =
        |t: &str| format!("csrf={csrf}&token={t}&new_password={new}&new_password_confirm={new}");
    let a = p
        .post("/account/reset", Some(&csrf), &[], reset_form(&token))
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.text.contains("already been used"));

    app.lifecycle.forgot_password(email, &info).await.unwrap();
    let token = mailed_token(&p, "password_reset", "reset").await;
    // A password the policy refuses: 400, the form again with the reason,
    // and the link still works.
    let common = format!(
        "csrf={csrf}&token={token}&new_password=password123&new_password_confirm=password123"
    );
    let a = p.post("/account/reset", Some(&csrf), &[], common).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.text.contains("too common"), "{}", a.text);
    assert!(a.text.contains("<form"));
    let a = p
        .post("/account/reset", Some(&csrf), &[], reset_form(&token))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert!(a.text.contains("Your password has been changed"));
    // Spent: a second use is a 400 page and changes nothing.
    let other = "another brand new password";
    let again =
        format!("csrf={csrf}&token={token}&new_password={other}&new_password_confirm={other}");
    let a = p.post("/account/reset", Some(&csrf), &[], again).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let login = |pw: &'static str| app.sessions.login_unthrottled(email, pw, &info);
    assert!(login(crate::support::PASSWORD).await.is_err());
    assert!(login(other).await.is_err());
    assert!(login(new).await.is_ok());
    // The session from before the reset is gone.
    assert!(app
        .sessions
        .refresh(&before.refresh_token, &info)
        .await
        .is_err());
}
