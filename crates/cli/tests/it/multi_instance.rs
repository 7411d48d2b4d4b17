//! Two `tessera serve` processes on one PostgreSQL database: refresh on one
//! and replay on the other, concurrent refreshes split across both, a key
//! rotation on one that the other publishes and verifies, and a SIGKILL in
//! the middle of a refresh storm. Needs `TESSERA_TEST_POSTGRES_URL`, except
//! the SIGKILL storm's SQLite run.

use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn skipped(what: &str) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "skipped: {what} (set TESSERA_TEST_POSTGRES_URL to run it)"
    );
}

/// A fresh schema, migrated; returns a URL pinned to it.
async fn fresh_db(base: &str) -> String {
    let bytes = tessera_jose::crypto::random_bytes(8).unwrap();
    let schema = format!(
        "mi_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    tessera_store::PgStore::open_in_schema(
        base,
        Some(&schema),
        tessera_store::PgPoolSettings::default(),
    )
    .await
    .unwrap()
    .close()
    .await;
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Instance {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn envs(db: &str, secret: &str) -> Vec<(&'static str, String)> {
    vec![
        ("TESSERA_DATABASE_URL", db.to_owned()),
        ("TESSERA_SECRET", secret.to_owned()),
        ("TESSERA_ISSUER", "http://tessera.test".into()),
        ("TESSERA_REFRESH_REUSE_GRACE", "3".into()),
        ("TESSERA_MAINTENANCE_INTERVAL", "1".into()),
        ("TESSERA_KEY_PUBLISH_LEAD", "2".into()),
        ("TESSERA_ARGON2_MEMORY_KIB", "256".into()),
        ("TESSERA_ARGON2_ITERATIONS", "1".into()),
        ("TESSERA_REFRESH_RATE_PER_MINUTE", "0".into()),
        ("RUST_LOG", "warn".into()),
    ]
}

async fn start(db: &str, secret: &str) -> Instance {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .envs(envs(db, secret))
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Owned at once, so the process is killed and reaped on every path.
    let instance = Instance {
        child,
        base: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    };
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http
            .get(format!("{}/healthz", instance.base))
            .send()
            .await
            .is_ok()
        {
            return instance;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("instance on {} did not start", instance.base);
}

async fn post(base: &str, path: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn refresh(base: &str, token: &str) -> (u16, Value) {
    post(base, "/v1/auth/refresh", json!({ "refresh_token": token })).await
}

async fn me(base: &str, access: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{base}/v1/me"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_sessions_grace_and_keys() {
    let Ok(pg) = std::env::var("TESSERA_TEST_POSTGRES_URL") else {
        return skipped("multi-instance test");
    };
    let db = fresh_db(&pg).await;
    let secret = tessera_jose::b64::encode(&tessera_jose::crypto::random_bytes(32).unwrap());
    let (a, b) = tokio::join!(start(&db, &secret), start(&db, &secret));

    let pw = "correct horse battery";
    assert_eq!(
        post(
            &a.base,
            "/v1/auth/register",
            json!({"email": "ada@x.io", "password": pw})
        )
        .await
        .0,
        201
    );
    let (st, p0) = post(
        &b.base,
        "/v1/auth/login",
        json!({"email": "ada@x.io", "password": pw}),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(
        me(&a.base, &s(&p0, "access_token")).await,
        200,
        "A verifies B's token"
    );

    // Refresh on A, replay the parent on B inside the grace window: same successor.
    let (st, p1) = refresh(&a.base, &s(&p0, "refresh_token")).await;
    assert_eq!(st, 200);
    let (st, again) = refresh(&b.base, &s(&p0, "refresh_token")).await;
    assert_eq!(st, 200);
    assert_eq!(s(&again, "refresh_token"), s(&p1, "refresh_token"));

    // Concurrent refreshes of one token split across A and B: one successor.
    let mut tasks = Vec::new();
    for i in 0..16 {
        let base = if i % 2 == 0 {
            a.base.clone()
        } else {
            b.base.clone()
        };
        let t = s(&p1, "refresh_token");
        tasks.push(tokio::spawn(async move { refresh(&base, &t).await }));
    }
    let mut successors = std::collections::BTreeSet::new();
    for t in tasks {
        let (st, v) = t.await.unwrap();
        assert_eq!(st, 200, "{v}");
        successors.insert(s(&v, "refresh_token"));
    }
    assert_eq!(
        successors.len(),
        1,
        "every instance returned the same successor"
    );
    let p2_refresh = successors.into_iter().next().unwrap();

    // Outside the window, a replay of the parent on B kills the family on A too.
    // Times are whole seconds, so "more than 3 s" is certain after 4.5 s.
    tokio::time::sleep(Duration::from_millis(4500)).await;
    let (st, v) = refresh(&b.base, &s(&p1, "refresh_token")).await;
    assert_eq!((st, v["error"].as_str()), (401, Some("invalid_grant")));
    assert_eq!(
        refresh(&a.base, &p2_refresh).await.0,
        401,
        "the whole family is dead"
    );
    assert_eq!(me(&a.base, &s(&p1, "access_token")).await, 401);

    // Login throttling is shared: failures split across A and B add up. (At
    // an account this address never logged in to: a known address meets only
    // the per-IP backoff.)
    assert_eq!(
        post(
            &b.base,
            "/v1/auth/register",
            json!({"email": "bob@x.io", "password": pw})
        )
        .await
        .0,
        201
    );
    for i in 0..5 {
        let base = if i % 2 == 0 { &a.base } else { &b.base };
        let (st, _) = post(
            base,
            "/v1/auth/login",
            json!({"email": "bob@x.io", "password": "wrong password"}),
        )
        .await;
        assert_eq!(st, 401);
    }
    let (st, _) = post(
        &a.base,
        "/v1/auth/login",
        json!({"email": "bob@x.io", "password": "wrong password"}),
    )
    .await;
    assert_eq!(
        st, 401,
        "the sixth failure is counted and starts the backoff"
    );
    for base in [&a.base, &b.base] {
        let r = reqwest::Client::new()
            .post(format!("{base}/v1/auth/login"))
            .json(&json!({"email": "bob@x.io", "password": pw}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status().as_u16(),
            429,
            "both instances throttle the account"
        );
        assert!(r.headers().get("retry-after").is_some());
    }

    // Key rotation on A: B publishes the new key and verifies A's tokens.
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "users",
            "create",
            "--email",
            "root@x.io",
            "--role",
            "admin",
            "--password-stdin",
        ])
        .envs(envs(&db, &secret))
        .current_dir(a._dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(pw.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, admin) = post(
        &a.base,
        "/v1/auth/login",
        json!({"email": "root@x.io", "password": pw}),
    )
    .await;
    let rotated: Value = reqwest::Client::new()
        .post(format!("{}/v1/admin/keys/rotate", a.base))
        .bearer_auth(s(&admin, "access_token"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_kid = s(&rotated, "kid");
    assert!(!new_kid.is_empty(), "{rotated}");
    let mut published = false;
    for _ in 0..50 {
        let jwks: Value = reqwest::get(format!("{}/.well-known/jwks.json", b.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == new_kid.as_str())
        {
            published = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(published, "B publishes A's new key within a few seconds");
    tokio::time::sleep(Duration::from_millis(2500)).await; // the publish lead passes
    let (_, fresh) = post(
        &a.base,
        "/v1/auth/login",
        json!({"email": "root@x.io", "password": pw}),
    )
    .await;
    let kid =
        tessera_jose::dangerous::decode_unverified(&s(&fresh, "access_token"), &Default::default())
            .unwrap()
            .header
            .kid()
            .unwrap()
            .to_owned();
    assert_eq!(kid, new_kid, "A signs with the new key after the lead");
    assert_eq!(
        me(&b.base, &s(&fresh, "access_token")).await,
        200,
        "B verifies it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_a_refresh_storm_loses_no_session() {
    let Ok(pg) = std::env::var("TESSERA_TEST_POSTGRES_URL") else {
        return skipped("SIGKILL crash test");
    };
    sigkill_storm(&fresh_db(&pg).await).await;
}

/// The same on SQLite, where rotations share group-committed transactions
/// (crates/store/src/batch.rs): every answered rotation was committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_a_refresh_storm_loses_no_session_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("tessera.db").display());
    sigkill_storm(&db).await;
}

/// Sixteen refresh chains at full speed, a SIGKILL, a restart on the same
/// database: every chain goes on from the last token its client got.
async fn sigkill_storm(db: &str) {
    let db = db.to_owned();
    let secret = tessera_jose::b64::encode(&tessera_jose::crypto::random_bytes(32).unwrap());
    let a = start(&db, &secret).await;
    let pw = "correct horse battery";
    assert_eq!(
        post(
            &a.base,
            "/v1/auth/register",
            json!({"email": "s@x.io", "password": pw})
        )
        .await
        .0,
        201
    );

    // Sixteen clients, each chaining its own refreshes as fast as it can.
    let mut tokens = Vec::new();
    for _ in 0..16 {
        let (_, p) = post(
            &a.base,
            "/v1/auth/login",
            json!({"email": "s@x.io", "password": pw}),
        )
        .await;
        tokens.push(s(&p, "refresh_token"));
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for t in tokens {
        let (base, stop) = (a.base.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            // `last_sent`: the token of the request in flight (its answer may be lost).
            let mut current = t;
            let mut rotations = 0u32;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                match reqwest::Client::new()
                    .post(format!("{base}/v1/auth/refresh"))
                    .json(&json!({ "refresh_token": current }))
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => {
                        let v: Value = r.json().await.unwrap();
                        current = s(&v, "refresh_token");
                        rotations += 1;
                    }
                    Ok(r) => panic!("refresh failed before the crash: {}", r.status()),
                    Err(_) => break, // the server died mid-request
                }
            }
            (current, rotations)
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let pid = a.child.id();
    // SIGKILL: no shutdown, no flush.
    let killed = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut last = Vec::new();
    for c in clients {
        let (token, rotations) = c.await.unwrap();
        assert!(rotations > 0, "the storm was running");
        last.push(token);
    }
    drop(a);

    // Restart (a new process on the same database). Every client retries
    // with the last token it holds: either still current, or the parent of a
    // rotation committed just before the kill (inside the grace window).
    let b = start(&db, &secret).await;
    for token in last {
        let (st, v) = refresh(&b.base, &token).await;
        assert_eq!(st, 200, "a session was lost: {v}");
        let next = s(&v, "refresh_token");
        let (st, _) = refresh(&b.base, &next).await;
        assert_eq!(st, 200, "the family has one live chain");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_shares_login_throttling_between_instances() {
    let Ok(redis) = std::env::var("TESSERA_TEST_REDIS_URL") else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "skipped: Redis throttling test (set TESSERA_TEST_REDIS_URL to run it)"
        );
        return;
    };
    // Two instances with their own SQLite databases, sharing only Redis.
    let mut procs = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("TESSERA_REDIS_URL", &redis)
            // This test is about the per-account backoff shared through
            // Redis. Every run logs in from 127.0.0.1, and the per-IP count
            // lives in the same Redis for an hour, across runs and suites: it
            // must not decide this test's answers.
            .env("TESSERA_LOGIN_IP_MAX_FAILURES", "1000000")
            .env("TESSERA_ARGON2_MEMORY_KIB", "256")
            .env("TESSERA_ARGON2_ITERATIONS", "1")
            .env("RUST_LOG", "warn")
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        procs.push(Instance {
            child,
            base: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        });
    }
    for p in &procs {
        let mut up = false;
        for _ in 0..200 {
            if reqwest::get(format!("{}/healthz", p.base)).await.is_ok() {
                up = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(up, "instance {} started", p.base);
    }
    // An account name no other run uses: Redis outlives the test.
    let bytes = tessera_jose::crypto::random_bytes(6).unwrap();
    let email = format!(
        "r{}@x.io",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    for i in 0..6 {
        let (st, _) = post(
            &procs[i % 2].base,
            "/v1/auth/login",
            json!({"email": email, "password": "wrong password"}),
        )
        .await;
        assert_eq!(st, 401, "failure {i}");
    }
    for p in &procs {
        let (st, v) = post(
            &p.base,
            "/v1/auth/login",
            json!({"email": email, "password": "wrong password"}),
        )
        .await;
        assert_eq!((st, v["error"].as_str()), (429, Some("too_many_requests")));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_requests() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // Expensive hashing keeps a login in flight long enough to signal mid-request.
    let child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("TESSERA_ARGON2_MEMORY_KIB", "262144")
        .env("TESSERA_ARGON2_ITERATIONS", "3")
        .env("RUST_LOG", "warn")
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut inst = Instance {
        child,
        base: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    };
    let mut up = false;
    for _ in 0..200 {
        if reqwest::get(format!("{}/healthz", inst.base)).await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up);
    let pw = "correct horse battery";
    let (st, _) = post(
        &inst.base,
        "/v1/auth/register",
        json!({"email": "g@x.io", "password": pw}),
    )
    .await;
    assert_eq!(st, 201);
    let base = inst.base.clone();
    let login = tokio::spawn(async move {
        post(
            &base,
            "/v1/auth/login",
            json!({"email": "g@x.io", "password": pw}),
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let term = Command::new("kill")
        .args(["-TERM", &inst.child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let (st, v) = login.await.unwrap();
    assert_eq!(st, 200, "the in-flight login completed: {v}");
    assert!(s(&v, "refresh_token").starts_with("tsr_"));
    // The process then exits cleanly.
    let mut exited = None;
    for _ in 0..100 {
        if let Some(status) = inst.child.try_wait().unwrap() {
            exited = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        exited.is_some_and(|s| s.success()),
        "exit after SIGTERM: {exited:?}"
    );
}

mod backup;
mod unlock;
