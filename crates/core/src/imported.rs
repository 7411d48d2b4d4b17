//! Password hashes brought from other systems by `tessera users import`:
//! checked when imported, verified at login (in constant time), and replaced
//! by an Argon2id hash at the first successful login (the parameter-upgrade
//! path of [`crate::password::Passwords::needs_rehash`]).
//!
//! Accepted as stored (the `password_hash` column keeps them as they are):
//!
//! | scheme | form |
//! |---|---|
//! | Argon2id / Argon2i | PHC: `$argon2id$v=19$m=…,t=…,p=…$salt$hash` |
//! | bcrypt | `$2a$`, `$2b$`, `$2y$` (cost 4–16) |
//! | PBKDF2-SHA256, Django | `pbkdf2_sha256$iterations$salt$base64-hash` |
//! | PBKDF2-SHA256/512, PHC | `$pbkdf2-sha256$i=N,l=L$salt$hash` (also passlib's `$pbkdf2-sha256$N$salt$hash`) |
//! | scrypt | PHC: `$scrypt$ln=…,r=…,p=…$salt$hash` (passlib's form too) |
//!
//! A Keycloak credential (`hashIterations`, `salt`, `value`) becomes the
//! PHC PBKDF2 form with [`keycloak_to_phc`]. Costs are capped, so that an
//! imported hash cannot make one login take minutes or gigabytes.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine as _;

/// The most PBKDF2 iterations an imported hash may ask for.
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
/// The highest bcrypt cost accepted (2^16 rounds, seconds per login).
pub const MAX_BCRYPT_COST: u32 = 16;
/// The most memory (bytes) an imported scrypt hash may ask for: 256 MiB.
pub const MAX_SCRYPT_BYTES: u64 = 256 << 20;
/// The most Argon2 memory (KiB) an imported hash may ask for: 256 MiB.
pub const MAX_ARGON2_KIB: u32 = 256 * 1024;

/// A PBKDF2 hash function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prf {
    Sha256,
    Sha512,
}

/// A parsed non-Argon2 hash, ready to verify.
enum Legacy {
    Bcrypt,
    Pbkdf2 {
        prf: Prf,
        rounds: u32,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
    Scrypt {
        log_n: u8,
        r: u32,
        p: u32,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
}

/// Base64 as the formats write it: standard alphabet, padded or not, or
/// passlib's "adapted" alphabet (`.` for `+`).
fn b64(text: &str) -> Result<Vec<u8>, String> {
    let t = text.trim_end_matches('=').replace('.', "+");
    STANDARD_NO_PAD
        .decode(t.as_bytes())
        .map_err(|_| "is not valid base64".to_owned())
}

fn number<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("has a bad {what} (`{text}`)"))
}

fn check_lengths(salt: &[u8], hash: &[u8]) -> Result<(), String> {
    if salt.len() > 256 {
        return Err("has a salt over 256 bytes".into());
    }
    if !(16..=128).contains(&hash.len()) {
        return Err("has a hash of other than 16 to 128 bytes".into());
    }
    Ok(())
}

fn bcrypt_cost(stored: &str) -> Result<(), String> {
    let cost = stored.get(4..6).ok_or("is not a bcrypt hash")?;
    let cost: u32 = number(cost, "cost")?;
    if !(4..=MAX_BCRYPT_COST).contains(&cost) || stored.len() != 60 {
        return Err(format!(
            "is not a bcrypt hash of cost 4 to {MAX_BCRYPT_COST}"
        ));
    }
    Ok(())
}

fn pbkdf2(prf: Prf, rounds: u32, salt: Vec<u8>, hash: &str) -> Result<Legacy, String> {
    let hash = b64(hash)?;
    if !(1..=MAX_PBKDF2_ITERATIONS).contains(&rounds) {
        return Err(format!(
            "asks for other than 1 to {MAX_PBKDF2_ITERATIONS} iterations"
        ));
    }
    check_lengths(&salt, &hash)?;
    Ok(Legacy::Pbkdf2 {
        prf,
        rounds,
        salt,
        hash,
    })
}

