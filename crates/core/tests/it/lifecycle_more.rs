//! The account lifecycle, continued: enumeration and floods, email change,
//! deletion, disabling, and the operator's actions.

use crate::lifecycle::{invalid, mail_env, mail_env_with, tight, token_of, NEW_PASSWORD};
use crate::{cfg, ctx, PASSWORD};
use tessera_core::mail::MailKind;
use tessera_core::{ClientInfo, Error};

fn from(ip: &str) -> ClientInfo {
    ClientInfo {
        ip: Some(ip.into()),
        ..ClientInfo::default()
    }
}

#[tokio::test]
async fn forgot_password_answers_alike_for_any_email_and_floods_are_limited() {
    let env = mail_env_with(cfg(), tight()).await;
    env.register("ada@example.com").await;
    let l = &env.app.lifecycle;
    let known = l
        .forgot_password("ada@example.com", &from("192.0.2.1"))
        .await;
    let unknown = l
        .forgot_password("nobody@example.com", &from("192.0.2.2"))
        .await;
    assert!(known.is_ok() && unknown.is_ok(), "{known:?} {unknown:?}");
    let mail = env.mail().await;
    assert!(mail.iter().all(|m| m.to != "nobody@example.com"));
    assert_eq!(
        mail.iter()
            .filter(|m| m.kind == MailKind::PasswordReset)
            .count(),
        1
    );
    // Per email (3 an hour), from many addresses, known or not: the same.
    for email in ["ada@example.com", "nobody@example.com"] {
        for i in 0..2 {
            let r = l
                .forgot_password(email, &from(&format!("198.51.100.{i}")))
                .await;
            assert!(r.is_ok(), "{email} {i}: {r:?}");
        }
        let r = l.forgot_password(email, &from("198.51.100.9")).await;
        assert!(
            matches!(r, Err(Error::TooManyRequests(_))),
            "{email}: {r:?}"
        );
    }
    // Per IP (5 a minute), over many emails.
    for i in 0..5 {
        let r = l
            .forgot_password(&format!("u{i}@example.com"), &from("203.0.113.50"))
            .await;
        assert!(r.is_ok(), "{i}: {r:?}");
    }
    let r = l
        .forgot_password("u9@example.com", &from("203.0.113.50"))
        .await;
    assert!(matches!(r, Err(Error::TooManyRequests(_))), "{r:?}");
    // Malformed is a 400, whatever the accounts.
    let r = l.forgot_password("not an email", &from("192.0.2.3")).await;
    assert!(matches!(r, Err(Error::InvalidInput { .. })), "{r:?}");
}

#[tokio::test]
async fn wrong_current_passwords_are_throttled_like_logins() {
    let env = mail_env_with(cfg(), tight()).await;
    let pair = env.register("ada@example.com").await;
    let who = env.principal(&pair).await;
    let l = &env.app.lifecycle;
    let mut outcomes = Vec::new();
    for _ in 0..4 {
        let r = l
            .change_password(&who, "not my password", NEW_PASSWORD, &ctx())
            .await;
        outcomes.push(match r {
            Err(Error::InvalidCredentials) => "wrong",
            Err(Error::TooManyRequests(_)) => "throttled",
            other => panic!("{other:?}"),
        });
    }
    assert_eq!(outcomes[..2], ["wrong", "wrong"]);
    assert!(outcomes.contains(&"throttled"), "{outcomes:?}");
    // The login of the account is throttled as well.
    let e = env
        .app
        .sessions
        .login("ada@example.com", PASSWORD, &ctx())
        .await;
    assert!(matches!(e, Err(Error::TooManyRequests(_))), "{e:?}");
    let d = l.delete_account(&who, "still wrong", &ctx()).await;
    assert!(matches!(d, Err(Error::TooManyRequests(_))), "{d:?}");
}

#[tokio::test]
async fn an_email_change_happens_when_its_link_is_used() {
    let env = mail_env().await;
    let pair = env.register("ada@example.com").await;
    let who = env.principal(&pair).await;
    let l = &env.app.lifecycle;
    let wrong = l
        .change_email(&who, "ada@new.example", "wrong password", &ctx())
        .await;
    assert!(matches!(wrong, Err(Error::InvalidCredentials)), "{wrong:?}");
    l.change_email(&who, " Ada@New.Example", PASSWORD, &ctx())
        .await
        .unwrap();
    let link = env.last(MailKind::ChangeEmail, "ada@new.example").await;
    let notice = env
        .last(MailKind::EmailChangeNotice, "ada@example.com")
        .await;
    assert!(!notice.text.contains("token=") && !notice.text.contains("ada@new"));
    // Nothing changed yet.
    env.login("ada@example.com", PASSWORD).await.unwrap();
    // A reset link sent to the old address dies with the change.
    l.forgot_password("ada@example.com", &ctx()).await.unwrap();
    let reset = token_of(&env.last(MailKind::PasswordReset, "ada@example.com").await);
    l.verify_email(&token_of(&link), &ctx()).await.unwrap();
    invalid(l.verify_email(&token_of(&link), &ctx()).await);
    invalid(l.reset_password(&reset, NEW_PASSWORD, &ctx()).await);
    assert!(matches!(
        env.login("ada@example.com", PASSWORD).await,
        Err(Error::InvalidCredentials)
    ));
    let pair = env.login("ada@new.example", PASSWORD).await.unwrap();
    let who = env.principal(&pair).await;
    let me = env.app.accounts.me(&who).await.unwrap();
    assert_eq!(me.email, "ada@new.example");
    assert!(me.email_verified, "the link proved the new address");
    let rows = env.events().await;
    assert!(rows.iter().any(|e| e.event == "email.changed"));
    assert!(!format!("{rows:?}").contains("new.example"));
}

