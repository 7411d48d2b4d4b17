//! OpenID Connect, driven through the core for the browser steps
//! (validate → SSO session → consent → code) and over HTTP for the token
//! endpoint, userinfo, consents and the admin API of clients. The hosted
//! pages themselves are tested in `pages` and in Chromium.

use crate::support::{claims, send, Resp, TestServer};
use reqwest::Method;
use serde_json::{json, Value};
use tessera_core::oauth::ClientSpec;
use tessera_core::oidc::{AuthorizeError, AuthorizeParams, AuthorizeRequest, Step};
use tessera_core::ClientInfo;
use tessera_jose::{b64, crypto, KeySet, Validation};

const SPA_CB: &str = "https://app.example/cb";
pub(crate) const WEB_CB: &str = "https://web.example/callback";
pub(crate) const WEB_SECRET: &str = "web-secret-0123456789abcdefghijklmnopqrstuvwxyz";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn challenge(verifier: &str) -> String {
    b64::encode(&crypto::sha256(verifier.as_bytes()))
}

/// A public SPA (PKCE, consent) and a confidential first-party web app.
async fn clients(t: &TestServer) {
    let app = &t.server().state().app;
    let mut spa = ClientSpec::new("spa");
    spa.public = true;
    spa.redirect_uris = vec![SPA_CB.into(), "http://127.0.0.1/native".into()];
    spa.post_logout_redirect_uris = vec!["https://app.example/bye".into()];
    spa.grants = vec!["authorization_code".into(), "refresh_token".into()];
    spa.scopes = vec!["read:notes".into()];
    app.clients.register(&spa).await.unwrap();
    let mut web = ClientSpec::new("web");
    web.secret = Some(WEB_SECRET.into());
    web.redirect_uris = vec![WEB_CB.into()];
    web.first_party = true;
    web.grants = vec!["authorization_code".into()];
    app.clients.register(&web).await.unwrap();
}

fn params(pairs: &[(&str, &str)]) -> AuthorizeParams {
    AuthorizeParams::from_lookup(|n| pairs.iter().find(|(k, _)| *k == n).map(|(_, v)| *v))
}

fn spa_params<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut p = vec![
        ("response_type", "code"),
        ("client_id", "spa"),
        ("redirect_uri", SPA_CB),
        ("scope", "openid email offline_access"),
        ("state", "st-123"),
        ("nonce", "n-456"),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in extra {
        p.retain(|(pk, _)| pk != k);
        p.push((k, v));
    }
    p
}

pub(crate) async fn validate(
    t: &TestServer,
    p: &[(&str, &str)],
) -> Result<AuthorizeRequest, AuthorizeError> {
    t.server()
        .state()
        .app
        .oidc
        .validate_authorize(&params(p))
        .await
}

/// The query parameters of a redirect URL.
fn query(url: &str) -> Vec<(String, String)> {
    let q = url.split_once('?').map(|x| x.1).unwrap_or_default();
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

pub(crate) fn qget(url: &str, k: &str) -> Option<String> {
    query(url).into_iter().find(|(n, _)| n == k).map(|x| x.1)
}

/// Signs `user_id` in (an SSO session), consents, and returns the redirect
/// URL with the code.
pub(crate) async fn code_url(t: &TestServer, user_id: &str, req: &AuthorizeRequest) -> String {
    let oidc = &t.server().state().app.oidc;
    let sso = oidc
        .start_sso(user_id, &["pwd"], &ClientInfo::default())
        .await
        .unwrap();
    let s = oidc.sso(&sso.value).await.unwrap().unwrap();
    if let Ok(Step::Consent { missing }) = oidc.next_step(req, Some(&s), true).await.unwrap() {
        oidc.grant_consent(user_id, &req.client_id, &missing)
            .await
            .unwrap();
    }
    assert_eq!(
        oidc.next_step(req, Some(&s), false).await.unwrap(),
        Ok(Step::Issue)
    );
    oidc.issue_code(req, &s).await.unwrap()
}

async fn token(t: &TestServer, p: &[(&str, &str)]) -> Resp {
    send(t.req(Method::POST, "/oauth2/token").form(p)).await
}

async fn spa_exchange(t: &TestServer, code: &str, verifier: &str) -> Resp {
    token(
        t,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "spa"),
            ("code", code),
            ("redirect_uri", SPA_CB),
            ("code_verifier", verifier),
        ],
    )
    .await
}

