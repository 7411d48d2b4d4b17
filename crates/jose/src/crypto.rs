//! The primitives other Tessera crates need besides JWS: random bytes,
//! SHA-256, HMAC-SHA-256 (and HMAC-SHA-1 for one-time passwords) and constant-time comparison. Exposed here so that
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

/// HMAC-SHA-1 of `data` under `key`: only for one-time passwords (RFC 4226
/// and RFC 6238 define them over SHA-1; HMAC-SHA-1 is not broken as a MAC).
pub fn hmac_sha1(key: &[u8], data: &[u8]) -> [u8; 20] {
    provider::hmac_sha1(key, data)
}

/// Compares two byte strings in time that does not depend on where they
/// differ (their lengths are not secret).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    provider::ct_eq(a, b)
}

/// Encrypts and authenticates `plaintext` with AES-256-GCM under `key`,
/// binding the associated data `aad` (a random nonce is prepended).
pub fn seal(key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    provider::seal(key, aad, plaintext)
}

/// Decrypts what [`seal`] produced; any change to the data or `aad` fails.
pub fn open(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    provider::open(key, aad, sealed)
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
        let k = [7u8; 32];
        let sealed = seal(&k, b"kid-1", b"secret key").unwrap();
        assert_eq!(&*open(&k, b"kid-1", &sealed).unwrap(), b"secret key");
        assert!(open(&k, b"kid-2", &sealed).is_err(), "aad is bound");
        assert!(open(&[8u8; 32], b"kid-1", &sealed).is_err(), "key is bound");
        let mut flipped = sealed.clone();
        flipped[20] ^= 1;
        assert!(
            open(&k, b"kid-1", &flipped).is_err(),
            "tampering is detected"
        );
        // RFC 4231 test case 2
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(mac[..4], [0x5b, 0xdc, 0xc1, 0x46]);
        // RFC 2202 test case 2 (HMAC-SHA-1)
        let mac = hmac_sha1(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(mac[..4], [0xef, 0xfc, 0xdf, 0x6a]);
    }
}
