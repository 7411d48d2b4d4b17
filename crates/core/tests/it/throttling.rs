//! The abuse rules that live in the services: login backoff (before any
//! password work), the per-IP registration and refresh rate limits, and the
//! OAuth token endpoint's grants going through the same rules.

use crate::{cfg, ctx, secret, PASSWORD, T0};
use std::sync::Arc;
use tessera_core::oauth::{Grant, Granted};
use tessera_core::throttle::{Limiter, RetryAfter, SharedThrottle, Throttle, ThrottleConfig};
use tessera_core::{App, ClientInfo, Error};
use tessera_jose::ManualClock;

async fn app(throttle: ThrottleConfig) -> (App, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = tessera_store::open(None, dir.path()).await.unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let limiter = Limiter::Memory(Throttle::new(throttle));
    let app = App::new(store, secret(), cfg(), limiter, clock)
        .await
        .unwrap();
    (app, dir)
}

fn retry_after(e: Error) -> u64 {
    match e {
        Error::TooManyRequests(RetryAfter(s)) => s,
        other => panic!("expected TooManyRequests, got {other:?}"),
    }
}

#[tokio::test]
async fn login_backs_off_per_account_before_any_password_work() {
    let (app, _dir) = app(ThrottleConfig::default()).await;
    app.accounts
        .register("ada@example.com", PASSWORD, &ctx())
        .await
        .unwrap();
    for _ in 0..5 {
        let e = app
            .sessions
            .login("ada@example.com", "wrong password", &ctx())
            .await
            .unwrap_err();
        assert!(matches!(e, Error::InvalidCredentials), "{e:?}");
    }
    // The sixth failure blocks; then even the right password waits, and an
    // unknown account's key behaves the same (same normalised key).
    let e = app
        .sessions
        .login("ada@example.com", "wrong password", &ctx())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidCredentials), "{e:?}");
    let e = app
        .sessions
        .login("  ADA@example.com", PASSWORD, &ctx())
        .await
        .unwrap_err();
    assert_eq!(retry_after(e), 1);
    // Operators' in-process logins are not throttled.
    app.sessions
        .login_unthrottled("ada@example.com", PASSWORD, &ctx())
        .await
        .unwrap();
}

#[tokio::test]
async fn registration_and_refresh_are_rate_limited_per_ip() {
    let (app, _dir) = app(ThrottleConfig {
        register_per_minute: 1,
        refresh_per_minute: 1,
        ..ThrottleConfig::default()
    })
    .await;
    app.accounts
        .register("ada@example.com", PASSWORD, &ctx())
        .await
        .unwrap();
    let e = app
        .accounts
        .register("bob@example.com", PASSWORD, &ctx())
        .await
        .unwrap_err();
    assert_eq!(retry_after(e), 60);
    let pair = app
        .sessions
        .login("ada@example.com", PASSWORD, &ctx())
        .await
        .unwrap();
    let (next, _) = app
        .sessions
        .refresh(&pair.refresh_token, &ctx())
        .await
        .unwrap();
    let e = app
        .sessions
        .refresh(&next.refresh_token, &ctx())
        .await
        .unwrap_err();
    assert_eq!(retry_after(e), 60);
    // The token endpoint's refresh grant shares the bucket, and is refused
    // before its parameters are looked at.
    let grant = Grant::RefreshToken {
        refresh_token: None,
        scope: None,
    };
    let e = app.oauth.exchange(None, grant, &ctx()).await.unwrap_err();
    assert_eq!(retry_after(e), 60);
}