/// A user and a code-flow token answer for the SPA (with `extra` params).
async fn spa_flow(t: &TestServer, email: &str, extra: &[(&str, &str)]) -> (String, Value) {
    let u = t.user(email).await;
    let ch = challenge(VERIFIER);
    let mut p = spa_params(extra);
    p.push(("code_challenge", &ch));
    let req = validate(t, &p).await.unwrap();
    let url = code_url(t, &u.id, &req).await;
    let code = qget(&url, "code").unwrap();
    let r = spa_exchange(t, &code, VERIFIER).await.expect(200);
    (u.id, r.body)
}

async fn userinfo(t: &TestServer, access: &str) -> Resp {
    t.get_auth("/oauth2/userinfo", access).await
}

#[tokio::test]
async fn the_code_flow_returns_state_iss_and_a_verifiable_id_token() {
    let t = TestServer::start().await;
    clients(&t).await;
    let u = t.user("ada@x.io").await;
    let ch = challenge(VERIFIER);
    let mut p = spa_params(&[]);
    p.push(("code_challenge", &ch));
    let req = validate(&t, &p).await.unwrap();
    let url = code_url(&t, &u.id, &req).await;
    // The answer goes to the registered URI with state and iss (RFC 9207).
    assert!(url.starts_with(&format!("{SPA_CB}?")), "{url}");
    let iss = t.get("/.well-known/openid-configuration").await.body["issuer"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(qget(&url, "state").as_deref(), Some("st-123"));
    assert_eq!(qget(&url, "iss").as_deref(), Some(iss.as_str()));
    let code = qget(&url, "code").unwrap();
    assert_eq!(b64::decode(code.as_bytes(), "code").unwrap().len(), 32);

    let r = spa_exchange(&t, &code, VERIFIER).await.expect(200);
    assert_eq!(r.header("cache-control"), "no-store");
    let b = &r.body;
    assert_eq!(b["token_type"], "Bearer");
    assert_eq!(b["scope"], "openid email offline_access");
    let access = b["access_token"].as_str().unwrap();
    let id_token = b["id_token"].as_str().unwrap();
    assert!(b["refresh_token"].as_str().unwrap().starts_with("tsr_"));

    // The ID token verifies against the published JWKS, for this client.
    let keys = KeySet::from_jwks(&t.jwks().await);
    let v = Validation::new(iss.clone(), "spa")
        .with_typ(Some("JWT"))
        .require("sub");
    let data = tessera_jose::decode::<Value>(id_token, &keys, &v, &*t.clock).unwrap();
    let c = data.claims;
    assert_eq!(c["sub"], u.id.as_str());
    assert_eq!(c["aud"], "spa");
    assert_eq!(c["azp"], "spa");
    assert_eq!(c["nonce"], "n-456");
    assert_eq!(c["amr"], json!(["pwd"]));
    assert_eq!(c["email"], "ada@x.io");
    assert_eq!(c["email_verified"], false);
    assert!(c["auth_time"].as_i64().unwrap() <= c["iat"].as_i64().unwrap());
    assert!(c["exp"].as_i64().unwrap() > c["iat"].as_i64().unwrap());
    let want = b64::encode(&crypto::sha256(access.as_bytes())[..16]);
    assert_eq!(c["at_hash"], want.as_str());
    // The sid is the SSO session, listed among the user's sessions.
    let sid = c["sid"].as_str().unwrap();
    let list = t
        .get_auth("/v1/sessions", &u.tokens.access)
        .await
        .expect(200);
    assert!(list.text.contains(sid), "{}", list.text);
    // By default the main key signs (ES256), one discovery announces.
    let d = t.get("/.well-known/openid-configuration").await.body;
    let alg = crate::support::parts(id_token).header_json["alg"].clone();
    assert_eq!(alg, "ES256");
    assert!(d["id_token_signing_alg_values_supported"]
        .as_array()
        .unwrap()
        .contains(&alg));

    // The access token carries the scope and the client; userinfo answers.
    assert_eq!(claims(access)["client_id"], "spa");
    let info = userinfo(&t, access).await.expect(200);
    assert_eq!(
        info.body,
        json!({"sub": u.id, "email": "ada@x.io", "email_verified": false})
    );
    // The SPA refreshes as a public client; the scope survives the refresh.
    let rt = b["refresh_token"].as_str().unwrap();
    let r2 = token(
        &t,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "spa"),
            ("refresh_token", rt),
        ],
    )
    .await
    .expect(200);
    let access2 = r2.str("access_token");
    assert_eq!(claims(access2)["scope"], "openid email offline_access");
    userinfo(&t, access2).await.expect(200);
    // The granted scope may be repeated (in any order), never changed.
    let rt2 = r2.str("refresh_token").to_owned();
    let narrower = [
        ("grant_type", "refresh_token"),
        ("client_id", "spa"),
        ("refresh_token", rt2.as_str()),
        ("scope", "openid"),
    ];
    token(&t, &narrower)
        .await
        .expect_error(400, "invalid_scope");
    let same = [
        ("grant_type", "refresh_token"),
        ("client_id", "spa"),
        ("refresh_token", rt2.as_str()),
        ("scope", "offline_access openid email"),
    ];
    let r3 = token(&t, &same).await.expect(200);
    // ... and the refresh token is bound to the SPA: no anonymous refresh.
    let rt2 = r3.str("refresh_token").to_owned();
    token(
        &t,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt2)],
    )
    .await
    .expect_error(400, "invalid_grant");
    // A public client revokes its own refresh token with client_id alone
    // (RFC 7009 §2.1); another public client's revocation changes nothing.
    let revoke = |id: &'static str, tok: String| {
        let t = &t;
        async move {
            send(
                t.req(Method::POST, "/oauth2/revoke")
                    .form(&[("client_id", id), ("token", tok.as_str())]),
            )
            .await
        }
    };
    let mut other = ClientSpec::new("spa-b");
    other.public = true;
    other.redirect_uris = vec!["https://b.example/cb".into()];
    t.server()
        .state()
        .app
        .clients
        .register(&other)
        .await
        .unwrap();
    revoke("spa-b", rt2.clone()).await.expect(200);
    userinfo(&t, r3.str("access_token")).await.expect(200);
    revoke("spa", rt2.clone()).await.expect(200);
    userinfo(&t, r3.str("access_token")).await.expect(401);
    revoke("nobody", rt2).await.expect(401);
}

