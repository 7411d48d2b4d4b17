//! The `tessera` binary, run as a user would run it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn tessera(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
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

fn ok_json(dir: &Path, args: &[&str], stdin: Option<&str>) -> Value {
    let out = tessera(dir, args, stdin);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[test]
fn users_roles_sessions_and_keys() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let created = ok_json(
        d,
        &[
            "users",
            "create",
            "--email",
            " Ada@Example.com",
            "--role",
            "admin",
            "--password-stdin",
            "--json",
        ],
        Some("correct horse battery\n"),
    );
    assert_eq!(created["email"], "ada@example.com");
    assert_eq!(created["roles"], serde_json::json!(["admin"]));
    assert!(
        d.join("tessera-data/tessera.db").exists(),
        "zero-config data dir"
    );

    // Duplicate email, short password and a password on the command line are refused.
    let dup = tessera(
        d,
        &[
            "users",
            "create",
            "--email",
            "ada@example.com",
            "--password-stdin",
        ],
        Some("another password"),
    );
    assert!(!dup.status.success());
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));
    let short = tessera(
        d,
        &[
            "users",
            "create",
            "--email",
            "b@example.com",
            "--password-stdin",
        ],
        Some("short"),
    );
    assert!(String::from_utf8_lossy(&short.stderr).contains("8 to 1024"));
    let no_stdin = tessera(d, &["users", "create", "--email", "c@example.com"], None);
    assert_eq!(no_stdin.status.code(), Some(2), "clap usage error");

    let list = ok_json(d, &["users", "list", "--json"], None);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(
        list[0].get("password_hash").is_none(),
        "hashes are never printed"
    );

    let roles = ok_json(
        d,
        &[
            "users",
            "set-roles",
            "--email",
            "ada@example.com",
            "--role",
            "editor",
            "--role",
            "viewer",
            "--json",
        ],
        None,
    );
    assert_eq!(roles["roles"], serde_json::json!(["editor", "viewer"]));
    let bad_role = tessera(
        d,
        &[
            "users",
            "set-roles",
            "--email",
            "ada@example.com",
            "--role",
            "no spaces",
        ],
        None,
    );
    assert!(!bad_role.status.success());

    let revoked = ok_json(
        d,
        &["sessions", "revoke", "--user", "ada@example.com", "--json"],
        None,
    );
    assert_eq!(revoked["revoked"], 0);

    let keys = ok_json(d, &["keys", "list", "--json"], None);
    assert_eq!(keys.as_array().unwrap().len(), 1);
    assert_eq!(keys[0]["signing"], true);
    let rotated = ok_json(d, &["keys", "rotate", "--json"], None);
    let keys = ok_json(d, &["keys", "list", "--json"], None);
    assert_eq!(keys.as_array().unwrap().len(), 2);
    let new = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == rotated["kid"])
        .unwrap();
    assert_eq!(
        new["signing"], false,
        "a new key is published before it signs"
    );
    ok_json(d, &["keys", "rotate", "--immediate", "--json"], None);
    let keys = ok_json(d, &["keys", "list", "--json"], None);
    assert_eq!(
        keys.as_array()
            .unwrap()
            .iter()
            .filter(|k| k["signing"] == true)
            .count(),
        1
    );
    // Revoking the signing key: gone from the list, a new key signs.
    let signing = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["signing"] == true)
        .unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = ok_json(d, &["keys", "revoke", "--kid", &signing, "--json"], None);
    assert_eq!(out["revoked"]["kid"], signing.as_str());
    assert_ne!(out["signing"]["kid"], signing.as_str());
    let keys = ok_json(d, &["keys", "list", "--json"], None);
    assert!(
        keys.as_array()
            .unwrap()
            .iter()
            .all(|k| k["kid"] != signing.as_str()),
        "{keys}"
    );
    let again = tessera(d, &["keys", "revoke", "--kid", &signing], None);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not found"));

    let audit = ok_json(d, &["audit", "tail", "-n", "50", "--json"], None);
    let events: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert!(events.contains(&"roles.changed"), "{events:?}");
    assert!(events.contains(&"key.rotated"), "{events:?}");
    assert!(events.contains(&"key.revoked"), "{events:?}");
}

