//! `tessera users disable|enable|delete|set-password` (issue 15).

use crate::{ok_json, tessera};

fn mail_kinds(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir.join("tessera-data/mail"))
        .map(|r| {
            r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn operators_disable_enable_set_passwords_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pw = Some("correct horse battery\n");
    let user = |args: &[&str], stdin: Option<&str>| {
        let mut all = vec!["users"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--email", "ada@example.com", "--json"]);
        ok_json(d, &all, stdin)
    };
    let created = ok_json(
        d,
        &[
            "users",
            "create",
            "--email",
            "ada@example.com",
            "--password-stdin",
            "--json",
        ],
        pw,
    );
    assert_eq!(user(&["disable"], None)["state"], "disabled");
    let list = ok_json(d, &["users", "list", "--json"], None);
    assert_eq!(list[0]["disabled"], true);
    assert_eq!(list[0]["email_verified"], false);
    assert_eq!(user(&["enable"], None)["state"], "enabled");
    let list = ok_json(d, &["users", "list", "--json"], None);
    assert_eq!(list[0]["disabled"], false);

    // The password comes from stdin only, and passes the policy.
    let no_stdin = tessera(
        d,
        &["users", "set-password", "--email", "ada@example.com"],
        None,
    );
    assert_eq!(no_stdin.status.code(), Some(2), "clap usage error");
    let weak = tessera(
        d,
        &[
            "users",
            "set-password",
            "--email",
            "ada@example.com",
            "--password-stdin",
        ],
        Some("short"),
    );
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("8 to 1024"));
    let set = user(
        &["set-password", "--password-stdin"],
        Some("a brand new passphrase\n"),
    );
    assert_eq!(set["state"], "password_set");
    assert!(
        mail_kinds(d)
            .iter()
            .any(|n| n.starts_with("password_changed")),
        "{:?}",
        mail_kinds(d)
    );

    assert_eq!(user(&["delete"], None)["state"], "deleted");
    assert!(mail_kinds(d)
        .iter()
        .any(|n| n.starts_with("account_deleted")));
    let list = ok_json(d, &["users", "list", "--json"], None);
    assert_eq!(list.as_array().unwrap().len(), 0);
    let missing = tessera(d, &["users", "disable", "--email", "ada@example.com"], None);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no user"));
    // The email registers again, as a new account.
    let again = ok_json(
        d,
        &[
            "users",
            "create",
            "--email",
            "ada@example.com",
            "--password-stdin",
            "--json",
        ],
        pw,
    );
    assert_ne!(again["id"], created["id"]);
}
