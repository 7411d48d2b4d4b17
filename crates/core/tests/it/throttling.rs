//! The abuse rules that live in the services: login backoff (before any
//! password work), the per-IP registration and refresh rate limits, and the
//! OAuth token endpoint's grants going through the same rules.

use crate::{cfg, ctx, secret, PASSWORD, T0};
use std::sync::Arc;
use tessera_core::oauth::{Grant, Granted};
use tessera_core::throttle::{Limiter, RetryAfter, Throttle, ThrottleConfig};
use tessera_core::{App, Error};
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
