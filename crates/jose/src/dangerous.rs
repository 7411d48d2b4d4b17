//! **Dangerous:** reading tokens **without verifying** them.
//!
//! Nothing here checks a signature. Nothing here checks a claim. Use it only to
//! display or debug a token (as `tessera token decode` does), never to decide
//! anything about who sent it.

use crate::b64;
use crate::error::{Error, Result};
use crate::header::{Header, Limits};
use crate::json;
use crate::jws::split;

/// **Not verified:** a token's header and payload as they claim to be.
#[derive(Debug, Clone)]
pub struct UnverifiedParts {
    /// **Not verified:** the header.
    pub header: Header,
    /// **Not verified:** the header as raw JSON.
    pub header_json: serde_json::Value,
    /// **Not verified:** the payload as raw JSON.
    pub payload: serde_json::Value,
}

/// **Dangerous, not verified:** decodes a token's header and payload with the
/// same strict parsing as verification (size caps, canonical base64url, no
/// duplicate members) but **without checking the signature or any claim**.
pub fn decode_unverified(token: &str, limits: &Limits) -> Result<UnverifiedParts> {
    if token.len() > limits.max_token_len {
        return Err(Error::TooLarge);
    }
    let (h, p, s) = split(token)?;
    let header_bytes = b64::decode(h.as_bytes(), "header is not base64url")?;
    let header = Header::parse(&header_bytes, limits.max_depth)?;
    let payload_bytes = b64::decode(p.as_bytes(), "payload is not base64url")?;
    json::check(&payload_bytes, limits.max_depth)?;
    b64::decode(s.as_bytes(), "signature is not base64url")?;
    let parse = |b: &[u8]| serde_json::from_slice(b).map_err(|e| Error::json("JSON", &e));
    Ok(UnverifiedParts {
        header,
        header_json: parse(&header_bytes)?,
        payload: parse(&payload_bytes)?,
    })
}