#[tokio::test]
async fn a_redirect_uri_that_is_not_registered_gets_an_error_page_never_a_redirect() {
    let t = TestServer::start().await;
    clients(&t).await;
    let ch = challenge(VERIFIER);
    for bad in [
        "https://app.example/cb/",
        "https://app.example:444/cb",
        "https://APP.example/cb",
        "https://app.example/CB",
        "https://app.example@evil.example/cb",
        "https://evil.example/cb?https://app.example/cb",
        "https://app.example/cb/extra",
        "https://app.example/cb?x=1",
        "https://app.example/cb#frag",
        "http://app.example/cb",
        "http://127.0.0.1:8080/native/",
        "http://localhost:8080/native",
    ] {
        let mut p = spa_params(&[("redirect_uri", bad)]);
        p.push(("code_challenge", &ch));
        let e = validate(&t, &p).await.unwrap_err();
        assert!(e.redirect_url().is_none(), "{bad} redirected: {e:?}");
        assert_eq!(e.code(), "invalid_request", "{bad}");
    }
    // A native app's loopback URI matches on any port (RFC 8252 §7.3).
    let mut p = spa_params(&[("redirect_uri", "http://127.0.0.1:53127/native")]);
    p.push(("code_challenge", &ch));
    let req = validate(&t, &p).await.unwrap();
    assert_eq!(req.redirect_uri, "http://127.0.0.1:53127/native");
    // Several registered URIs: redirect_uri is required.
    let mut p = spa_params(&[]);
    p.retain(|(k, _)| *k != "redirect_uri");
    p.push(("code_challenge", &ch));
    assert!(validate(&t, &p).await.unwrap_err().redirect_url().is_none());
    // An unknown client: an error page too.
    let mut p = spa_params(&[("client_id", "nobody")]);
    p.push(("code_challenge", &ch));
    let e = validate(&t, &p).await.unwrap_err();
    assert_eq!((e.code(), e.redirect_url()), ("invalid_client", None));
}

