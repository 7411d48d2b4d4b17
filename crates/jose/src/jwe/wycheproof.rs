//! Project Wycheproof's `a128cbc_hs256_test.json` and `aes_wrap_test.json`
//! against the JWE content encryption and AES key wrap, which are not public
//! API (the JWE file itself runs through the public API in `tests/it`).
//!
//! The files are read from `../shared/vectors/wycheproof/` beside the
//! repository, or from `TESSERA_WYCHEPROOF_DIR`; when absent the tests print
//! `skipped:` and return. Every case must agree: `valid` decrypts (or
//! unwraps) to `msg` and encrypts back to `ct`/`tag`, `invalid` is refused.
//! `acceptable` cases and 192-bit AES key wrap keys (not implemented) are
//! counted apart, and all counts are asserted against the file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::content::{open, seal_with_iv};
use super::ContentAlgorithm;
use crate::provider::jwe as p;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    match std::env::var_os("TESSERA_WYCHEPROOF_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/wycheproof"),
    }
}

fn load(file: &str) -> Option<Value> {
    let path = dir().join(file);
    if !path.exists() {
        println!(
            "skipped: wycheproof vectors not found at {}",
            dir().display()
        );
        return None;
    }
    Some(serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap())
}

fn hex(v: &Value) -> Vec<u8> {
    let s = v.as_str().unwrap();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn tests(file: &Value) -> impl Iterator<Item = (&Value, &Value)> {
    file["testGroups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["tests"].as_array().unwrap().iter().map(move |t| (g, t)))
}

#[test]
fn wycheproof_a128cbc_hs256() {
    let Some(file) = load("a128cbc_hs256_test.json") else {
        return;
    };
    let enc = ContentAlgorithm::A128CbcHs256;
    let (mut valid, mut invalid, mut failures) = (0, 0, Vec::new());
    for (_, t) in tests(&file) {
        let id = t["tcId"].as_u64().unwrap();
        let (key, iv, aad) = (hex(&t["key"]), hex(&t["iv"]), hex(&t["aad"]));
        let (msg, ct, tag) = (hex(&t["msg"]), hex(&t["ct"]), hex(&t["tag"]));
        let opened = open(enc, &key, &aad, &iv, &ct, &tag);
        match t["result"].as_str().unwrap() {
            "valid" => {
                valid += 1;
                let sealed = seal_with_iv(enc, &key, &iv, &aad, &msg).unwrap();
                let ok = opened.as_deref().map(|p| p == &msg[..]).unwrap_or(false)
                    && sealed.ciphertext == ct
                    && sealed.tag == tag;
                if !ok {
                    failures.push(format!("tcId {id}: valid case does not round-trip"));
                }
            }
            "invalid" => {
                invalid += 1;
                if opened.is_ok() {
                    failures.push(format!("tcId {id} ({}): invalid accepted", t["comment"]));
                }
            }
            other => panic!("tcId {id}: unexpected result {other}"),
        }
    }
    println!("wycheproof a128cbc_hs256_test.json: valid {valid}, invalid {invalid}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        valid + invalid,
        file["numberOfTests"].as_u64().unwrap() as usize
    );
    assert_eq!((valid, invalid), (67, 27));
}

#[test]
fn wycheproof_aes_wrap() {
    let Some(file) = load("aes_wrap_test.json") else {
        return;
    };
    let (mut run, mut a192, mut acceptable, mut failures) = (0, 0, 0, Vec::new());
    for (g, t) in tests(&file) {
        let id = t["tcId"].as_u64().unwrap();
        if g["keySize"].as_u64() == Some(192) {
            a192 += 1; // A192KW is not implemented.
            continue;
        }
        let (key, msg, ct) = (hex(&t["key"]), hex(&t["msg"]), hex(&t["ct"]));
        let unwrapped = p::aes_kw_unwrap(&key, &ct);
        match t["result"].as_str().unwrap() {
            "valid" => {
                run += 1;
                let ok = unwrapped.as_deref().map(|u| u == &msg[..]).unwrap_or(false)
                    && p::aes_kw_wrap(&key, &msg).ok() == Some(ct.clone());
                if !ok {
                    failures.push(format!("tcId {id}: valid case does not round-trip"));
                }
            }
            "invalid" => {
                run += 1;
                if unwrapped.is_ok() {
                    failures.push(format!("tcId {id} ({}): invalid accepted", t["comment"]));
                }
            }
            // An 8-byte key wrapped in one block: RFC 3394 needs two blocks;
            // either outcome is allowed, and a JWE CEK is never 8 bytes.
            "acceptable" => acceptable += 1,
            other => panic!("tcId {id}: unexpected result {other}"),
        }
    }
    println!(
        "wycheproof aes_wrap_test.json: run {run}, acceptable {acceptable}, 192-bit skipped {a192}"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        run + acceptable + a192,
        file["numberOfTests"].as_u64().unwrap() as usize
    );
    assert_eq!((run, acceptable, a192), (108, 2, 55));
}
