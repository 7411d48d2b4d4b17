//! Default (OWASP) Argon2id parameters and hash upgrades at login.

use crate::{cfg, cheap, ctx, env_with, PASSWORD};
use tessera_core::config::Argon2Params;
use tessera_core::password::Passwords;
use tessera_core::{AuthConfig, Error};

/// A hasher with the default parameters, as the service under test has.
fn owasp() -> Passwords {
    Passwords::new(Argon2Params::default(), 1).unwrap()
}

#[tokio::test]
async fn default_parameters_and_rehash_on_login() {
    let env = env_with(AuthConfig {
        argon2: Argon2Params::default(),
        ..cfg()
    })
    .await;
    const OWASP: &str = "$argon2id$v=19$m=19456,t=2,p=1$";
    let user = env
        .auth
        .accounts
        .register("ada@example.com", PASSWORD, &ctx())
        .await
        .unwrap();
    assert!(
        user.password_hash.starts_with(OWASP),
        "{}",
        user.password_hash
    );
    let stored = env.store.user_by_id(&user.id).await.unwrap().unwrap();
    assert_eq!(stored.password_hash, user.password_hash);
    assert!(!owasp().needs_rehash(&stored.password_hash));

    // A hash from older, cheaper settings.
    let old = Passwords::new(cheap(), 1)
        .unwrap()
        .hash(PASSWORD)
        .await
        .unwrap();
    assert!(old.starts_with("$argon2id$v=19$m=256,t=1,p=1$"));
    assert!(owasp().needs_rehash(&old));
    assert!(env.store.set_password_hash(&user.id, &old).await.unwrap());

    // A failed login leaves it alone...
    assert_eq!(
        crate::key(
            &env.auth
                .sessions
                .login("ada@example.com", "wrong password", &ctx())
                .await
                .unwrap_err()
        ),
        crate::key(&Error::InvalidCredentials)
    );
    let after_failure = env.store.user_by_id(&user.id).await.unwrap().unwrap();
    assert_eq!(after_failure.password_hash, old);

    // ...a successful one upgrades it.
    env.auth
        .sessions
        .login("ada@example.com", PASSWORD, &ctx())
        .await
        .unwrap();
    let upgraded = env.store.user_by_id(&user.id).await.unwrap().unwrap();
    assert!(upgraded.password_hash.starts_with(OWASP));
    assert_ne!(upgraded.password_hash, old);
    assert_ne!(upgraded.password_hash, user.password_hash, "fresh salt");
    assert!(owasp()
        .verify(Some(&upgraded.password_hash), PASSWORD)
        .await
        .unwrap());
    let audit = env.audit().await;
    let rehashed: Vec<_> = audit
        .iter()
        .filter(|e| e.event == "password.rehashed")
        .collect();
    assert_eq!(rehashed.len(), 1);
    assert_eq!(rehashed[0].user_id.as_deref(), Some(user.id.as_str()));

    // The next login needs no upgrade.
    env.auth
        .sessions
        .login("ada@example.com", PASSWORD, &ctx())
        .await
        .unwrap();
    let again = env.store.user_by_id(&user.id).await.unwrap().unwrap();
    assert_eq!(again.password_hash, upgraded.password_hash);
    assert_eq!(
        env.events()
            .await
            .iter()
            .filter(|e| *e == "password.rehashed")
            .count(),
        1
    );
}

#[tokio::test]
async fn other_versions_and_algorithms_need_a_rehash() {
    let p = Passwords::new(cheap(), 1).unwrap();
    let h = p.hash(PASSWORD).await.unwrap();
    assert!(!p.needs_rehash(&h));
    assert!(p.needs_rehash(&h.replacen("v=19", "v=16", 1)));
    assert!(p.needs_rehash(&h.replacen("$argon2id$", "$argon2i$", 1)));
    assert!(p.needs_rehash(&h.replacen("p=1", "p=2", 1)));
    assert!(p.needs_rehash("not a hash"));
    assert!(p.needs_rehash(""));
}