#[tokio::test]
async fn a_taken_address_gets_the_same_answer_and_a_link_that_fails() {
    let env = mail_env().await;
    let pair = env.register("ada@example.com").await;
    env.register("bob@example.com").await;
    let who = env.principal(&pair).await;
    let l = &env.app.lifecycle;
    l.change_email(&who, "bob@example.com", PASSWORD, &ctx())
        .await
        .unwrap();
    let link = env.last(MailKind::ChangeEmail, "bob@example.com").await;
    invalid(l.verify_email(&token_of(&link), &ctx()).await);
    env.login("ada@example.com", PASSWORD).await.unwrap();
    env.login("bob@example.com", PASSWORD).await.unwrap();
}

#[tokio::test]
async fn deleting_an_account_ends_its_sessions_and_frees_its_email() {
    let env = mail_env().await;
    let pair = env.register("ada@example.com").await;
    let other = env.login("ada@example.com", PASSWORD).await.unwrap();
    let who = env.principal(&pair).await;
    let l = &env.app.lifecycle;
    let wrong = l.delete_account(&who, "wrong password", &ctx()).await;
    assert!(matches!(wrong, Err(Error::InvalidCredentials)), "{wrong:?}");
    l.delete_account(&who, PASSWORD, &ctx()).await.unwrap();
    assert!(env.revoked(&pair.session_id).await);
    assert!(env.revoked(&other.session_id).await);
    assert!(env.store.user_by_id(who.user_id()).await.unwrap().is_none());
    assert!(env
        .store
        .user_by_email("ada@example.com")
        .await
        .unwrap()
        .is_none());
    let e = env.app.sessions.authenticate(&pair.access_token).await;
    assert!(e.is_err(), "the token dies with the account");
    env.last(MailKind::AccountDeleted, "ada@example.com").await;
    // The email registers again, as a new account.
    let again = env.register("ada@example.com").await;
    assert_ne!(again.user_id, who.user_id());
    let rows = env.events().await;
    assert!(rows
        .iter()
        .any(|e| e.event == "user.deleted" && e.user_id.as_deref() == Some(who.user_id())));
}

#[tokio::test]
async fn a_disabled_user_cannot_log_in_or_refresh_until_enabled() {
    let env = mail_env().await;
    let pair = env.register("ada@example.com").await;
    let l = &env.app.lifecycle;
    let user = l.disable_user(&pair.user_id, &ctx()).await.unwrap();
    assert!(user.disabled());
    assert!(env.revoked(&pair.session_id).await);
    let e = env.login("ada@example.com", PASSWORD).await;
    assert!(matches!(e, Err(Error::AccountDisabled)), "{e:?}");
    let e = env.login("ada@example.com", "wrong password").await;
    assert!(matches!(e, Err(Error::InvalidCredentials)), "{e:?}");
    let e = env.app.sessions.refresh(&pair.refresh_token, &ctx()).await;
    assert!(matches!(e, Err(Error::InvalidGrant(_))), "{e:?}");
    // A disabled account gets no reset link, and the answer is the same.
    let before = env.mail().await.len();
    l.forgot_password("ada@example.com", &ctx()).await.unwrap();
    assert_eq!(env.mail().await.len(), before);
    let e = l.send_password_reset(&pair.user_id, &ctx()).await;
    assert!(matches!(e, Err(Error::AccountDisabled)), "{e:?}");
    let user = l.enable_user(&pair.user_id, &ctx()).await.unwrap();
    assert!(!user.disabled());
    env.login("ada@example.com", PASSWORD).await.unwrap();
    let names: Vec<String> = env.events().await.into_iter().map(|e| e.event).collect();
    assert!(names.contains(&"user.disabled".to_owned()), "{names:?}");
    assert!(names.contains(&"user.enabled".to_owned()), "{names:?}");
    for missing in ["nope", "x\0y"] {
        let e = l.disable_user(missing, &ctx()).await;
        assert!(matches!(e, Err(Error::NotFound(_))), "{e:?}");
    }
}

#[tokio::test]
async fn operators_send_resets_set_passwords_and_delete() {
    let env = mail_env().await;
    let pair = env.register("ada@example.com").await;
    let l = &env.app.lifecycle;
    l.send_password_reset(&pair.user_id, &ctx()).await.unwrap();
    let token = token_of(&env.last(MailKind::PasswordReset, "ada@example.com").await);
    l.set_password(&pair.user_id, NEW_PASSWORD, &ctx())
        .await
        .unwrap();
    assert!(env.revoked(&pair.session_id).await);
    invalid(
        l.reset_password(&token, "another new passphrase", &ctx())
            .await,
    );
    env.login("ada@example.com", NEW_PASSWORD).await.unwrap();
    assert!(l
        .set_password(&pair.user_id, "short", &ctx())
        .await
        .is_err());
    l.delete_user(&pair.user_id, &ctx()).await.unwrap();
    let e = l.delete_user(&pair.user_id, &ctx()).await;
    assert!(matches!(e, Err(Error::NotFound(_))), "{e:?}");
}
