//! OAuth 2.0 over HTTP: the token endpoint's three grants (RFC 6749 §4.3,
//! §4.4, §6), client authentication (§2.3.1), the §5.2 error codes,
//! revocation (RFC 7009) and introspection (RFC 7662).

use crate::support::{claims, send, Resp, TestServer, PASSWORD, T0};
use base64::Engine as _;
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};

/// A secret of at least 32 characters, derived from the client id.
fn secret_for(id: &str) -> String {
    format!("{id}-secret-0123456789abcdefghijklmnopqrstuvwxyz")
}

/// Registers a confidential client in-process; returns its secret.
async fn client(t: &TestServer, id: &str, scopes: &[&str], grants: &[&str]) -> String {
    let secret = secret_for(id);
    let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
    let grants: Vec<String> = grants.iter().map(|s| (*s).to_owned()).collect();
    t.server()
        .state()
        .app
        .clients
        .create(id, &secret, &scopes, &grants)
        .await
        .unwrap();
    secret
}

/// A form-encoded `POST`.
fn form(t: &TestServer, path: &str, params: &[(&str, &str)]) -> RequestBuilder {
    t.req(Method::POST, path).form(params)
}

/// `POST /oauth2/token` without client authentication.
async fn token(t: &TestServer, params: &[(&str, &str)]) -> Resp {
    send(form(t, "/oauth2/token", params)).await
}

/// `POST /oauth2/token` with HTTP Basic client authentication.
async fn token_basic(t: &TestServer, id: &str, secret: &str, params: &[(&str, &str)]) -> Resp {
    send(form(t, "/oauth2/token", params).basic_auth(id, Some(secret))).await
}

/// `POST /oauth2/introspect` as `id` (200 expected); the body.
async fn introspect(t: &TestServer, id: &str, secret: &str, tok: &str) -> Value {
    let r = send(form(t, "/oauth2/introspect", &[("token", tok)]).basic_auth(id, Some(secret)))
        .await
        .expect(200);
    assert_eq!(r.header("cache-control"), "no-store");
    r.body
}

/// `POST /oauth2/revoke` without client authentication.
async fn revoke(t: &TestServer, params: &[(&str, &str)]) -> Resp {
    send(form(t, "/oauth2/revoke", params)).await
}

/// A password grant for `email` (200 expected).
async fn password_grant(t: &TestServer, email: &str) -> Resp {
    token(
        t,
        &[
            ("grant_type", "password"),
            ("username", email),
            ("password", PASSWORD),
        ],
    )
    .await
    .expect(200)
}

/// A token answer is never cached.
#[track_caller]
fn assert_no_store(r: &Resp) {
    assert_eq!(r.header("cache-control"), "no-store");
    assert_eq!(r.header("pragma"), "no-cache");
}

/// The shape of a password or refresh-token grant answer.
#[track_caller]
fn assert_user_token_answer(r: &Resp) {
    assert_no_store(r);
    let obj = r.body.as_object().unwrap();
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "access_token",
            "expires_in",
            "refresh_token",
            "refresh_token_expires_in",
            "token_type"
        ],
        "{}",
        r.text
    );
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 900);
    let rt = r.str("refresh_token");
    assert!(rt.starts_with("tsr_"), "{rt}");
    assert_eq!(rt.len(), 4 + 75, "{rt}");
}

/// 401 `invalid_client` with an HTTP Basic challenge.
#[track_caller]
fn assert_invalid_client(r: Resp) -> Resp {
    let r = r.expect_error(401, "invalid_client");
    assert_eq!(
        r.header("www-authenticate"),
        "Basic realm=\"tessera\", charset=\"UTF-8\""
    );
    r
}

