//! The hosted OpenID Connect pages driven through the router with `oneshot`
//! and a small cookie jar (a "browser"): the authorization endpoint's error
//! page versus redirect, the login and consent forms (headers, CSRF,
//! escaping, no account enumeration, throttling), the SSO cookie (attributes,
//! a new value on every login), SSO across two clients, `prompt=none`,
//! `prompt=login`, `max_age`, and RP-initiated logout.

use crate::support::{base_config, PASSWORD, T0};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use std::collections::BTreeMap;
use std::sync::Arc;
use tempfile::TempDir;
use tessera_core::ClientInfo;
use tessera_jose::ManualClock;
use tower::ServiceExt;

const APP: &str = "https://app.example/cb";
const OTHER: &str = "https://other.example/cb";
const BYE: &str = "https://app.example/bye";
const CHALLENGE: &str = "wZOx-8aK1HMq_uVqKAJ9TkzMhEJpxYid17tS6eD1eKE";

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

    /// The `Location` of a redirect, parsed.
    fn location(&self) -> reqwest::Url {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "{}", self.text);
        reqwest::Url::parse(self.header("location")).unwrap()
    }

    /// A query parameter of the redirect.
    fn param(&self, name: &str) -> Option<String> {
        self.location()
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// The value of the hidden field `name`.
    fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .text
            .find(&marker)
            .unwrap_or_else(|| panic!("no {name} in {}", self.text))
            + marker.len();
        let len = self.text[start..].find('"').unwrap();
        // The page escapes; undo the escapes a urlencoded value can hold.
        self.text[start..start + len].replace("&amp;", "&")
    }

    fn is_page(&self) -> bool {
        self.header("content-type") == "text/html; charset=utf-8"
    }
}

/// A browser: a router and a cookie jar.
struct Browser {
    router: axum::Router,
    state: tessera_server::AppState,
    clock: Arc<ManualClock>,
    jar: BTreeMap<String, String>,
    _dir: TempDir,
}

impl Browser {
    async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    async fn start_with(adjust: impl FnOnce(&mut tessera_server::config::Config)) -> Self {
        let dir = TempDir::new().unwrap();
        let mut cfg = base_config(&dir);
        cfg.database_url = tessera_store::testing::fresh_database_url().await.unwrap();
        if cfg.database_url.is_some() {
            cfg.secret = Some(tessera_jose::b64::encode(&[7u8; 32]));
        }
        adjust(&mut cfg);
        let clock = Arc::new(ManualClock::new(T0));
        let state = tessera_server::build_state(cfg, clock.clone())
            .await
            .unwrap();
        Browser {
            router: tessera_server::router(state.clone()),
            state,
            clock,
            jar: BTreeMap::new(),
            _dir: dir,
        }
    }

    /// Another browser on the same server (its own, empty jar).
    fn other(&self) -> Browser {
        Browser {
            router: self.router.clone(),
            state: self.state.clone(),
            clock: self.clock.clone(),
            jar: BTreeMap::new(),
            _dir: TempDir::new().unwrap(),
        }
    }

    fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, req: axum::http::request::Builder, body: Body) -> Answer {
        let req = if self.jar.is_empty() {
            req
        } else {
            req.header(header::COOKIE, self.cookie_header())
        };
        let res = self
            .router
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        for c in headers.get_all(header::SET_COOKIE) {
            let c = c.to_str().unwrap();
            let (pair, _) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=').unwrap();
            if c.contains("Max-Age=0") {
                self.jar.remove(k);
            } else {
                self.jar.insert(k.to_owned(), v.to_owned());
            }
        }
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        let a = Answer {
            status,
            headers,
            text: String::from_utf8(bytes.to_vec()).unwrap(),
        };
        assert!(!a.status.is_server_error(), "{} {}", a.status, a.text);
        if a.is_page() {
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
            assert_eq!(a.header("x-frame-options"), "DENY");
            assert!(!a.text.contains("<script") && !a.text.contains(" style="));
        } else {
            assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text);
            assert_eq!(a.header("cache-control"), "no-store");
            assert_eq!(a.header("referrer-policy"), "no-referrer");
        }
        a
    }

    async fn get(&mut self, uri: &str) -> Answer {
        self.send(Request::get(uri), Body::empty()).await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        self.post_with(path, fields, &[]).await
    }

    async fn post_with(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Answer {
        let body = form(fields);
        let mut req =
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req, Body::from(body)).await
    }

    fn sso(&self) -> Option<String> {
        self.jar.get("tessera_sso").cloned()
    }

    /// Submits the login page `page` with `email` and `password`.
    async fn login(&mut self, page: &Answer, email: &str, password: &str) -> Answer {
        let csrf = page.hidden("csrf");
        let request = page.hidden("request");
        self.post(
            "/oauth2/login",
            &[
                ("csrf", &csrf),
                ("request", &request),
                ("email", email),
                ("password", password),
            ],
        )
        .await
    }

    /// Answers the consent page `page` with `decision`.
    async fn consent(&mut self, page: &Answer, decision: &str) -> Answer {
        let csrf = page.hidden("csrf");
        let request = page.hidden("request");
        self.post(
            "/oauth2/consent",
            &[
                ("csrf", &csrf),
                ("request", &request),
                ("decision", decision),
            ],
        )
        .await
    }

    async fn user(&self, email: &str) {
        self.state
            .app
            .accounts
            .register(email, PASSWORD, &ClientInfo::default())
            .await
            .unwrap();
    }
}

