//! Attacks on JWE decryption, each refused with its own error: alg and enc
//! confusion, `zip`, `crit`, invalid ECDH public keys, altered tags,
//! wrong key types, oversized input, `RSA1_5`, and nested-JWT misuse.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{json, Value};
use tessera_jose::jwe::{
    self, ContentAlgorithm as Enc, DecryptionKey, EncryptOptions, EncryptionKey, KeyAlgorithm,
};
use tessera_jose::{
    b64, Algorithm, Error, JweError, Jwk, KeySet, Limits, ManualClock, SigningKey, Validation,
};

fn limits() -> Limits {
    Limits::default()
}

fn seal(key: &DecryptionKey, enc: Enc) -> String {
    jwe::encrypt(
        b"secret",
        &key.encryption_key(),
        enc,
        &EncryptOptions::default(),
    )
    .unwrap()
}

fn header_of(token: &str) -> Value {
    let h = token.split('.').next().unwrap();
    serde_json::from_slice(&b64::decode(h.as_bytes(), "h").unwrap()).unwrap()
}

/// The token with its header replaced (the rest unchanged).
fn with_header(token: &str, header: &Value) -> String {
    let rest = token.split_once('.').unwrap().1;
    format!("{}.{rest}", b64::encode(header.to_string().as_bytes()))
}

fn edit(token: &str, f: impl FnOnce(&mut Value)) -> String {
    let mut h = header_of(token);
    f(&mut h);
    with_header(token, &h)
}

fn refused(token: &str, key: &DecryptionKey, enc: Enc) -> Error {
    jwe::decrypt(token, key, enc, &limits()).unwrap_err()
}

const FAILED: Error = Error::Jwe(JweError::DecryptionFailed);

#[test]
fn a_header_cannot_change_the_key_algorithm() {
    let kw = DecryptionKey::generate(KeyAlgorithm::A128Kw).unwrap();
    let token = seal(&kw, Enc::A128Gcm);
    // Another key, another algorithm: refused before any decryption.
    let other = DecryptionKey::generate(KeyAlgorithm::A256Kw).unwrap();
    assert_eq!(
        refused(&token, &other, Enc::A128Gcm),
        Error::AlgorithmMismatch
    );
    // The same secret as a `dir` key: the header says A128KW, the key owns dir.
    let secret = b64::decode(kw.to_private_jwk().unwrap().k.unwrap().as_bytes(), "k").unwrap();
    let dir = DecryptionKey::from_secret(KeyAlgorithm::Dir, &secret).unwrap();
    assert_eq!(
        refused(&token, &dir, Enc::A128Gcm),
        Error::AlgorithmMismatch
    );
    // A header rewritten to `dir` for the A128KW key.
    let forged = edit(&token, |h| h["alg"] = json!("dir"));
    assert_eq!(
        refused(&forged, &kw, Enc::A128Gcm),
        Error::AlgorithmMismatch
    );
    // An ECDH token offered to an RSA key.
    let ec = DecryptionKey::generate(KeyAlgorithm::EcdhEs).unwrap();
    let rsa = DecryptionKey::generate(KeyAlgorithm::RsaOaep256).unwrap();
    assert_eq!(
        refused(&seal(&ec, Enc::A256Gcm), &rsa, Enc::A256Gcm),
        Error::AlgorithmMismatch
    );
}

#[test]
fn a_header_cannot_change_the_content_encryption() {
    let key = DecryptionKey::generate(KeyAlgorithm::A256Kw).unwrap();
    let token = seal(&key, Enc::A128CbcHs256);
    assert_eq!(
        refused(&token, &key, Enc::A256Gcm),
        Error::Jwe(JweError::EncryptionMismatch)
    );
    // Rewriting `enc` to the allowed one changes the AAD: the tag fails.
    let forged = edit(&token, |h| h["enc"] = json!("A256GCM"));
    assert_eq!(refused(&forged, &key, Enc::A256Gcm), FAILED);
}

