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

/// Decodes canonical unpadded base64url; anything else is `Malformed(what)`.
pub fn decode(text: &[u8], what: &'static str) -> Result<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| Error::Malformed(what))
}