#[tokio::test]
async fn other_errors_redirect_back_with_state_and_iss() {
    let t = TestServer::start().await;
    clients(&t).await;
    let ch = challenge(VERIFIER);
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[("response_type", "token")], "unsupported_response_type"),
        (&[("scope", "openid admin:all")], "invalid_scope"),
        (&[("prompt", "none login")], "invalid_request"),
        (&[("max_age", "-1")], "invalid_request"),
    ];
    for (extra, code) in cases {
        let mut p = spa_params(extra);
        p.push(("code_challenge", &ch));
        let e = validate(&t, &p).await.unwrap_err();
        let url = e
            .redirect_url()
            .unwrap_or_else(|| panic!("{extra:?}: {e:?}"));
        assert!(url.starts_with(&format!("{SPA_CB}?")));
        assert_eq!(qget(&url, "error").as_deref(), Some(code), "{extra:?}");
        assert_eq!(qget(&url, "state").as_deref(), Some("st-123"));
        assert!(qget(&url, "iss").is_some());
    }
}

#[tokio::test]
async fn pkce_is_required_for_public_clients_and_plain_is_refused() {
    let t = TestServer::start().await;
    clients(&t).await;
    // Missing: refused at the authorization endpoint.
    let mut p = spa_params(&[]);
    p.retain(|(k, _)| *k != "code_challenge_method");
    let e = validate(&t, &p).await.unwrap_err();
    assert_eq!(e.code(), "invalid_request");
    assert!(e.description().contains("PKCE"), "{e}");
    // plain: refused, even with a challenge.
    let mut p = spa_params(&[("code_challenge_method", "plain")]);
    p.push(("code_challenge", VERIFIER));
    assert_eq!(
        validate(&t, &p).await.unwrap_err().code(),
        "invalid_request"
    );
    // A wrong or missing verifier at the token endpoint.
    let u = t.user("ada@x.io").await;
    let ch = challenge(VERIFIER);
    let mut p = spa_params(&[]);
    p.push(("code_challenge", &ch));
    let req = validate(&t, &p).await.unwrap();
    for verifier in [
        None,
        Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX"),
        Some(ch.as_str()),
    ] {
        let url = code_url(&t, &u.id, &req).await;
        let code = qget(&url, "code").unwrap();
        let mut f = vec![
            ("grant_type", "authorization_code"),
            ("client_id", "spa"),
            ("code", code.as_str()),
            ("redirect_uri", SPA_CB),
        ];
        if let Some(v) = verifier {
            f.push(("code_verifier", v));
        }
        token(&t, &f).await.expect_error(400, "invalid_grant");
    }
}

#[tokio::test]
async fn a_replayed_code_revokes_what_it_issued() {
    let t = TestServer::start().await;
    clients(&t).await;
    let u = t.user("ada@x.io").await;
    let ch = challenge(VERIFIER);
    let mut p = spa_params(&[]);
    p.push(("code_challenge", &ch));
    let req = validate(&t, &p).await.unwrap();
    let url = code_url(&t, &u.id, &req).await;
    let code = qget(&url, "code").unwrap();
    let first = spa_exchange(&t, &code, VERIFIER).await.expect(200);
    let access = first.str("access_token").to_owned();
    let refresh = first.str("refresh_token").to_owned();
    userinfo(&t, &access).await.expect(200);
    spa_exchange(&t, &code, VERIFIER)
        .await
        .expect_error(400, "invalid_grant");
    // Everything the code gave is dead.
    userinfo(&t, &access).await.expect(401);
    token(
        &t,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "spa"),
            ("refresh_token", &refresh),
        ],
    )
    .await
    .expect_error(400, "invalid_grant");
}

#[tokio::test]
async fn a_code_is_only_for_its_client_and_expires() {
    let t = TestServer::start().await;
    clients(&t).await;
    let u = t.user("ada@x.io").await;
    let web = |code: String| {
        let t = &t;
        async move {
            send(
                t.req(Method::POST, "/oauth2/token")
                    .basic_auth("web", Some(WEB_SECRET))
                    .form(&[
                        ("grant_type", "authorization_code"),
                        ("code", code.as_str()),
                        ("redirect_uri", WEB_CB),
                    ]),
            )
            .await
        }
    };
    // The SPA's code, presented by the web app: refused.
    let ch = challenge(VERIFIER);
    let mut p = spa_params(&[]);
    p.push(("code_challenge", &ch));
    let req = validate(&t, &p).await.unwrap();
    let code = qget(&code_url(&t, &u.id, &req).await, "code").unwrap();
    web(code).await.expect_error(400, "invalid_grant");
    // The web app's own code works (confidential, no PKCE, first-party) ...
    let wp = [
        ("response_type", "code"),
        ("client_id", "web"),
        ("scope", "openid"),
        ("state", "s"),
    ];
    let req = validate(&t, &wp).await.unwrap();
    let code = qget(&code_url(&t, &u.id, &req).await, "code").unwrap();
    let r = web(code).await.expect(200);
    assert!(r.body.get("refresh_token").is_none(), "no offline_access");
    assert!(r.body["id_token"].is_string());
    // ... but not without the client's secret, and not after 60 s.
    let code = qget(&code_url(&t, &u.id, &req).await, "code").unwrap();
    token(
        &t,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "web"),
            ("code", &code),
        ],
    )
    .await
    .expect(401);
    let code = qget(&code_url(&t, &u.id, &req).await, "code").unwrap();
    t.advance(61);
    web(code).await.expect_error(400, "invalid_grant");
}

