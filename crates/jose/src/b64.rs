//! Canonical, unpadded base64url (RFC 7515 §2): no padding, no whitespace,
//! no standard-alphabet characters and no non-zero unused bits.

use crate::error::{Error, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// Encodes bytes as unpadded base64url.
pub fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Appends the unpadded base64url form of `bytes` to `out`.
pub fn encode_into(bytes: &[u8], out: &mut String) {
    URL_SAFE_NO_PAD.encode_string(bytes, out);
}

/// The base64url alphabet.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Each byte's 6-bit value, or `0xFF` for bytes outside the alphabet.
static VALUE: [u8; 256] = {
    let mut t = [0xFF; 256];
    let mut i = 0;
    while i < 64 {
        t[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    t
};

/// The decoded length of `n` characters; `None` when no canonical text has
/// that length (one character left over).
fn decoded_len(n: usize) -> Option<usize> {
    match n % 4 {
        0 => Some(n / 4 * 3),
        1 => None,
        r => Some(n / 4 * 3 + r - 1),
    }
}

/// Decodes `text` into `out`, which is exactly `decoded_len(text.len())`
/// long. False for any byte outside the alphabet and for non-zero unused
/// bits in the last character.
fn decode_exact(text: &[u8], out: &mut [u8]) -> bool {
    let v = |c: u8| VALUE[usize::from(c)];
    // Valid values are below 64; 0xFF marks an invalid byte.
    let mut bad = 0u8;
    // Eight characters to six bytes at a time, then four to three.
    let wide = text.len() / 8;
    let (text8, text) = text.split_at(wide * 8);
    let Some((out8, out)) = out.split_at_mut_checked(wide * 6) else {
        return false;
    };
    for (c, o) in text8.chunks_exact(8).zip(out8.chunks_exact_mut(6)) {
        let mut n = 0u64;
        for ch in c {
            let x = v(*ch);
            bad |= x;
            n = n << 6 | u64::from(x);
        }
        o.copy_from_slice(&n.to_be_bytes()[2..]);
    }
    let mut chunks = text.chunks_exact(4);
    let mut outs = out.chunks_exact_mut(3);
    for (c, o) in (&mut chunks).zip(&mut outs) {
        let (a, b, c, d) = (v(c[0]), v(c[1]), v(c[2]), v(c[3]));
        bad |= a | b | c | d;
        let n = u32::from(a) << 18 | u32::from(b) << 12 | u32::from(c) << 6 | u32::from(d);
        o[0] = (n >> 16) as u8;
        o[1] = (n >> 8) as u8;
        o[2] = n as u8;
    }
    let tail = outs.into_remainder();
    // The bits of the last character that the decoded bytes do not use.
    let mut unused = 0u8;
    match (chunks.remainder(), tail) {
        ([], []) => {}
        ([a, b], [o0]) => {
            let (a, b) = (v(*a), v(*b));
            bad |= a | b;
            unused = b & 0x0F;
            *o0 = a << 2 | b >> 4;
        }
        ([a, b, c], [o0, o1]) => {
            let (a, b, c) = (v(*a), v(*b), v(*c));
            bad |= a | b | c;
            unused = c & 0x03;
            *o0 = a << 2 | b >> 4;
            *o1 = b << 4 | c >> 2;
        }
        _ => return false,
    }
    // Any invalid byte sets the top bits.
    bad & 0xC0 == 0 && unused == 0
}

/// Decodes canonical unpadded base64url; anything else is `Malformed(what)`.
pub fn decode(text: &[u8], what: &'static str) -> Result<Vec<u8>> {
    let n = decoded_len(text.len()).ok_or(Error::Malformed(what))?;
    let mut out = vec![0u8; n];
    if decode_exact(text, &mut out) {
        Ok(out)
    } else {
        Err(Error::Malformed(what))
    }
}

/// True if every byte of `text` is in the base64url alphabet.
pub(crate) fn is_alphabet(text: &[u8]) -> bool {
    text.iter().all(|c| VALUE[usize::from(*c)] < 64)
}

/// Decodes canonical unpadded base64url like [`decode`], into a buffer on the
/// stack when the result is small, and hands the bytes to `f`.
pub(crate) fn with_decoded<R>(
    text: &[u8],
    what: &'static str,
    f: impl FnOnce(&[u8]) -> Result<R>,
) -> Result<R> {
    let mut buf = [0u8; 256];
    let n = decoded_len(text.len()).ok_or(Error::Malformed(what))?;
    match buf.get_mut(..n) {
        Some(out) => {
            if !decode_exact(text, out) {
                return Err(Error::Malformed(what));
            }
            f(out)
        }
        None => f(&decode(text, what)?),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The decoder accepts exactly what the `base64` crate's strict
        /// unpadded URL-safe engine accepts, with the same bytes.
        #[test]
        fn matches_the_base64_crate(
            text in proptest::collection::vec(
                prop_oneof![
                    20 => proptest::sample::select(ALPHABET.to_vec()),
                    1 => proptest::sample::select(b"=+/ \n.\x00\x80\xff".to_vec()),
                ],
                0..40,
            )
        ) {
            let want = URL_SAFE_NO_PAD.decode(&text).ok();
            prop_assert_eq!(decode(&text, "x").ok(), want.clone());
            let via_stack = with_decoded(&text, "x", |b| Ok(b.to_vec())).ok();
            prop_assert_eq!(via_stack, want);
        }

        #[test]
        fn round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let text = encode(&bytes);
            prop_assert_eq!(decode(text.as_bytes(), "x").unwrap(), bytes.clone());
            let via_stack = with_decoded(text.as_bytes(), "x", |b| Ok(b.to_vec())).unwrap();
            prop_assert_eq!(via_stack, bytes);
        }
    }

    #[test]
    fn canonical_only() {
        assert_eq!(decode(b"", "x").unwrap(), b"");
        assert_eq!(decode(b"QQ", "x").unwrap(), b"A");
        assert!(decode(b"QR", "x").is_err(), "unused bits");
        assert!(decode(b"QUI", "x").is_ok());
        assert!(decode(b"QUJ", "x").is_err(), "unused bits");
        assert!(decode(b"Q", "x").is_err(), "one character left over");
        assert!(decode(b"QQ==", "x").is_err(), "padding");
        assert!(decode(b"a+b/", "x").is_err(), "standard alphabet");
    }
}
