//! Registration, login, email normalisation, password rules.

use crate::{cfg, claims, ctx, env, env_with, generation, PASSWORD, T0};
use tessera_core::{AuthConfig, Error};
use tessera_jose::{dangerous, Limits};

fn field_error(e: Error) -> &'static str {
    match e {
        Error::InvalidInput { field, .. } => field,
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[tokio::test]
async fn register_then_login_issues_a_complete_pair() {
    let env = env().await;
    let user = env
        .auth
        .accounts
        .register("ada@example.com", PASSWORD, &ctx())
        .await
        .unwrap();
    assert_eq!(user.email, "ada@example.com");
    assert_eq!(user.created_at, T0);
    assert!(user.roles.is_empty());
    assert!(user
        .password_hash
        .starts_with("$argon2id$v=19$m=256,t=1,p=1$"));

    let pair = env.login("ada@example.com").await;
    assert_eq!(pair.user_id, user.id);
    assert_eq!(pair.expires_in, 900);
    // Idle expiry (7 days) comes before the absolute one (30 days).
    assert_eq!(pair.refresh_token_expires_in, 7 * 24 * 3600);

    // Access token: typ at+jwt and every claim of the spec.
    let parts = dangerous::decode_unverified(&pair.access_token, &Limits::default()).unwrap();
    assert_eq!(parts.header.typ(), Some("at+jwt"));
    let c = claims(&pair.access_token);
    assert_eq!(c["iss"], "http://127.0.0.1:8080");
    assert_eq!(c["aud"], "tessera");
    assert_eq!(c["sub"], user.id.as_str());
    assert_eq!(c["iat"], T0);
    assert_eq!(c["exp"], T0 + 900);
    assert_eq!(c["sid"], pair.session_id.as_str());
    assert_eq!(c["roles"], serde_json::json!([]));
    assert!(c["jti"].as_str().is_some_and(|j| j.len() >= 16));

    // Refresh token: tsr_ + 56 bytes, generation 0, stored only as a hash.
    assert!(pair.refresh_token.starts_with("tsr_"));
    assert_eq!(pair.refresh_token.len(), 4 + 75);
    assert_eq!(generation(&pair.refresh_token), 0);
    let session = env.session(&pair.session_id).await;
    assert_eq!(session.user_id, user.id);
    assert_eq!(session.generation, 0);
    assert_eq!(session.expires_at, T0 + 30 * 24 * 3600);
    assert_eq!(session.idle_expires_at, T0 + 7 * 24 * 3600);
    assert_eq!(session.user_agent.as_deref(), Some("tests/1.0"));
    assert_eq!(session.ip.as_deref(), Some("203.0.113.9"));
    let raw = crate::raw(&pair.refresh_token);
    assert_eq!(
        session.token_hash,
        tessera_jose::crypto::sha256(&raw).to_vec()
    );
    assert_ne!(session.token_hash, raw);

    let me = env
        .auth
        .sessions
        .authenticate(&pair.access_token)
        .await
        .unwrap();
    assert_eq!(me.user_id(), user.id);
    assert_eq!(me.session_id(), Some(pair.session_id.as_str()));

    // A second login is a second, unrelated session.
    let again = env.login("ada@example.com").await;
    assert_ne!(again.session_id, pair.session_id);
    assert_ne!(*again.refresh_token, *pair.refresh_token);
    assert_ne!(crate::raw(&again.refresh_token)[24..], raw[24..]);

    let events = env.events().await;
    assert_eq!(
        events,
        ["user.registered", "login.success", "login.success"]
    );
}

#[tokio::test]
async fn duplicate_email_is_refused_whatever_its_case() {
    let env = env().await;
    env.auth
        .accounts
        .register("ada@example.com", PASSWORD, &ctx())
        .await
        .unwrap();
    for dup in ["ada@example.com", "ADA@Example.com", "  ada@example.com\t"] {
        assert_eq!(
            crate::key(
                &env.auth
                    .accounts
                    .register(dup, "another password", &ctx())
                    .await
                    .unwrap_err()
            ),
            crate::key(&Error::EmailTaken),
            "{dup:?}"
        );
    }
    assert_eq!(
        crate::key(
            &env.auth
                .accounts
                .create_user("Ada@example.com", PASSWORD, &[])
                .await
                .unwrap_err()
        ),
        crate::key(&Error::EmailTaken)
    );
}

#[tokio::test]
async fn emails_are_trimmed_and_case_insensitive() {
    let env = env().await;
    let user = env
        .auth
        .accounts
        .register("  Ada.Lovelace@Example.COM \n", PASSWORD, &ctx())
        .await
        .unwrap();
    assert_eq!(user.email, "ada.lovelace@example.com");
    for spelling in [
        "ada.lovelace@example.com",
        "ADA.LOVELACE@EXAMPLE.COM",
        "  ada.lovelace@Example.com  ",
    ] {
        let pair = env
            .auth
            .sessions
            .login(spelling, PASSWORD, &ctx())
            .await
            .unwrap();
        assert_eq!(pair.user_id, user.id, "{spelling:?}");
    }
    let found = env
        .auth
        .accounts
        .user_by_email(" ADA.lovelace@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, user.id);

    for bad in [
        "",
        "   ",
        "no-at-sign",
        "@example.com",
        "ada@",
        "ada@.example.com",
        "ada@example.com.",
        "ada lovelace@example.com",
        "ada\u{0}@example.com",
    ] {
        let e = env
            .auth
            .accounts
            .register(bad, PASSWORD, &ctx())
            .await
            .unwrap_err();
        assert_eq!(field_error(e), "email", "{bad:?}");
    }
    let long = format!("{}@example.com", "a".repeat(243));
    assert_eq!(long.len(), 255);
    let e = env
        .auth
        .accounts
        .register(&long, PASSWORD, &ctx())
        .await
        .unwrap_err();
    assert_eq!(field_error(e), "email");
    let just_fits = format!("{}@example.com", "a".repeat(242));
    env.auth
        .accounts
        .register(&just_fits, PASSWORD, &ctx())
        .await
        .unwrap();
}

#[tokio::test]
async fn passwords_are_8_to_1024_characters() {
    let env = env().await;
    let cases: [(String, bool); 8] = [
        ("".into(), false),
        ("1234567".into(), false),
        ("1234567x".into(), true),
        ("x".repeat(1024), true),
        ("x".repeat(1025), false),
        // Characters, not bytes: 7 two-byte characters are too short...
        ("é".repeat(7), false),
        // ...and 8 of them (16 bytes) are enough.
        ("é".repeat(8), true),
        // 1024 four-byte characters (4096 bytes) are still allowed.
        ("🦀".repeat(1024), true),
    ];
    for (i, (pw, ok)) in cases.iter().enumerate() {
        let email = format!("user{i}@example.com");
        let got = env.auth.accounts.register(&email, pw, &ctx()).await;
        if *ok {
            got.unwrap();
            env.auth.sessions.login(&email, pw, &ctx()).await.unwrap();
        } else {
            assert_eq!(field_error(got.unwrap_err()), "password", "case {i}");
            assert!(env
                .auth
                .accounts
                .user_by_email(&email)
                .await
                .unwrap()
                .is_none());
        }
    }
}

#[tokio::test]
async fn closed_registration_refuses_self_service_but_not_operators() {
    let env = env_with(AuthConfig {
        registration_open: false,
        ..cfg()
    })
    .await;
    assert_eq!(
        crate::key(
            &env.auth
                .accounts
                .register("ada@example.com", PASSWORD, &ctx())
                .await
                .unwrap_err()
        ),
        crate::key(&Error::RegistrationClosed)
    );
    assert!(env
        .auth
        .accounts
        .user_by_email("ada@example.com")
        .await
        .unwrap()
        .is_none());
    let admin = env
        .auth
        .accounts
        .create_user("root@example.com", PASSWORD, &["admin".to_owned()])
        .await
        .unwrap();
    assert_eq!(admin.roles, ["admin"]);
    let pair = env.login("root@example.com").await;
    let me = env
        .auth
        .sessions
        .authenticate(&pair.access_token)
        .await
        .unwrap();
    assert!(me.has_role("admin"));
    assert!(!env.events().await.contains(&"user.registered".to_owned()));
}

#[tokio::test]
async fn wrong_password_and_unknown_email_are_indistinguishable() {
    let env = env().await;
    let user = env
        .auth
        .accounts
        .register("ada@example.com", PASSWORD, &ctx())
        .await
        .unwrap();
    let checks = env.auth.sessions.password_checks();
    let wrong = env
        .auth
        .sessions
        .login("ada@example.com", "not the password", &ctx())
        .await
        .unwrap_err();
    let unknown = env
        .auth
        .sessions
        .login("bob@example.com", PASSWORD, &ctx())
        .await
        .unwrap_err();
    let malformed = env
        .auth
        .sessions
        .login("not an email", PASSWORD, &ctx())
        .await
        .unwrap_err();
    // The dummy hash's password must not open unknown accounts either.
    let dummy = env
        .auth
        .sessions
        .login("bob@example.com", "tessera-dummy-password", &ctx())
        .await
        .unwrap_err();
    // Case differences in the password matter.
    let case = env
        .auth
        .sessions
        .login("ada@example.com", &PASSWORD.to_uppercase(), &ctx())
        .await
        .unwrap_err();
    for e in [&wrong, &unknown, &malformed, &dummy, &case] {
        assert_eq!(crate::key(e), crate::key(&Error::InvalidCredentials));
    }
    assert_eq!(wrong.to_string(), unknown.to_string());
    // Every attempt, known account or not, cost one password hash.
    assert_eq!(env.auth.sessions.password_checks() - checks, 5);

    // Failures from one address fold by account: the two at ada's, the
    // three at no account.
    let audit = env.store.audit_after(0, 100).await.unwrap();
    let failures: Vec<_> = audit
        .iter()
        .filter(|r| r.event.event == "login.failure")
        .map(|r| (r.event.user_id.as_deref(), r.count))
        .collect();
    assert_eq!(failures, [(Some(user.id.as_str()), 2), (None, 3)]);
    let audit = env.audit().await;
    // No session was created by any failure.
    assert!(!audit.iter().any(|e| e.event == "login.success"));
}

#[tokio::test]
async fn failed_logins_fold_per_hour_and_old_audit_entries_expire() {
    let env = env().await;
    env.auth
        .accounts
        .register("ada@example.com", PASSWORD, &ctx())
        .await
        .unwrap();
    let who = ctx();
    let fail = |at: i64| {
        env.at(at);
        env.auth
            .sessions
            .login_unthrottled("ada@example.com", "wrong", &who)
    };
    for at in [0, 10, 3_599] {
        fail(at).await.unwrap_err();
    }
    // An hour after the entry began, a new one starts.
    fail(3_601).await.unwrap_err();
    let rows = |e: &crate::Env| {
        let store = e.store.clone();
        async move {
            store
                .audit_after(0, 100)
                .await
                .unwrap()
                .into_iter()
                .filter(|r| r.event.event == "login.failure")
                .map(|r| {
                    (
                        r.event.at - crate::T0,
                        r.count,
                        r.last_at.map(|t| t - crate::T0),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(rows(&env).await, [(0, 3, Some(3_599)), (3_601, 1, None)]);

    // 90 days (the default retention) after the first entry's last failure,
    // maintenance deletes it and keeps the younger one.
    let day = 86_400;
    env.at(3_599 + 90 * day);
    env.auth.maintenance.run().await.unwrap();
    assert_eq!(
        rows(&env).await.len(),
        2,
        "not older than the retention yet"
    );
    env.at(3_600 + 90 * day);
    env.auth.maintenance.run().await.unwrap();
    assert_eq!(rows(&env).await, [(3_601, 1, None)]);
    assert!(
        !env.events().await.contains(&"user.registered".to_owned()),
        "the registration is older still"
    );
}