#[tokio::test]
async fn password_grant_for_a_public_client() {
    let t = TestServer::start().await;
    let reg = t.register("ada@x.io").await;
    let id = reg["id"].as_str().unwrap();
    let r = password_grant(&t, "ada@x.io").await;
    assert_user_token_answer(&r);
    assert_eq!(r.body["refresh_token_expires_in"], 7 * 86_400);
    let access = r.str("access_token");
    let c = claims(access);
    assert_eq!(c["sub"], id);
    assert_eq!(c["iat"], T0);
    assert_eq!(c["exp"], T0 + 900);
    assert_eq!(c["roles"], json!([]));
    assert!(c["sid"].as_str().is_some_and(|s| !s.is_empty()), "{c}");
    assert!(
        c.get("scope").is_none() && c.get("client_id").is_none(),
        "{c}"
    );
    t.verify(access).await.unwrap();
    let me = t.me(access).await.expect(200);
    assert_eq!(me.str("id"), id);
    assert_eq!(me.body["sid"], c["sid"]);
    // The refresh token is an ordinary Tessera refresh token.
    let next = t.refresh_ok(r.str("refresh_token")).await;
    assert_eq!(claims(&next.access)["sid"], c["sid"]);
    // The username is normalised like the login email.
    let r = password_grant(&t, "  ADA@X.io").await;
    assert_eq!(claims(r.str("access_token"))["sub"], id);
    // A public client may name itself without a secret.
    let r = token(
        &t,
        &[
            ("grant_type", "password"),
            ("username", "ada@x.io"),
            ("password", PASSWORD),
            ("client_id", "some-public-app"),
        ],
    )
    .await
    .expect(200);
    assert_user_token_answer(&r);
    // Each grant is its own session.
    let list = t
        .get_auth("/v1/sessions", r.str("access_token"))
        .await
        .expect(200);
    assert_eq!(list.body["sessions"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn password_grant_for_a_confidential_client_via_basic_and_form() {
    let t = TestServer::start().await;
    let reg = t.register("ada@x.io").await;
    let secret = client(&t, "web", &[], &["password", "refresh_token"]).await;
    let params = [
        ("grant_type", "password"),
        ("username", "ada@x.io"),
        ("password", PASSWORD),
    ];
    // client_secret_basic.
    let r = token_basic(&t, "web", &secret, &params).await.expect(200);
    assert_user_token_answer(&r);
    assert_eq!(claims(r.str("access_token"))["sub"], reg["id"]);
    t.me(r.str("access_token")).await.expect(200);
    // client_secret_post.
    let mut posted = params.to_vec();
    posted.push(("client_id", "web"));
    posted.push(("client_secret", &secret));
    let r = token(&t, &posted).await.expect(200);
    assert_user_token_answer(&r);
    t.me(r.str("access_token")).await.expect(200);
    // A wrong secret, by either method: 401 invalid_client.
    assert_invalid_client(token_basic(&t, "web", &secret_for("other"), &params).await);
    let mut wrong = params.to_vec();
    wrong.push(("client_id", "web"));
    wrong.push(("client_secret", "wrong-secret-wrong-secret-wrong-secret"));
    assert_invalid_client(token(&t, &wrong).await);
    // A client that may not use the password grant: 400 unauthorized_client.
    let svc = client(&t, "svc", &["read"], &["client_credentials"]).await;
    token_basic(&t, "svc", &svc, &params)
        .await
        .expect_error(400, "unauthorized_client");
}

#[tokio::test]
async fn basic_credentials_are_form_urlencoded() {
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding,
    // so an id with ':' and a secret with '+' survive.
    let t = TestServer::start().await;
    let secret = "plus+and:colon%-0123456789abcdefghijklmnop";
    t.server()
        .state()
        .app
        .clients
        .create("urn:app", secret, &["read".into()], &[])
        .await
        .unwrap();
    let encode = |s: &str| -> String { form_urlencoded::byte_serialize(s.as_bytes()).collect() };
    let header = |id: &str, secret: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
        )
    };
    let ok = send(
        form(&t, "/oauth2/token", &[("grant_type", "client_credentials")])
            .header("authorization", header(&encode("urn:app"), &encode(secret))),
    )
    .await
    .expect(200);
    assert_eq!(claims(ok.str("access_token"))["client_id"], "urn:app");
    // The same credentials unencoded do not authenticate: the first ':'
    // splits id from secret, and '+' decodes to a space.
    assert_invalid_client(
        send(
            form(&t, "/oauth2/token", &[("grant_type", "client_credentials")])
                .header("authorization", header("urn:app", secret)),
        )
        .await,
    );
    // Posted in the form, they are decoded by the form encoding itself.
    let ok = token(
        &t,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "urn:app"),
            ("client_secret", secret),
        ],
    )
    .await
    .expect(200);
    assert_eq!(ok.body["scope"], "read");
}

#[tokio::test]
async fn password_grant_errors() {
    let t = TestServer::start().await;
    t.register("ada@x.io").await;
    let wrong = token(
        &t,
        &[
            ("grant_type", "password"),
            ("username", "ada@x.io"),
            ("password", "not the password"),
        ],
    )
    .await
    .expect_error(400, "invalid_grant");
    assert_eq!(
        wrong.str("error_description"),
        "invalid username or password"
    );
    assert_eq!(wrong.header("cache-control"), "no-store");
    // An unknown user is indistinguishable from a wrong password.
    let unknown = token(
        &t,
        &[
            ("grant_type", "password"),
            ("username", "nobody@x.io"),
            ("password", PASSWORD),
        ],
    )
    .await
    .expect_error(400, "invalid_grant");
    assert_eq!(unknown.body, wrong.body);
    // Missing or empty credentials: invalid_request naming the parameter.
    for (params, name) in [
        (
            vec![("grant_type", "password"), ("password", PASSWORD)],
            "username",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("username", ""),
                ("password", PASSWORD),
            ],
            "username",
        ),
        (
            vec![("grant_type", "password"), ("username", "ada@x.io")],
            "password",
        ),
    ] {
        let r = token(&t, &params)
            .await
            .expect_error(400, "invalid_request");
        assert!(
            r.str("error_description").contains(&format!("`{name}`")),
            "{}",
            r.text
        );
    }
    // User tokens carry roles, not scopes.
    token(
        &t,
        &[
            ("grant_type", "password"),
            ("username", "ada@x.io"),
            ("password", PASSWORD),
            ("scope", "read"),
        ],
    )
    .await
    .expect_error(400, "invalid_scope");
    // None of that hurt the account.
    password_grant(&t, "ada@x.io").await;
}

