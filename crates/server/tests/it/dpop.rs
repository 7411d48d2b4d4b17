//! DPoP (RFC 9449) over HTTP: proofs at login, refresh and the token
//! endpoint bind the tokens to a key; Tessera's own Bearer endpoints need
//! that key's proof; each attack the issue names is refused.

use crate::support::{claims, send, Resp, TestServer, PASSWORD};
use reqwest::Method;
use serde_json::{json, Value};
use tessera_jose::dpop::{self, Claims};
use tessera_jose::{Algorithm, SigningKey};

/// The public URL the server is configured with (requests go to its real
/// address, as behind a proxy): proofs name this URL.
const ISSUER: &str = "https://auth.example.test";
const ID: &str = "svc";
const SECRET: &str = "svc-secret-0123456789abcdefghijklmnopqrstuvwxyz";

async fn server() -> TestServer {
    TestServer::start_with(|c| c.issuer = Some(ISSUER.into())).await
}

/// A client's DPoP key.
struct Key(SigningKey);

impl Key {
    fn new() -> Self {
        Key(SigningKey::generate(Algorithm::ES256).unwrap())
    }

    fn jkt(&self) -> String {
        self.0.verifying_key().thumbprint().unwrap()
    }

    /// A fresh proof for `method` `path` at the server's current time.
    fn proof(&self, t: &TestServer, method: &str, path: &str, token: Option<&str>) -> String {
        self.proof_at(
            t.clock_now(),
            method,
            &format!("{ISSUER}{path}"),
            token,
            None,
        )
    }

    fn proof_at(
        &self,
        iat: i64,
        method: &str,
        htu: &str,
        token: Option<&str>,
        nonce: Option<&str>,
    ) -> String {
        let jti = tessera_jose::b64::encode(&tessera_jose::crypto::random_bytes(12).unwrap());
        dpop::sign(
            &self.0,
            &Claims {
                jti: &jti,
                htm: method,
                htu,
                iat,
                ath: token.map(dpop::ath),
                nonce,
            },
        )
        .unwrap()
    }
}

trait Now {
    fn clock_now(&self) -> i64;
}

impl Now for TestServer {
    fn clock_now(&self) -> i64 {
        use tessera_jose::Clock as _;
        self.clock.now()
    }
}

async fn login_with(t: &TestServer, email: &str, proof: &str) -> Resp {
    send(
        t.req(Method::POST, "/v1/auth/login")
            .header("DPoP", proof)
            .json(&json!({ "email": email, "password": PASSWORD })),
    )
    .await
}

/// Registers `email` and logs in with a proof from `key` (200 expected).
async fn bound_user(t: &TestServer, email: &str, key: &Key) -> Value {
    t.register(email).await;
    let proof = key.proof(t, "POST", "/v1/auth/login", None);
    let r = login_with(t, email, &proof).await.expect(200);
    assert_eq!(r.body["token_type"], "DPoP");
    r.body
}

async fn me_dpop(t: &TestServer, token: &str, proof: Option<&str>) -> Resp {
    let mut req = t
        .req(Method::GET, "/v1/me")
        .header("Authorization", format!("DPoP {token}"));
    if let Some(p) = proof {
        req = req.header("DPoP", p);
    }
    send(req).await
}

async fn refresh_with(t: &TestServer, refresh: &str, proof: Option<&str>) -> Resp {
    let mut req = t
        .req(Method::POST, "/v1/auth/refresh")
        .json(&json!({ "refresh_token": refresh }));
    if let Some(p) = proof {
        req = req.header("DPoP", p);
    }
    send(req).await
}

/// A 401 with a `WWW-Authenticate: DPoP` challenge naming `code` and the algorithms.
#[track_caller]
fn expect_dpop_challenge(r: Resp, code: &str) -> Resp {
    let r = r.expect_error(401, code);
    let www = r.header("www-authenticate");
    assert!(www.starts_with("DPoP "), "{www}");
    assert!(www.contains(&format!("error=\"{code}\"")), "{www}");
    assert!(www.contains("algs=\"ES256 EdDSA RS256 PS256\""), "{www}");
    r
}

