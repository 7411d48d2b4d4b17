//! Project Wycheproof's `json_web_encryption_test.json`, every case, through
//! the public JWE API ([`DecryptionKey::from_jwk`] and [`jwe::decrypt`]).
//!
//! The file is read at test time from `../shared/vectors/wycheproof/` beside
//! the repository, as the JWS test does; when it is missing the test prints
//! a `skipped:` line and returns. `TESSERA_WYCHEPROOF_DIR` overrides the
//! directory.
//!
//! For each case the caller allows exactly the `enc` the case names (a key
//! owns its `alg`; the caller owns the `enc`). A `valid` case must decrypt
//! to its `pt`; an `invalid` one must be refused. Where this library
//! deliberately refuses a `valid` case (an algorithm it does not implement
//! on purpose), the case is in [`JWE_DIVERGENCES`] with the reason. The test
//! fails on a divergence not in the table, on a listed case that no longer
//! diverges, and when the number of cases run is not the file's
//! `numberOfTests`. The raw primitive files (`a128cbc_hs256_test.json`,
//! `aes_wrap_test.json`) run as unit tests inside the crate
//! (`src/jwe/wycheproof.rs`), since those primitives are not public API.

// Test helpers: a failed unwrap or panic here is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use tessera_jose::jwe::{self, ContentAlgorithm, DecryptionKey};
use tessera_jose::{Error, Jwk, Limits};

const WYCHEPROOF_DIR: &str = "../../../shared/vectors/wycheproof";

const A192: &str = "192-bit AES (A192GCM, A192CBC-HS384, A192KW, ECDH-ES+A192KW) is not \
     implemented: aws-lc-rs offers no AES-192-GCM, and the 128/256-bit variants cover every use";
const GCMKW: &str = "AES-GCM key wrap (A128GCMKW/A192GCMKW/A256GCMKW) is not implemented: \
     A128KW/A256KW cover shared-key wrapping; the key's alg is refused as unknown";
const RSA_OAEP_SHA1: &str = "RSA-OAEP (SHA-1) is not implemented on purpose; RSA-OAEP-256 is \
     the supported RSA key management, so the key's alg is refused as unknown";
const RSA1_5: &str = "RSA1_5 does not exist in this library (Bleichenbacher-style padding \
     oracles); the key's alg is refused as unknown";
const ZIP: &str = "zip (DEFLATE before encryption) is refused on purpose: compression \
     leaks the plaintext through the ciphertext length (CompressionRefused)";

/// Cases where we deliberately differ: all are `valid` cases we refuse.
const JWE_DIVERGENCES: &[(u64, &str)] = &[
    (28, A192),
    (31, A192),
    (53, A192),
    (56, A192),
    (60, A192),
    (61, A192),
    (70, A192),
    (71, GCMKW),
    (72, GCMKW),
    (73, GCMKW),
    (74, GCMKW),
    (75, GCMKW),
    (77, A192),
    (80, A192),
    (82, RSA_OAEP_SHA1),
    (83, RSA_OAEP_SHA1),
    (84, RSA_OAEP_SHA1),
    (85, RSA_OAEP_SHA1),
    (86, RSA_OAEP_SHA1),
    (87, RSA_OAEP_SHA1),
    (89, A192),
    (92, A192),
    (100, RSA1_5),
    (101, RSA1_5),
    (102, RSA1_5),
    (103, RSA1_5),
    (104, RSA1_5),
    (105, RSA1_5),
    (112, RSA1_5),
    (128, RSA1_5),
    (129, RSA_OAEP_SHA1),
    (133, GCMKW),
    (135, ZIP),
];

fn load(file: &str) -> Option<Value> {
    // `TESSERA_WYCHEPROOF_DIR` points elsewhere (a git worktree has no
    // `../shared` beside it).
    let dir = match std::env::var_os("TESSERA_WYCHEPROOF_DIR") {
        Some(d) => Path::new(&d).to_path_buf(),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join(WYCHEPROOF_DIR),
    };
    let path = dir.join(file);
    if !path.exists() {
        println!("skipped: wycheproof vectors not found at {}", dir.display());
        return None;
    }
    Some(serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap())
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Runs one case: the key from the group's private JWK, the `enc` from the
/// case. `Ok(plaintext)` when it decrypts.
fn run(group: &Value, test: &Value) -> Result<Vec<u8>, String> {
    let jwk: Jwk = serde_json::from_value(group["private"].clone()).unwrap();
    let key = DecryptionKey::from_jwk(&jwk, None).map_err(|e| format!("key: {e}"))?;
    let enc: ContentAlgorithm = test["enc"]
        .as_str()
        .unwrap()
        .parse()
        .map_err(|e: Error| format!("enc: {e}"))?;
    let token = test["jwe"].as_str().unwrap();
    jwe::decrypt(token, &key, enc, &Limits::default())
        .map(|d| d.plaintext().to_vec())
        .map_err(|e| format!("{e}"))
}

#[test]
fn wycheproof_json_web_encryption() {
    let Some(file) = load("json_web_encryption_test.json") else {
        return;
    };
    let table: BTreeMap<u64, &str> = JWE_DIVERGENCES.iter().copied().collect();
    let (mut total, mut passed, mut accepted) = (0, 0, 0);
    let (mut listed, mut unexpected, mut stale) = (Vec::new(), Vec::new(), Vec::new());
    for group in file["testGroups"].as_array().unwrap() {
        for test in group["tests"].as_array().unwrap() {
            total += 1;
            let id = test["tcId"].as_u64().unwrap();
            let expected = test["result"].as_str().unwrap();
            let outcome = run(group, test);
            let agrees = match (expected, &outcome) {
                ("valid", Ok(pt)) => test["pt"].as_str().is_none_or(|want| hex(want) == *pt),
                ("invalid", Err(_)) => true,
                ("valid" | "invalid", _) => false,
                (other, _) => panic!("tcId {id}: unknown result {other:?}"),
            };
            if outcome.is_ok() {
                accepted += 1;
            }
            match (agrees, table.get(&id)) {
                (true, None) => passed += 1,
                (true, Some(_)) => stale.push(id),
                (false, Some(reason)) => listed.push(format!(
                    "  divergence tcId {id}: {:?} -- {reason}",
                    outcome.err()
                )),
                (false, None) => unexpected.push(format!(
                    "tcId {id} ({}): expected {expected}, got {outcome:?}",
                    test["comment"]
                )),
            }
        }
    }
    println!(
        "wycheproof json_web_encryption_test.json: total {total}, agreed {passed}, accepted \
         {accepted}, listed divergences {}",
        listed.len()
    );
    for line in &listed {
        println!("{line}");
    }
    assert!(
        unexpected.is_empty(),
        "divergences not in the table:\n{}",
        unexpected.join("\n")
    );
    assert!(stale.is_empty(), "listed cases that now agree: {stale:?}");
    assert_eq!(total, file["numberOfTests"].as_u64().unwrap() as usize);
    assert_eq!(
        total, 139,
        "the file this table was written for has 139 cases"
    );
    assert_eq!(listed.len(), JWE_DIVERGENCES.len());
    assert_eq!(passed + listed.len(), total);
}