#[tokio::test]
async fn userinfo_answers_by_scope_and_code_tokens_stay_off_the_account_api() {
    let t = TestServer::start().await;
    clients(&t).await;
    let (id, b) = spa_flow(&t, "ada@x.io", &[("scope", "openid")]).await;
    let access = b["access_token"].as_str().unwrap();
    let info = userinfo(&t, access).await.expect(200);
    assert_eq!(info.body, json!({ "sub": id }));
    let post = send(t.req(Method::POST, "/oauth2/userinfo").bearer_auth(access)).await;
    assert_eq!(post.expect(200).body, json!({ "sub": id }));
    // A token without openid: no userinfo.
    let (_, b) = spa_flow(&t, "bob@x.io", &[("scope", "read:notes")]).await;
    let api = b["access_token"].as_str().unwrap();
    assert!(b.get("id_token").is_none());
    userinfo(&t, api)
        .await
        .expect_error(403, "insufficient_scope");
    // A JSON-login token has no openid scope either.
    let u = t.user("cy@x.io").await;
    userinfo(&t, &u.tokens.access).await.expect(403);
    userinfo(&t, "nonsense").await.expect(401);
    // A third-party client's token cannot act on the account ...
    t.me(access).await.expect_error(403, "insufficient_scope");
    t.get_auth("/v1/sessions", access).await.expect(403);
    // ... a first-party client's can, while it is first-party.
    let app = &t.server().state().app;
    let mut first = ClientSpec::new("spa");
    first.public = true;
    first.first_party = true;
    first.redirect_uris = vec![SPA_CB.into(), "http://127.0.0.1/native".into()];
    first.grants = vec!["authorization_code".into(), "refresh_token".into()];
    first.scopes = vec!["read:notes".into()];
    app.clients.update(&first).await.unwrap();
    t.me(access).await.expect(200);
    first.first_party = false;
    app.clients.update(&first).await.unwrap();
    t.me(access).await.expect(403);
}

#[tokio::test]
async fn prompt_none_and_max_age() {
    let t = TestServer::start().await;
    clients(&t).await;
    let u = t.user("ada@x.io").await;
    let oidc = &t.server().state().app.oidc;
    let ch = challenge(VERIFIER);
    let mut p = spa_params(&[("prompt", "none")]);
    p.push(("code_challenge", &ch));
    let req = validate(&t, &p).await.unwrap();
    let e = oidc
        .next_step(&req, None, false)
        .await
        .unwrap()
        .unwrap_err();
    let url = e.redirect_url().unwrap();
    assert_eq!(qget(&url, "error").as_deref(), Some("login_required"));
    assert_eq!(qget(&url, "state").as_deref(), Some("st-123"));
    // Signed in but no consent yet: consent_required.
    let cookie = oidc
        .start_sso(&u.id, &["pwd"], &ClientInfo::default())
        .await
        .unwrap();
    let sso = oidc.sso(&cookie.value).await.unwrap().unwrap();
    let e = oidc
        .next_step(&req, Some(&sso), false)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(e.code(), "consent_required");
    // max_age: an old sign-in must be repeated; a fresh one is enough.
    let mut p = spa_params(&[("max_age", "60")]);
    p.push(("code_challenge", &ch));
    let req = validate(&t, &p).await.unwrap();
    assert!(matches!(
        oidc.next_step(&req, Some(&sso), false).await.unwrap(),
        Ok(Step::Consent { .. })
    ));
    t.advance(61);
    assert_eq!(
        oidc.next_step(&req, Some(&sso), false).await.unwrap(),
        Ok(Step::Login)
    );
    // prompt=login always asks, unless the user just signed in.
    let mut p = spa_params(&[("prompt", "login")]);
    p.push(("code_challenge", &ch));
    let req = validate(&t, &p).await.unwrap();
    assert_eq!(
        oidc.next_step(&req, Some(&sso), false).await.unwrap(),
        Ok(Step::Login)
    );
    assert_ne!(
        oidc.next_step(&req, Some(&sso), true).await.unwrap(),
        Ok(Step::Login)
    );
}