#[test]
fn zip_crit_and_unknown_algorithms_are_refused() {
    let key = DecryptionKey::generate(KeyAlgorithm::A128Kw).unwrap();
    let token = seal(&key, Enc::A128Gcm);
    let zip = edit(&token, |h| h["zip"] = json!("DEF"));
    assert_eq!(
        refused(&zip, &key, Enc::A128Gcm),
        Error::Jwe(JweError::CompressionRefused)
    );
    let crit = edit(&token, |h| {
        h["crit"] = json!(["exp"]);
        h["exp"] = json!(1);
    });
    assert_eq!(
        refused(&crit, &key, Enc::A128Gcm),
        Error::UnsupportedCritical
    );
    for alg in [
        "RSA1_5",
        "RSA-OAEP",
        "A192KW",
        "A128GCMKW",
        "PBES2-HS256+A128KW",
        "none",
    ] {
        let forged = edit(&token, |h| h["alg"] = json!(alg));
        assert_eq!(
            refused(&forged, &key, Enc::A128Gcm),
            Error::UnsupportedAlgorithm,
            "{alg}"
        );
        assert_eq!(
            alg.parse::<KeyAlgorithm>(),
            Err(Error::UnsupportedAlgorithm)
        );
    }
    let a192 = edit(&token, |h| h["enc"] = json!("A192GCM"));
    assert_eq!(
        refused(&a192, &key, Enc::A128Gcm),
        Error::UnsupportedAlgorithm
    );
    // Duplicate members are refused as in a JWS header.
    let h = token.split('.').next().unwrap();
    let dup = br#"{"alg":"A128KW","enc":"A128GCM","alg":"A128KW"}"#;
    let forged = token.replacen(h, &b64::encode(dup), 1);
    assert_eq!(refused(&forged, &key, Enc::A128Gcm), Error::DuplicateMember);
}

#[test]
fn rsa1_5_does_not_exist() {
    let jwk = json!({"kty": "RSA", "alg": "RSA1_5", "use": "enc", "n": "AQAB", "e": "AQAB"});
    let jwk: Jwk = serde_json::from_value(jwk).unwrap();
    assert_eq!(
        DecryptionKey::from_jwk(&jwk, None).unwrap_err(),
        Error::UnsupportedAlgorithm
    );
    assert_eq!(
        EncryptionKey::from_jwk(&jwk, None).unwrap_err(),
        Error::UnsupportedAlgorithm
    );
    assert!(KeyAlgorithm::ALL
        .iter()
        .all(|a| !a.as_str().contains("RSA1_5")));
}

fn ecdh_token(crv: &str) -> (DecryptionKey, String) {
    let key = DecryptionKey::generate_ecdh(KeyAlgorithm::EcdhEsA128Kw, crv).unwrap();
    let token = seal(&key, Enc::A128Gcm);
    (key, token)
}

fn invalid_epk(key: &DecryptionKey, token: &str, epk: Value) -> Error {
    let forged = edit(token, |h| h["epk"] = epk);
    refused(&forged, key, Enc::A128Gcm)
}

