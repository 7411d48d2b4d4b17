//! `tessera users unlock` against a running server (another process).

use super::{free_port, post, Instance};
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Runs the CLI in `dir` (the same data directory as a server there).
fn cli(dir: &std::path::Path, args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .env("TESSERA_ARGON2_MEMORY_KIB", "256")
        .env("TESSERA_ARGON2_ITERATIONS", "1")
        .env("RUST_LOG", "warn")
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_unlock_lifts_a_lockout_on_a_running_server() {
    // One SQLite instance with its in-memory throttle; the CLI is another
    // process on the same data directory.
    let dir = tempfile::tempdir().unwrap();
    let made = cli(
        dir.path(),
        &["users", "create", "--email", "ada@x.io", "--password-stdin"],
        "correct horse battery",
    );
    assert!(made.status.success(), "{made:?}");
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("TESSERA_ARGON2_MEMORY_KIB", "256")
        .env("TESSERA_ARGON2_ITERATIONS", "1")
        .env("RUST_LOG", "warn")
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Instance {
        child,
        base: format!("http://127.0.0.1:{port}"),
        _dir: tempfile::tempdir().unwrap(),
    };
    let mut up = false;
    for _ in 0..200 {
        if reqwest::get(format!("{}/healthz", server.base))
            .await
            .is_ok()
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "server started");
    let login = |password: &'static str| {
        post(
            &server.base,
            "/v1/auth/login",
            json!({"email": "ada@x.io", "password": password}),
        )
    };
    for i in 0..6 {
        assert_eq!(login("wrong password").await.0, 401, "failure {i}");
    }
    assert_eq!(login("correct horse battery").await.0, 429, "locked out");

    let out = cli(
        dir.path(),
        &["users", "unlock", "--email", "ADA@x.io", "--json"],
        "",
    );
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["email"].as_str(), v["unlocked"].as_bool()),
        (Some("ada@x.io"), Some(true))
    );
    assert_eq!(login("correct horse battery").await.0, 200, "unlocked");

    let audit = cli(dir.path(), &["audit", "tail", "--json"], "");
    let events: Value = serde_json::from_slice(&audit.stdout).unwrap();
    let unlocked = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "account.unlocked")
        .count();
    assert_eq!(unlocked, 1, "{events}");
    // The six failures from one address are one entry.
    let failures: Vec<&Value> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "login.failure")
        .collect();
    assert_eq!(failures.len(), 1, "{events}");
    assert_eq!(failures[0]["count"], 6);

    let nobody = cli(
        dir.path(),
        &["users", "unlock", "--email", "nobody@x.io"],
        "",
    );
    assert!(!nobody.status.success());
    assert!(
        String::from_utf8_lossy(&nobody.stderr).contains("not found"),
        "{nobody:?}"
    );
}
