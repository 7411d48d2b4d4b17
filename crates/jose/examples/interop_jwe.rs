//! Cross-language JWE interop fixtures for tessera-jose (run by `.ci/interop`).
//!
//! ```text
//! interop_jwe encrypt <dir>            write jwks.json + tokens.json encrypted by tessera-jose
//! interop_jwe decrypt <dir> <label>    decrypt jwks.json + tokens.json written by another library
//! ```
//!
//! `jwks.json` holds the recipients' **private** JWKs (each with `kid`,
//! `alg` and `use: "enc"`), since the other side must decrypt. `tokens.json`
//! holds the `plaintext` and, under `tokens`, one entry per key and `enc`:
//! `{"kid", "alg", "enc", "token"}`. The decrypting side picks the key by
//! `kid`, allows only that entry's `alg` and `enc`, compares the plaintext,
//! and checks that the same token with one tag bit flipped is refused.
//! Under `nested`, a JWT signed with ES256 (public key in `signer`) and then
//! encrypted (`cty: "JWT"`); its claims are `iss`/`aud`/`sub` below.

use serde_json::{json, Value};
use std::fs;
use std::path::Path;
use std::process::ExitCode;
use tessera_jose::jwe::{self, ContentAlgorithm, DecryptionKey, KeyAlgorithm};
use tessera_jose::{
    b64, Algorithm, Clock, Error, JweError, Jwk, Jwks, KeySet, Limits, SigningKey, SystemClock,
    Validation, VerifyingKey,
};

