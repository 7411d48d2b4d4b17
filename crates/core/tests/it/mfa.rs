//! Multi-factor authentication (issue 17): TOTP enrolment and its rules
//! (drift, replay), recovery codes, the `mfa_token` second step of a login
//! and its bindings, `amr`/`auth_time` in every path, required enrolment,
//! recent authentication, the operator's reset, and the throttle.

use crate::{cfg, ctx, env, env_with, secret, Env, PASSWORD, T0};
use std::sync::Arc;
use tessera_core::mfa::totp;
use tessera_core::throttle::{Limiter, Throttle, ThrottleConfig};
use tessera_core::{App, ClientInfo, Error, MfaChallenge, MfaProof, TokenPair};
use tessera_jose::ManualClock;

const EMAIL: &str = "ada@example.com";

/// Enrols TOTP for the session of `pair`; answers the secret and the
/// recovery codes.
async fn enrol(env: &Env, pair: &TokenPair) -> (Vec<u8>, Vec<String>) {
    let who = env
        .auth
        .sessions
        .authenticate(&pair.access_token)
        .await
        .unwrap();
    let e = env.auth.mfa.begin_totp(&who, None, &ctx()).await.unwrap();
    assert!(e.otpauth_uri.starts_with("otpauth://totp/"));
    assert!(e.qr_svg.contains("<svg"));
    let secret = totp::base32_decode(&e.secret).unwrap();
    let code = totp::code_at(&secret, env.clock_now());
    let codes = env
        .auth
        .mfa
        .confirm_totp(&who, &code, &ctx())
        .await
        .unwrap();
    let codes = codes.0.iter().map(|c| c.to_string()).collect();
    (secret, codes)
}

async fn challenge(env: &Env, info: &ClientInfo) -> MfaChallenge {
    match env.auth.sessions.login(EMAIL, PASSWORD, info).await {
        Err(Error::MfaRequired(c)) => c,
        other => panic!("expected mfa_required, got {other:?}"),
    }
}

fn claims(token: &str) -> serde_json::Value {
    tessera_jose::dangerous::decode_unverified(token, &Default::default())
        .unwrap()
        .payload
}

#[tokio::test]
async fn totp_login_issues_mfa_amr_and_refresh_keeps_it() {
    let env = env().await;
    let first = env.user(EMAIL).await;
    let c = claims(&first.access_token);
    assert_eq!(c["amr"], serde_json::json!(["pwd"]));
    assert_eq!(c["auth_time"], T0);
    let (secret, codes) = enrol(&env, &first).await;
    assert_eq!(codes.len(), 10);
    let state = env.auth.mfa.state(&first.user_id).await.unwrap();
    assert!(state.totp);
    assert_eq!(state.recovery_codes_left, 10);

    env.at(100);
    let ch = challenge(&env, &ctx()).await;
    assert_eq!(ch.methods, ["totp", "recovery_code"]);
    assert!(!ch.enrollment);
    assert_eq!(ch.expires_in, 300);
    let code = totp::code_at(&secret, env.clock_now());
    let pair = env
        .auth
        .mfa
        .complete(&ch.mfa_token, MfaProof::Totp(&code), &ctx(), false)
        .await
        .unwrap();
    let c = claims(&pair.access_token);
    assert_eq!(c["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(c["auth_time"], T0 + 100);

    env.at(2000);
    let (next, _) = env
        .auth
        .sessions
        .refresh(&pair.refresh_token, &ctx())
        .await
        .unwrap();
    let c = claims(&next.access_token);
    assert_eq!(c["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(
        c["auth_time"],
        T0 + 100,
        "refresh keeps the session's auth_time"
    );

    let events = env.events().await;
    for e in ["mfa.enrolled", "mfa.required", "mfa.success"] {
        assert!(events.iter().any(|x| x == e), "{e} in {events:?}");
    }
}

#[tokio::test]
async fn drift_is_one_step_and_a_code_works_once() {
    let env = env().await;
    let first = env.user(EMAIL).await;
    let (secret, _) = enrol(&env, &first).await;
    env.at(3000);
    let now = env.clock_now();
    for d in [-2i64, 2] {
        let ch = challenge(&env, &ctx()).await;
        let code = totp::code_at(&secret, now + d * 30);
        let e = env
            .auth
            .mfa
            .complete(&ch.mfa_token, MfaProof::Totp(&code), &ctx(), false)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::InvalidMfaCode), "drift {d}: {e:?}");
    }
    // One step behind is accepted; then the current step; the same code
    // again (a replay), or the older one after a newer one, is refused.
    let behind = totp::code_at(&secret, now - 30);
    let ch = challenge(&env, &ctx()).await;
    env.auth
        .mfa
        .complete(&ch.mfa_token, MfaProof::Totp(&behind), &ctx(), false)
        .await
        .unwrap();
    let current = totp::code_at(&secret, now);
    let ch = challenge(&env, &ctx()).await;
    env.auth
        .mfa
        .complete(&ch.mfa_token, MfaProof::Totp(&current), &ctx(), false)
        .await
        .unwrap();
    for replay in [&current, &behind] {
        let ch = challenge(&env, &ctx()).await;
        let e = env
            .auth
            .mfa
            .complete(&ch.mfa_token, MfaProof::Totp(replay), &ctx(), false)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::InvalidMfaCode), "{e:?}");
    }
    // One step ahead is accepted.
    let ahead = totp::code_at(&secret, now + 30);
    let ch = challenge(&env, &ctx()).await;
    env.auth
        .mfa
        .complete(&ch.mfa_token, MfaProof::Totp(&ahead), &ctx(), false)
        .await
        .unwrap();
    assert!(env.events().await.iter().any(|e| e == "mfa.failure"));
}