#[tokio::test]
async fn refresh_token_grant_rotates_with_the_grace_rule() {
    let t = TestServer::start().await;
    let reg = t.register("ada@x.io").await;
    let secret = client(&t, "web", &[], &["password", "refresh_token", "introspect"]).await;
    // A session started by client `web` is bound to it (issue 14).
    let first = token_basic(
        &t,
        "web",
        &secret,
        &[
            ("grant_type", "password"),
            ("username", "ada@x.io"),
            ("password", PASSWORD),
        ],
    )
    .await
    .expect(200);
    let rt0 = first.str("refresh_token").to_owned();
    let sid = claims(first.str("access_token"))["sid"].clone();

    t.advance(30);
    let r1 = token_basic(
        &t,
        "web",
        &secret,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt0)],
    )
    .await
    .expect(200);
    assert_user_token_answer(&r1);
    let rt1 = r1.str("refresh_token").to_owned();
    assert_ne!(rt1, rt0);
    let c1 = claims(r1.str("access_token"));
    assert_eq!(c1["sid"], sid, "same session");
    assert_eq!(c1["sub"], reg["id"]);
    assert_eq!(c1["iat"], T0 + 30);
    t.me(r1.str("access_token")).await.expect(200);

    // The parent replayed inside the window: the same successor, a new access token.
    t.advance(5);
    // Another client (here: none) may not use `web`'s token at all.
    let r = token(
        &t,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt0)],
    )
    .await
    .expect_error(400, "invalid_grant");
    assert!(r.str("error_description").contains("client"), "{}", r.text);
    let replay = token_basic(
        &t,
        "web",
        &secret,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt0)],
    )
    .await
    .expect(200);
    assert_user_token_answer(&replay);
    assert_eq!(replay.str("refresh_token"), rt1);
    assert_ne!(replay.str("access_token"), r1.str("access_token"));
    t.advance(5);
    let edge = token_basic(
        &t,
        "web",
        &secret,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt0)],
    )
    .await
    .expect(200);
    assert_eq!(edge.str("refresh_token"), rt1, "10 s: still the window");

    // After the window: reuse. 400 invalid_grant, and the session is dead.
    t.advance(1);
    let r = token_basic(
        &t,
        "web",
        &secret,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt0)],
    )
    .await
    .expect_error(400, "invalid_grant");
    assert!(r.str("error_description").contains("revoked"), "{}", r.text);
    token_basic(
        &t,
        "web",
        &secret,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt1)],
    )
    .await
    .expect_error(400, "invalid_grant");
    for access in [
        first.str("access_token"),
        r1.str("access_token"),
        replay.str("access_token"),
    ] {
        t.me(access).await.expect_invalid_token();
        assert_eq!(
            introspect(&t, "web", &secret, access).await,
            json!({ "active": false })
        );
    }
    assert_eq!(
        introspect(&t, "web", &secret, &rt1).await,
        json!({ "active": false })
    );
}

#[tokio::test]
async fn refresh_token_grant_errors() {
    let t = TestServer::start().await;
    t.register("ada@x.io").await;
    let svc = client(&t, "svc", &[], &["client_credentials"]).await;
    let p = password_grant(&t, "ada@x.io").await;
    let rt = p.str("refresh_token");
    // A client without the refresh_token grant.
    token_basic(
        &t,
        "svc",
        &svc,
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
    )
    .await
    .expect_error(400, "unauthorized_client");
    // Missing token, a scope, garbage.
    token(&t, &[("grant_type", "refresh_token")])
        .await
        .expect_error(400, "invalid_request");
    token(
        &t,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("scope", "x"),
        ],
    )
    .await
    .expect_error(400, "invalid_scope");
    for bad in ["garbage", "tsr_abc", p.str("access_token")] {
        token(
            &t,
            &[("grant_type", "refresh_token"), ("refresh_token", bad)],
        )
        .await
        .expect_error(400, "invalid_grant");
    }
    // None of those spent the token.
    let r = token(
        &t,
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
    )
    .await
    .expect(200);
    assert_user_token_answer(&r);
}

#[tokio::test]
async fn client_credentials_grant() {
    let t = TestServer::start().await;
    let secret = client(&t, "svc", &["read", "write"], &["client_credentials"]).await;
    // No scope requested: all the client's scopes.
    let r = token_basic(&t, "svc", &secret, &[("grant_type", "client_credentials")])
        .await
        .expect(200);
    assert_no_store(&r);
    let mut keys: Vec<&str> = r
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["access_token", "expires_in", "scope", "token_type"],
        "no refresh token: {}",
        r.text
    );
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 900);
    assert_eq!(r.body["scope"], "read write");
    let access = r.str("access_token");
    let c = claims(access);
    assert_eq!(c["sub"], "svc");
    assert_eq!(c["client_id"], "svc");
    assert_eq!(c["scope"], "read write");
    assert_eq!(c["aud"], "tessera");
    assert_eq!(c["iss"], t.issuer().await);
    assert_eq!(c["iat"], T0);
    assert_eq!(c["exp"], T0 + 900);
    assert_eq!(c["roles"], json!([]));
    assert!(c.get("sid").is_none(), "{c}");
    assert_eq!(crate::support::parts(access).header_json["typ"], "at+jwt");
    t.verify(access).await.unwrap();

    // A subset, duplicates folded, extra spaces ignored; by form credentials too.
    for (asked, granted) in [
        ("write", "write"),
        ("read read", "read"),
        ("  write   read ", "write read"),
    ] {
        let r = token(
            &t,
            &[
                ("grant_type", "client_credentials"),
                ("scope", asked),
                ("client_id", "svc"),
                ("client_secret", &secret),
            ],
        )
        .await
        .expect(200);
        assert_eq!(r.body["scope"], granted, "{asked}");
        assert_eq!(claims(r.str("access_token"))["scope"], granted);
    }
    // A scope the client does not have, or a malformed one: invalid_scope.
    for asked in ["admin", "read admin", "re\"ad", "read\\"] {
        let r = token_basic(
            &t,
            "svc",
            &secret,
            &[("grant_type", "client_credentials"), ("scope", asked)],
        )
        .await
        .expect_error(400, "invalid_scope");
        assert_eq!(r.header("cache-control"), "no-store");
    }

    // A client without the grant: unauthorized_client.
    let web = client(&t, "web", &["read"], &["password", "refresh_token"]).await;
    token_basic(&t, "web", &web, &[("grant_type", "client_credentials")])
        .await
        .expect_error(400, "unauthorized_client");
    // A client without scopes gets a token without a scope.
    let bare = client(&t, "bare", &[], &[]).await;
    let r = token_basic(&t, "bare", &bare, &[("grant_type", "client_credentials")])
        .await
        .expect(200);
    assert!(r.body.get("scope").is_none(), "{}", r.text);
    let c = claims(r.str("access_token"));
    assert!(c.get("scope").is_none(), "{c}");
    assert_eq!(c["client_id"], "bare");
    // A client token is not a user: /v1/me refuses it.
    t.me(access).await.expect_invalid_token();
}