#[tokio::test]
async fn sso_cookies_are_new_on_every_login_and_end_with_logout() {
    let t = TestServer::start().await;
    let u = t.user("ada@x.io").await;
    let oidc = &t.server().state().app.oidc;
    let ctx = ClientInfo::default();
    let a = oidc.start_sso(&u.id, &["pwd"], &ctx).await.unwrap();
    let b = oidc.start_sso(&u.id, &["pwd"], &ctx).await.unwrap();
    assert_ne!(a.session_id, b.session_id);
    assert!(!format!("{a:?}").contains(a.value.as_str()));
    assert!(oidc.sso(&a.value).await.unwrap().is_some());
    // A forged secret for a real session id is nothing.
    let forged = format!("{}.{}", a.session_id, b.value.split_once('.').unwrap().1);
    assert!(oidc.sso(&forged).await.unwrap().is_none());
    assert!(oidc.sso("garbage").await.unwrap().is_none());
    // Logout everywhere ends SSO sessions too.
    t.post_auth("/v1/auth/logout-all", &u.tokens.access)
        .await
        .expect(204);
    assert!(oidc.sso(&a.value).await.unwrap().is_none());
    assert!(oidc.sso(&b.value).await.unwrap().is_none());
}

#[tokio::test]
async fn consents_are_listed_and_revoking_one_ends_the_clients_sessions() {
    let t = TestServer::start().await;
    clients(&t).await;
    let (id, b) = spa_flow(&t, "ada@x.io", &[]).await;
    let access = b["access_token"].as_str().unwrap().to_owned();
    let login = t.login("ada@x.io").await;
    let list = t
        .get_auth("/v1/account/consents", &login.access)
        .await
        .expect(200);
    assert_eq!(list.body["consents"][0]["client_id"], "spa");
    assert_eq!(
        list.body["consents"][0]["scopes"],
        json!(["email", "offline_access"])
    );
    t.delete_auth("/v1/account/consents/spa", &login.access)
        .await
        .expect(204);
    userinfo(&t, &access).await.expect(401);
    t.delete_auth("/v1/account/consents/spa", &login.access)
        .await
        .expect(404);
    let list = t
        .get_auth("/v1/account/consents", &login.access)
        .await
        .expect(200);
    assert_eq!(list.body["consents"], json!([]));
    // The next authorization asks again.
    let ch = challenge(VERIFIER);
    let mut p = spa_params(&[]);
    p.push(("code_challenge", &ch));
    let req = validate(&t, &p).await.unwrap();
    let oidc = &t.server().state().app.oidc;
    assert!(!oidc.missing_consent(&id, &req).await.unwrap().is_empty());
}

