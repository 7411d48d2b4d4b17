//! A real auth server (manual clock) and a real guarded backend.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use tessera_guard::{Claims, Guard, RequireRole, RequireScope};
use tessera_jose::ManualClock;
use tessera_server::config::Config;
use tessera_server::RunningServer;

pub const T0: i64 = 1_800_000_000;
pub const PASSWORD: &str = "correct horse battery";
pub const CLIENT: &str = "backend";
pub const CLIENT_SECRET: &str = "backend-secret-0123456789abcdefghijklmnopqrstuvwxyz";

tessera_guard::role!(pub Admin = "admin");
tessera_guard::scope!(pub ReadReports = "reports:read");

/// A port that was free a moment ago (the issuer must name the real port,
/// since discovery checks it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Auth {
    pub server: Option<RunningServer>,
    pub clock: Arc<ManualClock>,
    pub issuer: String,
    pub http: reqwest::Client,
    _dir: TempDir,
}

impl Auth {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let issuer = format!("http://127.0.0.1:{port}");
        let mut cfg = Config {
            listen: format!("127.0.0.1:{port}").parse().unwrap(),
            data_dir: dir.path().to_path_buf(),
            issuer: Some(issuer.clone()),
            argon2_memory_kib: 256,
            argon2_iterations: 1,
            register_rate_per_minute: 100_000,
            ..Config::default()
        };
        cfg.database_url = tessera_store::testing::fresh_database_url().await.unwrap();
        if cfg.database_url.is_some() {
            cfg.secret = Some(tessera_jose::b64::encode(&[7u8; 32]));
        }
        adjust(&mut cfg);
        let clock = Arc::new(ManualClock::new(T0));
        let server = tessera_server::spawn(cfg.clone(), clock.clone())
            .await
            .expect("auth server starts");
        let issuer = cfg.issuer.clone().unwrap();
        let auth = Auth {
            server: Some(server),
            clock,
            issuer,
            http: reqwest::Client::new(),
            _dir: dir,
        };
        auth.server()
            .state()
            .app
            .clients
            .create(
                CLIENT,
                CLIENT_SECRET,
                &["reports:read".into()],
                &["client_credentials".into()],
            )
            .await
            .unwrap();
        auth
    }

    pub fn server(&self) -> &RunningServer {
        self.server.as_ref().unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    pub async fn stop(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
    }

    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    /// Registers and logs in; the access and refresh tokens.
    pub async fn user(&self, email: &str) -> (String, String) {
        let r = self
            .http
            .post(self.url("/v1/auth/register"))
            .json(&json!({ "email": email, "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        self.login(email).await
    }

    pub async fn login(&self, email: &str) -> (String, String) {
        let r = self
            .http
            .post(self.url("/v1/auth/login"))
            .json(&json!({ "email": email, "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        (
            v["access_token"].as_str().unwrap().to_owned(),
            v["refresh_token"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn admin(&self, email: &str) -> String {
        let (access, _) = self.user(email).await;
        let claims = tessera_jose::dangerous::decode_unverified(&access, &Default::default())
            .unwrap()
            .payload;
        self.server()
            .state()
            .app
            .accounts
            .set_roles(
                claims["sub"].as_str().unwrap(),
                &["admin".into()],
                &Default::default(),
            )
            .await
            .unwrap();
        self.login(email).await.0
    }

    pub async fn client_token(&self, scope: Option<&str>) -> String {
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(s) = scope {
            form.push(("scope", s));
        }
        let r = self
            .http
            .post(self.url("/oauth2/token"))
            .basic_auth(CLIENT, Some(CLIENT_SECRET))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        v["access_token"].as_str().unwrap().to_owned()
    }
}

/// The example backend's routes, behind the guard.
pub fn backend_router(guard: &Guard) -> Router {
    Router::new()
        .route(
            "/api/hello",
            get(|Claims(c): Claims<Value>| async move { Json(c) }),
        )
        .route(
            "/api/admin",
            get(|_: RequireRole<Admin>| async { "admin ok" }),
        )
        .route(
            "/api/reports",
            get(|_: RequireScope<ReadReports>| async { "reports ok" }),
        )
        .layer(guard.layer())
}

pub struct Backend {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Backend {
    pub async fn start(guard: &Guard) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = backend_router(guard);
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Backend {
            addr,
            http: reqwest::Client::new(),
            task,
        }
    }

    /// `GET path` with the token; status, `WWW-Authenticate`, body.
    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, String, Value) {
        let mut req = self.http.get(format!("http://{}{path}", self.addr));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let www = r
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = r.json().await.unwrap_or(Value::Null);
        (status, www, body)
    }
}