fn form(fields: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        s.append_pair(k, v);
    }
    s.finish()
}

/// An authorization request's URI for `client` and `redirect_uri`.
fn authorize(client: &str, redirect_uri: &str, extra: &[(&str, &str)]) -> String {
    let mut fields = vec![
        ("response_type", "code"),
        ("client_id", client),
        ("redirect_uri", redirect_uri),
        ("scope", "openid email"),
        ("state", "st-1"),
        ("nonce", "n-1"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in extra {
        fields.retain(|(n, _)| n != k);
        fields.push((k, v));
    }
    format!("/oauth2/authorize?{}", form(&fields))
}

/// Registers the public client `id` (redirect URI `APP` or `OTHER`, logout
/// URI `BYE`), first-party or not.
async fn client(b: &Browser, id: &str, redirect_uri: &str, first_party: bool) {
    let mut spec = tessera_core::oauth::ClientSpec::new(id);
    spec.public = true;
    spec.first_party = first_party;
    spec.redirect_uris = vec![redirect_uri.to_owned()];
    spec.post_logout_redirect_uris = vec![BYE.to_owned()];
    spec.grants = vec!["authorization_code".into(), "refresh_token".into()];
    b.state.app.clients.register(&spec).await.unwrap();
}

/// Signs `email` in through the hosted page for `client`; returns the redirect.
async fn sign_in(b: &mut Browser, client: &str, redirect_uri: &str, email: &str) -> Answer {
    let page = b.get(&authorize(client, redirect_uri, &[])).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    b.login(&page, email, PASSWORD).await
}

#[tokio::test]
async fn unknown_client_or_redirect_uri_gets_a_page_never_a_redirect() {
    let mut b = Browser::start().await;
    client(&b, "spa", APP, true).await;
    for uri in [
        authorize("nobody", APP, &[]),
        authorize("spa", OTHER, &[]),
        authorize("spa", "https://app.example/cb/", &[]),
        authorize("spa", "https://APP.example/cb", &[]),
        authorize("spa", "https://app.example:8443/cb", &[]),
        authorize("spa", "https://app.example/cb?x=1", &[]),
        authorize("spa", "https://app.example/cb/extra", &[]),
        authorize("spa", "https://evil.example@app.example/cb", &[]),
        "/oauth2/authorize?client_id=spa&client_id=spa".to_owned(),
        "/oauth2/authorize".to_owned(),
    ] {
        let a = b.get(&uri).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{uri}: {}", a.text);
        assert!(a.is_page(), "{uri}");
        assert!(a.header("location").is_empty(), "{uri}");
        assert!(!a.text.contains("<form"), "{uri}");
    }
}

#[tokio::test]
async fn other_errors_redirect_with_error_state_and_iss() {
    let mut b = Browser::start().await;
    client(&b, "spa", APP, true).await;
    let iss = b.state.config.issuer();
    for (extra, error) in [
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (vec![("code_challenge", "")], "invalid_request"),
        (vec![("scope", "openid nope:scope")], "invalid_scope"),
    ] {
        let a = b.get(&authorize("spa", APP, &extra)).await;
        assert!(a.header("location").starts_with(APP), "{extra:?}");
        assert_eq!(a.param("error").as_deref(), Some(error), "{extra:?}");
        assert_eq!(a.param("state").as_deref(), Some("st-1"));
        assert_eq!(a.param("iss").as_deref(), Some(iss.as_str()));
        assert_eq!(a.param("code"), None);
    }
}

#[tokio::test]
async fn the_login_page_is_a_plain_escaped_form_with_csrf() {
    let mut b = Browser::start_with(|c| {
        c.login_product_name = Some("Acme <ID>".into());
        c.login_accent_color = Some("#112233".into());
        c.login_logo_url = Some("https://cdn.example/logo.svg".into());
    })
    .await;
    client(&b, "spa", APP, true).await;
    let a = b
        .get(&authorize(
            "spa",
            APP,
            &[("login_hint", "\"><script>alert(1)</script>")],
        ))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert!(a.text.contains("action=\"/oauth2/login\""));
    assert!(a.text.contains("name=\"email\"") && a.text.contains("name=\"password\""));
    assert_eq!(a.hidden("csrf").len(), 43);
    assert!(a.header("set-cookie").starts_with("tessera_csrf="));
    assert!(!a.text.contains("<script>alert"));
    assert!(a
        .text
        .contains("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(a.text.contains("Acme &lt;ID&gt;"));
    assert!(a.text.contains("href=\"/oauth2/theme.css\""));
    assert!(a.text.contains("href=\"/account/forgot\""));
    assert!(a
        .header("content-security-policy")
        .contains("img-src 'self' data: https://cdn.example;"));
    // The form's answer may redirect to the client: its origin is a
    // form-action source (browsers check redirects after a post too).
    assert!(a
        .header("content-security-policy")
        .contains("form-action 'self' https://app.example;"));
    // The request rides along, and comes back validated: the same params.
    let request = a.hidden("request");
    assert!(request.contains("client_id=spa"), "{request}");
    // No SSO cookie before a login.
    assert!(b.sso().is_none());
    // The theme is a stylesheet, the colour as configured.
    let css = b
        .router
        .clone()
        .oneshot(
            Request::get("/oauth2/theme.css")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let css = axum::body::to_bytes(css.into_body(), 1 << 16)
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&css).contains("--accent: #112233"));
}

#[tokio::test]
async fn csrf_refusals_are_403_pages() {
    let mut b = Browser::start().await;
    client(&b, "spa", APP, true).await;
    b.user("a@example.com").await;
    let page = b.get(&authorize("spa", APP, &[])).await;
    let csrf = page.hidden("csrf");
    let request = page.hidden("request");
    let fields = [
        ("csrf", csrf.as_str()),
        ("request", request.as_str()),
        ("email", "a@example.com"),
        ("password", PASSWORD),
    ];
    // Cross-site signals.
    for h in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://evil.example"),
    ] {
        let a = b.post_with("/oauth2/login", &fields, &[h]).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{h:?}");
    }
    // A wrong field.
    let wrong = "x".repeat(43);
    let a = b
        .post(
            "/oauth2/login",
            &[
                ("csrf", &wrong),
                ("request", &request),
                ("email", "a@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    // No cookie at all (another browser).
    let mut other = b.other();
    let a = other.post("/oauth2/login", &fields).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(b.sso().is_none() && other.sso().is_none());
    // The same on the consent and logout forms.
    let a = other
        .post(
            "/oauth2/consent",
            &[
                ("csrf", &wrong),
                ("request", &request),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = other
        .post("/oauth2/logout", &[("csrf", &wrong), ("confirm", "yes")])
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    // The real thing works.
    let a = b.post("/oauth2/login", &fields).await;
    assert!(a.header("location").starts_with(APP), "{}", a.text);
}

#[tokio::test]
async fn wrong_password_and_unknown_account_look_the_same() {
    let mut b = Browser::start().await;
    client(&b, "spa", APP, true).await;
    b.user("a@example.com").await;
    let page = b.get(&authorize("spa", APP, &[])).await;
    let wrong = b.login(&page, "a@example.com", "not the password").await;
    let unknown = b.login(&page, "zz@example.com", "not the password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    let msg = |a: &Answer| {
        let s = a.text.find("id=\"error\"").unwrap();
        a.text[s..s + 120].to_owned()
    };
    assert_eq!(msg(&wrong), msg(&unknown));
    // The form comes back with the email kept and the request still there.
    assert!(wrong.text.contains("value=\"a@example.com\""));
    assert_eq!(wrong.hidden("request"), page.hidden("request"));
    assert!(b.sso().is_none());
}

#[tokio::test]
async fn the_hosted_login_is_throttled_like_the_json_login() {
    let mut b = Browser::start_with(|c| c.login_max_failures = 2).await;
    client(&b, "spa", APP, true).await;
    b.user("a@example.com").await;
    let page = b.get(&authorize("spa", APP, &[])).await;
    let mut last = StatusCode::OK;
    for _ in 0..4 {
        last = b.login(&page, "a@example.com", "wrong wrong").await.status;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    let a = b.login(&page, "a@example.com", PASSWORD).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.text);
    assert!(a.text.contains("Too many attempts"));
    assert!(b.sso().is_none());
}

#[tokio::test]
async fn login_sets_a_fresh_lax_sso_cookie_and_redirects_with_a_code() {
    let mut b = Browser::start().await;
    client(&b, "spa", APP, true).await;
    b.user("a@example.com").await;
    // A value planted before the login is not kept (no fixation).
    b.jar.insert("tessera_sso".into(), "planted-value".into());
    let a = sign_in(&mut b, "spa", APP, "a@example.com").await;
    assert!(a.header("location").starts_with(APP));
    assert!(a.param("code").is_some());
    assert_eq!(a.param("state").as_deref(), Some("st-1"));
    assert_eq!(a.param("iss"), Some(b.state.config.issuer()));
    let set = a
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("tessera_sso="))
        .expect("an SSO cookie");
    assert!(
        set.contains("; HttpOnly") && set.contains("; SameSite=Lax") && set.contains("; Path=/")
    );
    let first = b.sso().unwrap();
    assert_ne!(first, "planted-value");
    // A second login (prompt=login) gets another value.
    let page = b.get(&authorize("spa", APP, &[("prompt", "login")])).await;
    assert!(page.text.contains("id=\"login-form\""));
    let again = b.login(&page, "a@example.com", PASSWORD).await;
    assert!(again.param("code").is_some());
    assert_ne!(b.sso().unwrap(), first);
}

#[tokio::test]
async fn sso_across_two_clients_and_consent() {
    let mut b = Browser::start().await;
    client(&b, "spa", APP, true).await;
    client(&b, "other", OTHER, false).await;
    b.user("a@example.com").await;
    let a = sign_in(&mut b, "spa", APP, "a@example.com").await;
    assert!(a.param("code").is_some());
    // The second client: no password, but its consent page.
    let page = b
        .get(&authorize("other", OTHER, &[("scope", "openid email")]))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("id=\"consent-form\""), "{}", page.text);
    assert!(page.text.contains("data-scope=\"email\""));
    // Deny: access_denied with the state.
    let no = b.consent(&page, "deny").await;
    assert!(no.header("location").starts_with(OTHER));
    assert_eq!(no.param("error").as_deref(), Some("access_denied"));
    assert_eq!(no.param("state").as_deref(), Some("st-1"));
    // prompt=none without consent: consent_required.
    let none = b
        .get(&authorize("other", OTHER, &[("prompt", "none")]))
        .await;
    assert_eq!(none.param("error").as_deref(), Some("consent_required"));
    // Allow: a code; then it is remembered.
    let page = b.get(&authorize("other", OTHER, &[])).await;
    let yes = b.consent(&page, "allow").await;
    assert!(yes.param("code").is_some(), "{}", yes.text);
    let again = b
        .get(&authorize("other", OTHER, &[("prompt", "none")]))
        .await;
    assert!(again.param("code").is_some());
    // prompt=consent asks again.
    let ask = b
        .get(&authorize("other", OTHER, &[("prompt", "consent")]))
        .await;
    assert!(ask.text.contains("id=\"consent-form\""));
}

#[tokio::test]
async fn prompt_none_prompt_login_and_max_age() {
    let mut b = Browser::start().await;
    client(&b, "spa", APP, true).await;
    b.user("a@example.com").await;
    let none = b.get(&authorize("spa", APP, &[("prompt", "none")])).await;
    assert_eq!(none.param("error").as_deref(), Some("login_required"));
    assert_eq!(none.param("state").as_deref(), Some("st-1"));
    sign_in(&mut b, "spa", APP, "a@example.com").await;
    let silent = b.get(&authorize("spa", APP, &[("prompt", "none")])).await;
    assert!(silent.param("code").is_some());
    // max_age: within it, no login; past it, the login page (or
    // login_required with prompt=none).
    b.clock.advance(std::time::Duration::from_secs(120));
    let ok = b.get(&authorize("spa", APP, &[("max_age", "600")])).await;
    assert!(ok.param("code").is_some());
    let page = b.get(&authorize("spa", APP, &[("max_age", "60")])).await;
    assert!(page.text.contains("id=\"login-form\""), "{}", page.text);
    let none = b
        .get(&authorize(
            "spa",
            APP,
            &[("max_age", "60"), ("prompt", "none")],
        ))
        .await;
    assert_eq!(none.param("error").as_deref(), Some("login_required"));
    // After the new login (prompt still max_age=60), a code.
    let fresh = b.login(&page, "a@example.com", PASSWORD).await;
    assert!(fresh.param("code").is_some());
    // prompt=login always shows the form.
    let page = b.get(&authorize("spa", APP, &[("prompt", "login")])).await;
    assert!(page.text.contains("id=\"login-form\""));
}

#[tokio::test]
async fn an_edited_request_field_is_validated_again() {
    let mut b = Browser::start().await;
    client(&b, "spa", APP, true).await;
    b.user("a@example.com").await;
    let page = b.get(&authorize("spa", APP, &[])).await;
    let csrf = page.hidden("csrf");
    let edited = page
        .hidden("request")
        .replace(&form(&[("r", APP)])[2..], &form(&[("r", OTHER)])[2..]);
    assert!(edited.contains("other.example"), "{edited}");
    let a = b
        .post(
            "/oauth2/login",
            &[
                ("csrf", &csrf),
                ("request", &edited),
                ("email", "a@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.header("location").is_empty());
    assert!(b.sso().is_none());
}

#[tokio::test]
async fn logout_asks_without_a_hint_and_ends_sso() {
    let mut b = Browser::start().await;
    client(&b, "spa", APP, true).await;
    client(&b, "other", OTHER, true).await;
    b.user("a@example.com").await;
    sign_in(&mut b, "spa", APP, "a@example.com").await;
    assert!(b
        .get(&authorize("other", OTHER, &[]))
        .await
        .param("code")
        .is_some());
    // An unregistered post_logout_redirect_uri: a page, never a redirect.
    let bad = b
        .get(&format!(
            "/oauth2/logout?{}",
            form(&[
                ("client_id", "spa"),
                ("post_logout_redirect_uri", "https://evil.example/")
            ])
        ))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // No hint: a confirmation form; nothing ends yet.
    let q = form(&[
        ("client_id", "spa"),
        ("post_logout_redirect_uri", BYE),
        ("state", "s-9"),
    ]);
    let ask = b.get(&format!("/oauth2/logout?{q}")).await;
    assert!(ask.text.contains("id=\"logout-form\""), "{}", ask.text);
    assert!(b.sso().is_some());
    assert!(b
        .get(&authorize("spa", APP, &[("prompt", "none")]))
        .await
        .param("code")
        .is_some());
    let csrf = ask.hidden("csrf");
    let done = b
        .post(
            "/oauth2/logout",
            &[
                ("csrf", &csrf),
                ("confirm", "yes"),
                ("client_id", "spa"),
                ("post_logout_redirect_uri", BYE),
                ("state", "s-9"),
            ],
        )
        .await;
    assert!(done.header("location").starts_with(BYE), "{}", done.text);
    assert_eq!(done.param("state").as_deref(), Some("s-9"));
    assert!(b.sso().is_none());
    // Both clients now need a login.
    for (c, r) in [("spa", APP), ("other", OTHER)] {
        let none = b.get(&authorize(c, r, &[("prompt", "none")])).await;
        assert_eq!(
            none.param("error").as_deref(),
            Some("login_required"),
            "{c}"
        );
    }
}

#[tokio::test]
async fn forgot_password_page_answers_alike_for_any_address() {
    let mut b = Browser::start().await;
    b.user("a@example.com").await;
    let page = b.get("/account/forgot").await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.hidden("csrf");
    let known = b
        .post(
            "/account/forgot",
            &[("csrf", &csrf), ("email", "a@example.com")],
        )
        .await;
    let unknown = b
        .post(
            "/account/forgot",
            &[("csrf", &csrf), ("email", "zz@example.com")],
        )
        .await;
    assert_eq!(known.status, StatusCode::OK);
    assert_eq!(unknown.status, StatusCode::OK);
    assert!(known.text.contains("If this address belongs to an account"));
    assert_eq!(known.text, unknown.text);
    let bad = b
        .post(
            "/account/forgot",
            &[("csrf", "x"), ("email", "a@example.com")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::FORBIDDEN);
}

/// The verifier of `CHALLENGE` (base64url of its SHA-256).
const VERIFIER: &str = "dBjftJeZ4CVP-mJ92jrOmWUbRe2OPTLx0DoMOclfmEM";

impl Browser {
    /// A token-endpoint call (JSON answer): status and body.
    async fn token(&self, fields: &[(&str, &str)]) -> (StatusCode, serde_json::Value) {
        let req = Request::post("/oauth2/token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form(fields)))
            .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    /// Exchanges the code of the redirect `a` for `client`.
    async fn exchange(&self, a: &Answer, client: &str, redirect_uri: &str) -> serde_json::Value {
        let code = a.param("code").expect("a code");
        let (status, body) = self
            .token(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", redirect_uri),
                ("client_id", client),
                ("code_verifier", VERIFIER),
            ])
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }
}

#[tokio::test]
async fn the_authorization_request_may_be_a_form_post() {
    let mut b = Browser::start().await;
    client(&b, "spa", APP, true).await;
    b.user("a@example.com").await;
    let uri = authorize("spa", APP, &[]);
    let query = uri.split_once('?').unwrap().1;
    let fields: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let page = b.post("/oauth2/authorize", &refs).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("id=\"login-form\""));
    let a = b.login(&page, "a@example.com", PASSWORD).await;
    assert!(a.param("code").is_some());
    // A repeated parameter is refused with a page.
    let mut twice = refs.clone();
    twice.push(("state", "again"));
    let bad = b.post("/oauth2/authorize", &twice).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.header("location").is_empty());
}

#[tokio::test]
async fn logout_with_a_valid_hint_ends_sso_and_the_clients_session_at_once() {
    let mut b = Browser::start().await;
    client(&b, "spa", APP, true).await;
    b.user("a@example.com").await;
    let a = b
        .get(&authorize(
            "spa",
            APP,
            &[("scope", "openid email offline_access")],
        ))
        .await;
    let a = b.login(&a, "a@example.com", PASSWORD).await;
    let tokens = b.exchange(&a, "spa", APP).await;
    let id_token = tokens["id_token"].as_str().expect("an ID token").to_owned();
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned();
    let q = form(&[
        ("id_token_hint", &id_token),
        ("post_logout_redirect_uri", BYE),
        ("state", "s-7"),
    ]);
    let done = b.get(&format!("/oauth2/logout?{q}")).await;
    assert!(done.header("location").starts_with(BYE), "{}", done.text);
    assert_eq!(done.param("state").as_deref(), Some("s-7"));
    assert!(b.sso().is_none());
    let (status, body) = b
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", "spa"),
        ])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    // A forged hint is refused with a page.
    let forged = format!("{}x", &id_token[..id_token.len() - 1]);
    let bad = b
        .get(&format!(
            "/oauth2/logout?{}",
            form(&[
                ("id_token_hint", &forged),
                ("post_logout_redirect_uri", BYE)
            ])
        ))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_login_page_links_to_registration_only_when_open() {
    let mut b = Browser::start().await;
    client(&b, "spa", APP, true).await;
    let page = b.get(&authorize("spa", APP, &[])).await;
    let start = page.text.find("href=\"/account/register?").expect("a link");
    let href = &page.text[start + 6..];
    let href = href[..href.find('"').unwrap()].replace("&amp;", "&");
    let form_page = b.get(&href).await;
    assert_eq!(form_page.status, StatusCode::OK, "{}", form_page.text);
    assert_eq!(form_page.hidden("request"), page.hidden("request"));
    let csrf = form_page.hidden("csrf");
    let request = form_page.hidden("request");
    let short = b
        .post(
            "/account/register",
            &[
                ("csrf", &csrf),
                ("request", &request),
                ("email", "n@example.com"),
                ("password", "x"),
            ],
        )
        .await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    assert!(short.text.contains("id=\"error\""));
    let made = b
        .post(
            "/account/register",
            &[
                ("csrf", &csrf),
                ("request", &request),
                ("email", "n@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.text);
    assert!(made.text.contains("id=\"notice\"") && made.text.contains("id=\"login-form\""));
    let a = b.login(&made, "n@example.com", PASSWORD).await;
    assert!(a.param("code").is_some());
    // Closed: no link, and the page refuses.
    let mut c =
        Browser::start_with(|c| c.registration = tessera_server::config::Registration::Closed)
            .await;
    client(&c, "spa", APP, true).await;
    let page = c.get(&authorize("spa", APP, &[])).await;
    assert!(!page.text.contains("/account/register"));
    assert_eq!(
        c.get("/account/register").await.status,
        StatusCode::FORBIDDEN
    );
}

/// Enrols TOTP for `email` through the core; the secret.
async fn enrol_totp(b: &Browser, email: &str) -> Vec<u8> {
    let app = &b.state.app;
    let info = ClientInfo::default();
    let pair = app
        .sessions
        .login_unthrottled(email, PASSWORD, &info)
        .await
        .unwrap();
    let who = app.sessions.authenticate(&pair.access_token).await.unwrap();
    let e = app.mfa.begin_totp(&who, None, &info).await.unwrap();
    let secret = tessera_core::mfa::totp::base32_decode(&e.secret).unwrap();
    let code = tessera_core::mfa::totp::code_at(&secret, T0);
    app.mfa.confirm_totp(&who, &code, &info).await.unwrap();
    secret
}

#[tokio::test]
async fn a_second_factor_is_asked_before_any_sso_session() {
    let mut b = Browser::start().await;
    client(&b, "spa", APP, true).await;
    b.user("a@example.com").await;
    let secret = enrol_totp(&b, "a@example.com").await;
    b.clock.set(T0 + 60);
    let step = sign_in(&mut b, "spa", APP, "a@example.com").await;
    assert_eq!(step.status, StatusCode::OK, "{}", step.text);
    assert!(step.text.contains("id=\"mfa-form\""), "{}", step.text);
    assert!(step.text.contains("action=\"/oauth2/login/mfa\""));
    assert!(b.sso().is_none(), "no SSO session on the password alone");
    let fields = |code: &str| {
        vec![
            ("csrf".to_owned(), step.hidden("csrf")),
            ("request".to_owned(), step.hidden("request")),
            ("mfa_token".to_owned(), step.hidden("mfa_token")),
            ("totp".to_owned(), code.to_owned()),
        ]
    };
    let wrong = fields("000000");
    let wrong: Vec<(&str, &str)> = wrong
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let again = b.post("/oauth2/login/mfa", &wrong).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    assert!(again.text.contains("id=\"mfa-form\"") && again.text.contains("not correct"));
    assert!(b.sso().is_none());
    let code = tessera_core::mfa::totp::code_at(&secret, T0 + 60);
    let right = fields(&code);
    let right: Vec<(&str, &str)> = right
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let done = b.post("/oauth2/login/mfa", &right).await;
    assert!(done.header("location").starts_with(APP), "{}", done.text);
    assert!(done.param("code").is_some());
    let sso = b
        .state
        .app
        .oidc
        .sso(&b.sso().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sso.amr, ["pwd", "otp", "mfa"]);
    // The token is spent.
    let replay = b.post("/oauth2/login/mfa", &right).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert!(replay.text.contains("id=\"login-form\""), "{}", replay.text);
}

#[tokio::test]
async fn acr_values_asking_for_mfa_force_a_factor_and_the_id_token_says_so() {
    use tessera_core::oidc::MFA_ACR;
    let mut b = Browser::start().await;
    client(&b, "spa", APP, true).await;
    b.user("a@example.com").await;
    // Signed in with a password alone: a request asking for MFA gets the
    // login page again, SSO session or not.
    let a = sign_in(&mut b, "spa", APP, "a@example.com").await;
    let t = b.exchange(&a, "spa", APP).await;
    let c = crate::support::claims(t["id_token"].as_str().unwrap());
    assert_eq!(c["amr"], serde_json::json!(["pwd"]));
    assert!(c.get("acr").is_none(), "acr only when asked");
    let page = b
        .get(&authorize("spa", APP, &[("acr_values", MFA_ACR)]))
        .await;
    assert!(page.text.contains("id=\"login-form\""), "{}", page.text);
    // Without a factor enrolled, the password is all there is: acr 0.
    let a = b.login(&page, "a@example.com", PASSWORD).await;
    let t = b.exchange(&a, "spa", APP).await;
    assert_eq!(
        crate::support::claims(t["id_token"].as_str().unwrap())["acr"],
        "0"
    );
    // With TOTP: the factor page, then acr is the multi-factor policy.
    let secret = enrol_totp(&b, "a@example.com").await;
    b.clock.set(T0 + 60);
    let page = b
        .get(&authorize("spa", APP, &[("acr_values", MFA_ACR)]))
        .await;
    assert!(page.text.contains("id=\"login-form\""));
    let step = b.login(&page, "a@example.com", PASSWORD).await;
    assert!(step.text.contains("id=\"mfa-form\""), "{}", step.text);
    let code = tessera_core::mfa::totp::code_at(&secret, T0 + 60);
    let a = b
        .post(
            "/oauth2/login/mfa",
            &[
                ("csrf", &step.hidden("csrf")),
                ("request", &step.hidden("request")),
                ("mfa_token", &step.hidden("mfa_token")),
                ("totp", &code),
            ],
        )
        .await;
    let t = b.exchange(&a, "spa", APP).await;
    let id = crate::support::claims(t["id_token"].as_str().unwrap());
    assert_eq!(id["acr"], MFA_ACR);
    assert_eq!(id["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(id["auth_time"], T0 + 60);
    let at = crate::support::claims(t["access_token"].as_str().unwrap());
    assert_eq!(at["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(at["auth_time"], T0 + 60);
    // The MFA session satisfies the next such request without a page.
    let again = b
        .get(&authorize("spa", APP, &[("acr_values", MFA_ACR)]))
        .await;
    assert!(again.param("code").is_some(), "{}", again.text);
}

#[tokio::test]
async fn required_mfa_sets_up_totp_on_the_hosted_page_then_continues() {
    let mut b = Browser::start_with(|c| c.require_mfa = tessera_server::config::Flag(true)).await;
    client(&b, "spa", APP, true).await;
    b.user("a@example.com").await;
    // prompt=login: the way on after set-up must not ask for the password again.
    let page = b.get(&authorize("spa", APP, &[("prompt", "login")])).await;
    let step = b.login(&page, "a@example.com", PASSWORD).await;
    assert_eq!(step.status, StatusCode::OK, "{}", step.text);
    assert!(step.text.contains("id=\"enrol-form\""), "{}", step.text);
    assert!(step.text.contains("src=\"data:image/svg+xml;base64,"));
    assert!(b.sso().is_none(), "no SSO session before the factor");
    let secret_text = step.hidden("secret");
    let secret = tessera_core::mfa::totp::base32_decode(&secret_text).unwrap();
    let fields = |code: String| {
        vec![
            ("csrf".to_owned(), step.hidden("csrf")),
            ("request".to_owned(), step.hidden("request")),
            ("mfa_token".to_owned(), step.hidden("mfa_token")),
            ("secret".to_owned(), secret_text.clone()),
            ("code".to_owned(), code),
        ]
    };
    // A wrong code: the form again, with the same key and no QR code.
    let wrong = fields("000000".into());
    let wrong: Vec<(&str, &str)> = wrong
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let again = b.post("/oauth2/login/mfa/enrol", &wrong).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    assert!(again.text.contains("id=\"enrol-form\"") && again.text.contains("not correct"));
    assert!(again.text.contains(&secret_text));
    assert!(b.sso().is_none());
    // The right code: recovery codes once, an SSO session with [pwd, otp, mfa].
    let right = fields(tessera_core::mfa::totp::code_at(&secret, T0));
    let right: Vec<(&str, &str)> = right
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let done = b.post("/oauth2/login/mfa/enrol", &right).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert!(done.text.contains("id=\"recovery-codes\""));
    assert_eq!(done.text.matches("<li><code>").count(), 10);
    let sso = b
        .state
        .app
        .oidc
        .sso(&b.sso().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sso.amr, ["pwd", "otp", "mfa"]);
    // Continue: the code comes back to the app, without a login page.
    let start = done
        .text
        .find("id=\"continue\" class=\"button\" href=\"")
        .unwrap();
    let rest = &done.text[start + "id=\"continue\" class=\"button\" href=\"".len()..];
    let href = rest[..rest.find('"').unwrap()].replace("&amp;", "&");
    assert!(href.starts_with("/oauth2/authorize?") && !href.contains("prompt=login"));
    let a = b.get(&href).await;
    assert!(a.header("location").starts_with(APP), "{}", a.text);
    let t = b.exchange(&a, "spa", APP).await;
    let c = crate::support::claims(t["id_token"].as_str().unwrap());
    assert_eq!(c["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    // The enrolment token is spent; the next login asks for the factor.
    let replay = b.post("/oauth2/login/mfa/enrol", &right).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert!(replay.text.contains("id=\"login-form\""), "{}", replay.text);
}
