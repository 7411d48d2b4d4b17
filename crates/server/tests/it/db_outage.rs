//! A lost database: `/readyz` fails and requests answer 503 with
//! `Retry-After` (never 500); when it returns, requests recover by themselves.
//! PostgreSQL is reached through a TCP proxy the test cuts and restores.
//! Needs `TESSERA_TEST_POSTGRES_URL`.

use crate::support::{send, TestServer, PASSWORD};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Forwards connections to PostgreSQL while up; while cut, it keeps its port
/// (so nothing else can take it) but drops every connection at once.
struct Proxy {
    up: Arc<std::sync::atomic::AtomicBool>,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
    _accept: JoinHandle<()>,
}

impl Proxy {
    async fn start(port: u16, upstream: String) -> Proxy {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let up = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let tasks: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (t, u) = (tasks.clone(), up.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !u.load(std::sync::atomic::Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let up = upstream.clone();
                let h = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(up).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                t.lock().unwrap().push(h);
            }
        });
        Proxy {
            up,
            tasks,
            _accept: accept,
        }
    }

    /// The database "goes away": every open connection is cut, new ones dropped.
    fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for h in self.tasks.lock().unwrap().drain(..) {
            h.abort();
        }
    }

    /// The database is back.
    fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A request outside `support::send`, which (rightly) fails any test on a 5xx:
/// here a 503 is the expected answer.
async fn raw(
    t: &TestServer,
    path: &str,
    body: Option<serde_json::Value>,
    bearer: Option<&str>,
) -> (u16, String, serde_json::Value) {
    let mut req = match &body {
        Some(b) => t.http.post(t.url(path)).json(b),
        None => t.http.get(t.url(path)),
    };
    if let Some(tok) = bearer {
        req = req.bearer_auth(tok);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, retry, r.json().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_database_gives_503_and_requests_recover() {
    let Ok(pg) = std::env::var("TESSERA_TEST_POSTGRES_URL") else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "skipped: database outage test (set TESSERA_TEST_POSTGRES_URL to run it)"
        );
        return;
    };
    let url: reqwest::Url = pg.parse().unwrap();
    let upstream = format!(
        "{}:{}",
        url.host_str().unwrap_or("127.0.0.1"),
        url.port().unwrap_or(5432)
    );
    // A fresh schema, created directly; the server reaches it through the proxy.
    let bytes = tessera_jose::crypto::random_bytes(8).unwrap();
    let schema = format!(
        "out_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    tessera_store::PgStore::open_in_schema(&pg, Some(&schema), Default::default())
        .await
        .unwrap()
        .close()
        .await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut proxied = url.clone();
    proxied.set_port(Some(port)).unwrap();
    let db = format!(
        "{}{}options=-c%20search_path%3D{schema}",
        proxied,
        if proxied.query().is_some() { "&" } else { "?" }
    );
    let proxy = Proxy::start(port, upstream.clone()).await;

    let t = TestServer::start_with(|c| {
        c.database_url = Some(db.clone());
        c.secret = Some(tessera_jose::b64::encode(&[9u8; 32]));
        c.db_acquire_timeout = tessera_server::config::Dur(Duration::from_secs(1));
        c.db_statement_timeout = tessera_server::config::Dur(Duration::from_secs(2));
    })
    .await;
    t.post(
        "/v1/auth/register",
        &json!({"email": "o@x.io", "password": PASSWORD}),
    )
    .await
    .expect(201);
    let login = t
        .post(
            "/v1/auth/login",
            &json!({"email": "o@x.io", "password": PASSWORD}),
        )
        .await
        .expect(200);
    let refresh = login.str("refresh_token").to_owned();
    // A browser signed in in cookie mode.
    let cookie_login = t
        .post(
            "/v1/auth/login",
            &json!({"email": "o@x.io", "password": PASSWORD, "cookie": true}),
        )
        .await
        .expect(200);
    let cookie = cookie_login
        .header("set-cookie")
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(cookie.starts_with("tessera_refresh=tsr_"), "{cookie}");
    t.get("/readyz").await.expect(200);

    // The database goes away.
    proxy.cut();
    let (st, _, body) = raw(&t, "/readyz", None, None).await;
    assert_eq!(st, 503, "{body}");
    let (st, retry, body) = raw(
        &t,
        "/v1/auth/refresh",
        Some(json!({"refresh_token": refresh})),
        None,
    )
    .await;
    assert_eq!(st, 503, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(!retry.is_empty(), "Retry-After is set");
    let (st, _, body) = raw(&t, "/v1/me", None, Some(login.str("access_token"))).await;
    assert_eq!(st, 503, "{body}");
    // Cookie mode: the outage is not the cookie's fault, so it is kept
    // (clearing it would sign the browser out).
    let r = t
        .http
        .post(t.url("/v1/auth/refresh"))
        .header("cookie", &cookie)
        .header("x-tessera-csrf", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    assert!(
        r.headers().get("set-cookie").is_none(),
        "the cookie was cleared on a 503: {:?}",
        r.headers().get("set-cookie")
    );

    // It comes back: requests recover without a restart.
    proxy.restore();
    let mut recovered = false;
    for _ in 0..50 {
        if raw(&t, "/readyz", None, None).await.0 == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(recovered, "readiness recovers");
    let r = t
        .post("/v1/auth/refresh", &json!({"refresh_token": refresh}))
        .await
        .expect(200);
    assert!(r.str("refresh_token").starts_with("tsr_"));
    // And the browser's cookie still works.
    let r = send(
        t.req(reqwest::Method::POST, "/v1/auth/refresh")
            .header("cookie", &cookie)
            .header("x-tessera-csrf", "1"),
    )
    .await
    .expect(200);
    assert!(r.header("set-cookie").starts_with("tessera_refresh=tsr_"));
}
