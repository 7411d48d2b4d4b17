//! The `Lifecycle` role on every backend: user states, deletion that keeps
//! the id and frees the email, and single-use tokens.

use super::{backends, session, user};
use tessera_store::{OneTimeToken, StoreError};

fn token(hash: u8, purpose: &str, user_id: &str, expires_at: i64) -> OneTimeToken {
    OneTimeToken {
        token_hash: vec![hash; 32],
        purpose: purpose.into(),
        user_id: user_id.into(),
        email: Some("a@x.io".into()),
        created_at: 100,
        expires_at,
    }
}

#[tokio::test]
async fn tokens_are_consumed_once_by_purpose_and_expiry() {
    for (_dir, s) in backends().await {
        s.create_user(&user("u1", "a@x.io")).await.unwrap();
        s.insert_one_time_token(&token(1, "password_reset", "u1", 200))
            .await
            .unwrap();
        s.insert_one_time_token(&token(2, "verify_email", "u1", 200))
            .await
            .unwrap();
        let dup = s
            .insert_one_time_token(&token(1, "password_reset", "u1", 200))
            .await;
        assert!(dup.is_err(), "one row per hash");
        let peek = s.one_time_token(&[1; 32], 150).await.unwrap().unwrap();
        assert_eq!(peek.purpose, "password_reset");
        assert_eq!(peek.email.as_deref(), Some("a@x.io"));
        assert!(
            s.one_time_token(&[1; 32], 200).await.unwrap().is_none(),
            "expired"
        );
        // Wrong purpose: nothing consumed.
        assert!(s
            .consume_one_time_token(&[1; 32], "verify_email", 150)
            .await
            .unwrap()
            .is_none());
        // Expired: nothing consumed either.
        assert!(s
            .consume_one_time_token(&[1; 32], "password_reset", 200)
            .await
            .unwrap()
            .is_none());
        let got = s
            .consume_one_time_token(&[1; 32], "password_reset", 150)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.user_id, "u1");
        assert!(
            s.consume_one_time_token(&[1; 32], "password_reset", 150)
                .await
                .unwrap()
                .is_none(),
            "spent"
        );
        // Concurrent consumption: exactly one wins.
        s.insert_one_time_token(&token(3, "password_reset", "u1", 500))
            .await
            .unwrap();
        let tries = (0..8).map(|_| s.consume_one_time_token(&[3; 32], "password_reset", 150));
        let won = futures_count(tries).await;
        assert_eq!(won, 1);
        assert_eq!(s.delete_user_tokens("u1", "verify_email").await.unwrap(), 1);
        s.insert_one_time_token(&token(4, "verify_email", "u1", 120))
            .await
            .unwrap();
        assert_eq!(s.purge_one_time_tokens(130).await.unwrap(), 1);
    }
}

async fn futures_count<F>(tries: impl Iterator<Item = F>) -> usize
where
    F: std::future::Future<Output = tessera_store::Result<Option<OneTimeToken>>>,
{
    let mut won = 0;
    let all: Vec<_> = tries.collect();
    for r in join_all(all).await {
        if r.unwrap().is_some() {
            won += 1;
        }
    }
    won
}

/// Polls every future together (no extra dependency).
async fn join_all<F: std::future::Future>(futs: Vec<F>) -> Vec<F::Output> {
    let mut futs: Vec<_> = futs.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, o) in futs.iter_mut().zip(out.iter_mut()) {
            if o.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *o = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

#[tokio::test]
async fn users_are_verified_disabled_and_moved_to_free_addresses() {
    for (_dir, s) in backends().await {
        s.create_user(&user("u1", "a@x.io")).await.unwrap();
        s.create_user(&user("u2", "b@x.io")).await.unwrap();
        assert!(!s.user_by_id("u1").await.unwrap().unwrap().email_verified());
        assert!(
            !s.mark_email_verified("u1", "old@x.io", 110).await.unwrap(),
            "another address"
        );
        assert!(s.mark_email_verified("u1", "a@x.io", 110).await.unwrap());
        let u = s.user_by_id("u1").await.unwrap().unwrap();
        assert_eq!(u.email_verified_at, Some(110));
        assert!(s.set_disabled("u1", Some(120)).await.unwrap());
        assert_eq!(
            s.user_by_id("u1").await.unwrap().unwrap().disabled_at,
            Some(120)
        );
        let listed = s.list_users(None, 10).await.unwrap();
        assert!(listed.iter().any(|u| u.id == "u1" && u.disabled()));
        assert!(s.set_disabled("u1", None).await.unwrap());
        assert!(!s.set_disabled("nope", Some(1)).await.unwrap());
        let taken = s.change_email("u1", "b@x.io", 130).await;
        assert!(matches!(taken, Err(StoreError::Conflict)), "{taken:?}");
        assert!(s.change_email("u1", "c@x.io", 130).await.unwrap());
        let u = s.user_by_email("c@x.io").await.unwrap().unwrap();
        assert_eq!((u.id.as_str(), u.email_verified_at), ("u1", Some(130)));
        let (_, joined) = {
            s.create_session(&session("s1", "u1")).await.unwrap();
            s.session_with_user("s1").await.unwrap().unwrap()
        };
        assert_eq!(joined.unwrap().email_verified_at, Some(130));
    }
}

#[tokio::test]
async fn deletion_keeps_the_id_frees_the_email_and_other_sessions_end() {
    for (_dir, s) in backends().await {
        s.create_user(&user("u1", "a@x.io")).await.unwrap();
        for sid in ["s1", "s2", "s3"] {
            s.create_session(&session(sid, "u1")).await.unwrap();
        }
        let ended = s
            .revoke_other_sessions("u1", "s2", 150, "password_changed")
            .await
            .unwrap();
        let mut ended = ended;
        ended.sort();
        assert_eq!(ended, ["s1", "s3"]);
        assert!(s.session("s2").await.unwrap().unwrap().revoked_at.is_none());
        s.insert_one_time_token(&token(9, "password_reset", "u1", 500))
            .await
            .unwrap();
        assert!(s.delete_user_data("u1", 160).await.unwrap());
        assert!(!s.delete_user_data("u1", 161).await.unwrap(), "once");
        assert!(s.user_by_id("u1").await.unwrap().is_none());
        assert!(s.user_by_email("a@x.io").await.unwrap().is_none());
        assert!(s.list_users(None, 10).await.unwrap().is_empty());
        assert!(s.one_time_token(&[9; 32], 150).await.unwrap().is_none());
        assert!(!s.set_password_hash("u1", "x").await.unwrap());
        assert!(!s.set_roles("u1", &["admin".into()]).await.unwrap());
        // Its sessions stay (for the feed) but no longer have a user.
        let (kept, u) = s.session_with_user("s2").await.unwrap().unwrap();
        assert!(u.is_none());
        assert_eq!((kept.ip, kept.user_agent), (None, None), "no personal data");
        // The email registers again.
        s.create_user(&user("u9", "a@x.io")).await.unwrap();
        assert_eq!(s.user_by_email("a@x.io").await.unwrap().unwrap().id, "u9");
    }
}