#[tokio::test]
async fn client_authentication_errors() {
    let t = TestServer::start().await;
    let secret = client(&t, "svc", &["read"], &["client_credentials"]).await;
    let cc = [("grant_type", "client_credentials")];
    // No client authentication at all.
    let r = assert_invalid_client(token(&t, &cc).await);
    assert_eq!(r.header("cache-control"), "no-store");
    // Wrong secret (Basic and form), unknown client: the same answer.
    let a = assert_invalid_client(token_basic(&t, "svc", &secret_for("x"), &cc).await);
    let b = assert_invalid_client(
        token(
            &t,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "svc"),
                ("client_secret", &secret_for("x")),
            ],
        )
        .await,
    );
    let c = assert_invalid_client(token_basic(&t, "nobody", &secret, &cc).await);
    assert_eq!(a.body, b.body);
    assert_eq!(a.body, c.body);
    // Basic and form credentials at once: invalid_request, even if both are right.
    let r = token_basic(
        &t,
        "svc",
        &secret,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "svc"),
            ("client_secret", &secret),
        ],
    )
    .await
    .expect_error(400, "invalid_request");
    assert!(r
        .str("error_description")
        .contains("one client authentication"));
    // A secret without an id.
    token(
        &t,
        &[
            ("grant_type", "client_credentials"),
            ("client_secret", &secret),
        ],
    )
    .await
    .expect_error(400, "invalid_request");
    // Malformed Authorization headers.
    for h in [
        "Bearer abc".to_owned(),
        "Basic".to_owned(),
        "Basic !!!not-base64!!!".to_owned(),
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("no-colon")
        ),
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode([0xff, b':', 0xfe])
        ),
    ] {
        assert_invalid_client(
            send(form(&t, "/oauth2/token", &cc).header("authorization", h.as_str())).await,
        );
    }
    // The scheme is case-insensitive.
    let basic = format!(
        "bAsIc {}",
        base64::engine::general_purpose::STANDARD.encode(format!("svc:{secret}"))
    );
    send(form(&t, "/oauth2/token", &cc).header("authorization", basic))
        .await
        .expect(200);
}

#[tokio::test]
async fn malformed_token_requests() {
    let t = TestServer::start().await;
    let secret = client(&t, "svc", &["read"], &["client_credentials"]).await;
    // The code grant exists, but not for this client.
    token_basic(&t, "svc", &secret, &[("grant_type", "authorization_code")])
        .await
        .expect_error(400, "unauthorized_client");
    for g in ["implicit", "PASSWORD", "urn:x"] {
        let r = token_basic(&t, "svc", &secret, &[("grant_type", g)])
            .await
            .expect_error(400, "unsupported_grant_type");
        assert_eq!(r.header("cache-control"), "no-store");
    }
    // Missing or empty grant_type.
    token_basic(&t, "svc", &secret, &[("scope", "read")])
        .await
        .expect_error(400, "invalid_request");
    token_basic(&t, "svc", &secret, &[("grant_type", "")])
        .await
        .expect_error(400, "invalid_request");
    // Not a form.
    let r = send(
        t.req(Method::POST, "/oauth2/token")
            .basic_auth("svc", Some(&secret))
            .json(&json!({ "grant_type": "client_credentials" })),
    )
    .await
    .expect_error(400, "invalid_request");
    assert!(r
        .str("error_description")
        .contains("application/x-www-form-urlencoded"));
    for ct in [
        None,
        Some("text/plain"),
        Some("multipart/form-data; boundary=x"),
    ] {
        let mut req = t
            .req(Method::POST, "/oauth2/token")
            .basic_auth("svc", Some(&secret))
            .body("grant_type=client_credentials");
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        send(req).await.expect_error(400, "invalid_request");
    }
    // A repeated parameter.
    for body in [
        "grant_type=client_credentials&grant_type=client_credentials",
        "grant_type=client_credentials&scope=read&scope=read",
        "grant_type=client_credentials&client_id=svc&client_id=svc",
    ] {
        let r = send(
            t.req(Method::POST, "/oauth2/token")
                .basic_auth("svc", Some(&secret))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body),
        )
        .await
        .expect_error(400, "invalid_request");
        assert!(r.str("error_description").contains("repeated"), "{body}");
    }
    // Parameters are case-sensitive, and a charset parameter is fine.
    send(
        t.req(Method::POST, "/oauth2/token")
            .basic_auth("svc", Some(&secret))
            .header(
                "content-type",
                "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
            )
            .body("grant_type=client_credentials&Scope=ignored"),
    )
    .await
    .expect(200);
    // Only POST.
    send(t.req(Method::GET, "/oauth2/token?grant_type=client_credentials"))
        .await
        .expect_error(405, "method_not_allowed");
}

