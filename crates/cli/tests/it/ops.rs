//! Operating commands: `config check`, `completions`, `man` and `healthcheck`.

use super::tessera;

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn config_check_shows_values_sources_and_warnings_with_secrets_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let secret = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0";
    std::fs::write(
        d.join("t.toml"),
        format!("audience = \"api\"\nsecret = \"{secret}\"\n"),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["config", "check", "--config", "t.toml", "--json"])
        .args(["--listen", "0.0.0.0:8080", "--issuer", "http://id.example"])
        .current_dir(d)
        .env("TESSERA_LEEWAY", "5s")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout(&out).contains(secret), "the secret is redacted");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let key = |k: &str| {
        v["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["key"] == k)
            .unwrap()
            .clone()
    };
    assert_eq!(key("audience")["source"], "file");
    assert_eq!(key("secret")["value"], "<redacted>");
    assert_eq!(key("leeway")["source"], "environment");
    assert_eq!(key("listen")["source"], "flag");
    assert_eq!(key("signing_alg")["source"], "default");
    let warnings = v["warnings"].to_string();
    for w in ["registration", "plain http", "smtp_url"] {
        assert!(warnings.contains(w), "{w}: {warnings}");
    }
}

#[test]
fn unknown_keys_are_errors_with_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("t.toml"), "acess_token_ttl = \"5m\"\n").unwrap();
    let out = tessera(d, &["config", "check", "--config", "t.toml"], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`acess_token_ttl`") && err.contains("did you mean `access_token_ttl`"),
        "{err}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["config", "check"])
        .current_dir(d)
        .env("TESSERA_AUDIENSE", "x")
        .env("TESSERA_TEST_ANYTHING", "not configuration")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("TESSERA_AUDIENSE") && err.contains("did you mean `TESSERA_AUDIENCE`"),
        "{err}"
    );
    assert!(!err.contains("TESSERA_TEST_ANYTHING"), "{err}");
}

#[test]
fn completions_and_the_man_page_name_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let subcommands = [
        "serve",
        "users",
        "backup",
        "restore",
        "config",
        "completions",
        "man",
        "migrate",
        "healthcheck",
    ];
    for shell in ["bash", "zsh", "fish"] {
        let out = tessera(dir.path(), &["completions", shell], None);
        assert!(out.status.success(), "{shell}");
        let script = stdout(&out);
        for sub in subcommands {
            assert!(script.contains(sub), "{shell} completes {sub}");
        }
        assert!(
            script.contains("import") && script.contains("dry-run"),
            "{shell}: nested"
        );
    }
    let man = tessera(dir.path(), &["man"], None);
    assert!(man.status.success());
    let page = stdout(&man);
    assert!(
        page.starts_with(".ie") || page.contains(".TH tessera"),
        "roff"
    );
    for sub in subcommands {
        assert!(
            page.contains(&format!("tessera\\-{sub}(1)")),
            "man names {sub}"
        );
    }
}

#[test]
fn healthcheck_passes_against_a_running_server_and_fails_otherwise() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .env_remove("TESSERA_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kept open until the server stops: its later log lines have a reader.
    let mut lines = std::io::BufReader::new(server.stdout.take().unwrap()).lines();
    let addr = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            let rest = l.split("listening on http://").nth(1)?;
            Some(rest.split_whitespace().next()?.to_owned())
        })
        .expect("the server says where it listens");
    let check = |url: &str| tessera(dir.path(), &["healthcheck", "--url", url], None);
    let up = check(&format!("http://{addr}/healthz"));
    let missing = check(&format!("http://{addr}/no-such-path"));
    let json = tessera(
        dir.path(),
        &[
            "healthcheck",
            "--json",
            "--url",
            &format!("http://{addr}/healthz"),
        ],
        None,
    );
    let _ = server.kill();
    let _ = server.wait();
    drop(lines);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    assert_eq!(stdout(&up).trim(), "ok");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stdout(&json)).unwrap()["status"],
        "ok"
    );
    assert!(!missing.status.success(), "a 404 is not healthy");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("404"));

    let down = check(&format!("http://{addr}/healthz"));
    assert!(!down.status.success(), "nothing listens any more");
    assert!(String::from_utf8_lossy(&down.stderr).contains("no answer"));
    let tls = check("https://127.0.0.1:1/healthz");
    assert!(!tls.status.success());
    assert!(String::from_utf8_lossy(&tls.stderr).contains("http://"));
}