#[tokio::test]
async fn recovery_codes_work_once_and_only_as_hashes() {
    let env = env().await;
    let first = env.user(EMAIL).await;
    let (_, codes) = enrol(&env, &first).await;
    let ch = challenge(&env, &ctx()).await;
    // Case and dashes do not matter.
    let typed = codes[3].to_uppercase().replace('-', " ");
    let pair = env
        .auth
        .mfa
        .complete(&ch.mfa_token, MfaProof::RecoveryCode(&typed), &ctx(), false)
        .await
        .unwrap();
    assert_eq!(
        claims(&pair.access_token)["amr"],
        serde_json::json!(["pwd", "otp", "mfa"])
    );
    let ch = challenge(&env, &ctx()).await;
    let e = env
        .auth
        .mfa
        .complete(
            &ch.mfa_token,
            MfaProof::RecoveryCode(&codes[3]),
            &ctx(),
            false,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidMfaCode), "{e:?}");
    let state = env.auth.mfa.state(&first.user_id).await.unwrap();
    assert_eq!(state.recovery_codes_left, 9);
    // The store keeps hashes only, and the TOTP secret sealed.
    let stored = env
        .store
        .unused_recovery_codes(&first.user_id)
        .await
        .unwrap();
    assert!(stored.iter().all(|h| h.len() == 32));
    assert!(!stored.iter().any(|h| h == codes[0].as_bytes()));
    let events = env.events().await;
    assert!(events.iter().any(|e| e == "mfa.recovery_code_used"));
}

#[tokio::test]
async fn the_totp_secret_is_sealed_at_rest() {
    let env = env().await;
    let first = env.user(EMAIL).await;
    let (secret, _) = enrol(&env, &first).await;
    let f = env.store.factors(&first.user_id).await.unwrap();
    assert_eq!(f.len(), 1);
    assert!(f[0].confirmed_at.is_some());
    assert!(!f[0]
        .secret
        .windows(secret.len())
        .any(|w| w == secret.as_slice()));
}

