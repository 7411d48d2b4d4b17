//! Fuzzes key import: `Jwk::from_json`, `Jwks::from_json`,
//! `VerifyingKey::from_jwk`, `VerifyingKey::from_pem` (and the private-key
//! counterparts).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_jose::{Algorithm, Jwk, Jwks, KeySet, SigningKey, VerifyingKey};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let alg = Algorithm::ALL[usize::from(selector) % Algorithm::ALL.len()];
    let text = String::from_utf8_lossy(rest);

    if let Ok(jwk) = Jwk::from_json(&text) {
        // What parses must serialize and parse back to the same key.
        assert_eq!(Jwk::from_json(&jwk.to_json()).ok().as_ref(), Some(&jwk));
        let _ = VerifyingKey::from_jwk(&jwk, None);
        let _ = VerifyingKey::from_jwk(&jwk, Some(alg));
        let _ = SigningKey::from_jwk(&jwk, Some(alg));
    }
    if let Ok(jwks) = Jwks::from_json(&text) {
        let _ = KeySet::from_jwks(&jwks);
    }
    let _ = VerifyingKey::from_pem(alg, &text);
    let _ = SigningKey::from_pem(alg, &text);
    let _ = VerifyingKey::from_der(alg, rest);
    let _ = SigningKey::from_der(alg, rest);
});
