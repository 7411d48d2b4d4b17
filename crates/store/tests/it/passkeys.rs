//! The `PasskeyStore` role on every backend: credential ids unique across
//! users, per-user listing and deletion, use updates, and deletion with the
//! account's data.

use super::{backends, user};
use tessera_store::{Passkey, PasskeyUse, StoreError};

fn passkey(id: &str, user_id: &str, cred: u8, created_at: i64) -> Passkey {
    Passkey {
        id: id.into(),
        user_id: user_id.into(),
        credential_id: vec![cred; 16],
        name: format!("key {id}"),
        data: "{\"cred\":{}}".into(),
        sign_count: 0,
        backup_eligible: true,
        backup_state: false,
        created_at,
        last_used_at: None,
    }
}

#[tokio::test]
async fn passkeys_are_unique_listed_updated_and_deleted_per_user() {
    for (_dir, s) in backends().await {
        s.create_user(&user("u1", "a@x.io")).await.unwrap();
        s.create_user(&user("u2", "b@x.io")).await.unwrap();
        s.insert_passkey(&passkey("p2", "u1", 2, 200))
            .await
            .unwrap();
        s.insert_passkey(&passkey("p1", "u1", 1, 100))
            .await
            .unwrap();
        s.insert_passkey(&passkey("q1", "u2", 3, 100))
            .await
            .unwrap();
        // The same credential under another account is refused.
        let dup = s.insert_passkey(&passkey("x", "u2", 1, 300)).await;
        assert!(matches!(dup, Err(StoreError::Conflict)), "{dup:?}");

        let mine: Vec<String> = s
            .passkeys("u1")
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(mine, ["p1", "p2"], "oldest first, only the user's");
        let found = s.passkey_by_credential(&[3; 16]).await.unwrap().unwrap();
        assert_eq!(found, passkey("q1", "u2", 3, 100));
        assert!(s.passkey_by_credential(&[9; 16]).await.unwrap().is_none());

        let used = PasskeyUse {
            id: "p1",
            data: "{\"cred\":{\"counter\":7}}",
            sign_count: 7,
            backup_eligible: true,
            backup_state: true,
            at: 500,
        };
        assert!(s.record_passkey_use(&used).await.unwrap());
        let p1 = s.passkey_by_credential(&[1; 16]).await.unwrap().unwrap();
        assert_eq!(
            (p1.sign_count, p1.backup_state, p1.last_used_at),
            (7, true, Some(500))
        );
        assert_eq!(p1.data, used.data);
        let gone = PasskeyUse { id: "nope", ..used };
        assert!(!s.record_passkey_use(&gone).await.unwrap());

        // Only the owner deletes.
        assert!(!s.delete_passkey("u2", "p1").await.unwrap());
        assert!(s.delete_passkey("u1", "p1").await.unwrap());
        assert!(!s.delete_passkey("u1", "p1").await.unwrap());
        assert_eq!(s.passkeys("u1").await.unwrap().len(), 1);

        // Deleting the account's data drops its passkeys.
        assert!(s.delete_user_data("u1", 900).await.unwrap());
        assert!(s.passkeys("u1").await.unwrap().is_empty());
        assert!(s.passkey_by_credential(&[2; 16]).await.unwrap().is_none());
        assert_eq!(s.passkeys("u2").await.unwrap().len(), 1);
    }
}