/// A user of client `id`: registered, then signed in through the password
/// grant with the client's credentials (so the session is bound to it).
/// Returns (user id, access token, refresh token).
async fn client_user(
    t: &TestServer,
    id: &str,
    secret: &str,
    email: &str,
) -> (String, String, String) {
    let reg = t.register(email).await;
    let r = token_basic(
        t,
        id,
        secret,
        &[
            ("grant_type", "password"),
            ("username", email),
            ("password", PASSWORD),
        ],
    )
    .await
    .expect(200);
    (
        reg["id"].as_str().unwrap().to_owned(),
        r.str("access_token").to_owned(),
        r.str("refresh_token").to_owned(),
    )
}

/// `POST /oauth2/revoke` as client `id` (HTTP Basic).
async fn revoke_as(t: &TestServer, id: &str, secret: &str, params: &[(&str, &str)]) -> Resp {
    send(form(t, "/oauth2/revoke", params).basic_auth(id, Some(secret))).await
}

const APP_GRANTS: [&str; 3] = ["password", "refresh_token", "introspect"];

#[tokio::test]
async fn revoking_a_refresh_token_ends_the_session() {
    let t = TestServer::start().await;
    let app = client(&t, "app", &[], &APP_GRANTS).await;
    let (_, access, refresh) = client_user(&t, "app", &app, "ada@x.io").await;
    let other = token_basic(
        &t,
        "app",
        &app,
        &[
            ("grant_type", "password"),
            ("username", "ada@x.io"),
            ("password", PASSWORD),
        ],
    )
    .await
    .expect(200);
    let (other_access, other_refresh) = (other.str("access_token"), other.str("refresh_token"));
    assert_eq!(introspect(&t, "app", &app, &refresh).await["active"], true);
    let r = revoke_as(&t, "app", &app, &[("token", &refresh)])
        .await
        .expect(200);
    assert!(r.text.is_empty(), "{}", r.text);
    assert_eq!(r.header("cache-control"), "no-store");
    t.me(&access).await.expect_invalid_token();
    for tok in [&refresh, &access] {
        assert_eq!(
            introspect(&t, "app", &app, tok).await,
            json!({ "active": false })
        );
    }
    // Idempotent, and only that session ended.
    revoke_as(&t, "app", &app, &[("token", &refresh)])
        .await
        .expect(200);
    t.me(other_access).await.expect(200);
    // A wrong hint does not matter.
    revoke_as(
        &t,
        "app",
        &app,
        &[
            ("token", other_refresh),
            ("token_type_hint", "access_token"),
        ],
    )
    .await
    .expect(200);
    t.me(other_access).await.expect_invalid_token();
}

/// Issue 14, finding 3: revocation needs client authentication, and a
/// client revokes only its own tokens (RFC 7009 §2.1); for anyone else's
/// the answer is 200 and nothing happens. Users' own first-party sessions
/// end through `/v1/auth/logout`.
#[tokio::test]
async fn a_client_revokes_only_its_own_tokens() {
    let t = TestServer::start().await;
    let app = client(
        &t,
        "app",
        &["read"],
        &["password", "refresh_token", "client_credentials"],
    )
    .await;
    let evil = client(&t, "evil", &["read"], &["client_credentials"]).await;
    let (_, access, refresh) = client_user(&t, "app", &app, "ada@x.io").await;
    let first_party = t.user("bob@x.io").await;
    let cc = token_basic(&t, "app", &app, &[("grant_type", "client_credentials")])
        .await
        .expect(200);
    let cc = cc.str("access_token");
    // No client authentication: 401, nothing revoked.
    assert_invalid_client(revoke(&t, &[("token", &refresh)]).await);
    // Another client: 200, nothing revoked.
    for tok in [
        refresh.as_str(),
        access.as_str(),
        cc,
        first_party.tokens.access.as_str(),
        first_party.tokens.refresh.as_str(),
    ] {
        revoke_as(&t, "evil", &evil, &[("token", tok)])
            .await
            .expect(200);
    }
    // Not even the owner of other tokens may end a first-party session.
    for tok in [&first_party.tokens.access, &first_party.tokens.refresh] {
        revoke_as(&t, "app", &app, &[("token", tok)])
            .await
            .expect(200);
    }
    t.me(&access).await.expect(200);
    t.me(&first_party.tokens.access).await.expect(200);
    t.refresh_ok(&first_party.tokens.refresh).await;
    assert!(introspect_cc_active(&t, cc).await);
    // The owner: revoked.
    revoke_as(&t, "app", &app, &[("token", &access)])
        .await
        .expect(200);
    t.me(&access).await.expect_invalid_token();
    revoke_as(&t, "app", &app, &[("token", cc)])
        .await
        .expect(200);
    assert!(!introspect_cc_active(&t, cc).await);
}