#[test]
fn invalid_ephemeral_keys_are_refused() {
    let is_epk_error = |e: &Error| matches!(e, Error::Jwe(JweError::InvalidEphemeralKey(_)));
    let (p256, token) = ecdh_token("P-256");
    let epk = header_of(&token)["epk"].clone();
    // A point off the curve: y changed by one bit (the invalid-curve attack).
    let mut y = b64::decode(epk["y"].as_str().unwrap().as_bytes(), "y").unwrap();
    y[31] ^= 1;
    let mut off = epk.clone();
    off["y"] = json!(b64::encode(&y));
    assert!(is_epk_error(&invalid_epk(&p256, &token, off)));
    // (0, 0) is not on the curve, and the identity has no affine form.
    let zero = b64::encode(&[0u8; 32]);
    let origin = json!({"kty": "EC", "crv": "P-256", "x": zero, "y": zero});
    assert!(is_epk_error(&invalid_epk(&p256, &token, origin)));
    // Another curve's point, another key type, short coordinates, none at all.
    let (_, t384) = ecdh_token("P-384");
    let p384_epk = header_of(&t384)["epk"].clone();
    assert!(is_epk_error(&invalid_epk(&p256, &token, p384_epk.clone())));
    let mut relabelled = p384_epk;
    relabelled["crv"] = json!("P-256");
    assert!(is_epk_error(&invalid_epk(&p256, &token, relabelled)));
    let okp = json!({"kty": "OKP", "crv": "X25519", "x": b64::encode(&[9u8; 32])});
    assert!(is_epk_error(&invalid_epk(&p256, &token, okp)));
    let mut short = epk.clone();
    short["x"] = json!(b64::encode(&[1u8; 31]));
    assert!(is_epk_error(&invalid_epk(&p256, &token, short)));
    let missing = edit(&token, |h| {
        h.as_object_mut().unwrap().remove("epk");
    });
    assert!(is_epk_error(&refused(&missing, &p256, Enc::A128Gcm)));
    assert!(is_epk_error(&invalid_epk(
        &p256,
        &token,
        json!("not an object")
    )));

    // X25519: low-order points give an all-zero secret and are refused.
    let (x25519, token) = ecdh_token("X25519");
    let mut one = [0u8; 32];
    one[0] = 1;
    for low in [[0u8; 32], one] {
        let epk = json!({"kty": "OKP", "crv": "X25519", "x": b64::encode(&low)});
        assert!(is_epk_error(&invalid_epk(&x25519, &token, epk)));
    }
}

#[test]
fn altered_tags_and_parts_are_refused() {
    for enc in Enc::ALL {
        for alg in [KeyAlgorithm::A256Kw, KeyAlgorithm::EcdhEs] {
            let key = DecryptionKey::generate(alg).unwrap();
            let token = seal(&key, enc);
            let parts: Vec<String> = token.split('.').map(str::to_owned).collect();
            let tag = b64::decode(parts[4].as_bytes(), "tag").unwrap();
            let mut variants = Vec::new();
            // Truncated by 1, 4 and 8 bytes; extended; one bit flipped; empty.
            for cut in [1, 4, 8] {
                variants.push(tag[..tag.len() - cut].to_vec());
            }
            variants.push([tag.as_slice(), &[0]].concat());
            let mut flipped = tag.clone();
            flipped[tag.len() - 1] ^= 0x80;
            variants.push(flipped);
            variants.push(Vec::new());
            for bad in variants {
                let mut p = parts.clone();
                p[4] = b64::encode(&bad);
                assert_eq!(refused(&p.join("."), &key, enc), FAILED, "{alg:?} {enc}");
            }
            // A changed IV or ciphertext.
            for i in [2, 3] {
                let mut bytes = b64::decode(parts[i].as_bytes(), "part").unwrap();
                bytes[0] ^= 1;
                let mut p = parts.clone();
                p[i] = b64::encode(&bytes);
                assert_eq!(
                    refused(&p.join("."), &key, enc),
                    FAILED,
                    "{alg:?} {enc} part {i}"
                );
            }
        }
    }
}

#[test]
fn a_wrong_or_altered_encrypted_key_is_one_failure() {
    for alg in [
        KeyAlgorithm::RsaOaep256,
        KeyAlgorithm::A128Kw,
        KeyAlgorithm::EcdhEsA256Kw,
    ] {
        let key = DecryptionKey::generate(alg).unwrap();
        let token = seal(&key, Enc::A256Gcm);
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut ek = b64::decode(parts[1].as_bytes(), "ek").unwrap();
        ek[3] ^= 1;
        parts[1] = b64::encode(&ek);
        assert_eq!(
            refused(&parts.join("."), &key, Enc::A256Gcm),
            FAILED,
            "{alg:?}"
        );
        parts[1] = String::new();
        assert_eq!(
            refused(&parts.join("."), &key, Enc::A256Gcm),
            FAILED,
            "{alg:?}"
        );
        // Another key of the same algorithm.
        let other = DecryptionKey::generate(alg).unwrap();
        assert_eq!(refused(&token, &other, Enc::A256Gcm), FAILED, "{alg:?}");
    }
    // `dir` and ECDH-ES carry no encrypted key.
    for key in [
        DecryptionKey::from_secret(KeyAlgorithm::Dir, &[7u8; 16]).unwrap(),
        DecryptionKey::generate(KeyAlgorithm::EcdhEs).unwrap(),
    ] {
        let enc = if key.algorithm() == KeyAlgorithm::Dir {
            Enc::A128Gcm
        } else {
            Enc::A256Gcm
        };
        let token = seal(&key, enc);
        let mut parts: Vec<&str> = token.split('.').collect();
        parts[1] = "AAAA";
        assert!(matches!(
            refused(&parts.join("."), &key, enc),
            Error::Jwe(JweError::InvalidPart(_))
        ));
    }
}

