//! Issue 18: the guard with Tessera's shared-secret mode (`hmac_secret`)
//! and with encrypted access tokens (`decryption_key`).

use crate::support::Auth;
use tessera_guard::{Error, Guard};
use tessera_jose::{b64, Algorithm};

fn hs_mode(cfg: &mut tessera_server::config::Config, secret: &[u8], alg: &str) {
    cfg.signing_alg = alg.into();
    cfg.hs_secret = Some(b64::encode(secret));
}

#[tokio::test]
async fn an_hmac_secret_guard_verifies_hs_tokens_and_nothing_else() {
    let secret = [42u8; 64];
    let auth = Auth::start_with(|c| hs_mode(c, &secret, "HS512")).await;
    let (access, _) = auth.user("ada@example.com").await;
    let guard = |s: Vec<(Algorithm, Vec<u8>)>| {
        let mut b = Guard::builder(&auth.issuer, "tessera").clock(auth.clock.clone());
        for (alg, secret) in s {
            b = b.hmac_secret(alg, secret);
        }
        b.build()
    };
    // The secret, among a previous one: accepted.
    let g = guard(vec![
        (Algorithm::HS512, vec![1; 64]),
        (Algorithm::HS512, secret.to_vec()),
    ])
    .await
    .unwrap();
    let who = g.verify(&access).await.unwrap();
    assert!(who.session_id().is_some());
    // Another secret, or the same secret under another algorithm: refused.
    let other = guard(vec![(Algorithm::HS512, vec![1; 64])]).await.unwrap();
    assert!(matches!(
        other.verify(&access).await,
        Err(Error::InvalidToken(_))
    ));
    let hs256 = guard(vec![(Algorithm::HS256, secret.to_vec())])
        .await
        .unwrap();
    assert!(matches!(
        hs256.verify(&access).await,
        Err(Error::InvalidToken(_))
    ));
    // A short secret or a non-HMAC algorithm stops the build.
    assert!(matches!(
        guard(vec![(Algorithm::HS512, vec![1; 63])]).await,
        Err(Error::Setup(_))
    ));
    assert!(matches!(
        guard(vec![(Algorithm::ES256, vec![1; 64])]).await,
        Err(Error::Setup(_))
    ));
}

#[tokio::test]
async fn a_guard_with_the_decryption_key_decrypts_then_verifies_against_the_jwks() {
    use tessera_jose::jwe::{ContentAlgorithm, DecryptionKey, KeyAlgorithm};
    let dir = tempfile::tempdir().unwrap();
    let key = DecryptionKey::generate(KeyAlgorithm::RsaOaep256).unwrap();
    let path = dir.path().join("enc.jwk");
    std::fs::write(&path, key.to_private_jwk().unwrap().to_json()).unwrap();
    let auth = Auth::start_with(|c| {
        c.access_token_encryption_jwk = Some(path);
        c.access_token_encryption_enc = "A128CBC-HS256".into();
    })
    .await;
    let (access, _) = auth.user("ada@example.com").await;
    assert_eq!(access.split('.').count(), 5);
    let build = |k: Option<(DecryptionKey, ContentAlgorithm)>| {
        let mut b = Guard::builder(&auth.issuer, "tessera").clock(auth.clock.clone());
        if let Some((k, enc)) = k {
            b = b.decryption_key(k, enc);
        }
        b.build()
    };
    // Keys from discovery and the JWKS, plus the private decryption key.
    let same = DecryptionKey::from_jwk(&key.to_private_jwk().unwrap(), None).unwrap();
    let g = build(Some((same, ContentAlgorithm::A128CbcHs256)))
        .await
        .unwrap();
    let who = g.verify(&access).await.unwrap();
    assert!(who.session_id().is_some());
    // Without the key, with another key, or expecting another `enc`: refused.
    let plain = build(None).await.unwrap();
    assert!(matches!(
        plain.verify(&access).await,
        Err(Error::InvalidToken(_))
    ));
    let other = DecryptionKey::generate(KeyAlgorithm::RsaOaep256).unwrap();
    let g = build(Some((other, ContentAlgorithm::A128CbcHs256)))
        .await
        .unwrap();
    assert!(matches!(
        g.verify(&access).await,
        Err(Error::InvalidToken(_))
    ));
    let same = DecryptionKey::from_jwk(&key.to_private_jwk().unwrap(), None).unwrap();
    let g = build(Some((same, ContentAlgorithm::A256Gcm)))
        .await
        .unwrap();
    assert!(matches!(
        g.verify(&access).await,
        Err(Error::InvalidToken(_))
    ));
}
