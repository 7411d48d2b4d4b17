//! The CLI equivalents of the console's API (issue 20): users search and
//! show, clients rotate-secret, audit filters, overview, sessions end; and
//! every CLI action recorded with the actor `cli:<os user>`.

use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `tessera` as the OS user `opal`.
fn run(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env("USER", "opal")
        .env("TESSERA_ARGON2_MEMORY_KIB", "256")
        .env("TESSERA_ARGON2_ITERATIONS", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn json(dir: &Path, args: &[&str], stdin: Option<&str>) -> Value {
    let out = run(dir, args, stdin);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn create_user(d: &Path, email: &str) -> Value {
    json(
        d,
        &[
            "users",
            "create",
            "--email",
            email,
            "--password-stdin",
            "--json",
        ],
        Some("correct horse battery\n"),
    )
}

#[test]
fn console_commands_and_the_cli_actor() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ada = create_user(d, "ada@x.io");
    create_user(d, "adam@x.io");
    create_user(d, "bob@x.io");

    let found = json(d, &["users", "search", "ADA", "--json"], None);
    let emails: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["email"].as_str())
        .collect();
    assert_eq!(emails, ["ada@x.io", "adam@x.io"]);
    let page = json(
        d,
        &[
            "users", "search", "ad", "--after", "ada@x.io", "--limit", "1", "--json",
        ],
        None,
    );
    assert_eq!(page[0]["email"], "adam@x.io");

    let shown = json(d, &["users", "show", "ada@x.io", "--json"], None);
    assert_eq!(shown["user"]["id"], ada["id"]);
    assert_eq!(shown["user"]["last_login_at"], Value::Null);
    assert_eq!(shown["sessions"], serde_json::json!([]));
    let by_id = json(
        d,
        &["users", "show", ada["id"].as_str().unwrap(), "--json"],
        None,
    );
    assert_eq!(by_id["user"]["email"], "ada@x.io");
    // Ids are base64url and may start with `-`: still an id, not a flag.
    let none = json(
        d,
        &[
            "audit",
            "tail",
            "--user",
            "-cSUOfeUFh3x2zb",
            "--actor",
            "-x",
            "--client",
            "-y",
            "--json",
        ],
        None,
    );
    assert_eq!(none, serde_json::json!([]));
    for args in [
        &["users", "show", "-7DuXt_5AZmyQ85isfzzHA", "--json"][..],
        &[
            "sessions",
            "end",
            "--user",
            "-7DuXt_5AZmyQ85isfzzHA",
            "--session",
            "-x",
        ][..],
    ] {
        let out = run(d, args, None);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(!err.contains("unexpected argument"), "{args:?}: {err}");
        assert!(!err.contains("a value is required"), "{args:?}: {err}");
    }

    // No such session: an error, not a success.
    let out = run(
        d,
        &["sessions", "end", "--user", "ada@x.io", "--session", "nope"],
        None,
    );
    assert!(!out.status.success());

    json(
        d,
        &[
            "clients",
            "create",
            "--id",
            "app",
            "--secret-stdin",
            "--json",
        ],
        Some("an-old-secret-of-at-least-32-characters!\n"),
    );
    let rotated = json(
        d,
        &["clients", "rotate-secret", "--id", "app", "--json"],
        None,
    );
    assert_eq!(rotated["client_id"], "app");
    assert!(rotated["client_secret"].as_str().unwrap().len() >= 32);

    // Every one of those actions names the CLI's OS user.
    let mine = json(d, &["audit", "tail", "--actor", "cli:opal", "--json"], None);
    let events: Vec<&str> = mine
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert_eq!(
        events,
        [
            "user.created",
            "user.created",
            "user.created",
            "client.created",
            "client.secret_rotated"
        ]
    );
    let app = json(d, &["audit", "tail", "--client", "app", "--json"], None);
    assert_eq!(app.as_array().unwrap().len(), 2);
    let one = json(
        d,
        &[
            "audit",
            "tail",
            "--event",
            "user.created",
            "--user",
            ada["id"].as_str().unwrap(),
            "--json",
        ],
        None,
    );
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0]["actor"], "cli:opal");
    let none = json(
        d,
        &["audit", "tail", "--actor", "cli:someone-else", "--json"],
        None,
    );
    assert_eq!(none, serde_json::json!([]));

    let o = json(d, &["overview", "--json"], None);
    assert_eq!(o["users"], 3);
    assert_eq!(o["counts"]["admin_actions"]["hour"], 5);
    assert_eq!(o["series"]["logins"].as_array().unwrap().len(), 24);
    let codes: Vec<&str> = o["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["code"].as_str())
        .collect();
    assert!(codes.contains(&"smtp_not_configured"), "{codes:?}");
}