#[test]
fn token_decode_and_verify() {
    use tessera_jose::{encode, Algorithm, Jwks, SigningKey};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let claims = serde_json::json!({"iss": "https://auth.example", "aud": "api", "sub": "u1", "exp": 4_102_444_800i64});
    let token = encode(&key, Some("at+jwt"), &claims).unwrap();
    let jwks = Jwks {
        keys: vec![key.verifying_key().to_jwk().unwrap()],
    };
    std::fs::write(d.join("jwks.json"), jwks.to_json()).unwrap();

    let decoded = ok_json(d, &["token", "decode", &token, "--json"], None);
    assert_eq!(decoded["verified"], false);
    assert_eq!(decoded["claims"]["sub"], "u1");
    let human = tessera(d, &["token", "decode", &token], None);
    assert!(String::from_utf8_lossy(&human.stdout).starts_with("NOT VERIFIED"));

    let v = ok_json(
        d,
        &[
            "token",
            "verify",
            &token,
            "--jwks",
            "jwks.json",
            "--iss",
            "https://auth.example",
            "--aud",
            "api",
            "--json",
        ],
        None,
    );
    assert_eq!(v["valid"], true);
    assert_eq!(v["header"]["kid"], key.kid());

    let wrong_aud = tessera(
        d,
        &[
            "token",
            "verify",
            &token,
            "--jwks",
            "jwks.json",
            "--aud",
            "other",
        ],
        None,
    );
    assert!(!wrong_aud.status.success());
    assert!(String::from_utf8_lossy(&wrong_aud.stderr).contains("invalid audience"));

    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    let bad = tessera(
        d,
        &["token", "verify", &tampered, "--jwks", "jwks.json"],
        None,
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("INVALID"));

    let garbage = tessera(d, &["token", "decode", "not.a.jwt"], None);
    assert!(!garbage.status.success());
}

#[test]
fn token_verify_with_an_hs_secret_on_stdin() {
    use tessera_jose::{b64, encode, Algorithm, SigningKey};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let secret = [5u8; 48];
    let key = SigningKey::from_hmac_secret(Algorithm::HS384, &secret).unwrap();
    let claims = serde_json::json!({"iss": "https://auth.example", "aud": "api", "sub": "u1", "exp": 4_102_444_800i64});
    let token = encode(&key, Some("at+jwt"), &claims).unwrap();
    let stdin = format!("{}\n", b64::encode(&secret));
    let args = [
        "token",
        "verify",
        &token,
        "--hs-secret-stdin",
        "--hs-alg",
        "HS384",
        "--json",
    ];
    let v = ok_json(d, &args, Some(&stdin));
    assert_eq!(v["valid"], true);
    assert_eq!(v["header"]["alg"], "HS384");
    // Another secret, or the wrong algorithm: INVALID.
    let other = format!("{}\n", b64::encode(&[6u8; 48]));
    let out = tessera(d, &args, Some(&other));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("INVALID"));
    let out = tessera(
        d,
        &["token", "verify", &token, "--hs-secret-stdin"],
        Some(&stdin),
    );
    assert!(!out.status.success());
    // Neither a JWKS nor a secret: a usage error.
    assert!(!tessera(d, &["token", "verify", &token], None)
        .status
        .success());
}

#[test]
fn keys_rotate_is_refused_in_hs_mode() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
    let out = cmd
        .args(["keys", "rotate"])
        .current_dir(dir.path())
        .env("TESSERA_SIGNING_ALG", "HS256")
        .env("TESSERA_HS_SECRET", tessera_jose::b64::encode(&[9u8; 32]))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("hs_secret") && err.contains("hs_previous_secrets"),
        "{err}"
    );
}

#[test]
fn bad_configuration_names_the_key_and_help_exists() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = tessera(d, &["users", "list", "--access-token-ttl", "soon"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("access_token_ttl"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
    let out = cmd
        .args(["serve", "--signing-alg", "HS256"])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("signing_alg"));
    for sub in [
        vec!["serve"],
        vec!["users", "create"],
        vec!["users", "list"],
        vec!["users", "set-roles"],
        vec!["users", "unlock"],
        vec!["users", "disable"],
        vec!["users", "enable"],
        vec!["users", "delete"],
        vec!["users", "set-password"],
        vec!["sessions", "revoke"],
        vec!["keys", "list"],
        vec!["keys", "rotate"],
        vec!["keys", "revoke"],
        vec!["token", "decode"],
        vec!["token", "verify"],
        vec!["audit", "tail"],
        vec!["migrate"],
        vec!["gen-secret"],
        vec!["clients", "create"],
        vec!["clients", "list"],
        vec!["clients", "delete"],
    ] {
        let mut args = sub.clone();
        args.push("--help");
        let out = tessera(d, &args, None);
        assert!(out.status.success(), "{sub:?} --help");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage:"),
            "{sub:?}"
        );
    }
}
#[test]
fn serve_help_documents_every_configuration_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = tessera(dir.path(), &["serve", "--help"], None);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for key in tessera_server::config::KEYS {
        let flag = format!("--{} <{}>", key.flag(), key.value_name);
        assert!(help.contains(&flag), "{flag} missing:\n{help}");
        assert!(
            help.contains(key.doc()),
            "{} undocumented:\n{help}",
            key.name
        );
        assert!(help.contains(&key.env()), "{} names no variable", key.name);
    }
    for flag in [
        "--secret <",
        "--tls-cert <",
        "--cors-origins <",
        "--redis-url <",
        "--db-max-connections <",
    ] {
        assert!(help.contains(flag), "{flag}");
    }
}

