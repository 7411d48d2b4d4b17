//! The primitives other Tessera crates need besides JWS: random bytes,
//! SHA-256, HMAC-SHA-256 and constant-time comparison. Exposed here so that
//! this crate stays the only one that touches the cryptographic provider.

use crate::error::Result;
use crate::provider;
use zeroize::Zeroizing;

/// `len` bytes from the operating system's CSPRNG.
pub fn random_bytes(len: usize) -> Result<Zeroizing<Vec<u8>>> {
    provider::random(len)
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    provider::sha256(data)
}

/// HMAC-SHA-256 of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    provider::hmac_sha256(key, data)
}

/// Compares two byte strings in time that does not depend on where they
/// differ (their lengths are not secret).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    provider::ct_eq(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives() {
        let r1 = random_bytes(32).unwrap();
        let r2 = random_bytes(32).unwrap();
        assert_ne!(*r1, *r2);
        // FIPS 180-2 "abc"
        assert_eq!(
            crate::b64::encode(&sha256(b"abc")),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        // RFC 4231 test case 2
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(mac[..4], [0x5b, 0xdc, 0xc1, 0x46]);
    }
}
