//! Content encryption (RFC 7518 §5): AES-GCM and AES-CBC-HMAC-SHA2.
//!
//! For CBC-HMAC the tag is computed over `AAD || IV || ciphertext || AL` and
//! compared in constant time **before** any decryption, so a padding error
//! can never be observed apart from a tag error.

use super::ContentAlgorithm;
use crate::error::{Error, JweError, Result};
use crate::provider::{self, jwe as p};
use zeroize::Zeroizing;

const FAILED: Error = Error::Jwe(JweError::DecryptionFailed);

/// The three outputs of content encryption.
pub(crate) struct Sealed {
    pub(crate) iv: Vec<u8>,
    pub(crate) ciphertext: Vec<u8>,
    pub(crate) tag: Vec<u8>,
}

/// Encrypts `plaintext` under `cek` with a fresh random IV.
pub(crate) fn seal(
    enc: ContentAlgorithm,
    cek: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Sealed> {
    let iv = provider::random(iv_len(enc))?;
    seal_with_iv(enc, cek, &iv, aad, plaintext)
}

fn iv_len(enc: ContentAlgorithm) -> usize {
    match enc {
        ContentAlgorithm::A128Gcm | ContentAlgorithm::A256Gcm => 12,
        ContentAlgorithm::A128CbcHs256 | ContentAlgorithm::A256CbcHs512 => 16,
    }
}

/// The MAC half, encryption half, HMAC size in bits and tag length of a
/// CBC-HMAC key (RFC 7518 §5.2.2.1).
fn cbc_parts(enc: ContentAlgorithm, cek: &[u8]) -> (&[u8], &[u8], usize, usize) {
    let half = cek.len() / 2;
    let (mac_key, enc_key) = cek.split_at(half);
    let bits = if enc == ContentAlgorithm::A256CbcHs512 {
        512
    } else {
        256
    };
    (mac_key, enc_key, bits, half)
}

fn cbc_tag(
    bits: usize,
    tag_len: usize,
    mac_key: &[u8],
    aad: &[u8],
    iv: &[u8],
    ct: &[u8],
) -> Vec<u8> {
    // AL: the AAD length in bits as a 64-bit big-endian integer.
    let al = (aad.len() as u64).wrapping_mul(8).to_be_bytes();
    let mut tag = p::hmac_sha2(bits, mac_key, &[aad, iv, ct, &al]);
    tag.truncate(tag_len);
    tag
}

fn check_cek(enc: ContentAlgorithm, cek: &[u8]) -> Result<()> {
    if cek.len() != enc.key_len() {
        return Err(FAILED);
    }
    Ok(())
}

pub(crate) fn seal_with_iv(
    enc: ContentAlgorithm,
    cek: &[u8],
    iv: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Sealed> {
    if cek.len() != enc.key_len() {
        return Err(Error::InvalidKey(
            "key length does not fit the content encryption",
        ));
    }
    match enc {
        ContentAlgorithm::A128Gcm | ContentAlgorithm::A256Gcm => {
            let iv12: [u8; 12] = iv
                .try_into()
                .map_err(|_| Error::Jwe(JweError::InvalidPart("IV")))?;
            let (ciphertext, tag) = p::gcm_seal(cek, &iv12, aad, plaintext)?;
            Ok(Sealed {
                iv: iv.to_vec(),
                ciphertext,
                tag,
            })
        }
        ContentAlgorithm::A128CbcHs256 | ContentAlgorithm::A256CbcHs512 => {
            let iv16: [u8; 16] = iv
                .try_into()
                .map_err(|_| Error::Jwe(JweError::InvalidPart("IV")))?;
            let (mac_key, enc_key, bits, tag_len) = cbc_parts(enc, cek);
            let ciphertext = p::cbc_encrypt(enc_key, &iv16, plaintext)?;
            let tag = cbc_tag(bits, tag_len, mac_key, aad, iv, &ciphertext);
            Ok(Sealed {
                iv: iv.to_vec(),
                ciphertext,
                tag,
            })
        }
    }
}

/// Authenticates and decrypts. Every failure (wrong IV or tag length, tag
/// mismatch, bad padding) is the same [`JweError::DecryptionFailed`].
pub(crate) fn open(
    enc: ContentAlgorithm,
    cek: &[u8],
    aad: &[u8],
    iv: &[u8],
    ciphertext: &[u8],
    tag: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    check_cek(enc, cek)?;
    if iv.len() != iv_len(enc) {
        return Err(FAILED);
    }
    match enc {
        ContentAlgorithm::A128Gcm | ContentAlgorithm::A256Gcm => {
            p::gcm_open(cek, iv, aad, ciphertext, tag)
        }
        ContentAlgorithm::A128CbcHs256 | ContentAlgorithm::A256CbcHs512 => {
            let (mac_key, enc_key, bits, tag_len) = cbc_parts(enc, cek);
            let expected = cbc_tag(bits, tag_len, mac_key, aad, iv, ciphertext);
            // Tag length is public; its bytes are compared in constant time,
            // and nothing is decrypted unless they match.
            if tag.len() != tag_len || !p::ct_eq(&expected, tag) {
                return Err(FAILED);
            }
            p::cbc_decrypt(enc_key, iv, ciphertext)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 7518 Appendix B.1 and B.3 (B.2, A192CBC-HS384, is not supported),
    /// from `tests/vectors/rfc7518_appendix_b.json`: encryption with the
    /// RFC's IV gives the RFC's ciphertext and tag, and they decrypt back.
    #[test]
    fn rfc7518_appendix_b() {
        let file: Value =
            serde_json::from_str(include_str!("../../tests/vectors/rfc7518_appendix_b.json"))
                .unwrap();
        let mut n = 0;
        for (enc, v) in [
            (ContentAlgorithm::A128CbcHs256, &file["b1_a128cbc_hs256"]),
            (ContentAlgorithm::A256CbcHs512, &file["b3_a256cbc_hs512"]),
        ] {
            let h = |k: &str| hex(v[k].as_str().unwrap());
            let (k, p, iv, a, e, t) = (h("K"), h("P"), h("IV"), h("A"), h("E"), h("T"));
            let sealed = seal_with_iv(enc, &k, &iv, &a, &p).unwrap();
            assert_eq!(sealed.ciphertext, e, "{enc}: E");
            assert_eq!(sealed.tag, t, "{enc}: T");
            assert_eq!(&*open(enc, &k, &a, &iv, &e, &t).unwrap(), &p[..]);
            // One flipped bit anywhere is refused before decryption.
            let mut bad_t = t.clone();
            bad_t[0] ^= 1;
            assert_eq!(open(enc, &k, &a, &iv, &e, &bad_t).unwrap_err(), FAILED);
            let mut bad_a = a.clone();
            bad_a[0] ^= 1;
            assert_eq!(open(enc, &k, &bad_a, &iv, &e, &t).unwrap_err(), FAILED);
            assert_eq!(
                open(enc, &k, &a, &iv, &e, &t[..t.len() - 1]).unwrap_err(),
                FAILED
            );
            n += 1;
        }
        assert_eq!(n, 2);
    }

    /// A ciphertext whose tag is valid but whose padding is not fails the
    /// same way as a bad tag: padding is only ever looked at after the tag.
    #[test]
    fn bad_padding_under_a_valid_tag_is_the_same_failure() {
        for enc in [
            ContentAlgorithm::A128CbcHs256,
            ContentAlgorithm::A256CbcHs512,
        ] {
            let cek = vec![7u8; enc.key_len()];
            let iv = [9u8; 16];
            let sealed = seal_with_iv(enc, &cek, &iv, b"aad", b"sixteen bytes!!!").unwrap();
            let mut ct = sealed.ciphertext.clone();
            let n = ct.len();
            ct[n - 1] ^= 0x55; // the last block now decrypts to garbage padding
            let (mac_key, enc_key, bits, tag_len) = cbc_parts(enc, &cek);
            let tag = cbc_tag(bits, tag_len, mac_key, b"aad", &iv, &ct);
            assert!(p::cbc_decrypt(enc_key, &iv, &ct).is_err(), "padding is bad");
            assert_eq!(open(enc, &cek, b"aad", &iv, &ct, &tag).unwrap_err(), FAILED);
            assert_eq!(
                open(enc, &cek, b"aad", &iv, &sealed.ciphertext, &tag).unwrap_err(),
                FAILED
            );
        }
    }
}