#[tokio::test]
async fn the_token_endpoint_checks_in_the_documented_order() {
    let (app, _dir) = app(ThrottleConfig::default()).await;
    let secret = "s".repeat(40);
    let client = app
        .clients
        .create(
            "svc",
            &secret,
            &["read".into()],
            &["client_credentials".into()],
        )
        .await
        .unwrap();
    let params = |pairs: &'static [(&'static str, &'static str)]| {
        Grant::from_params(move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| *v))
    };
    let cases: [(&'static [(&str, &str)], &str); 6] = [
        (&[], "missing parameter `grant_type`"),
        (&[("grant_type", "")], "missing parameter `grant_type`"),
        (
            &[("grant_type", "implicit")],
            "grant_type must be password, refresh_token or client_credentials",
        ),
        // The client's grants are checked before the parameters.
        (
            &[("grant_type", "password")],
            "unauthorized client: the client may not use this grant type",
        ),
        (
            &[("grant_type", "client_credentials"), ("scope", "write")],
            "invalid scope: `write` is not allowed for this client",
        ),
        (
            &[("grant_type", "refresh_token"), ("scope", "read")],
            "unauthorized client: the client may not use this grant type",
        ),
    ];
    for (pairs, want) in cases {
        let e = app
            .oauth
            .exchange(Some(&client), params(pairs), &ctx())
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), want, "{pairs:?}");
    }
    // Without a client: the parameters, then the scope rule.
    let e = app
        .oauth
        .exchange(None, params(&[("grant_type", "password")]), &ctx())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::MissingParameter("username")), "{e:?}");
    let e = app
        .oauth
        .exchange(
            None,
            params(&[("grant_type", "password"), ("scope", " x ")]),
            &ctx(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidScope(_)), "{e:?}");
    let e = app
        .oauth
        .exchange(
            None,
            params(&[("grant_type", "client_credentials")]),
            &ctx(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::ClientAuthenticationRequired), "{e:?}");
    // And a grant that passes.
    let granted = app
        .oauth
        .exchange(
            Some(&client),
            params(&[("grant_type", "client_credentials"), ("scope", "  ")]),
            &ctx(),
        )
        .await
        .unwrap();
    match granted {
        Granted::Client(t) => assert_eq!(t.scope, "read"),
        other => panic!("not a client token: {other:?}"),
    }
}

/// Every throttle backend over a fresh store: memory, the database's
/// key-value (SQLite, or PostgreSQL with `TESSERA_TEST_BACKEND=postgres`),
/// and Redis when `TESSERA_TEST_REDIS_URL` is set.
async fn backends() -> Vec<(&'static str, App, tempfile::TempDir)> {
    let mut out = Vec::new();
    for name in ["memory", "database", "redis"] {
        let dir = tempfile::tempdir().unwrap();
        let url = tessera_store::testing::fresh_database_url().await.unwrap();
        let store = tessera_store::open(url.as_deref(), dir.path())
            .await
            .unwrap();
        let limits = ThrottleConfig::default();
        let limiter = match name {
            "memory" => Limiter::Memory(Throttle::new(limits)),
            "database" => Limiter::Shared(SharedThrottle::new(store.clone().into_kv(), limits)),
            _ => {
                let Ok(redis) = std::env::var("TESSERA_TEST_REDIS_URL") else {
                    eprintln!("skipped: Redis throttle (set TESSERA_TEST_REDIS_URL to run it)");
                    continue;
                };
                let n = tessera_jose::crypto::random_bytes(8).unwrap();
                let prefix = format!("tessera:test:{}:", tessera_jose::b64::encode(&n));
                let kv = tessera_store::RedisKv::connect(&redis, &prefix)
                    .await
                    .unwrap();
                Limiter::Shared(SharedThrottle::new(Arc::new(kv), limits))
            }
        };
        let clock = Arc::new(ManualClock::new(T0));
        let app = App::new(store, secret(), cfg(), limiter, clock)
            .await
            .unwrap();
        out.push((name, app, dir));
    }
    out
}

fn from(ip: String) -> ClientInfo {
    ClientInfo {
        ip: Some(ip),
        ..ClientInfo::default()
    }
}