#[tokio::test]
async fn the_mfa_token_is_single_use_short_lived_and_bound_to_its_login() {
    let env = env().await;
    let first = env.user(EMAIL).await;
    let (secret, _) = enrol(&env, &first).await;
    env.at(600);
    // Spent by its success: a replay is refused.
    let ch = challenge(&env, &ctx()).await;
    let code = totp::code_at(&secret, env.clock_now());
    env.auth
        .mfa
        .complete(&ch.mfa_token, MfaProof::Totp(&code), &ctx(), false)
        .await
        .unwrap();
    let next = totp::code_at(&secret, env.clock_now() + 30);
    let e = env
        .auth
        .mfa
        .complete(&ch.mfa_token, MfaProof::Totp(&next), &ctx(), false)
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "mfa_token is invalid: already used");
    // Expired after five minutes.
    env.at(1200);
    let ch = challenge(&env, &ctx()).await;
    env.at(1200 + 300);
    let code = totp::code_at(&secret, env.clock_now());
    let e = env
        .auth
        .mfa
        .complete(&ch.mfa_token, MfaProof::Totp(&code), &ctx(), false)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidMfaToken(_)), "{e:?}");
    assert!(e.to_string().contains("expired"));
    // Unknown and malformed tokens.
    for junk in ["", "x", &"A".repeat(43)] {
        let e = env
            .auth
            .mfa
            .complete(junk, MfaProof::Totp("123456"), &ctx(), false)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::InvalidMfaToken(_)), "{e:?}");
    }
    // Bound to the DPoP key, the cookie mode and the OAuth client.
    let ch = challenge(&env, &ctx()).await;
    let keyed = ClientInfo {
        dpop_jkt: Some("k".repeat(43)),
        ..ctx()
    };
    let client = ClientInfo {
        oauth_client: Some("app".into()),
        ..ctx()
    };
    for (info, cookie) in [(&keyed, false), (&ctx(), true), (&client, false)] {
        let e = env
            .auth
            .mfa
            .complete(&ch.mfa_token, MfaProof::Totp("000000"), info, cookie)
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidInput {
                    field: "mfa_token",
                    ..
                }
            ),
            "{e:?}"
        );
    }
    // A token earned with a DPoP key completes with that key, bound.
    let ch = challenge(&env, &keyed).await;
    let code = totp::code_at(&secret, env.clock_now() + 30);
    let pair = env
        .auth
        .mfa
        .complete(&ch.mfa_token, MfaProof::Totp(&code), &keyed, false)
        .await
        .unwrap();
    assert!(pair.dpop);
    assert_eq!(claims(&pair.access_token)["cnf"]["jkt"], "k".repeat(43));
}

#[tokio::test]
async fn another_users_code_does_not_complete_a_token() {
    let env = env().await;
    let ada = env.user(EMAIL).await;
    enrol(&env, &ada).await;
    let bob = env.user("bob@example.com").await;
    let (bob_secret, bob_codes) = enrol(&env, &bob).await;
    env.at(60);
    let ch = challenge(&env, &ctx()).await;
    let code = totp::code_at(&bob_secret, env.clock_now());
    for proof in [MfaProof::Totp(&code), MfaProof::RecoveryCode(&bob_codes[0])] {
        let e = env
            .auth
            .mfa
            .complete(&ch.mfa_token, proof, &ctx(), false)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::InvalidMfaCode), "{e:?}");
    }
}

#[tokio::test]
async fn changes_need_a_recent_sign_in_or_the_password() {
    let env = env().await;
    let first = env.user(EMAIL).await;
    env.at(601);
    let who = env
        .auth
        .sessions
        .authenticate(&first.access_token)
        .await
        .unwrap();
    let e = env
        .auth
        .mfa
        .begin_totp(&who, None, &ctx())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::ReauthenticationRequired), "{e:?}");
    let e = env
        .auth
        .mfa
        .begin_totp(&who, Some("wrong password"), &ctx())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidCredentials), "{e:?}");
    env.auth
        .mfa
        .begin_totp(&who, Some(PASSWORD), &ctx())
        .await
        .unwrap();
    // Nothing counts before the confirmation: the password alone still signs in.
    env.auth
        .sessions
        .login(EMAIL, PASSWORD, &ctx())
        .await
        .unwrap();
    let e = env
        .auth
        .mfa
        .regenerate_recovery_codes(&who, None, &ctx())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::ReauthenticationRequired), "{e:?}");
}

#[tokio::test]
async fn removing_totp_and_the_operators_reset() {
    let env = env().await;
    let first = env.user(EMAIL).await;
    let (secret, _) = enrol(&env, &first).await;
    let who = env
        .auth
        .sessions
        .authenticate(&first.access_token)
        .await
        .unwrap();
    env.at(30);
    let e = env
        .auth
        .mfa
        .remove_totp(&who, Some("000000"), None, &ctx())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidMfaCode), "{e:?}");
    let code = totp::code_at(&secret, env.clock_now());
    env.auth
        .mfa
        .remove_totp(&who, Some(&code), None, &ctx())
        .await
        .unwrap();
    let st = env.auth.mfa.state(&first.user_id).await.unwrap();
    assert!(!st.totp && st.recovery_codes_left == 0);
    env.auth
        .sessions
        .login(EMAIL, PASSWORD, &ctx())
        .await
        .unwrap();

    env.at(40);
    let again = env.login(EMAIL).await;
    enrol(&env, &again).await;
    assert_eq!(env.auth.mfa.reset(&first.user_id, &ctx()).await.unwrap(), 1);
    env.auth
        .sessions
        .login(EMAIL, PASSWORD, &ctx())
        .await
        .unwrap();
    assert!(env.events().await.iter().any(|e| e == "mfa.reset"));
    assert!(matches!(
        env.auth.mfa.reset("nobody", &ctx()).await,
        Err(Error::NotFound(_))
    ));
}

