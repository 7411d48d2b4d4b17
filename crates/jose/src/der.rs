//! Just enough DER reading to take the private components out of a PKCS#8
//! RSA key (for private JWK export). Everything else is aws-lc-rs's job.

use crate::error::{Error, Result};
use zeroize::Zeroizing;

/// RSA private components, minimal big-endian octets, zeroized on drop.
pub(crate) struct RsaPrivate {
    pub d: Zeroizing<Vec<u8>>,
    pub p: Zeroizing<Vec<u8>>,
    pub q: Zeroizing<Vec<u8>>,
    pub dp: Zeroizing<Vec<u8>>,
    pub dq: Zeroizing<Vec<u8>>,
    pub qi: Zeroizing<Vec<u8>>,
}

const BAD: Error = Error::InvalidKey("malformed RSA private key DER");

/// Reads one TLV; returns (tag, contents, rest).
fn tlv(input: &[u8]) -> Result<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first().ok_or(BAD)?;
    let (&first, mut rest) = rest.split_first().ok_or(BAD)?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err(BAD);
        }
        let (bytes, r) = rest.split_at(n);
        rest = r;
        bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    if rest.len() < len {
        return Err(BAD);
    }
    let (contents, rest) = rest.split_at(len);
    Ok((tag, contents, rest))
}

fn expect(input: &[u8], want: u8) -> Result<(&[u8], &[u8])> {
    let (tag, contents, rest) = tlv(input)?;
    if tag != want {
        return Err(BAD);
    }
    Ok((contents, rest))
}

fn integer(input: &[u8]) -> Result<(Zeroizing<Vec<u8>>, &[u8])> {
    let (contents, rest) = expect(input, 0x02)?;
    let trimmed: Vec<u8> = contents.iter().copied().skip_while(|b| *b == 0).collect();
    Ok((Zeroizing::new(trimmed), rest))
}

/// PKCS#8 `PrivateKeyInfo` → `RSAPrivateKey` → its private integers.
pub(crate) fn rsa_private_from_pkcs8(der: &[u8]) -> Result<RsaPrivate> {
    let (info, _) = expect(der, 0x30)?;
    let (_version, rest) = integer(info)?;
    let (_alg, rest) = expect(rest, 0x30)?;
    let (octets, _) = expect(rest, 0x04)?;
    let (key, _) = expect(octets, 0x30)?;
    let (_v, rest) = integer(key)?;
    let (_n, rest) = integer(rest)?;
    let (_e, rest) = integer(rest)?;
    let (d, rest) = integer(rest)?;
    let (p, rest) = integer(rest)?;
    let (q, rest) = integer(rest)?;
    let (dp, rest) = integer(rest)?;
    let (dq, rest) = integer(rest)?;
    let (qi, _) = integer(rest)?;
    Ok(RsaPrivate {
        d,
        p,
        q,
        dp,
        dq,
        qi,
    })
}
