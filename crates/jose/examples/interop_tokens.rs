//! Cross-language interop fixtures for tessera-jose (run by `.ci/interop`).
//!
//! ```text
//! interop_tokens sign <dir>            write tokens.json + jwks.json signed by tessera-jose
//! interop_tokens verify <dir> <label>  verify tokens.json + jwks.json written by another library
//! ```
//!
//! `jwks.json` is a JWKS of the public keys (plus the HS256 secret as an `oct`
//! key). `tokens.json` holds the expected `issuer`, `audience` and `subject`,
//! one `at+jwt` token per algorithm under `tokens`, and under `expired` one
//! token whose `exp` has passed, which every verifier must refuse.

use serde_json::{json, Value};
use std::fs;
use std::path::Path;
use std::process::ExitCode;
use tessera_jose::{
    b64, decode, encode, Algorithm, Clock, Error, Family, Jwks, KeySet, SigningKey, SystemClock,
    Validation, VerifyingKey,
};

const ISSUER: &str = "https://interop.tessera.example";
const AUDIENCE: &str = "tessera-interop";
const SUBJECT: &str = "interop-user";

/// The algorithms PyJWT and `jose` (Node) both implement.
const ALGS: [Algorithm; 6] = [
    Algorithm::HS256,
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [cmd, dir] if cmd == "sign" => sign(Path::new(dir)).map(|()| true),
        [cmd, dir, label] if cmd == "verify" => verify(Path::new(dir), label),
        _ => {
            eprintln!("usage: interop_tokens sign <dir> | verify <dir> <label>");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("interop_tokens: {e}");
            ExitCode::FAILURE
        }
    }
}

fn claims(alg: Algorithm, iat: i64, exp: i64) -> Value {
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": SUBJECT,
        "iat": iat,
        "exp": exp,
        "jti": format!("tessera-{alg}"),
        "scope": "read write",
    })
}

fn sign(dir: &Path) -> Res<()> {
    fs::create_dir_all(dir)?;
    let now = SystemClock.now();
    let mut jwks = Jwks::default();
    let mut tokens = serde_json::Map::new();
    let mut expired = None;
    for alg in ALGS {
        let key = SigningKey::generate(alg)?;
        let token = encode(&key, Some("at+jwt"), &claims(alg, now, now + 600))?;
        tokens.insert(alg.as_str().to_owned(), Value::String(token));
        if alg == Algorithm::ES256 {
            let old = claims(alg, now - 7200, now - 3600);
            expired = Some(json!({"alg": alg, "token": encode(&key, Some("at+jwt"), &old)?}));
        }
        jwks.keys.push(match alg.family() {
            // The shared secret: both sides need it to verify.
            Family::Hmac => key.to_private_jwk()?,
            _ => key.verifying_key().to_jwk()?,
        });
    }
    let spec = json!({
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "subject": SUBJECT,
        "tokens": tokens,
        "expired": expired,
    });
    fs::write(dir.join("jwks.json"), jwks.to_json())?;
    fs::write(
        dir.join("tokens.json"),
        serde_json::to_string_pretty(&spec)?,
    )?;
    println!(
        "tessera-jose: wrote {} tokens to {}",
        ALGS.len(),
        dir.display()
    );
    Ok(())
}

/// Every key of the JWKS, the `oct` one as an HMAC secret; a key we cannot
/// import is an interop failure, not something to skip.
fn key_set(jwks: &Jwks) -> Res<KeySet> {
    let mut set = KeySet::new();
    for jwk in &jwks.keys {
        let kid = jwk.kid.clone().ok_or("a JWK has no kid")?;
        let key = if jwk.kty == "oct" {
            let alg = jwk.algorithm(None)?;
            let secret = b64::decode(jwk.k.as_deref().unwrap_or("").as_bytes(), "k")?;
            VerifyingKey::from_hmac_secret(alg, &secret)?
        } else {
            VerifyingKey::from_jwk(jwk, None).map_err(|e| format!("JWK {kid}: {e}"))?
        };
        set.insert(key.with_kid(kid));
    }
    Ok(set)
}

fn check(token: &str, alg: &str, keys: &KeySet, validation: &Validation) -> Res<()> {
    let data = decode::<Value>(token, keys, validation, &SystemClock)?;
    if data.header.alg().as_str() != alg {
        return Err(format!("header alg is {}", data.header.alg()).into());
    }
    if data.registered.sub.as_deref() != Some(SUBJECT) {
        return Err(format!("sub is {:?}", data.registered.sub).into());
    }
    if data.registered.iat.is_none() {
        return Err("no iat".into());
    }
    // Control: the same token with a changed payload must not verify.
    let mut forged = data.claims.clone();
    forged["sub"] = json!("attacker");
    let (h, rest) = token.split_once('.').ok_or("token has no dot")?;
    let (_, s) = rest.split_once('.').ok_or("token has one dot")?;
    let forged = format!("{h}.{}.{s}", b64::encode(forged.to_string().as_bytes()));
    match decode::<Value>(&forged, keys, validation, &SystemClock) {
        Err(Error::InvalidSignature) => Ok(()),
        other => Err(format!("forged payload gave {other:?}").into()),
    }
}

fn verify(dir: &Path, label: &str) -> Res<bool> {
    let jwks = Jwks::from_json(&fs::read_to_string(dir.join("jwks.json"))?)?;
    let spec: Value = serde_json::from_str(&fs::read_to_string(dir.join("tokens.json"))?)?;
    let keys = key_set(&jwks)?;
    let issuer = spec["issuer"].as_str().ok_or("no issuer")?;
    let audience = spec["audience"].as_str().ok_or("no audience")?;
    if (issuer, audience, spec["subject"].as_str()) != (ISSUER, AUDIENCE, Some(SUBJECT)) {
        return Err("tokens.json names other expectations".into());
    }
    // Default validation: typ must be at+jwt, exp is required, 30 s leeway.
    let validation = Validation::new(issuer, audience).require("iat");
    let (mut passed, mut failed) = (0, 0);
    for alg in ALGS {
        let result = match spec["tokens"][alg.as_str()].as_str() {
            Some(token) => check(token, alg.as_str(), &keys, &validation),
            None => Err("no token".into()),
        };
        match result {
            Ok(()) => {
                passed += 1;
                println!("  ok   {alg}");
            }
            Err(e) => {
                failed += 1;
                println!("  FAIL {alg}: {e}");
            }
        }
    }
    let expired = spec["expired"]["token"].as_str().unwrap_or("");
    match decode::<Value>(expired, &keys, &validation, &SystemClock) {
        Err(Error::Expired) => {
            passed += 1;
            println!("  ok   expired token refused");
        }
        other => {
            failed += 1;
            println!("  FAIL expired token gave {other:?}");
        }
    }
    println!("tessera-jose <- {label}: {passed} passed, {failed} failed");
    Ok(failed == 0)
}