#[test]
fn keys_of_the_wrong_kind_are_refused() {
    // A signing JWK is not an encryption key.
    let sig = SigningKey::generate(Algorithm::ES256).unwrap();
    let jwk = sig.verifying_key().to_jwk().unwrap();
    assert!(matches!(
        EncryptionKey::from_jwk(&jwk, Some(KeyAlgorithm::EcdhEs)),
        Err(Error::UnsupportedAlgorithm | Error::AlgorithmMismatch | Error::InvalidKey(_))
    ));
    let mut no_alg = jwk.clone();
    no_alg.alg = None;
    assert_eq!(
        EncryptionKey::from_jwk(&no_alg, Some(KeyAlgorithm::EcdhEs)).unwrap_err(),
        Error::InvalidKey("JWK use is not enc")
    );
    // An EC key for RSA-OAEP-256, an oct key for ECDH-ES, Ed25519 for ECDH.
    no_alg.key_use = None;
    for alg in [KeyAlgorithm::RsaOaep256, KeyAlgorithm::A128Kw] {
        assert!(matches!(
            EncryptionKey::from_jwk(&no_alg, Some(alg)),
            Err(Error::InvalidKey(_))
        ));
    }
    let ed = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let mut ed = ed.verifying_key().to_jwk().unwrap();
    (ed.alg, ed.key_use) = (None, None);
    assert!(EncryptionKey::from_jwk(&ed, Some(KeyAlgorithm::EcdhEs)).is_err());
    // A JWK whose alg disagrees with the caller's.
    let kw = DecryptionKey::generate(KeyAlgorithm::A128Kw).unwrap();
    let jwk = kw.to_private_jwk().unwrap();
    assert_eq!(
        DecryptionKey::from_jwk(&jwk, Some(KeyAlgorithm::A256Kw)).unwrap_err(),
        Error::AlgorithmMismatch
    );
    // Secrets of the wrong length.
    assert!(DecryptionKey::from_secret(KeyAlgorithm::A128Kw, &[1u8; 32]).is_err());
    assert!(DecryptionKey::from_secret(KeyAlgorithm::Dir, &[1u8; 24]).is_err());
    assert!(DecryptionKey::from_secret(KeyAlgorithm::EcdhEs, &[1u8; 32]).is_err());
    // A dir key that does not fit the enc cannot encrypt.
    let dir = DecryptionKey::from_secret(KeyAlgorithm::Dir, &[1u8; 16]).unwrap();
    assert!(jwe::encrypt(
        b"x",
        &dir.encryption_key(),
        Enc::A256Gcm,
        &EncryptOptions::default()
    )
    .is_err());
}

#[test]
fn size_caps_come_before_any_work() {
    let key = DecryptionKey::generate(KeyAlgorithm::A128Kw).unwrap();
    let small = Limits {
        max_token_len: 100,
        ..Limits::default()
    };
    let token = seal(&key, Enc::A128Gcm);
    assert!(token.len() > 100);
    assert_eq!(
        jwe::decrypt(&token, &key, Enc::A128Gcm, &small).unwrap_err(),
        Error::TooLarge
    );
    // Garbage past the cap is TooLarge, not a parse error: nothing was read.
    let garbage = "!".repeat(Limits::default().max_token_len + 1);
    assert_eq!(refused(&garbage, &key, Enc::A128Gcm), Error::TooLarge);
    assert_eq!(
        jwe::peek_header(&garbage, &limits()).unwrap_err(),
        Error::TooLarge
    );
    // Header depth is capped too.
    let deep = edit(&token, |h| h["x"] = json!([[[[[1]]]]]));
    let shallow = Limits {
        max_depth: 3,
        ..Limits::default()
    };
    assert_eq!(
        jwe::decrypt(&deep, &key, Enc::A128Gcm, &shallow).unwrap_err(),
        Error::TooDeep
    );
    // Four or six segments.
    let four = token.rsplit_once('.').unwrap().0;
    assert!(matches!(
        refused(four, &key, Enc::A128Gcm),
        Error::Malformed(_)
    ));
    assert!(matches!(
        refused(&format!("{token}."), &key, Enc::A128Gcm),
        Error::Malformed(_)
    ));
}