/// `n` wrong-password logins at once, at `email(i)` from `ip(i)`; how many
/// passwords were checked.
async fn burst(
    app: &App,
    n: usize,
    email: impl Fn(usize) -> String,
    ip: impl Fn(usize) -> String,
) -> u64 {
    let before = app.sessions.password_checks();
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (sessions, barrier) = (app.sessions.clone(), barrier.clone());
            let (email, ip) = (email(i), ip(i));
            tokio::spawn(async move {
                barrier.wait().await;
                sessions.login(&email, "wrong password", &from(ip)).await
            })
        })
        .collect();
    for t in tasks {
        match t.await.unwrap() {
            Err(Error::InvalidCredentials | Error::TooManyRequests(_)) => {}
            other => panic!("{other:?}"),
        }
    }
    app.sessions.password_checks() - before
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_guesses_meet_the_account_and_ip_limits_on_every_backend() {
    for (name, app, _dir) in backends().await {
        app.accounts
            .create_user("victim@example.com", PASSWORD, &[])
            .await
            .unwrap();
        // 48 guesses at one account, each from its own address: 5 free
        // failures and the one that starts the backoff.
        let checks = burst(
            &app,
            48,
            |_| "victim@example.com".into(),
            |i| format!("198.51.100.{i}"),
        )
        .await;
        assert_eq!(checks, 6, "{name}: account");
        // 60 guesses from one address at 60 accounts: 50 free, and one more.
        let checks = burst(
            &app,
            60,
            |i| format!("probe{i}@example.com"),
            |_| "192.0.2.1".into(),
        )
        .await;
        assert_eq!(checks, 51, "{name}: IP");
    }
}

#[tokio::test]
async fn an_owner_logs_in_from_a_known_address_while_an_attacker_is_held_back() {
    for (name, app, _dir) in backends().await {
        app.accounts
            .create_user("owner@example.com", PASSWORD, &[])
            .await
            .unwrap();
        let owner = || from("2001:db8:7:7::1".into());
        app.sessions
            .login("owner@example.com", PASSWORD, &owner())
            .await
            .unwrap();
        // The attacker, from A, locks the account out for anyone new.
        let attacker = || from("203.0.113.66".into());
        for _ in 0..8 {
            let _ = app
                .sessions
                .login("owner@example.com", "guess", &attacker())
                .await;
        }
        let e = app
            .sessions
            .login("owner@example.com", PASSWORD, &attacker())
            .await
            .unwrap_err();
        assert!(matches!(e, Error::TooManyRequests(_)), "{name}: {e:?}");
        let e = app
            .sessions
            .login("owner@example.com", PASSWORD, &from("198.51.100.9".into()))
            .await
            .unwrap_err();
        assert!(
            matches!(e, Error::TooManyRequests(_)),
            "{name}: new IP {e:?}"
        );
        // The owner, from B's /64, is not.
        let laptop = from("2001:db8:7:7:abcd::2".into());
        app.sessions
            .login("owner@example.com", PASSWORD, &laptop)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        // And an operator can lift the lockout for everyone.
        app.accounts
            .unlock("owner@example.com", &ClientInfo::default())
            .await
            .unwrap();
        app.sessions
            .login("owner@example.com", PASSWORD, &from("198.51.100.9".into()))
            .await
            .unwrap_or_else(|e| panic!("{name}: after unlock {e:?}"));
        let e = app
            .accounts
            .unlock("nobody@example.com", &ClientInfo::default())
            .await
            .unwrap_err();
        assert!(matches!(e, Error::NotFound(_)), "{e:?}");
        let audit = app.audit.after(0, 100).await.unwrap();
        assert!(
            audit.iter().any(|r| r.event.event == "account.unlocked"),
            "{name}"
        );
        // The attacker's eight failures are one audit entry.
        let failures: Vec<_> = audit
            .iter()
            .filter(|r| r.event.event == "login.failure")
            .collect();
        assert_eq!(failures.len(), 1, "{name}: {failures:?}");
        assert_eq!(failures[0].count, 6, "{name}: six were checked");
    }
}
