//! Fuzzes compact JWE parsing and decryption: `jwe::peek_header` and
//! `jwe::decrypt` against fixed keys of several algorithms, and JWE key
//! import from JWK JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tessera_jose::jwe::{self, ContentAlgorithm, DecryptionKey, KeyAlgorithm};
use tessera_jose::{Jwk, Limits};

/// Fixed recipient keys: `dir`, `A128KW` and `ECDH-ES` on P-256 and X25519.
fn keys() -> &'static [DecryptionKey] {
    static KEYS: OnceLock<Vec<DecryptionKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        [
            DecryptionKey::from_secret(KeyAlgorithm::Dir, &[0x42; 16]),
            DecryptionKey::from_secret(KeyAlgorithm::A128Kw, &[0x43; 16]),
            DecryptionKey::generate_ecdh(KeyAlgorithm::EcdhEs, "P-256"),
            DecryptionKey::generate_ecdh(KeyAlgorithm::EcdhEsA128Kw, "X25519"),
        ]
        .into_iter()
        .flatten()
        .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let limits = Limits::default();
    let header = jwe::peek_header(&text, &limits);
    for key in keys() {
        for enc in ContentAlgorithm::ALL {
            let opened = jwe::decrypt(&text, key, enc, &limits);
            // Decryption is never more lenient than header parsing.
            assert!(opened.is_err() || header.is_ok());
            // Forging a tag under the fixed `dir` or key wrap key by fuzzing
            // would be a finding (ECDH-ES tokens can be made by anyone).
            if matches!(key.algorithm(), KeyAlgorithm::Dir | KeyAlgorithm::A128Kw) {
                assert!(opened.is_err());
            }
        }
    }
    if let Ok(jwk) = Jwk::from_json(&text) {
        let _ = DecryptionKey::from_jwk(&jwk, None);
        let _ = jwe::EncryptionKey::from_jwk(&jwk, None);
    }
});
