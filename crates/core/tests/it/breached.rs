//! Common breached passwords are refused wherever accounts are created.

use crate::{ctx, env, PASSWORD};
use tessera_core::{breached, Error};

fn password_error(e: Error) -> String {
    match e {
        Error::InvalidInput {
            field: "password",
            message,
        } => message,
        other => panic!("expected InvalidInput on password, got {other:?}"),
    }
}

#[tokio::test]
async fn register_refuses_a_common_password_and_accepts_a_strong_one() {
    let env = env().await;
    // Both on the bundled list; the second only once lower-cased.
    for (i, pw) in ["qwertyuiop", "Password1"].into_iter().enumerate() {
        let email = format!("common{i}@example.com");
        let e = env
            .auth
            .accounts
            .register(&email, pw, &ctx())
            .await
            .unwrap_err();
        let message = password_error(e);
        assert!(message.contains("too common"), "{pw}: {message}");
        assert!(env
            .auth
            .accounts
            .user_by_email(&email)
            .await
            .unwrap()
            .is_none());
    }

    let strong = "vN4#tq8-Lw2@zR7!kP5s";
    assert!(!breached::is_common(strong));
    env.auth
        .accounts
        .register("strong@example.com", strong, &ctx())
        .await
        .unwrap();
    env.auth
        .sessions
        .login("strong@example.com", strong, &ctx())
        .await
        .unwrap();
}

#[tokio::test]
async fn operators_cannot_create_accounts_with_common_passwords_either() {
    let env = env().await;
    let e = env
        .auth
        .accounts
        .create_user("root@example.com", "iloveyou", &["admin".to_owned()])
        .await
        .unwrap_err();
    password_error(e);
    assert!(env
        .auth
        .accounts
        .user_by_email("root@example.com")
        .await
        .unwrap()
        .is_none());
}

#[test]
fn the_shared_test_password_is_not_on_the_list() {
    assert!(breached::count() >= 10_000);
    assert!(!breached::is_common(PASSWORD));
    assert!(!breached::is_common("correct horse battery staple"));
}