const PLAINTEXT: &str = "tessera interop: \u{2713} {\"sub\":\"interop-user\"} \u{2014} end";
const ISSUER: &str = "https://interop.tessera.example";
const AUDIENCE: &str = "tessera-interop";
const SUBJECT: &str = "interop-user";

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [cmd, dir] if cmd == "encrypt" => encrypt(Path::new(dir)).map(|()| true),
        [cmd, dir, label] if cmd == "decrypt" => decrypt(Path::new(dir), label),
        _ => {
            eprintln!("usage: interop_jwe encrypt <dir> | decrypt <dir> <label>");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("interop_jwe: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One recipient key per algorithm family and curve (`dir` keys are made per `enc`).
fn recipients() -> Res<Vec<DecryptionKey>> {
    let mut keys = vec![DecryptionKey::generate(KeyAlgorithm::RsaOaep256)?];
    for crv in ["P-256", "P-384", "X25519"] {
        keys.push(DecryptionKey::generate_ecdh(KeyAlgorithm::EcdhEs, crv)?);
    }
    keys.push(DecryptionKey::generate_ecdh(
        KeyAlgorithm::EcdhEsA128Kw,
        "P-384",
    )?);
    keys.push(DecryptionKey::generate_ecdh(
        KeyAlgorithm::EcdhEsA256Kw,
        "X25519",
    )?);
    keys.push(DecryptionKey::generate_ecdh(
        KeyAlgorithm::EcdhEsA256Kw,
        "P-256",
    )?);
    keys.push(DecryptionKey::generate(KeyAlgorithm::A128Kw)?);
    keys.push(DecryptionKey::generate(KeyAlgorithm::A256Kw)?);
    Ok(keys
        .into_iter()
        .enumerate()
        .map(|(i, k)| {
            let kid = format!("tessera-{}-{i}", k.algorithm());
            k.with_kid(kid)
        })
        .collect())
}

fn encrypt(dir: &Path) -> Res<()> {
    fs::create_dir_all(dir)?;
    let mut jwks = Jwks::default();
    let mut tokens = Vec::new();
    let mut entry = |key: &DecryptionKey, enc: ContentAlgorithm, jwks: &mut Jwks| -> Res<()> {
        let token = jwe::encrypt(
            PLAINTEXT.as_bytes(),
            &key.encryption_key(),
            enc,
            &jwe::EncryptOptions::default(),
        )?;
        tokens.push(json!({
            "kid": key.kid(), "alg": key.algorithm().as_str(), "enc": enc.as_str(), "token": token,
        }));
        if !jwks.keys.iter().any(|k| k.kid.as_deref() == key.kid()) {
            jwks.keys.push(key.to_private_jwk()?);
        }
        Ok(())
    };
    for key in recipients()? {
        for enc in ContentAlgorithm::ALL {
            entry(&key, enc, &mut jwks)?;
        }
    }
    for enc in ContentAlgorithm::ALL {
        let secret = tessera_jose::crypto::random_bytes(enc.key_len())?;
        let key = DecryptionKey::from_secret(KeyAlgorithm::Dir, &secret)?
            .with_kid(format!("tessera-dir-{enc}"));
        entry(&key, enc, &mut jwks)?;
    }
    // A nested JWT: signed with ES256, encrypted to the RSA-OAEP-256 key.
    let signer = SigningKey::generate(Algorithm::ES256)?;
    let rsa = jwks.keys.first().ok_or("no RSA key")?;
    let to = jwe::EncryptionKey::from_jwk(rsa, None)?;
    let now = SystemClock.now();
    let claims =
        json!({"iss": ISSUER, "aud": AUDIENCE, "sub": SUBJECT, "iat": now, "exp": now + 600});
    let nested = jwe::encode_encrypted(
        &signer,
        Some("at+jwt"),
        &claims,
        &to,
        ContentAlgorithm::A256Gcm,
    )?;
    let spec = json!({
        "plaintext": PLAINTEXT,
        "tokens": tokens,
        "nested": {
            "kid": rsa.kid, "alg": "RSA-OAEP-256", "enc": "A256GCM", "token": nested,
            "signer": signer.verifying_key().to_jwk()?,
            "issuer": ISSUER, "audience": AUDIENCE, "subject": SUBJECT,
        },
    });
    fs::write(dir.join("jwks.json"), jwks.to_json())?;
    fs::write(
        dir.join("tokens.json"),
        serde_json::to_string_pretty(&spec)?,
    )?;
    println!(
        "tessera-jose: wrote {} JWEs and a nested JWT to {}",
        tokens_len(&spec),
        dir.display()
    );
    Ok(())
}

fn tokens_len(spec: &Value) -> usize {
    spec["tokens"].as_array().map_or(0, Vec::len)
}

fn flip_tag(token: &str) -> String {
    let (rest, tag) = token.rsplit_once('.').unwrap_or((token, ""));
    let mut bytes = b64::decode(tag.as_bytes(), "tag").unwrap_or_default();
    if let Some(b) = bytes.first_mut() {
        *b ^= 1;
    }
    format!("{rest}.{}", b64::encode(&bytes))
}

fn check(entry: &Value, jwks: &Jwks, plaintext: &str) -> Res<()> {
    let kid = entry["kid"].as_str().ok_or("no kid")?;
    let alg: KeyAlgorithm = entry["alg"].as_str().ok_or("no alg")?.parse()?;
    let enc: ContentAlgorithm = entry["enc"].as_str().ok_or("no enc")?.parse()?;
    let token = entry["token"].as_str().ok_or("no token")?;
    let jwk = jwks.find(kid).ok_or("no JWK for kid")?;
    let key = DecryptionKey::from_jwk(jwk, Some(alg)).map_err(|e| format!("JWK {kid}: {e}"))?;
    let header = jwe::peek_header(token, &Limits::default())?;
    if header.kid() != Some(kid) {
        return Err(format!("header kid is {:?}", header.kid()).into());
    }
    let opened = jwe::decrypt(token, &key, enc, &Limits::default())?;
    if opened.plaintext() != plaintext.as_bytes() {
        return Err("plaintext differs".into());
    }
    match jwe::decrypt(&flip_tag(token), &key, enc, &Limits::default()) {
        Err(Error::Jwe(JweError::DecryptionFailed)) => Ok(()),
        other => Err(format!("a flipped tag gave {other:?}").into()),
    }
}

fn check_nested(nested: &Value, jwks: &Jwks) -> Res<()> {
    let kid = nested["kid"].as_str().ok_or("no kid")?;
    let key = DecryptionKey::from_jwk(
        jwks.find(kid).ok_or("no JWK")?,
        Some(KeyAlgorithm::RsaOaep256),
    )?;
    let enc: ContentAlgorithm = nested["enc"].as_str().ok_or("no enc")?.parse()?;
    let signer: Jwk = serde_json::from_value(nested["signer"].clone())?;
    let signer = VerifyingKey::from_jwk(&signer, None)?;
    let keys: KeySet = [signer].into_iter().collect();
    let validation = Validation::new(ISSUER, AUDIENCE);
    let token = nested["token"].as_str().ok_or("no token")?;
    let data = jwe::decode_encrypted::<Value>(token, &key, enc, &keys, &validation, &SystemClock)?;
    if data.registered.sub.as_deref() != Some(SUBJECT) {
        return Err("nested sub differs".into());
    }
    Ok(())
}

fn decrypt(dir: &Path, label: &str) -> Res<bool> {
    let jwks = Jwks::from_json(&fs::read_to_string(dir.join("jwks.json"))?)?;
    let spec: Value = serde_json::from_str(&fs::read_to_string(dir.join("tokens.json"))?)?;
    let plaintext = spec["plaintext"].as_str().ok_or("no plaintext")?;
    let (mut passed, mut failed) = (0, 0);
    let mut report = |name: String, r: Res<()>| match r {
        Ok(()) => {
            passed += 1;
            println!("  ok   {name}");
        }
        Err(e) => {
            failed += 1;
            println!("  FAIL {name}: {e}");
        }
    };
    for entry in spec["tokens"].as_array().ok_or("no tokens")? {
        let name = format!("{} {} ({})", entry["alg"], entry["enc"], entry["kid"]);
        report(name, check(entry, &jwks, plaintext));
    }
    report("nested JWT".into(), check_nested(&spec["nested"], &jwks));
    // 10 key families (RSA-OAEP-256; ECDH-ES on P-256, P-384, X25519; ECDH-ES+A128KW on
    // P-384; ECDH-ES+A256KW on X25519 and P-256; A128KW; A256KW; dir) x 4 enc, and the nested JWT.
    let expected = 10 * 4 + 1;
    if passed + failed != expected {
        println!(
            "  FAIL expected {expected} cases, found {}",
            passed + failed
        );
        failed += 1;
    }
    println!("tessera-jose <- {label}: {passed} passed, {failed} failed");
    Ok(failed == 0)
}