/// `$pbkdf2-sha256$i=N,l=L$salt$hash` or passlib's `$pbkdf2-sha256$N$salt$hash`.
fn pbkdf2_phc(prf: Prf, params: &str, salt: &str, hash: &str) -> Result<Legacy, String> {
    let mut rounds = None;
    for p in params.split(',') {
        match p.split_once('=') {
            Some(("i", v)) => rounds = Some(number(v, "iteration count")?),
            Some(("l", _)) => {}
            None => rounds = Some(number(p, "iteration count")?),
            Some((k, _)) => return Err(format!("has an unknown parameter `{k}`")),
        }
    }
    let rounds = rounds.ok_or("names no iteration count")?;
    pbkdf2(prf, rounds, b64(salt)?, hash)
}

fn scrypt(params: &str, salt: &str, hash: &str) -> Result<Legacy, String> {
    let (mut log_n, mut r, mut p) = (None, None, None);
    for kv in params.split(',') {
        match kv.split_once('=') {
            Some(("ln", v)) => log_n = Some(number::<u8>(v, "ln")?),
            Some(("r", v)) => r = Some(number::<u32>(v, "r")?),
            Some(("p", v)) => p = Some(number::<u32>(v, "p")?),
            _ => return Err(format!("has an unknown parameter `{kv}`")),
        }
    }
    let (Some(log_n), Some(r), Some(p)) = (log_n, r, p) else {
        return Err("needs ln, r and p".into());
    };
    let memory = 128u64 * u64::from(r) * (1u64 << log_n.min(63));
    if log_n == 0 || log_n > 24 || r == 0 || p == 0 || p > 16 || memory > MAX_SCRYPT_BYTES {
        return Err("asks for more than 256 MiB or bad scrypt parameters".into());
    }
    let (salt, hash) = (b64(salt)?, b64(hash)?);
    check_lengths(&salt, &hash)?;
    Ok(Legacy::Scrypt {
        log_n,
        r,
        p,
        salt,
        hash,
    })
}

fn argon2(stored: &str) -> Result<(), String> {
    use argon2::password_hash::PasswordHash;
    let parsed = PasswordHash::new(stored).map_err(|e| format!("is not a PHC string ({e})"))?;
    argon2::Algorithm::try_from(parsed.algorithm).map_err(|_| "names an unknown algorithm")?;
    let params =
        argon2::Params::try_from(&parsed).map_err(|e| format!("has bad parameters ({e})"))?;
    if params.m_cost() > MAX_ARGON2_KIB || parsed.salt.is_none() || parsed.hash.is_none() {
        return Err("asks for more than 256 MiB or lacks a salt or hash".into());
    }
    Ok(())
}

/// Parses a non-Argon2 hash.
fn parse(stored: &str) -> Result<Legacy, String> {
    // Every format is ASCII; bcrypt parsers have panicked slicing other
    // text (RUSTSEC-2026-0199, in bcrypt 0.19.0–0.19.1).
    if !stored.is_ascii() {
        return Err("is not ASCII".into());
    }
    let parts: Vec<&str> = stored.split('$').collect();
    match parts.as_slice() {
        ["", "2a" | "2b" | "2y", ..] => bcrypt_cost(stored).map(|()| Legacy::Bcrypt),
        ["pbkdf2_sha256", rounds, salt, hash] => {
            let rounds = number(rounds, "iteration count")?;
            pbkdf2(Prf::Sha256, rounds, salt.as_bytes().to_vec(), hash)
        }
        ["", "pbkdf2-sha256", params, salt, hash] => pbkdf2_phc(Prf::Sha256, params, salt, hash),
        ["", "pbkdf2-sha512", params, salt, hash] => pbkdf2_phc(Prf::Sha512, params, salt, hash),
        ["", "scrypt", params, salt, hash] => scrypt(params, salt, hash),
        _ => Err("is not a supported password hash (Argon2, bcrypt, PBKDF2, scrypt)".into()),
    }
}

/// Checks a hash to import: a supported scheme, well formed, within the cost
/// caps. The message says what is wrong (never the hash itself).
pub fn check(stored: &str) -> Result<(), String> {
    if stored.starts_with("$argon2") {
        return argon2(stored);
    }
    parse(stored).map(|_| ())
}

