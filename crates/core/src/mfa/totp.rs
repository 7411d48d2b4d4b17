//! Time-based one-time passwords (RFC 6238 over RFC 4226): HMAC-SHA-1, six
//! digits, 30-second steps, one step of drift either way. Pure functions;
//! the replay guard (the last step used) is the store's counter.

use crate::error::{Error, Result};
use tessera_jose::crypto;
use zeroize::Zeroizing;

/// Seconds per step.
pub const STEP: i64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Steps of clock drift accepted either way.
pub const DRIFT: i64 = 1;
/// Bytes of a new secret (160 bits, RFC 4226 §4's recommendation).
pub(crate) const SECRET_LEN: usize = 20;

/// A new random secret.
pub(crate) fn new_secret() -> Result<Zeroizing<Vec<u8>>> {
    crypto::random_bytes(SECRET_LEN).map_err(Error::internal)
}

/// RFC 4648 base32 without padding (what authenticator apps read).
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Decodes RFC 4648 base32 (any case, no padding, spaces ignored); `None`
/// for anything else.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        let v = match c.to_ascii_uppercase() {
            u @ 'A'..='Z' => u32::from(u) - u32::from('A'),
            d @ '2'..='7' => u32::from(d) - u32::from('2') + 26,
            _ => return None,
        };
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// The HOTP value (RFC 4226 §5.3) of `counter`, as `DIGITS` digits.
pub fn hotp(secret: &[u8], counter: u64) -> String {
    let mac = crypto::hmac_sha1(secret, &counter.to_be_bytes());
    let offset = usize::from(mac[19] & 0x0f);
    let bin = (u32::from(mac[offset] & 0x7f) << 24)
        | (u32::from(mac[offset + 1]) << 16)
        | (u32::from(mac[offset + 2]) << 8)
        | u32::from(mac[offset + 3]);
    format!(
        "{:0width$}",
        bin % 10u32.pow(DIGITS),
        width = DIGITS as usize
    )
}

/// The step of Unix time `now`.
pub fn step_of(now: i64) -> i64 {
    now.div_euclid(STEP)
}

/// The code of Unix time `now` (for tests and tools).
pub fn code_at(secret: &[u8], now: i64) -> String {
    hotp(secret, u64::try_from(step_of(now)).unwrap_or(0))
}

/// The step within the drift window whose code `code` is, if any. Every
/// candidate is compared (in constant time), so the time taken does not
/// tell which matched. Spaces are ignored; anything but six digits is no
/// code.
pub(crate) fn matching_step(secret: &[u8], code: &str, now: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now_step = step_of(now);
    let mut found = None;
    for step in now_step - DRIFT..=now_step + DRIFT {
        let Ok(counter) = u64::try_from(step) else {
            continue;
        };
        if crypto::constant_time_eq(hotp(secret, counter).as_bytes(), code.as_bytes()) {
            found = Some(step);
        }
    }
    found
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `otpauth://` URI authenticator apps import (Google Authenticator's
/// Key Uri Format): `issuer:account`, the base32 secret, SHA1, 6 digits, 30 s.
pub fn otpauth_uri(issuer: &str, account: &str, secret_b32: &str) -> String {
    format!(
        "otpauth://totp/{}:{}?secret={secret_b32}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP}",
        pct(issuer),
        pct(account),
        pct(issuer)
    )
}

/// A QR code of `text` as a standalone SVG document.
pub(crate) fn qr_svg(text: &str) -> Result<String> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| Error::internal_msg(format!("QR code: {e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1, truncated to six digits.
    #[test]
    fn rfc6238_vectors() {
        let secret = b"12345678901234567890";
        for (t, want) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            assert_eq!(code_at(secret, t), want, "t = {t}");
        }
    }

    #[test]
    fn drift_is_one_step_either_way() {
        let secret = b"12345678901234567890";
        let now = 1_700_000_015;
        let s = step_of(now);
        for d in [-1, 0, 1] {
            let code = code_at(secret, now + d * STEP);
            assert_eq!(matching_step(secret, &code, now), Some(s + d), "drift {d}");
        }
        for d in [-2, 2] {
            let code = code_at(secret, now + d * STEP);
            assert_eq!(matching_step(secret, &code, now), None, "drift {d}");
        }
        let spaced = code_at(secret, now);
        let spaced = format!("{} {}", &spaced[..3], &spaced[3..]);
        assert_eq!(matching_step(secret, &spaced, now), Some(s));
        for junk in ["", "12345", "1234567", "abcdef", "12345\u{0661}"] {
            assert_eq!(matching_step(secret, junk, now), None, "{junk:?}");
        }
    }

    #[test]
    fn base32_and_uri() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("mzxw6ytboi").unwrap(), b"foobar");
        assert!(base32_decode("MZ1").is_none());
        assert_eq!(
            base32(b"12345678901234567890"),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
        let uri = otpauth_uri("Tessera Co", "ada@example.com", "ABC");
        assert_eq!(
            uri,
            "otpauth://totp/Tessera%20Co:ada%40example.com?secret=ABC&issuer=Tessera%20Co&algorithm=SHA1&digits=6&period=30"
        );
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.contains("<svg"), "{svg}");
    }
}
