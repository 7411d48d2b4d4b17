//! JWE round trips: every `alg` × `enc` (ECDH on each curve) once, then
//! proptest over arbitrary plaintexts, options and combinations; and the
//! JWE parser never panics on arbitrary input.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::collection::vec;
use proptest::prelude::*;
use std::sync::OnceLock;
use tessera_jose::crypto::random_bytes;
use tessera_jose::jwe::{self, ContentAlgorithm, DecryptionKey, EncryptOptions, KeyAlgorithm};
use tessera_jose::{Jwk, Limits};

/// A recipient key for each algorithm and curve, made once (RSA is slow).
pub(crate) fn recipients() -> &'static [DecryptionKey] {
    static KEYS: OnceLock<Vec<DecryptionKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut keys = Vec::new();
        for alg in KeyAlgorithm::ALL {
            match alg {
                KeyAlgorithm::Dir => {}
                a if a.is_ecdh() => {
                    for crv in ["P-256", "P-384", "X25519"] {
                        keys.push(DecryptionKey::generate_ecdh(a, crv).unwrap());
                    }
                }
                a => keys.push(DecryptionKey::generate(a).unwrap()),
            }
        }
        keys
    })
}

/// A `dir` key of the right length for `enc`.
fn dir_key(enc: ContentAlgorithm) -> DecryptionKey {
    DecryptionKey::from_secret(KeyAlgorithm::Dir, &random_bytes(enc.key_len()).unwrap()).unwrap()
}

fn round_trip(key: &DecryptionKey, enc: ContentAlgorithm, pt: &[u8], opts: &EncryptOptions) {
    let to = key.encryption_key();
    let token = jwe::encrypt(pt, &to, enc, opts).unwrap();
    assert_eq!(token.split('.').count(), 5);
    let opened = jwe::decrypt(&token, key, enc, &Limits::default())
        .unwrap_or_else(|e| panic!("{:?} {enc}: {e}", key.algorithm()));
    assert_eq!(opened.plaintext(), pt);
    assert_eq!(opened.header().alg(), key.algorithm());
    assert_eq!(opened.header().enc(), enc);
    assert_eq!(opened.header().kid(), key.kid());
    assert_eq!(opened.header().typ(), opts.typ.as_deref());
    // A fresh CEK and IV every time: the same plaintext never encrypts alike.
    assert_ne!(jwe::encrypt(pt, &to, enc, opts).unwrap(), token);
}

#[test]
fn every_alg_and_enc_round_trips() {
    let mut combos = 0;
    for enc in ContentAlgorithm::ALL {
        for key in recipients().iter().chain([&dir_key(enc)]) {
            round_trip(key, enc, b"{\"sub\":\"u1\"}", &EncryptOptions::default());
            // The JWK forms round-trip too.
            let again = DecryptionKey::from_jwk(&key.to_private_jwk().unwrap(), None).unwrap();
            let public =
                jwe::EncryptionKey::from_jwk(&key.encryption_key().to_jwk().unwrap(), None)
                    .unwrap();
            let token = jwe::encrypt(b"x", &public, enc, &EncryptOptions::default()).unwrap();
            assert_eq!(
                jwe::decrypt(&token, &again, enc, &Limits::default())
                    .unwrap()
                    .plaintext(),
                b"x"
            );
            combos += 1;
        }
    }
    // (RSA, 3 ECDH algorithms × 3 curves, A128KW, A256KW, dir) × 4 enc.
    assert_eq!(combos, 13 * 4);
}

#[test]
fn public_jwks_carry_no_private_members() {
    for key in recipients() {
        let jwk = key.encryption_key().to_jwk().unwrap();
        if jwk.kty != "oct" {
            assert!(!jwk.is_private(), "{:?}", key.algorithm());
            assert_eq!(jwk.key_use.as_deref(), Some("enc"));
            assert_eq!(jwk.kid.as_deref(), key.kid());
        }
    }
}

fn any_enc() -> impl Strategy<Value = ContentAlgorithm> {
    prop::sample::select(ContentAlgorithm::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn arbitrary_plaintexts_round_trip(
        index in 0usize..13,
        enc in any_enc(),
        pt in vec(any::<u8>(), 0..600),
        apu in proptest::option::of(vec(any::<u8>(), 0..40)),
        apv in proptest::option::of(vec(any::<u8>(), 0..40)),
        typ in proptest::option::of("[a-z+]{1,12}"),
    ) {
        let dir = dir_key(enc);
        let key = recipients().get(index).unwrap_or(&dir);
        let opts = EncryptOptions { typ, cty: None, apu, apv };
        round_trip(key, enc, &pt, &opts);
    }

    #[test]
    fn decrypt_never_panics(token in "[A-Za-z0-9_.-]{0,400}", enc in any_enc()) {
        for key in recipients().iter().take(5) {
            let _ = jwe::decrypt(&token, key, enc, &Limits::default());
        }
        let _ = jwe::peek_header(&token, &Limits::default());
    }

    #[test]
    fn jwk_import_never_panics(text in "\\{[ -~]{0,200}\\}") {
        if let Ok(jwk) = Jwk::from_json(&text) {
            let _ = DecryptionKey::from_jwk(&jwk, None);
            let _ = jwe::EncryptionKey::from_jwk(&jwk, None);
        }
    }
}
