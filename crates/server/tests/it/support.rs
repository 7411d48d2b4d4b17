//! A real server on an ephemeral port, a manual clock, and small HTTP helpers.

use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use tessera_jose::{Jwks, KeySet, ManualClock, Validation};
use tessera_server::config::Config;
use tessera_server::RunningServer;

/// The start of every test's clock.
pub const T0: i64 = 1_800_000_000;
/// A password every helper uses.
pub const PASSWORD: &str = "correct horse battery";

/// The settings every test starts from: an ephemeral port, the test's own
/// data directory, and cheap password hashing.
pub fn base_config(dir: &TempDir) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        argon2_memory_kib: 256,
        argon2_iterations: 1,
        ..Config::default()
    }
}

/// One server under test.
pub struct TestServer {
    server: Option<RunningServer>,
    /// The clock the server reads.
    pub clock: Arc<ManualClock>,
    /// The configuration it was started with.
    pub cfg: Config,
    /// Its data directory (removed when the test ends).
    _dir: TempDir,
    /// A client without cookies or redirects.
    pub http: reqwest::Client,
    base: String,
}

/// An answer: status, headers, and the body as JSON (`Null` if it is not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Resp {
    /// A header as text (panics if absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {self:?}"))
            .to_str()
            .unwrap()
    }

    /// A string member of the body (panics if absent).
    pub fn str(&self, key: &str) -> &str {
        self.body[key]
            .as_str()
            .unwrap_or_else(|| panic!("no string `{key}` in {}", self.text))
    }

    /// Asserts the status.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Asserts an error answer: the status, the `error` code, a non-empty
    /// `error_description`, a JSON content type, and nothing else in the body.
    #[track_caller]
    pub fn expect_error(self, status: u16, code: &str) -> Self {
        let r = self.expect(status);
        assert_error_shape(&r);
        assert_eq!(r.str("error"), code, "body: {}", r.text);
        r
    }

    /// Asserts a 401 for a Bearer endpoint with an RFC 6750 challenge.
    #[track_caller]
    pub fn expect_invalid_token(self) -> Self {
        let r = self.expect_error(401, "invalid_token");
        let www = r.header("www-authenticate");
        assert!(www.starts_with("Bearer "), "{www}");
        assert!(www.contains("error=\"invalid_token\""), "{www}");
        r
    }
}

/// Every error body is exactly `{"error": "...", "error_description": "..."}`,
/// except `mfa_required` and `mfa_enrollment_required`, which add
/// `mfa_token`, `methods` and `expires_in` (and nothing else).
#[track_caller]
pub fn assert_error_shape(r: &Resp) {
    assert!(
        r.status.is_client_error() || r.status.is_server_error(),
        "{r:?}"
    );
    let ct = r.header("content-type");
    assert!(ct.starts_with("application/json"), "content-type {ct}");
    let obj = r
        .body
        .as_object()
        .unwrap_or_else(|| panic!("error body is not a JSON object: {}", r.text));
    let mfa = matches!(
        r.body["error"].as_str(),
        Some("mfa_required" | "mfa_enrollment_required")
    );
    if mfa {
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "error",
                "error_description",
                "expires_in",
                "methods",
                "mfa_token"
            ],
            "{}",
            r.text
        );
    } else {
        assert_eq!(obj.len(), 2, "error body has extra members: {}", r.text);
    }
    assert!(
        !r.body["error"].as_str().unwrap_or_default().is_empty(),
        "{}",
        r.text
    );
    assert!(
        !r.body["error_description"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "{}",
        r.text
    );
}

/// Sends, reads the whole answer, and checks the invariants every answer
/// keeps: no 5xx, and errors are JSON with `error` and `error_description`.
pub async fn send(req: RequestBuilder) -> Resp {
    let res = req.send().await.expect("request failed");
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    let r = Resp {
        status,
        headers,
        text,
        body,
    };
    assert!(!status.is_server_error(), "a 5xx answer: {r:?}");
    if status.is_client_error() {
        assert_error_shape(&r);
    }
    r
}

/// A logged-in session's tokens.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    pub body: Value,
}

impl Tokens {
    fn from_login(r: &Resp) -> Self {
        Tokens {
            access: r.str("access_token").to_owned(),
            refresh: r.str("refresh_token").to_owned(),
            body: r.body.clone(),
        }
    }

    /// The session id (`sid`) of the access token, read without verifying.
    pub fn sid(&self) -> String {
        claims(&self.access)["sid"].as_str().unwrap().to_owned()
    }
}

/// A registered, logged-in user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub tokens: Tokens,
}

/// The header and payload of a token, **unverified** (for assertions only).
pub fn parts(token: &str) -> tessera_jose::dangerous::UnverifiedParts {
    tessera_jose::dangerous::decode_unverified(token, &tessera_jose::Limits::default()).unwrap()
}

/// The payload of a token, unverified.
pub fn claims(token: &str) -> Value {
    parts(token).payload
}

/// The `kid` of a token, unverified.
pub fn kid(token: &str) -> String {
    parts(token).header.kid().unwrap().to_owned()
}

