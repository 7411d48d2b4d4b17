//! PEM (RFC 7468) text around DER.

use crate::error::{Error, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use zeroize::Zeroizing;

/// Encodes DER as PEM with the given label, 64 characters per line.
pub fn encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// Decodes the first PEM block; returns its label and DER bytes.
pub fn decode(text: &str) -> Result<(String, Zeroizing<Vec<u8>>)> {
    const BAD: Error = Error::InvalidKey("malformed PEM");
    let start = text.find("-----BEGIN ").ok_or(BAD)?;
    let after = text.get(start + 11..).ok_or(BAD)?;
    let label_end = after.find("-----").ok_or(BAD)?;
    let label = after.get(..label_end).ok_or(BAD)?.to_owned();
    let body_start = label_end + 5;
    let end_marker = format!("-----END {label}-----");
    let body_end = after.find(&end_marker).ok_or(BAD)?;
    let body: String = after
        .get(body_start..body_end)
        .ok_or(BAD)?
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let der = STANDARD.decode(body.as_bytes()).map_err(|_| BAD)?;
    Ok((label, Zeroizing::new(der)))
}
