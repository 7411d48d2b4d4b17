//! The MFA role on every backend: factors (pending, confirmed, the
//! forward-only counter), recovery-code hashes, pending login steps, and a
//! session's `amr` and `auth_time`.

use crate::{backends, session, user};
use tessera_store::{MfaChallenge, MfaFactor};

fn factor(user_id: &str) -> MfaFactor {
    MfaFactor {
        user_id: user_id.into(),
        kind: "totp".into(),
        id: "totp".into(),
        secret: vec![1, 2, 3],
        data: "{}".into(),
        counter: 0,
        created_at: 100,
        confirmed_at: None,
    }
}

#[tokio::test]
async fn factors_confirm_once_and_counters_only_move_forward() {
    for (_dir, s) in backends().await {
        s.create_user(&user("u1", "a@example.com")).await.unwrap();
        assert!(s.put_factor(&factor("u1")).await.unwrap());
        // A pending factor is replaced by a new enrolment.
        let again = MfaFactor {
            secret: vec![9],
            ..factor("u1")
        };
        assert!(s.put_factor(&again).await.unwrap());
        let f = s.factors("u1").await.unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].secret, vec![9]);
        assert!(s
            .confirm_factor("u1", "totp", "totp", 50, 200)
            .await
            .unwrap());
        assert!(!s
            .confirm_factor("u1", "totp", "totp", 60, 201)
            .await
            .unwrap());
        // A confirmed factor is not replaced.
        assert!(!s.put_factor(&factor("u1")).await.unwrap());
        let f = &s.factors("u1").await.unwrap()[0];
        assert_eq!((f.counter, f.confirmed_at), (50, Some(200)));
        assert!(!s.advance_factor("u1", "totp", "totp", 50).await.unwrap());
        assert!(!s.advance_factor("u1", "totp", "totp", 49).await.unwrap());
        assert!(s.advance_factor("u1", "totp", "totp", 51).await.unwrap());
        assert!(!s.advance_factor("u1", "totp", "totp", 51).await.unwrap());
        assert_eq!(s.delete_factors("u1", Some("passkey")).await.unwrap(), 0);
        assert_eq!(s.delete_factors("u1", None).await.unwrap(), 1);
        assert!(s.factors("u1").await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn recovery_codes_are_spent_once_and_replaced_whole() {
    for (_dir, s) in backends().await {
        s.create_user(&user("u1", "a@example.com")).await.unwrap();
        let hashes: Vec<Vec<u8>> = (0u8..3).map(|i| vec![i; 32]).collect();
        s.set_recovery_codes("u1", &hashes, 100).await.unwrap();
        assert_eq!(s.unused_recovery_codes("u1").await.unwrap(), hashes);
        assert!(s.use_recovery_code("u1", &hashes[1], 110).await.unwrap());
        assert!(!s.use_recovery_code("u1", &hashes[1], 111).await.unwrap());
        assert!(!s.use_recovery_code("u2", &hashes[0], 111).await.unwrap());
        assert_eq!(s.unused_recovery_codes("u1").await.unwrap().len(), 2);
        s.set_recovery_codes("u1", &[vec![7; 32]], 120)
            .await
            .unwrap();
        assert_eq!(
            s.unused_recovery_codes("u1").await.unwrap(),
            vec![vec![7; 32]]
        );
        s.set_recovery_codes("u1", &[], 130).await.unwrap();
        assert!(s.unused_recovery_codes("u1").await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn pending_login_steps_are_spent_once_and_purged_after_expiry() {
    for (_dir, s) in backends().await {
        s.create_user(&user("u1", "a@example.com")).await.unwrap();
        let c = MfaChallenge {
            token_hash: vec![5; 32],
            user_id: "u1".into(),
            purpose: "login".into(),
            data: "{\"cookie\":false}".into(),
            created_at: 100,
            expires_at: 400,
            used_at: None,
        };
        s.insert_mfa_challenge(&c).await.unwrap();
        assert_eq!(s.mfa_challenge(&[5; 32]).await.unwrap(), Some(c.clone()));
        assert!(s.mfa_challenge(&[6; 32]).await.unwrap().is_none());
        assert!(s.spend_mfa_challenge(&[5; 32], 150).await.unwrap());
        assert!(!s.spend_mfa_challenge(&[5; 32], 151).await.unwrap());
        assert_eq!(
            s.mfa_challenge(&[5; 32]).await.unwrap().unwrap().used_at,
            Some(150)
        );
        assert_eq!(s.purge_mfa_challenges(400).await.unwrap(), 0);
        assert_eq!(s.purge_mfa_challenges(401).await.unwrap(), 1);
    }
}

#[tokio::test]
async fn a_session_keeps_its_amr_and_auth_time() {
    for (_dir, s) in backends().await {
        s.create_user(&user("u1", "a@example.com")).await.unwrap();
        let mut one = session("s1", "u1");
        s.create_session(&one).await.unwrap();
        let back = s.session("s1").await.unwrap().unwrap();
        assert_eq!(back.amr, one.amr);
        assert_eq!(back.auth_time, one.auth_time);
        let (with_user, _) = s.session_with_user("s1").await.unwrap().unwrap();
        assert_eq!(with_user.amr, one.amr);
        one.id = "s2".into();
        one.amr = vec![];
        one.auth_time = None;
        s.create_session(&one).await.unwrap();
        let back = s.session("s2").await.unwrap().unwrap();
        assert!(back.amr.is_empty() && back.auth_time.is_none());
    }
}

#[tokio::test]
async fn admins_with_a_second_factor_are_counted_from_roles_and_factors() {
    for (_dir, s) in backends().await {
        assert_eq!(s.count_admins_with_mfa().await.unwrap(), (0, 0));
        for (id, email) in [("u1", "a@x.io"), ("u2", "b@x.io"), ("u3", "c@x.io")] {
            s.create_user(&user(id, email)).await.unwrap();
        }
        // `administrator` is another role, not `admin`.
        s.set_roles("u1", &["admin".into()]).await.unwrap();
        s.set_roles("u2", &["administrator".into(), "admin".into()])
            .await
            .unwrap();
        s.set_roles("u3", &["administrator".into()]).await.unwrap();
        assert_eq!(s.count_admins_with_mfa().await.unwrap(), (2, 0));
        // A factor only counts once confirmed; a non-admin's not at all.
        s.put_factor(&factor("u1")).await.unwrap();
        s.put_factor(&factor("u3")).await.unwrap();
        s.confirm_factor("u3", "totp", "totp", 50, 200)
            .await
            .unwrap();
        assert_eq!(s.count_admins_with_mfa().await.unwrap(), (2, 0));
        s.confirm_factor("u1", "totp", "totp", 50, 200)
            .await
            .unwrap();
        assert_eq!(s.count_admins_with_mfa().await.unwrap(), (2, 1));
        s.delete_user_data("u1", 300).await.unwrap();
        assert_eq!(s.count_admins_with_mfa().await.unwrap(), (1, 0));
    }
}