/// Verifies a password against a non-Argon2 hash; false for anything
/// malformed or over the caps. The comparison is in constant time.
pub(crate) fn verify(stored: &str, password: &[u8]) -> bool {
    let Ok(legacy) = parse(stored) else {
        return false;
    };
    match legacy {
        Legacy::Bcrypt => bcrypt::verify(password, stored).unwrap_or(false),
        Legacy::Pbkdf2 {
            prf,
            rounds,
            salt,
            hash,
        } => {
            let mut out = zeroize::Zeroizing::new(vec![0u8; hash.len()]);
            match prf {
                Prf::Sha256 => {
                    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, &salt, rounds, &mut out)
                }
                Prf::Sha512 => {
                    pbkdf2::pbkdf2_hmac::<sha2::Sha512>(password, &salt, rounds, &mut out)
                }
            }
            tessera_jose::crypto::constant_time_eq(&out, &hash)
        }
        Legacy::Scrypt {
            log_n,
            r,
            p,
            salt,
            hash,
        } => {
            let Ok(params) = scrypt::Params::new(log_n, r, p, hash.len()) else {
                return false;
            };
            let mut out = zeroize::Zeroizing::new(vec![0u8; hash.len()]);
            scrypt::scrypt(password, &salt, &params, &mut out).is_ok()
                && tessera_jose::crypto::constant_time_eq(&out, &hash)
        }
    }
}

/// A Keycloak password credential (its export's `hashIterations`, `salt`
/// and `value`, both base64, and `algorithm`: `pbkdf2-sha256`, the default,
/// or `pbkdf2-sha512`) as the PHC PBKDF2 string Tessera stores.
pub fn keycloak_to_phc(
    algorithm: &str,
    iterations: u32,
    salt: &str,
    value: &str,
) -> Result<String, String> {
    let (prf, name) = match algorithm {
        "pbkdf2-sha256" => (Prf::Sha256, "pbkdf2-sha256"),
        "pbkdf2-sha512" => (Prf::Sha512, "pbkdf2-sha512"),
        other => {
            return Err(format!(
                "algorithm `{other}` is not supported (pbkdf2-sha256, pbkdf2-sha512)"
            ))
        }
    };
    let salt = STANDARD
        .decode(salt)
        .map_err(|_| "salt is not valid base64".to_owned())?;
    let hash = STANDARD
        .decode(value)
        .map_err(|_| "value is not valid base64".to_owned())?;
    let phc = format!(
        "${name}$i={iterations},l={}${}${}",
        hash.len(),
        STANDARD_NO_PAD.encode(&salt),
        STANDARD_NO_PAD.encode(&hash)
    );
    // The same checks as every imported hash.
    match parse(&phc)? {
        Legacy::Pbkdf2 { prf: p, .. } if p == prf => Ok(phc),
        _ => Err("is not a PBKDF2 credential".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_and_costly_hashes_are_refused_with_a_reason() {
        let refused = [
            "plain",
            "$2b$31$abcdefghijklmnopqrstuuAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "$2b$10$short",
            "pbkdf2_sha256$0$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "pbkdf2_sha256$99999999$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "pbkdf2_sha256$1000$salt$not-base64!",
            "$scrypt$ln=30,r=8,p=1$c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "$scrypt$ln=14,r=8$c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
            "$md5$x$y",
            "$2b$10$abcdefghijklmnopqrstuuAAAAAAAAAAAAAAAAAAAAAAAAAAAAAé",
        ];
        for h in refused {
            assert!(check(h).is_err(), "{h}");
            assert!(!verify(h, b"x"), "{h}");
        }
    }

    #[test]
    fn keycloak_credentials_become_phc_pbkdf2_that_verifies() {
        // PBKDF2-HMAC-SHA256("password", "salt", 4096 iterations, 32 bytes),
        // the usual test vector (Python's hashlib gives the same).
        let value = "xeR41ZKIyEGqUw22hFxMjZYok6ABzk4RpJY4c6qYE0o=";
        let salt = STANDARD.encode(b"salt");
        let phc = keycloak_to_phc("pbkdf2-sha256", 4096, &salt, value).unwrap();
        assert_eq!(check(&phc), Ok(()));
        assert!(verify(&phc, b"password"));
        assert!(!verify(&phc, b"passwore"));
        assert!(keycloak_to_phc("md5", 1, &salt, value).is_err());
        assert!(keycloak_to_phc("pbkdf2-sha256", 4096, "%%", value).is_err());
    }
}
