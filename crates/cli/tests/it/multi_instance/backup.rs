//! `tessera backup` while a SQLite server is in a refresh storm and taking
//! logins, `tessera restore` into a new data directory, and a server started
//! from it: every login committed before the backup still refreshes.

use super::{free_port, post, refresh, s, start};
use serde_json::json;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn tessera(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .current_dir(cwd)
        .env_remove("TESSERA_DATABASE_URL")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_during_a_refresh_storm_restores_every_committed_session() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let db = w.join("a.db");
    let url = format!("sqlite:{}?mode=rwc", db.display());
    let secret = tessera_jose::b64::encode(&tessera_jose::crypto::random_bytes(32).unwrap());
    let a = start(&url, &secret).await;
    let pw = "correct horse battery";
    let body = json!({"email": "s@x.io", "password": pw});
    assert_eq!(
        post(&a.base, "/v1/auth/register", body.clone()).await.0,
        201
    );

    // Eight clients chaining refreshes, and one logging in again and again.
    let stop = Arc::new(AtomicBool::new(false));
    let mut storm = Vec::new();
    for _ in 0..8 {
        let (_, p) = post(&a.base, "/v1/auth/login", body.clone()).await;
        let (base, stop, mut token) = (a.base.clone(), stop.clone(), s(&p, "refresh_token"));
        storm.push(tokio::spawn(async move {
            let mut rotations = 0u32;
            while !stop.load(Ordering::SeqCst) {
                let (st, v) = refresh(&base, &token).await;
                assert_eq!(st, 200, "refresh during the storm: {v}");
                token = s(&v, "refresh_token");
                rotations += 1;
            }
            rotations
        }));
    }
    // Every login answered, and those answered before the backup began.
    let logins: Arc<Mutex<Vec<String>>> = Arc::default();
    let backup_started = Arc::new(AtomicBool::new(false));
    let committed_before: Arc<Mutex<Vec<String>>> = Arc::default();
    let login_task = {
        let (base, stop, body) = (a.base.clone(), stop.clone(), body.clone());
        let (logins, started, before) = (
            logins.clone(),
            backup_started.clone(),
            committed_before.clone(),
        );
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let (st, v) = post(&base, "/v1/auth/login", body.clone()).await;
                assert_eq!(st, 200, "login during the storm: {v}");
                let token = s(&v, "refresh_token");
                if !started.load(Ordering::SeqCst) {
                    before.lock().unwrap().push(token.clone());
                }
                logins.lock().unwrap().push(token);
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(800)).await;

    let file = w.join("backup.db");
    let f = file.to_str().unwrap();
    backup_started.store(true, Ordering::SeqCst);
    let out = tessera(w, &["backup", f, "--database-url", &url, "--json"]);
    assert!(out.status.success(), "backup: {}", stderr(&out));
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    for t in storm {
        assert!(t.await.unwrap() > 0, "the storm was running");
    }
    login_task.await.unwrap();
    let before = committed_before.lock().unwrap().clone();
    assert!(before.len() >= 2, "logins were committed before the backup");
    let all = logins.lock().unwrap().len();
    assert!(all > before.len(), "logins went on while the backup ran");
    let again = tessera(w, &["backup", f, "--database-url", &url]);
    assert!(!again.status.success(), "a backup never overwrites a file");

    // Restore into a new data directory: refused while a server answers on
    // `listen`, and over an existing database without --force.
    let fresh = tempfile::tempdir().unwrap();
    let b_dir = fresh.path();
    let listen = a.base.trim_start_matches("http://").to_owned();
    let live = tessera(b_dir, &["restore", f, "--listen", &listen]);
    assert!(!live.status.success());
    assert!(
        stderr(&live).contains("stop it before restoring"),
        "{}",
        stderr(&live)
    );
    drop(a);
    let free = format!("127.0.0.1:{}", free_port());
    let restore = |extra: &[&str]| {
        let mut args = vec!["restore", f, "--listen", &free];
        args.extend_from_slice(extra);
        tessera(b_dir, &args)
    };
    let first = restore(&[]);
    assert!(first.status.success(), "restore: {}", stderr(&first));
    let over = restore(&[]);
    assert!(stderr(&over).contains("--force"), "{}", stderr(&over));
    assert!(restore(&["--force"]).status.success());
    let junk = b_dir.join("junk.db");
    std::fs::write(&junk, b"not a database").unwrap();
    let bad = tessera(
        b_dir,
        &[
            "restore",
            junk.to_str().unwrap(),
            "--force",
            "--listen",
            &free,
        ],
    );
    assert!(
        !bad.status.success(),
        "a file that is not a backup is refused"
    );

    let restored = b_dir.join("tessera-data/tessera.db");
    let b = start(&format!("sqlite:{}", restored.display()), &secret).await;
    for token in &before {
        let (st, v) = refresh(&b.base, token).await;
        assert_eq!(
            st, 200,
            "a session committed before the backup was lost: {v}"
        );
    }
}

#[test]
fn with_postgres_backup_and_restore_point_to_pg_dump() {
    let dir = tempfile::tempdir().unwrap();
    let url = "postgres://postgres@127.0.0.1:5432/test";
    for cmd in ["backup", "restore"] {
        let out = tessera(dir.path(), &[cmd, "x.db", "--database-url", url]);
        assert!(!out.status.success());
        assert!(stderr(&out).contains("pg_dump"), "{cmd}: {}", stderr(&out));
    }
}