/// Whether a client-credentials token is live, by introspection as a
/// resource server `rs` (registered on first use).
async fn introspect_cc_active(t: &TestServer, tok: &str) -> bool {
    let secret = secret_for("rs");
    if t.server()
        .state()
        .app
        .clients
        .list()
        .await
        .unwrap()
        .iter()
        .all(|c| c.id != "rs")
    {
        client(t, "rs", &[], &["introspect"]).await;
    }
    introspect(t, "rs", &secret, tok).await["active"] == true
}

#[tokio::test]
async fn revoking_an_access_token_ends_its_session() {
    let t = TestServer::start().await;
    let app = client(&t, "app", &[], &APP_GRANTS).await;
    let (_, access, refresh) = client_user(&t, "app", &app, "ada@x.io").await;
    let other = token_basic(
        &t,
        "app",
        &app,
        &[
            ("grant_type", "password"),
            ("username", "ada@x.io"),
            ("password", PASSWORD),
        ],
    )
    .await
    .expect(200);
    revoke_as(&t, "app", &app, &[("token", &access)])
        .await
        .expect(200);
    t.me(&access).await.expect_invalid_token();
    token_basic(
        &t,
        "app",
        &app,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await
    .expect_error(400, "invalid_grant");
    assert_eq!(
        introspect(&t, "app", &app, &refresh).await,
        json!({ "active": false })
    );
    t.me(other.str("access_token")).await.expect(200);
    // A wrong hint (refresh_token for an access token) still revokes.
    revoke_as(
        &t,
        "app",
        &app,
        &[
            ("token", other.str("access_token")),
            ("token_type_hint", "refresh_token"),
        ],
    )
    .await
    .expect(200);
    t.me(other.str("access_token")).await.expect_invalid_token();
}

#[tokio::test]
async fn revoking_a_client_credentials_token() {
    let t = TestServer::start().await;
    let secret = client(&t, "svc", &["read"], &["client_credentials", "introspect"]).await;
    let a = token_basic(&t, "svc", &secret, &[("grant_type", "client_credentials")])
        .await
        .expect(200);
    let b = token_basic(&t, "svc", &secret, &[("grant_type", "client_credentials")])
        .await
        .expect(200);
    let (a, b) = (a.str("access_token"), b.str("access_token"));
    let live = introspect(&t, "svc", &secret, a).await;
    assert_eq!(live["active"], true);
    assert_eq!(live["client_id"], "svc");
    assert_eq!(live["scope"], "read");
    revoke_as(&t, "svc", &secret, &[("token", a)])
        .await
        .expect(200);
    assert_eq!(
        introspect(&t, "svc", &secret, a).await,
        json!({ "active": false })
    );
    // Only that token: the client's other token is live.
    assert_eq!(introspect(&t, "svc", &secret, b).await["active"], true);
    // Revoking it again is fine.
    revoke_as(&t, "svc", &secret, &[("token", a)])
        .await
        .expect(200);
}

/// Issue 14, finding 3: a revoked client-credentials token is refused by
/// Tessera's own Bearer check (the core's `authenticate`), and stays
/// refused after maintenance up to `exp` plus the leeway, while it still
/// verifies.
#[tokio::test]
async fn a_revoked_client_token_stays_refused_until_it_no_longer_verifies() {
    let t = TestServer::start().await;
    let secret = client(&t, "svc", &["read"], &["client_credentials", "introspect"]).await;
    let r = token_basic(&t, "svc", &secret, &[("grant_type", "client_credentials")])
        .await
        .expect(200);
    let tok = r.str("access_token");
    let app = &t.server().state().app;
    let who = app.sessions.authenticate(tok).await.unwrap();
    assert_eq!(who.user_id(), "svc");
    revoke_as(&t, "svc", &secret, &[("token", tok)])
        .await
        .expect(200);
    let e = app.sessions.authenticate(tok).await.unwrap_err();
    assert!(e.to_string().contains("revoked"), "{e}");
    // Past exp, inside the leeway: maintenance keeps the denylist entry.
    let exp = claims(tok)["exp"].as_i64().unwrap();
    t.clock.set(exp + 10);
    app.maintenance.run().await.unwrap();
    assert_eq!(
        introspect(&t, "svc", &secret, tok).await,
        json!({ "active": false })
    );
    assert!(app.sessions.authenticate(tok).await.is_err());
}

#[tokio::test]
async fn revocation_errors() {
    let t = TestServer::start().await;
    let secret = client(&t, "app", &[], &APP_GRANTS).await;
    let (_, access, refresh) = client_user(&t, "app", &secret, "ada@x.io").await;
    // Garbage and unknown tokens: 200 (RFC 7009 §2.2), nothing happens.
    let mut forged = refresh.clone().into_bytes();
    let i = forged.len() - 2;
    forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    for tok in ["garbage", "tsr_garbage", "a.b.c", forged.as_str()] {
        let r = revoke_as(&t, "app", &secret, &[("token", tok)])
            .await
            .expect(200);
        assert!(r.text.is_empty());
    }
    t.me(&access).await.expect(200);
    // Missing or empty token: invalid_request.
    revoke_as(&t, "app", &secret, &[("token_type_hint", "access_token")])
        .await
        .expect_error(400, "invalid_request");
    revoke_as(&t, "app", &secret, &[("token", "")])
        .await
        .expect_error(400, "invalid_request");
    // No or wrong client credentials: 401, and the token is not revoked.
    assert_invalid_client(revoke(&t, &[("token", &refresh)]).await);
    assert_invalid_client(revoke(&t, &[("token", &refresh), ("client_id", "app")]).await);
    assert_invalid_client(revoke_as(&t, "app", &secret_for("nope"), &[("token", &refresh)]).await);
    assert_invalid_client(
        revoke(
            &t,
            &[
                ("token", &refresh),
                ("client_id", "app"),
                ("client_secret", &secret_for("nope")),
            ],
        )
        .await,
    );
    t.me(&access).await.expect(200);
    // JSON is not accepted.
    send(
        t.req(Method::POST, "/oauth2/revoke")
            .basic_auth("app", Some(&secret))
            .json(&json!({ "token": refresh })),
    )
    .await
    .expect_error(400, "invalid_request");
    t.me(&access).await.expect(200);
    // The right credentials, posted: revoked.
    revoke(
        &t,
        &[
            ("token", &refresh),
            ("client_id", "app"),
            ("client_secret", &secret),
        ],
    )
    .await
    .expect(200);
    t.me(&access).await.expect_invalid_token();
}

#[tokio::test]
async fn introspection_requires_client_authentication() {
    let t = TestServer::start().await;
    let u = t.user("ada@x.io").await;
    let secret = client(&t, "rs", &[], &["introspect"]).await;
    let r = assert_invalid_client(
        send(form(
            &t,
            "/oauth2/introspect",
            &[("token", &u.tokens.access)],
        ))
        .await,
    );
    assert!(!r.text.contains("active"));
    // A public client id alone is not authentication.
    assert_invalid_client(
        send(form(
            &t,
            "/oauth2/introspect",
            &[("token", &u.tokens.access), ("client_id", "rs")],
        ))
        .await,
    );
    assert_invalid_client(
        send(
            form(&t, "/oauth2/introspect", &[("token", &u.tokens.access)])
                .basic_auth("rs", Some(secret_for("nope"))),
        )
        .await,
    );
    // Authenticated, but no token.
    send(form(&t, "/oauth2/introspect", &[]).basic_auth("rs", Some(&secret)))
        .await
        .expect_error(400, "invalid_request");
    // Form credentials work as well as Basic.
    let r = send(form(
        &t,
        "/oauth2/introspect",
        &[
            ("token", &u.tokens.access),
            ("client_id", "rs"),
            ("client_secret", &secret),
        ],
    ))
    .await
    .expect(200);
    assert_eq!(r.body["active"], true);
}

/// Issue 14, finding 4: only a client granted `introspect` may introspect,
/// and a refresh token is answered only to the client it was issued to.
#[tokio::test]
async fn introspection_needs_the_permission_and_refresh_tokens_their_owner() {
    let t = TestServer::start().await;
    let u = t.user("ada@x.io").await;
    let plain = client(
        &t,
        "plain",
        &["read"],
        &["client_credentials", "password", "refresh_token"],
    )
    .await;
    for tok in [&u.tokens.access, &u.tokens.refresh] {
        let r = send(
            form(&t, "/oauth2/introspect", &[("token", tok)]).basic_auth("plain", Some(&plain)),
        )
        .await
        .expect_error(403, "unauthorized_client");
        assert!(!r.text.contains("active"), "{}", r.text);
    }
    let rs = client(&t, "rs", &[], &["introspect"]).await;
    let app = client(&t, "app", &[], &APP_GRANTS).await;
    let (_, app_access, app_refresh) = client_user(&t, "app", &app, "bob@x.io").await;
    // rs: access tokens yes, nobody's refresh tokens.
    assert_eq!(
        introspect(&t, "rs", &rs, &u.tokens.access).await["active"],
        true
    );
    assert_eq!(introspect(&t, "rs", &rs, &app_access).await["active"], true);
    for tok in [&u.tokens.refresh, &app_refresh] {
        assert_eq!(
            introspect(&t, "rs", &rs, tok).await,
            json!({ "active": false })
        );
    }
    // app: its own session's refresh token, not a first-party one.
    assert_eq!(
        introspect(&t, "app", &app, &app_refresh).await["active"],
        true
    );
    assert_eq!(
        introspect(&t, "app", &app, &u.tokens.refresh).await,
        json!({ "active": false })
    );
}

#[tokio::test]
async fn introspection_of_live_spent_garbage_and_expired_tokens() {
    let t = TestServer::start().await;
    let secret = client(&t, "rs", &[], &APP_GRANTS).await;
    let (uid, access, refresh) = client_user(&t, "rs", &secret, "ada@x.io").await;
    let iss = t.issuer().await;
    let c = claims(&access);
    let sid = c["sid"].as_str().unwrap().to_owned();

    let v = introspect(&t, "rs", &secret, &access).await;
    assert_eq!(
        v,
        json!({
            "active": true,
            "token_type": "Bearer",
            "iss": iss,
            "sub": uid,
            "username": uid,
            "aud": "tessera",
            "exp": T0 + 900,
            "iat": T0,
            "jti": c["jti"],
            "sid": sid,
            "roles": [],
            "client_id": "rs",
        })
    );
    let v = introspect(&t, "rs", &secret, &refresh).await;
    assert_eq!(
        v,
        json!({
            "active": true,
            "token_type": "refresh_token",
            "iss": iss,
            "sub": uid,
            "sid": sid,
            "iat": T0,
            "exp": T0 + 7 * 86_400,
            "roles": [],
        })
    );
    // A hint that names the wrong type changes nothing.
    let hinted = send(
        form(
            &t,
            "/oauth2/introspect",
            &[("token", &refresh), ("token_type_hint", "access_token")],
        )
        .basic_auth("rs", Some(&secret)),
    )
    .await
    .expect(200);
    assert_eq!(hinted.body, v);

    // After a rotation the spent token is inactive, the successor live.
    t.advance(60);
    let next = token_basic(
        &t,
        "rs",
        &secret,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await
    .expect(200);
    assert_eq!(
        introspect(&t, "rs", &secret, &refresh).await,
        json!({ "active": false })
    );
    let v = introspect(&t, "rs", &secret, next.str("refresh_token")).await;
    assert_eq!(v["active"], true);
    assert_eq!(v["iat"], T0 + 60);
    assert_eq!(v["exp"], T0 + 60 + 7 * 86_400);
    // Garbage of every kind.
    // A changed signature byte, and a non-canonical encoding of the very
    // same signature (the last character's unused low bits set).
    let flip = |c: u8, to: u8| if c == to { b'B' } else { to };
    let mut tampered = access.clone().into_bytes();
    let mid = tampered.len() - 20;
    tampered[mid] = flip(tampered[mid], b'A');
    let tampered = String::from_utf8(tampered).unwrap();
    let mut malleable = access.clone().into_bytes();
    let last = malleable.len() - 1;
    malleable[last] = match malleable[last] {
        b'A' => b'B',
        b'Q' => b'R',
        b'g' => b'h',
        b'w' => b'x',
        other => panic!("a non-canonical last character {}", other as char),
    };
    let malleable = String::from_utf8(malleable).unwrap();
    for tok in [
        "garbage",
        "tsr_garbage",
        "a.b.c",
        tampered.as_str(),
        malleable.as_str(),
    ] {
        assert_eq!(
            introspect(&t, "rs", &secret, tok).await,
            json!({ "active": false }),
            "{tok}"
        );
    }
    // Expiry: live up to exp + leeway - 1, inactive from exp + leeway.
    let exp = c["exp"].as_i64().unwrap();
    t.clock.set(exp + 30 - 1);
    assert_eq!(introspect(&t, "rs", &secret, &access).await["active"], true);
    t.clock.set(exp + 30);
    assert_eq!(
        introspect(&t, "rs", &secret, &access).await,
        json!({ "active": false })
    );
    t.advance(3600);
    assert_eq!(
        introspect(&t, "rs", &secret, &access).await,
        json!({ "active": false })
    );
}

#[tokio::test]
async fn discovery_lists_the_oauth_endpoints_grants_and_auth_methods() {
    let t = TestServer::start_with(|c| c.issuer = Some("https://auth.example.test".into())).await;
    let d = t
        .get("/.well-known/oauth-authorization-server")
        .await
        .expect(200)
        .body;
    assert_eq!(
        d["token_endpoint"],
        "https://auth.example.test/oauth2/token"
    );
    assert_eq!(
        d["revocation_endpoint"],
        "https://auth.example.test/oauth2/revoke"
    );
    assert_eq!(
        d["introspection_endpoint"],
        "https://auth.example.test/oauth2/introspect"
    );
    assert_eq!(
        d["grant_types_supported"],
        json!([
            "authorization_code",
            "password",
            "refresh_token",
            "client_credentials",
            "urn:tessera:params:oauth:grant-type:mfa"
        ])
    );
    assert_eq!(
        d["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "none"])
    );
    assert_eq!(
        d["revocation_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post"])
    );
    assert_eq!(
        d["introspection_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post"])
    );
    assert!(d["claims_supported"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c == "client_id"));
    // The endpoints it names are the ones that answer here.
    for key in [
        "token_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
    ] {
        let path = d[key]
            .as_str()
            .unwrap()
            .strip_prefix("https://auth.example.test")
            .unwrap()
            .to_owned();
        let r = send(form(&t, &path, &[("grant_type", "none"), ("token", "x")])).await;
        assert_ne!(r.status.as_u16(), 404, "{path}: {}", r.text);
        assert_ne!(r.status.as_u16(), 405, "{path}: {}", r.text);
    }
}

#[tokio::test]
async fn client_tokens_cannot_act_as_users_on_tessera_endpoints() {
    let t = crate::support::TestServer::start().await;
    let state = t.server().state();
    let secret = "s".repeat(40);
    state
        .app
        .clients
        .create(
            "svc",
            &secret,
            &["read:x".into()],
            &["client_credentials".into()],
        )
        .await
        .unwrap();
    let r = t
        .http
        .post(t.url("/oauth2/token"))
        .basic_auth("svc", Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    let token = v["access_token"].as_str().unwrap().to_owned();
    for path in ["/v1/me", "/v1/sessions"] {
        t.get_auth(path, &token).await.expect_invalid_token();
    }
    t.post_auth("/v1/auth/logout-all", &token)
        .await
        .expect_invalid_token();
}