#[test]
fn a_configuration_flag_reaches_an_admin_command() {
    // `--data-dir` from the key table decides where the store is opened.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = ok_json(d, &["migrate", "--data-dir", "elsewhere", "--json"], None);
    assert!(out["migrated"].as_str().unwrap().contains("elsewhere"));
    assert!(d.join("elsewhere/tessera.db").exists());
    let env = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["migrate", "--json"])
        .env("TESSERA_DATA_DIR", "from-env")
        .current_dir(d)
        .output()
        .unwrap();
    assert!(env.status.success());
    assert!(d.join("from-env/tessera.db").exists());
}

mod console;
mod import;
mod lifecycle;
mod multi_instance;
mod ops;

#[test]
fn migrate_creates_the_schema_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let first = ok_json(d, &["migrate", "--json"], None);
    assert!(first["migrated"].as_str().unwrap().ends_with("tessera.db"));
    assert!(d.join("tessera-data/tessera.db").exists());
    ok_json(d, &["migrate", "--json"], None);
    let secret = tessera(d, &["gen-secret"], None);
    let text = String::from_utf8_lossy(&secret.stdout).trim().to_owned();
    assert_eq!(
        tessera_jose::b64::decode(text.as_bytes(), "secret")
            .unwrap()
            .len(),
        32
    );
}

/// `tessera serve` with these arguments and variables: its output up to the
/// "listening" line (then it is stopped).
fn serve_until_listening(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    use std::io::BufRead;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
    cmd.arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("TESSERA_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut seen = String::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("listening") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        seen.contains("listening"),
        "the server did not start:\n{seen}"
    );
    seen
}

#[test]
fn a_secret_on_the_command_line_is_warned_about_and_a_file_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let secret = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0";
    let out = serve_until_listening(d, &["--secret", secret], &[]);
    assert!(out.contains("--secret on the command line"), "{out}");
    assert!(!out.contains(secret), "the secret is logged:\n{out}");
    // From the environment or a file: no warning.
    let out = serve_until_listening(d, &[], &[("TESSERA_SECRET", secret)]);
    assert!(!out.contains("--secret on the command line"), "{out}");
    std::fs::write(d.join("secret.txt"), format!("{secret}\n")).unwrap();
    let out = serve_until_listening(d, &["--secret-file", "secret.txt"], &[]);
    assert!(!out.contains("--secret on the command line"), "{out}");
}

#[test]
fn clients_create_require_dpop_is_stored_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let secret = "svc-secret-0123456789abcdefghijklmnopqrstuvwxyz\n";
    let strict = ok_json(
        d,
        &[
            "clients",
            "create",
            "--id",
            "strict",
            "--secret-stdin",
            "--require-dpop",
            "--json",
        ],
        Some(secret),
    );
    assert_eq!(strict["require_dpop"], true);
    let plain = ok_json(
        d,
        &[
            "clients",
            "create",
            "--id",
            "plain",
            "--secret-stdin",
            "--json",
        ],
        Some(secret),
    );
    assert_eq!(plain["require_dpop"], false);
    let list = ok_json(d, &["clients", "list", "--json"], None);
    let by_id = |id: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()["require_dpop"]
            .clone()
    };
    assert_eq!(by_id("strict"), true);
    assert_eq!(by_id("plain"), false);
}

#[test]
fn clients_create_with_an_encrypted_id_token_key() {
    use tessera_jose::jwe::{DecryptionKey, KeyAlgorithm};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = DecryptionKey::generate_ecdh(KeyAlgorithm::EcdhEs, "P-256").unwrap();
    let public = key.encryption_key().to_jwk().unwrap().to_json();
    std::fs::write(d.join("rp.jwks"), format!(r#"{{"keys":[{public}]}}"#)).unwrap();
    let private = key.to_private_jwk().unwrap().to_json();
    std::fs::write(d.join("bad.jwks"), format!(r#"{{"keys":[{private}]}}"#)).unwrap();
    let secret = "svc-secret-0123456789abcdefghijklmnopqrstuvwxyz\n";
    let args = |id: &'static str, file: &'static str| {
        [
            "clients",
            "create",
            "--id",
            id,
            "--secret-stdin",
            "--redirect-uri",
            "https://rp.example/cb",
            "--id-token-encrypted-response-alg",
            "ECDH-ES",
            "--jwks-file",
            file,
            "--json",
        ]
    };
    let c = ok_json(d, &args("rp", "rp.jwks"), Some(secret));
    assert_eq!(c["id_token_encrypted_response_alg"], "ECDH-ES");
    assert_eq!(c["id_token_encrypted_response_enc"], "A128CBC-HS256");
    let out = tessera(d, &args("bad", "bad.jwks"), Some(secret));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("jwks") && err.contains("private"), "{err}");
}