impl TestServer {
    /// A server with the base configuration.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A server with the base configuration, adjusted.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = base_config(&dir);
        // TESSERA_TEST_BACKEND=postgres: a fresh PostgreSQL schema per test,
        // and the shared secret PostgreSQL requires.
        cfg.database_url = tessera_store::testing::fresh_database_url().await.unwrap();
        if cfg.database_url.is_some() {
            cfg.secret = Some(tessera_jose::b64::encode(&[7u8; 32]));
        }
        adjust(&mut cfg);
        let clock = Arc::new(ManualClock::new(T0));
        let server = tessera_server::spawn_with(cfg.clone(), clock.clone(), options())
            .await
            .expect("server starts");
        let base = format!("http://{}", server.addr());
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        TestServer {
            server: Some(server),
            clock,
            cfg,
            _dir: dir,
            http,
            base,
        }
    }

    /// The running server.
    pub fn server(&self) -> &RunningServer {
        self.server.as_ref().unwrap()
    }

    /// Stops the server and starts a new one on the same data directory,
    /// configuration and clock (on a new port).
    pub async fn restart(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
        let server = tessera_server::spawn_with(self.cfg.clone(), self.clock.clone(), options())
            .await
            .expect("server restarts");
        self.base = format!("http://{}", server.addr());
        self.server = Some(server);
    }

    /// Moves the server's clock forward.
    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    /// An absolute URL for `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request builder.
    pub fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path))
    }

    /// `GET` without credentials.
    pub async fn get(&self, path: &str) -> Resp {
        send(self.req(Method::GET, path)).await
    }

    /// `GET` with a bearer token.
    pub async fn get_auth(&self, path: &str, token: &str) -> Resp {
        send(self.req(Method::GET, path).bearer_auth(token)).await
    }

    /// `POST` of a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        send(self.req(Method::POST, path).json(body)).await
    }

    /// `POST` with a bearer token and no body.
    pub async fn post_auth(&self, path: &str, token: &str) -> Resp {
        send(self.req(Method::POST, path).bearer_auth(token)).await
    }

    /// `DELETE` with a bearer token.
    pub async fn delete_auth(&self, path: &str, token: &str) -> Resp {
        send(self.req(Method::DELETE, path).bearer_auth(token)).await
    }

    /// `PUT` of a JSON body with a bearer token.
    pub async fn put_auth(&self, path: &str, token: &str, body: &Value) -> Resp {
        send(self.req(Method::PUT, path).bearer_auth(token).json(body)).await
    }

    /// Registers (201 expected) and returns the body.
    pub async fn register(&self, email: &str) -> Value {
        self.post(
            "/v1/auth/register",
            &json!({ "email": email, "password": PASSWORD }),
        )
        .await
        .expect(201)
        .body
    }

    /// Logs in (200 expected).
    pub async fn login(&self, email: &str) -> Tokens {
        let r = self
            .post(
                "/v1/auth/login",
                &json!({ "email": email, "password": PASSWORD }),
            )
            .await
            .expect(200);
        Tokens::from_login(&r)
    }

    /// Refreshes (whatever the answer).
    pub async fn refresh(&self, refresh_token: &str) -> Resp {
        self.post(
            "/v1/auth/refresh",
            &json!({ "refresh_token": refresh_token }),
        )
        .await
    }

    /// Refreshes (200 expected).
    pub async fn refresh_ok(&self, refresh_token: &str) -> Tokens {
        Tokens::from_login(&self.refresh(refresh_token).await.expect(200))
    }

    /// Registers and logs in.
    pub async fn user(&self, email: &str) -> User {
        let reg = self.register(email).await;
        let tokens = self.login(email).await;
        User {
            id: reg["id"].as_str().unwrap().to_owned(),
            tokens,
        }
    }

    /// Registers a user, makes it an admin through the core, and logs it in
    /// again so its token carries the role.
    pub async fn admin(&self, email: &str) -> User {
        let mut u = self.user(email).await;
        self.server()
            .state()
            .app
            .accounts
            .set_roles(&u.id, &["admin".into()], &Default::default())
            .await
            .unwrap();
        u.tokens = self.login(email).await;
        assert_eq!(claims(&u.tokens.access)["roles"], json!(["admin"]));
        u
    }

    /// `GET /v1/me` with a token.
    pub async fn me(&self, token: &str) -> Resp {
        self.get_auth("/v1/me", token).await
    }

    /// The live JWKS.
    pub async fn jwks(&self) -> Jwks {
        let r = self.get("/.well-known/jwks.json").await.expect(200);
        Jwks::from_json(&r.text).unwrap()
    }

    /// The `kid`s of the main ring in the live JWKS (without the RS256
    /// ID-token ring's `oidc-…` keys).
    pub async fn kids(&self) -> Vec<String> {
        self.jwks()
            .await
            .keys
            .iter()
            .map(|k| k.kid.clone().unwrap())
            .filter(|k| !k.starts_with("oidc-"))
            .collect()
    }

    /// The issuer the server announces in its discovery document.
    pub async fn issuer(&self) -> String {
        let r = self
            .get("/.well-known/openid-configuration")
            .await
            .expect(200);
        r.str("issuer").to_owned()
    }

    /// Verifies an access token the way a resource server would: keys from
    /// the live JWKS, the announced issuer, the configured audience, `typ`
    /// at+jwt, and the server's clock.
    pub async fn verify(
        &self,
        token: &str,
    ) -> tessera_jose::Result<tessera_jose::TokenData<Value>> {
        let keys = KeySet::from_jwks(&self.jwks().await);
        let validation = Validation::new(self.issuer().await, self.cfg.audience.clone())
            .require("sub")
            .require("jti");
        tessera_jose::decode::<Value>(token, &keys, &validation, &*self.clock)
    }
}

/// How test servers run: with this test process's metrics registry,
/// installed once per process as `tessera serve` does.
fn options() -> tessera_server::Options {
    static METRICS: std::sync::OnceLock<tessera_server::Metrics> = std::sync::OnceLock::new();
    let m = METRICS.get_or_init(|| tessera_server::Metrics::install().expect("metrics recorder"));
    tessera_server::Options::default().metrics(m.clone())
}