#[tokio::test]
async fn end_session_ends_sso_and_the_clients_sessions_across_clients() {
    let t = TestServer::start().await;
    clients(&t).await;
    let u = t.user("ada@x.io").await;
    let oidc = &t.server().state().app.oidc;
    let ctx = ClientInfo::default();
    let cookie = oidc.start_sso(&u.id, &["pwd"], &ctx).await.unwrap();
    let sso = oidc.sso(&cookie.value).await.unwrap().unwrap();
    // One SSO session serves two clients.
    let ch = challenge(VERIFIER);
    let mut p = spa_params(&[]);
    p.push(("code_challenge", &ch));
    let spa_req = validate(&t, &p).await.unwrap();
    let missing = oidc.missing_consent(&u.id, &spa_req).await.unwrap();
    oidc.grant_consent(&u.id, "spa", &missing).await.unwrap();
    let code = qget(&oidc.issue_code(&spa_req, &sso).await.unwrap(), "code").unwrap();
    let spa = spa_exchange(&t, &code, VERIFIER).await.expect(200).body;
    let web_req = validate(
        &t,
        &[
            ("response_type", "code"),
            ("client_id", "web"),
            ("scope", "openid"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        oidc.next_step(&web_req, Some(&sso), false).await.unwrap(),
        Ok(Step::Issue),
        "SSO and first-party: no password, no consent"
    );
    let code = qget(&oidc.issue_code(&web_req, &sso).await.unwrap(), "code").unwrap();
    let web = send(
        t.req(Method::POST, "/oauth2/token")
            .basic_auth("web", Some(WEB_SECRET))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
            ]),
    )
    .await
    .expect(200)
    .body;
    let hint = spa["id_token"].as_str().unwrap();
    assert_eq!(claims(hint)["sid"], sso.id.as_str());
    assert_eq!(
        claims(web["id_token"].as_str().unwrap())["sid"],
        sso.id.as_str()
    );

    // An unregistered post_logout_redirect_uri is refused (no redirect).
    let ep = |pairs: &[(&str, &str)]| {
        tessera_core::oidc::EndSessionParams::from_lookup(|n| {
            pairs.iter().find(|(k, _)| *k == n).map(|(_, v)| *v)
        })
    };
    let bad = ep(&[
        ("id_token_hint", hint),
        ("post_logout_redirect_uri", "https://evil.example/"),
    ]);
    assert!(oidc.end_session_check(&bad).await.is_err());
    let bad = ep(&[("id_token_hint", "not.a.token")]);
    assert!(oidc.end_session_check(&bad).await.is_err());
    // Without a hint: confirmation needed.
    let plain = oidc.end_session_check(&ep(&[])).await.unwrap();
    assert!(plain.confirm);
    let good = ep(&[
        ("id_token_hint", hint),
        ("post_logout_redirect_uri", "https://app.example/bye"),
        ("state", "s1"),
    ]);
    let done = oidc
        .end_session(&good, Some(&cookie.value), &ctx)
        .await
        .unwrap();
    assert!(!done.confirm);
    assert_eq!(
        done.redirect.as_deref(),
        Some("https://app.example/bye?state=s1")
    );
    assert!(oidc.sso(&cookie.value).await.unwrap().is_none());
    userinfo(&t, spa["access_token"].as_str().unwrap())
        .await
        .expect(401);
    // The web app's session came from the same SSO session: it ends too.
    userinfo(&t, web["access_token"].as_str().unwrap())
        .await
        .expect(401);
    // All three ends are in the revocation feed.
    let spa_sid = claims(spa["access_token"].as_str().unwrap())["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let web_sid = claims(web["access_token"].as_str().unwrap())["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = t
        .server()
        .state()
        .app
        .feed
        .revocations(None)
        .await
        .unwrap()
        .unwrap();
    let ids: Vec<&str> = page.revoked.iter().map(|r| r.sid.as_str()).collect();
    for sid in [spa_sid.as_str(), web_sid.as_str(), sso.id.as_str()] {
        assert!(ids.contains(&sid), "{sid} not in {ids:?}");
    }
}

#[tokio::test]
async fn admins_register_list_update_and_delete_clients() {
    let t = TestServer::start().await;
    let admin = t.admin("root@x.io").await;
    let user = t.user("ada@x.io").await;
    let body = json!({
        "client_id": "spa2",
        "public": true,
        "redirect_uris": ["https://spa2.example/cb"],
        "grant_types": ["authorization_code", "refresh_token"],
    });
    let post = |tok: String, b: Value| {
        let t = &t;
        async move {
            send(
                t.req(Method::POST, "/v1/admin/clients")
                    .bearer_auth(tok)
                    .json(&b),
            )
            .await
        }
    };
    post(user.tokens.access.clone(), body.clone())
        .await
        .expect_error(403, "insufficient_scope");
    let r = post(admin.tokens.access.clone(), body.clone())
        .await
        .expect(201);
    assert_eq!(r.body["token_endpoint_auth_method"], "none");
    post(admin.tokens.access.clone(), body).await.expect(400);
    for bad in [
        json!({"client_id": "x", "public": true, "redirect_uris": ["http://evil.example/cb"]}),
        json!({"client_id": "x", "public": true, "redirect_uris": ["https://a.example/cb#f"]}),
        json!({"client_id": "x", "public": true, "redirect_uris": []}),
        json!({"client_id": "x", "public": true, "client_secret": "0123456789abcdef0123456789abcdef0"}),
        json!({"client_id": "x", "redirect_uris": ["https://a.example/cb"]}),
        json!({"client_id": "x", "public": true, "redirect_uris": ["https://a.example/cb"], "grant_types": ["client_credentials"]}),
        json!({"client_id": "x", "unknown": 1}),
    ] {
        post(admin.tokens.access.clone(), bad.clone())
            .await
            .expect(400);
    }
    let list = t
        .get_auth("/v1/admin/clients", &admin.tokens.access)
        .await
        .expect(200);
    assert_eq!(list.body["clients"][0]["client_id"], "spa2");
    assert!(!list.text.contains("secret_hash"));
    let put = send(
        t.req(Method::PUT, "/v1/admin/clients/spa2")
            .bearer_auth(&admin.tokens.access)
            .json(&json!({
                "public": true,
                "first_party": true,
                "redirect_uris": ["https://spa2.example/cb", "https://spa2.example/cb2"],
                "post_logout_redirect_uris": ["https://spa2.example/"],
                "dpop_bound_access_tokens": true,
            })),
    )
    .await
    .expect(200);
    assert_eq!(put.body["first_party"], true);
    assert_eq!(put.body["redirect_uris"][1], "https://spa2.example/cb2");
    assert_eq!(put.body["dpop_bound_access_tokens"], true);
    let stored = t
        .server()
        .state()
        .app
        .clients
        .list()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.id == "spa2")
        .unwrap();
    assert!(stored.require_dpop, "the DPoP policy is stored");
    t.delete_auth("/v1/admin/clients/spa2", &admin.tokens.access)
        .await
        .expect(204);
    t.delete_auth("/v1/admin/clients/spa2", &admin.tokens.access)
        .await
        .expect(404);
}

