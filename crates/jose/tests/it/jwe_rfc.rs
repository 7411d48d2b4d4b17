//! RFC test vectors for JWE, from `tests/vectors/rfc7520_section5.json`:
//! RFC 7520 §5.4, 5.5, 5.6 and 5.8 (every compact example whose algorithms
//! are supported) decrypt with the RFC's keys to the RFC's plaintext; §5.9
//! (`zip`) is refused; RFC 7516 Appendix A.3 decrypts too. (RFC 7518
//! Appendix B and C run as unit tests next to the code they check.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use tessera_jose::jwe::{self, ContentAlgorithm, DecryptionKey, KeyAlgorithm};
use tessera_jose::{Error, JweError, Jwk, Limits};

fn vectors() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors/rfc7520_section5.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn open(v: &Value) -> Result<Vec<u8>, Error> {
    let jwk: Jwk = serde_json::from_value(v["key"].clone()).unwrap();
    let alg: KeyAlgorithm = v["alg"].as_str().unwrap().parse().unwrap();
    let enc: ContentAlgorithm = v["enc"].as_str().unwrap().parse().unwrap();
    let key = DecryptionKey::from_jwk(&jwk, Some(alg))?;
    let token = v["compact"].as_str().unwrap();
    jwe::decrypt(token, &key, enc, &Limits::default()).map(|d| {
        assert_eq!(d.header().alg(), alg);
        assert_eq!(d.header().enc(), enc);
        assert_eq!(d.header().kid(), jwk.kid.as_deref());
        d.plaintext().to_vec()
    })
}

#[test]
fn rfc7520_section5_compact_examples() {
    let file = vectors();
    let plaintext = file["plaintext"].as_str().unwrap().as_bytes();
    let examples = file["examples"].as_object().unwrap();
    let mut decrypted = 0;
    for name in [
        "5_4_ecdh_es_a128kw_a128gcm",
        "5_5_ecdh_es_a128cbc_hs256",
        "5_6_dir_a128gcm",
        "5_8_a128kw_a128gcm",
    ] {
        let got = open(&examples[name]).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got, plaintext, "{name}");
        decrypted += 1;
    }
    assert_eq!(decrypted, 4);
    assert_eq!(
        open(&examples["5_9_a128kw_a128gcm_zip"]).unwrap_err(),
        Error::Jwe(JweError::CompressionRefused)
    );
}

#[test]
fn rfc7520_examples_refuse_a_flipped_bit() {
    let file = vectors();
    for (name, v) in file["examples"].as_object().unwrap() {
        if name.contains("zip") {
            continue;
        }
        let token = v["compact"].as_str().unwrap();
        // Change one base64url character of the ciphertext (segment 4).
        let parts: Vec<&str> = token.split('.').collect();
        let mut ct: Vec<u8> = parts[3].bytes().collect();
        ct[0] = if ct[0] == b'A' { b'B' } else { b'A' };
        let forged = format!(
            "{}.{}.{}.{}.{}",
            parts[0],
            parts[1],
            parts[2],
            String::from_utf8(ct).unwrap(),
            parts[4]
        );
        let mut v = v.clone();
        v["compact"] = Value::String(forged);
        assert_eq!(
            open(&v).unwrap_err(),
            Error::Jwe(JweError::DecryptionFailed),
            "{name}"
        );
    }
}

#[test]
fn rfc7516_appendix_a3() {
    let v = &vectors()["rfc7516_a3"];
    assert_eq!(
        open(v).unwrap(),
        v["plaintext"].as_str().unwrap().as_bytes()
    );
}
