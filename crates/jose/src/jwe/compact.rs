//! The compact serialization (RFC 7516 §7.1): five base64url segments,
//! `header.encrypted_key.iv.ciphertext.tag`.

use super::header::{JweHeader, OutHeader};
use super::key::{DecryptionKey, EncryptionKey};
use super::{content, ContentAlgorithm};
use crate::b64;
use crate::error::{Error, JweError, Result};
use crate::header::Limits;
use std::fmt;
use zeroize::Zeroizing;

/// Optional header members for [`encrypt`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncryptOptions {
    /// `typ`, the media type of the whole JWE.
    pub typ: Option<String>,
    /// `cty`, the media type of the plaintext (`JWT` for a nested token).
    pub cty: Option<String>,
    /// `apu`, Agreement PartyUInfo for ECDH-ES (ignored by other algorithms).
    pub apu: Option<Vec<u8>>,
    /// `apv`, Agreement PartyVInfo for ECDH-ES (ignored by other algorithms).
    pub apv: Option<Vec<u8>>,
}

/// A decrypted JWE: its protected header and plaintext.
///
/// `Debug` shows the header and the plaintext's length, never its bytes.
pub struct Decrypted {
    header: JweHeader,
    plaintext: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decrypted")
            .field("header", &self.header)
            .field("plaintext_len", &self.plaintext.len())
            .finish()
    }
}

impl Decrypted {
    /// The protected header.
    pub fn header(&self) -> &JweHeader {
        &self.header
    }

    /// The plaintext (zeroized when dropped).
    pub fn plaintext(&self) -> &[u8] {
        &self.plaintext
    }

    /// Both parts.
    pub fn into_parts(self) -> (JweHeader, Zeroizing<Vec<u8>>) {
        (self.header, self.plaintext)
    }
}

/// Encrypts `plaintext` to `key` with content encryption `enc`, as a
/// compact JWE whose header carries the key's `alg` and `kid`.
pub fn encrypt(
    plaintext: &[u8],
    key: &EncryptionKey,
    enc: ContentAlgorithm,
    options: &EncryptOptions,
) -> Result<String> {
    let apu = options.apu.as_deref().filter(|_| key.alg.is_ecdh());
    let apv = options.apv.as_deref().filter(|_| key.alg.is_ecdh());
    let managed = key.manage(enc, apu.unwrap_or_default(), apv.unwrap_or_default())?;
    let header = OutHeader {
        alg: key.alg.as_str(),
        enc: enc.as_str(),
        kid: key.kid.as_deref(),
        typ: options.typ.as_deref(),
        cty: options.cty.as_deref(),
        epk: managed.epk,
        apu: apu.map(b64::encode),
        apv: apv.map(b64::encode),
    }
    .to_json()?;
    let mut out = b64::encode(&header);
    let sealed = content::seal(enc, &managed.cek, out.as_bytes(), plaintext)?;
    for part in [
        &managed.encrypted_key,
        &sealed.iv,
        &sealed.ciphertext,
        &sealed.tag,
    ] {
        out.push('.');
        b64::encode_into(part, &mut out);
    }
    Ok(out)
}

/// The five segments of a compact JWE.
struct Parts<'a> {
    header: &'a str,
    encrypted_key: &'a str,
    iv: &'a str,
    ciphertext: &'a str,
    tag: &'a str,
}

fn split<'a>(token: &'a str, limits: &Limits) -> Result<Parts<'a>> {
    if token.len() > limits.max_token_len {
        return Err(Error::TooLarge);
    }
    let mut it = token.split('.');
    let mut next = || {
        it.next()
            .ok_or(Error::Malformed("a compact JWE has five segments"))
    };
    let parts = Parts {
        header: next()?,
        encrypted_key: next()?,
        iv: next()?,
        ciphertext: next()?,
        tag: next()?,
    };
    if it.next().is_some() {
        return Err(Error::Malformed("a compact JWE has five segments"));
    }
    Ok(parts)
}

fn parse_header(segment: &str, limits: &Limits) -> Result<JweHeader> {
    b64::with_decoded(segment.as_bytes(), "JWE header is not base64url", |json| {
        JweHeader::parse(json, limits.max_depth)
    })
}

/// Reads the protected header of a compact JWE **without decrypting it**,
/// under the same caps and strict rules as [`decrypt`]. Use it only to pick
/// a key by `kid`; nothing in it is authenticated yet.
pub fn peek_header(token: &str, limits: &Limits) -> Result<JweHeader> {
    parse_header(split(token, limits)?.header, limits)
}

/// Decrypts a compact JWE with `key`, accepting only content encryption `enc`.
///
/// In order: the size cap, five segments, a strict header, `alg` equal to
/// the key's own ([`Error::AlgorithmMismatch`]), `enc` equal to the one
/// allowed ([`JweError::EncryptionMismatch`]), canonical base64url, then
/// key management and authenticated decryption.
pub fn decrypt(
    token: &str,
    key: &DecryptionKey,
    enc: ContentAlgorithm,
    limits: &Limits,
) -> Result<Decrypted> {
    let parts = split(token, limits)?;
    let header = parse_header(parts.header, limits)?;
    if header.alg() != key.algorithm() {
        return Err(Error::AlgorithmMismatch);
    }
    if header.enc() != enc {
        return Err(Error::Jwe(JweError::EncryptionMismatch));
    }
    let encrypted_key = b64::decode(
        parts.encrypted_key.as_bytes(),
        "encrypted key is not base64url",
    )?;
    let iv = b64::decode(parts.iv.as_bytes(), "IV is not base64url")?;
    let ciphertext = b64::decode(parts.ciphertext.as_bytes(), "ciphertext is not base64url")?;
    let tag = b64::decode(parts.tag.as_bytes(), "tag is not base64url")?;
    let cek = key.recover(&header, enc, &encrypted_key)?;
    let plaintext = content::open(enc, &cek, parts.header.as_bytes(), &iv, &ciphertext, &tag)?;
    Ok(Decrypted { header, plaintext })
}