#[tokio::test]
async fn an_rs256_client_gets_id_tokens_from_the_rs256_key_beside_the_main_key() {
    let t = TestServer::start().await;
    let app = &t.server().state().app;
    let mut c = ClientSpec::new("legacy");
    c.secret = Some(WEB_SECRET.into());
    c.redirect_uris = vec![WEB_CB.into()];
    c.first_party = true;
    c.id_token_alg = Some("RS256".into());
    app.clients.register(&c).await.unwrap();
    let mut bad = ClientSpec::new("odd");
    bad.secret = Some(WEB_SECRET.into());
    bad.redirect_uris = vec![WEB_CB.into()];
    bad.id_token_alg = Some("PS384".into());
    assert!(app.clients.register(&bad).await.is_err());
    let u = t.user("ada@x.io").await;
    let p = [
        ("response_type", "code"),
        ("client_id", "legacy"),
        ("scope", "openid"),
        ("nonce", "n"),
    ];
    let req = validate(&t, &p).await.unwrap();
    let code = qget(&code_url(&t, &u.id, &req).await, "code").unwrap();
    let r = send(
        t.req(Method::POST, "/oauth2/token")
            .basic_auth("legacy", Some(WEB_SECRET))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
            ]),
    )
    .await
    .expect(200);
    let id_token = r.str("id_token");
    let header = crate::support::parts(id_token).header_json;
    assert_eq!(header["alg"], "RS256");
    assert!(header["kid"].as_str().unwrap().starts_with("oidc-"));
    let keys = KeySet::from_jwks(&t.jwks().await);
    let iss = t.get("/.well-known/openid-configuration").await.body["issuer"]
        .as_str()
        .unwrap()
        .to_owned();
    let v = Validation::new(iss, "legacy").with_typ(Some("JWT"));
    let c = tessera_jose::decode::<Value>(id_token, &keys, &v, &*t.clock)
        .unwrap()
        .claims;
    let access = r.str("access_token");
    assert_eq!(
        c["at_hash"],
        b64::encode(&crypto::sha256(access.as_bytes())[..16]).as_str()
    );
    // The access token is still signed by the main key; an ID token is
    // never an access token.
    assert_eq!(crate::support::parts(access).header_json["alg"], "ES256");
    t.me(id_token).await.expect(401);
    // The RS256 key turns over with an admin rotation, and can be revoked.
    let admin = t.admin("root@x.io").await;
    let old_kid = header["kid"].as_str().unwrap().to_owned();
    send(
        t.req(Method::POST, "/v1/admin/keys/rotate?immediate=true")
            .bearer_auth(&admin.tokens.access),
    )
    .await
    .expect(201);
    send(
        t.req(Method::POST, &format!("/v1/admin/keys/{old_kid}/revoke"))
            .bearer_auth(&admin.tokens.access),
    )
    .await
    .expect(200);
    let jwks = t.get("/.well-known/jwks.json").await.text;
    assert!(!jwks.contains(&old_kid), "{jwks}");
    assert!(jwks.contains("\"oidc-"), "a new RS256 key: {jwks}");
}