#[test]
fn debug_never_shows_key_material_or_plaintext() {
    let kw = DecryptionKey::from_secret(KeyAlgorithm::A128Kw, &[0xAB; 16]).unwrap();
    let secret_b64 = b64::encode(&[0xAB; 16]);
    for shown in [format!("{kw:?}"), format!("{:?}", kw.encryption_key())] {
        assert!(shown.contains("redacted"), "{shown}");
        assert!(
            !shown.contains(&secret_b64) && !shown.contains("171"),
            "{shown}"
        );
    }
    let ec = DecryptionKey::generate(KeyAlgorithm::EcdhEs).unwrap();
    let d = ec.to_private_jwk().unwrap().d.unwrap();
    assert!(!format!("{ec:?}").contains(&d));
    let token = jwe::encrypt(
        b"top-secret",
        &kw.encryption_key(),
        Enc::A128Gcm,
        &EncryptOptions::default(),
    )
    .unwrap();
    let opened = jwe::decrypt(&token, &kw, Enc::A128Gcm, &limits()).unwrap();
    assert!(!format!("{opened:?}").contains("top-secret"));
}

#[test]
fn nested_jwts_are_signed_then_encrypted() {
    let signer = SigningKey::generate(Algorithm::ES256).unwrap();
    let keys: KeySet = [signer.verifying_key().clone()].into_iter().collect();
    let recipient = DecryptionKey::generate(KeyAlgorithm::RsaOaep256).unwrap();
    let to = recipient.encryption_key();
    let validation = Validation::new("iss", "aud");
    let clock = ManualClock::new(1_000);
    let claims = json!({"iss": "iss", "aud": "aud", "sub": "s", "exp": 2_000});
    let enc = Enc::A256Gcm;
    let token = jwe::encode_encrypted(&signer, Some("at+jwt"), &claims, &to, enc).unwrap();
    assert_eq!(header_of(&token)["cty"], json!("JWT"));
    let data = jwe::decode_encrypted::<Value>(&token, &recipient, enc, &keys, &validation, &clock)
        .unwrap();
    assert_eq!(data.claims["sub"], json!("s"));
    // The inner JWS is still held to the validation: expiry, then a wrong signer.
    clock.set(3_000);
    assert_eq!(
        jwe::decode_encrypted::<Value>(&token, &recipient, enc, &keys, &validation, &clock)
            .unwrap_err(),
        Error::Expired
    );
    clock.set(1_000);
    let stranger = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_kid(signer.kid());
    let forged = jwe::encode_encrypted(&stranger, Some("at+jwt"), &claims, &to, enc).unwrap();
    assert_eq!(
        jwe::decode_encrypted::<Value>(&forged, &recipient, enc, &keys, &validation, &clock)
            .unwrap_err(),
        Error::InvalidSignature
    );
    // Encrypted content without `cty: JWT` is not taken for a nested token.
    let inner = tessera_jose::encode(&signer, Some("at+jwt"), &claims).unwrap();
    let plain = jwe::encrypt(inner.as_bytes(), &to, enc, &EncryptOptions::default()).unwrap();
    assert_eq!(
        jwe::decode_encrypted::<Value>(&plain, &recipient, enc, &keys, &validation, &clock)
            .unwrap_err(),
        Error::Jwe(JweError::NotNested)
    );
}