#[tokio::test]
async fn a_proof_at_login_binds_the_access_token_and_me_needs_the_key() {
    let t = server().await;
    let key = Key::new();
    let body = bound_user(&t, "ada@x.io", &key).await;
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(claims(access)["cnf"]["jkt"], key.jkt());
    let proof = key.proof(&t, "GET", "/v1/me", Some(access));
    let r = me_dpop(&t, access, Some(&proof)).await.expect(200);
    assert_eq!(r.body["email"], "ada@x.io");
    // The same proof again: a replay.
    let r = me_dpop(&t, access, Some(&proof)).await;
    assert!(expect_dpop_challenge(r, "invalid_dpop_proof")
        .text
        .contains("already used"));
    // The bound token as a Bearer token (stolen, without the key).
    let r = t.me(access).await;
    expect_dpop_challenge(r, "invalid_token");
    // DPoP scheme, but no proof.
    expect_dpop_challenge(me_dpop(&t, access, None).await, "invalid_dpop_proof");
    // Other own endpoints take the DPoP scheme too.
    let p = key.proof(&t, "GET", "/v1/sessions", Some(access));
    send(
        t.req(Method::GET, "/v1/sessions")
            .header("Authorization", format!("DPoP {access}"))
            .header("DPoP", p),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn resource_proofs_for_another_method_url_key_or_token_are_refused() {
    let t = server().await;
    let key = Key::new();
    let body = bound_user(&t, "ada@x.io", &key).await;
    let access = body["access_token"].as_str().unwrap();
    let now = t.clock_now();
    let me = format!("{ISSUER}/v1/me");
    let cases = [
        (
            "another method",
            key.proof_at(now, "POST", &me, Some(access), None),
        ),
        (
            "another URL",
            key.proof_at(
                now,
                "GET",
                &format!("{ISSUER}/v1/sessions"),
                Some(access),
                None,
            ),
        ),
        (
            "the request's Host instead of the public URL",
            key.proof_at(now, "GET", &t.url("/v1/me"), Some(access), None),
        ),
        (
            "another key",
            Key::new().proof_at(now, "GET", &me, Some(access), None),
        ),
        ("no ath", key.proof_at(now, "GET", &me, None, None)),
        (
            "a wrong ath",
            key.proof_at(now, "GET", &me, Some("another token"), None),
        ),
        (
            "an old iat",
            key.proof_at(now - 61, "GET", &me, Some(access), None),
        ),
        (
            "an iat in the future",
            key.proof_at(now + 31, "GET", &me, Some(access), None),
        ),
    ];
    for (what, proof) in cases {
        let r = me_dpop(&t, access, Some(&proof)).await;
        assert_eq!(r.status, 401, "{what}: {}", r.text);
        expect_dpop_challenge(r, "invalid_dpop_proof");
    }
    // Still fine with a good proof.
    let proof = key.proof(&t, "GET", "/v1/me", Some(access));
    me_dpop(&t, access, Some(&proof)).await.expect(200);
}

#[tokio::test]
async fn an_unbound_token_keeps_the_bearer_scheme() {
    let t = server().await;
    let u = t.user("ada@x.io").await;
    assert_eq!(u.tokens.body["token_type"], "Bearer");
    assert!(claims(&u.tokens.access).get("cnf").is_none());
    t.me(&u.tokens.access).await.expect(200);
    let key = Key::new();
    let proof = key.proof(&t, "GET", "/v1/me", Some(&u.tokens.access));
    expect_dpop_challenge(
        me_dpop(&t, &u.tokens.access, Some(&proof)).await,
        "invalid_token",
    );
}

#[tokio::test]
async fn bad_proofs_at_login_are_400_invalid_dpop_proof() {
    let t = server().await;
    t.register("ada@x.io").await;
    let key = Key::new();
    let login = format!("{ISSUER}/v1/auth/login");
    let now = t.clock_now();
    let claims = json!({"jti": "x1", "htm": "POST", "htu": login, "iat": now});
    let enc = |v: &Value| tessera_jose::b64::encode(&serde_json::to_vec(v).unwrap());
    let mut public = serde_json::to_value(key.0.verifying_key().to_jwk().unwrap()).unwrap();
    public.as_object_mut().unwrap().remove("kid");
    let none = format!(
        "{}.{}.",
        enc(&json!({"typ": "dpop+jwt", "alg": "none", "jwk": public})),
        enc(&claims)
    );
    let hs = SigningKey::generate(Algorithm::HS256).unwrap();
    let oct = serde_json::to_value(hs.to_private_jwk().unwrap()).unwrap();
    let hs256 = dpop::sign_raw(
        &hs,
        &json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": oct}),
        &claims,
    )
    .unwrap();
    let private = serde_json::to_value(key.0.to_private_jwk().unwrap()).unwrap();
    let with_d = dpop::sign_raw(
        &key.0,
        &json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": private}),
        &claims,
    )
    .unwrap();
    let other = Key::new();
    let foreign = dpop::sign_raw(
        &other.0,
        &json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": public}),
        &claims,
    )
    .unwrap();
    let cases = [
        ("alg none", none),
        ("HS256", hs256),
        ("a private key in jwk", with_d),
        ("signed by another key", foreign),
        ("for GET", key.proof_at(now, "GET", &login, None, None)),
        (
            "for another URL",
            key.proof_at(now, "POST", &format!("{ISSUER}/oauth2/token"), None, None),
        ),
        (
            "too old",
            key.proof_at(now - 61, "POST", &login, None, None),
        ),
        (
            "from the future",
            key.proof_at(now + 31, "POST", &login, None, None),
        ),
        ("not a JWT", "garbage".into()),
    ];
    for (what, proof) in cases {
        let r = login_with(&t, "ada@x.io", &proof).await;
        assert_eq!(r.status, 400, "{what}: {}", r.text);
        r.expect_error(400, "invalid_dpop_proof");
    }
    // A good proof works once; its replay is refused.
    let proof = key.proof(&t, "POST", "/v1/auth/login", None);
    login_with(&t, "ada@x.io", &proof).await.expect(200);
    let r = login_with(&t, "ada@x.io", &proof).await;
    assert!(r
        .expect_error(400, "invalid_dpop_proof")
        .text
        .contains("already used"));
    // Two DPoP headers.
    let (a, b) = (
        key.proof(&t, "POST", "/v1/auth/login", None),
        key.proof(&t, "POST", "/v1/auth/login", None),
    );
    send(
        t.req(Method::POST, "/v1/auth/login")
            .header("DPoP", a)
            .header("DPoP", b)
            .json(&json!({ "email": "ada@x.io", "password": PASSWORD })),
    )
    .await
    .expect_error(400, "invalid_dpop_proof");
}

#[tokio::test]
async fn a_bound_refresh_token_rotates_with_its_key_only() {
    let t = server().await;
    let key = Key::new();
    let body = bound_user(&t, "ada@x.io", &key).await;
    let refresh = body["refresh_token"].as_str().unwrap();
    let proof = key.proof(&t, "POST", "/v1/auth/refresh", None);
    let r = refresh_with(&t, refresh, Some(&proof)).await.expect(200);
    assert_eq!(r.body["token_type"], "DPoP");
    let access = r.str("access_token").to_owned();
    assert_eq!(claims(&access)["cnf"]["jkt"], key.jkt());
    let next = r.str("refresh_token").to_owned();
    // The successor without a proof: taken for stolen, the session ends.
    let r = refresh_with(&t, &next, None)
        .await
        .expect_error(401, "invalid_grant");
    assert!(r.text.contains("DPoP"), "{}", r.text);
    let proof = key.proof(&t, "GET", "/v1/me", Some(&access));
    let r = me_dpop(&t, &access, Some(&proof)).await.expect(401);
    assert!(r.text.contains("session has ended"), "{}", r.text);
    // Even the right key cannot revive it.
    let proof = key.proof(&t, "POST", "/v1/auth/refresh", None);
    refresh_with(&t, &next, Some(&proof))
        .await
        .expect_error(401, "invalid_grant");
}

#[tokio::test]
async fn a_bound_refresh_token_with_another_key_ends_the_session_and_shows_in_the_feed() {
    let t = server().await;
    t.server()
        .state()
        .app
        .clients
        .create(ID, SECRET, &[], &["client_credentials".into()])
        .await
        .unwrap();
    let key = Key::new();
    let body = bound_user(&t, "ada@x.io", &key).await;
    let refresh = body["refresh_token"].as_str().unwrap();
    let sid = claims(body["access_token"].as_str().unwrap())["sid"].clone();
    let thief = Key::new();
    let proof = thief.proof(&t, "POST", "/v1/auth/refresh", None);
    refresh_with(&t, refresh, Some(&proof))
        .await
        .expect_error(401, "invalid_grant");
    let proof = key.proof(&t, "POST", "/v1/auth/refresh", None);
    refresh_with(&t, refresh, Some(&proof))
        .await
        .expect_error(401, "invalid_grant");
    let feed = send(
        t.req(Method::GET, "/v1/revocations")
            .basic_auth(ID, Some(SECRET)),
    )
    .await
    .expect(200);
    let revoked: Vec<&Value> = feed.body["revoked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["sid"])
        .collect();
    assert!(revoked.contains(&&sid), "{}", feed.text);
}

#[tokio::test]
async fn a_forged_refresh_token_cannot_end_a_bound_session() {
    let t = server().await;
    let key = Key::new();
    let body = bound_user(&t, "ada@x.io", &key).await;
    let refresh = body["refresh_token"].as_str().unwrap();
    // Well-formed, same session id and generation, another secret part.
    let mut raw = tessera_jose::b64::decode(&refresh.as_bytes()["tsr_".len()..], "t").unwrap();
    raw[40] ^= 1;
    let forged = format!("tsr_{}", tessera_jose::b64::encode(&raw));
    let r = refresh_with(&t, &forged, None).await.expect(401);
    assert!(r.text.contains("unknown refresh token"), "{}", r.text);
    let proof = key.proof(&t, "POST", "/v1/auth/refresh", None);
    refresh_with(&t, refresh, Some(&proof)).await.expect(200);
}

#[tokio::test]
async fn a_grace_replay_is_honoured_only_with_the_bound_key() {
    let t = server().await;
    let key = Key::new();
    let body = bound_user(&t, "ada@x.io", &key).await;
    let parent = body["refresh_token"].as_str().unwrap();
    let p = key.proof(&t, "POST", "/v1/auth/refresh", None);
    let first = refresh_with(&t, parent, Some(&p)).await.expect(200);
    t.advance(2);
    let p = key.proof(&t, "POST", "/v1/auth/refresh", None);
    let replay = refresh_with(&t, parent, Some(&p)).await.expect(200);
    assert_eq!(replay.str("refresh_token"), first.str("refresh_token"));
    // The same replay with another key (a thief holding the parent) ends it.
    let p = Key::new().proof(&t, "POST", "/v1/auth/refresh", None);
    refresh_with(&t, parent, Some(&p))
        .await
        .expect_error(401, "invalid_grant");
    let p = key.proof(&t, "POST", "/v1/auth/refresh", None);
    refresh_with(&t, first.str("refresh_token"), Some(&p))
        .await
        .expect_error(401, "invalid_grant");
}

async fn token_request(t: &TestServer, params: &[(&str, &str)], proof: Option<&str>) -> Resp {
    let mut req = t
        .req(Method::POST, "/oauth2/token")
        .basic_auth(ID, Some(SECRET))
        .form(params);
    if let Some(p) = proof {
        req = req.header("DPoP", p);
    }
    send(req).await
}

#[tokio::test]
async fn client_credentials_with_a_proof_and_the_require_dpop_policy() {
    let t = server().await;
    let grants = ["client_credentials".to_owned(), "introspect".to_owned()];
    t.server()
        .state()
        .app
        .clients
        .create_with(ID, SECRET, &["read".into()], &grants, true)
        .await
        .unwrap();
    let cc = [("grant_type", "client_credentials")];
    // The policy: no proof, no token.
    token_request(&t, &cc, None)
        .await
        .expect_error(400, "invalid_dpop_proof");
    let key = Key::new();
    let p = key.proof(&t, "POST", "/oauth2/token", None);
    let r = token_request(&t, &cc, Some(&p)).await.expect(200);
    assert_eq!(r.body["token_type"], "DPoP");
    let access = r.str("access_token").to_owned();
    assert_eq!(claims(&access)["cnf"]["jkt"], key.jkt());
    // Introspection reports the binding (RFC 9449 §6.2).
    let r = send(
        t.req(Method::POST, "/oauth2/introspect")
            .basic_auth(ID, Some(SECRET))
            .form(&[("token", access.as_str())]),
    )
    .await
    .expect(200);
    assert_eq!(r.body["active"], true);
    assert_eq!(r.body["token_type"], "DPoP");
    assert_eq!(r.body["cnf"]["jkt"], key.jkt());
}

#[tokio::test]
async fn server_nonces_when_configured() {
    let t = TestServer::start_with(|c| {
        c.issuer = Some(ISSUER.into());
        c.dpop_nonce = tessera_server::config::DpopNonce::On;
    })
    .await;
    t.register("ada@x.io").await;
    let key = Key::new();
    let login = format!("{ISSUER}/v1/auth/login");
    let p = key.proof_at(t.clock_now(), "POST", &login, None, None);
    let r = login_with(&t, "ada@x.io", &p)
        .await
        .expect_error(400, "use_dpop_nonce");
    let nonce = r.header("dpop-nonce").to_owned();
    let p = key.proof_at(t.clock_now(), "POST", &login, None, Some("stale"));
    login_with(&t, "ada@x.io", &p)
        .await
        .expect_error(400, "use_dpop_nonce");
    let p = key.proof_at(t.clock_now(), "POST", &login, None, Some(&nonce));
    let r = login_with(&t, "ada@x.io", &p).await.expect(200);
    assert_eq!(
        r.header("dpop-nonce"),
        nonce,
        "a token answer carries the nonce too"
    );
    let access = r.str("access_token").to_owned();
    // Resource requests: 401 with a DPoP challenge and the nonce.
    let me = format!("{ISSUER}/v1/me");
    let p = key.proof_at(t.clock_now(), "GET", &me, Some(&access), None);
    let r = expect_dpop_challenge(me_dpop(&t, &access, Some(&p)).await, "use_dpop_nonce");
    assert_eq!(r.header("dpop-nonce"), nonce);
    let p = key.proof_at(t.clock_now(), "GET", &me, Some(&access), Some(&nonce));
    me_dpop(&t, &access, Some(&p)).await.expect(200);
    // A nonce stays good for one more window, then it is stale.
    t.advance(600);
    let p = key.proof_at(t.clock_now(), "GET", &me, Some(&access), Some(&nonce));
    expect_dpop_challenge(me_dpop(&t, &access, Some(&p)).await, "use_dpop_nonce");
}

#[tokio::test]
async fn discovery_publishes_the_proof_algorithms() {
    let t = server().await;
    let r = t
        .get("/.well-known/oauth-authorization-server")
        .await
        .expect(200);
    assert_eq!(
        r.body["dpop_signing_alg_values_supported"],
        json!(["ES256", "EdDSA", "RS256", "PS256"])
    );
}
