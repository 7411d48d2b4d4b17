//! Fuzzes compact-token parsing: `UnverifiedToken::parse`, the dangerous
//! unverified reader, and the full `decode` against a fixed key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tessera_jose::{
    dangerous, decode, Algorithm, KeySet, Limits, ManualClock, UnverifiedToken, Validation,
    VerifyingKey,
};

/// A fixed HS256 key (kid "k"): fuzzed tokens reach signature checking.
fn keys() -> &'static KeySet {
    static KEYS: OnceLock<KeySet> = OnceLock::new();
    KEYS.get_or_init(|| {
        let key =
            VerifyingKey::from_hmac_secret(Algorithm::HS256, &[0x42; 32]).map(|k| k.with_kid("k"));
        key.into_iter().collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let limits = Limits::default();
    let parsed = UnverifiedToken::parse(&text, &limits);
    let unverified = dangerous::decode_unverified(&text, &limits);
    // The dangerous reader is never more lenient than the parser.
    assert!(unverified.is_err() || parsed.is_ok());
    if let Ok(token) = parsed {
        let _ = token.header().kid();
        let _ = token.verify_with(keys());
    }
    let validation = Validation::new("https://auth.example", "api");
    let clock = ManualClock::new(1_700_000_000);
    // Forging an HMAC by fuzzing would be a finding.
    assert!(decode::<serde_json::Value>(&text, keys(), &validation, &clock).is_err());
});