#[tokio::test]
async fn required_mfa_makes_the_next_login_enrol() {
    let mut c = cfg();
    c.mfa.required_roles = vec!["admin".into()];
    let env = env_with(c).await;
    env.user("plain@example.com").await;
    env.auth
        .accounts
        .register(EMAIL, PASSWORD, &ctx())
        .await
        .unwrap();
    let ada = env.store.user_by_email(EMAIL).await.unwrap().unwrap();
    env.store
        .set_roles(&ada.id, &["admin".into()])
        .await
        .unwrap();
    let ch = challenge(&env, &ctx()).await;
    assert!(ch.enrollment);
    assert_eq!(ch.methods, ["totp"]);
    // The enrolment token does not complete a login by itself.
    let e = env
        .auth
        .mfa
        .complete(&ch.mfa_token, MfaProof::Totp("000000"), &ctx(), false)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidMfaToken(_)), "{e:?}");
    let e = env
        .auth
        .mfa
        .begin_totp_with_token(&ch.mfa_token, &ctx(), false)
        .await
        .unwrap();
    let secret = totp::base32_decode(&e.secret).unwrap();
    let code = totp::code_at(&secret, env.clock_now());
    let (codes, pair) = env
        .auth
        .mfa
        .confirm_totp_with_token(&ch.mfa_token, &code, &ctx(), false)
        .await
        .unwrap();
    assert_eq!(codes.0.len(), 10);
    assert_eq!(
        claims(&pair.access_token)["amr"],
        serde_json::json!(["pwd", "otp", "mfa"])
    );
    // Spent; and the next login asks for the factor.
    assert!(env
        .auth
        .mfa
        .begin_totp_with_token(&ch.mfa_token, &ctx(), false)
        .await
        .is_err());
    let next = challenge(&env, &ctx()).await;
    assert!(!next.enrollment);
    // Users without the role are not asked.
    env.auth
        .sessions
        .login("plain@example.com", PASSWORD, &ctx())
        .await
        .unwrap();
}

#[tokio::test]
async fn wrong_codes_are_throttled_like_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let store = tessera_store::open(None, dir.path()).await.unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let limiter = Limiter::Memory(Throttle::new(ThrottleConfig::default()));
    let app = App::new(store, secret(), cfg(), limiter, clock)
        .await
        .unwrap();
    app.accounts
        .register(EMAIL, PASSWORD, &ctx())
        .await
        .unwrap();
    let pair = app.sessions.login(EMAIL, PASSWORD, &ctx()).await.unwrap();
    let who = app.sessions.authenticate(&pair.access_token).await.unwrap();
    let e = app.mfa.begin_totp(&who, None, &ctx()).await.unwrap();
    let secret = totp::base32_decode(&e.secret).unwrap();
    let code = totp::code_at(&secret, T0);
    app.mfa.confirm_totp(&who, &code, &ctx()).await.unwrap();
    let token = match app.sessions.login(EMAIL, PASSWORD, &ctx()).await {
        Err(Error::MfaRequired(c)) => c.mfa_token,
        other => panic!("{other:?}"),
    };
    let mut refused = None;
    for i in 0..10 {
        match app
            .mfa
            .complete(&token, MfaProof::Totp("000000"), &ctx(), false)
            .await
        {
            Err(Error::InvalidMfaCode) => {}
            Err(Error::TooManyRequests(_)) => {
                refused = Some(i);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    let i = refused.expect("the throttle refuses a brute force");
    assert!(i <= 6, "refused after {i} failures");
    // Even the right code waits.
    let right = totp::code_at(&secret, T0 + 30);
    assert!(matches!(
        app.mfa
            .complete(&token, MfaProof::Totp(&right), &ctx(), false)
            .await,
        Err(Error::TooManyRequests(_))
    ));
}
