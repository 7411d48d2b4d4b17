//! Refresh tokens: format and successor derivation.
//!
//! A token is `tsr_` followed by base64url of 56 bytes:
//! `session id (16) || generation (8, big-endian) || secret (32)`.
//! The first secret of a session is 256 random bits. Each successor is
//! derived, never stored: `secret' = HMAC-SHA-256(K, "tessera/v1/next" ||
//! sid || gen || secret)` with `K` from the server secret. So
//! - the database holds only the SHA-256 of the current token;
//! - a retried refresh (lost response, racing tabs) can be answered with the
//!   very same successor, computed again;
//! - any spent token of a family is recognised as genuine by stepping the
//!   chain forward to the current hash, which is how reuse is told apart
//!   from a forgery (a forged token never kills a session).

use crate::error::{Error, Result};
use crate::secret::ServerSecret;
use tessera_jose::{b64, crypto};
use zeroize::Zeroizing;

/// The prefix secret scanners can look for.
pub const PREFIX: &str = "tsr_";
const RAW_LEN: usize = 16 + 8 + 32;

/// A parsed refresh token. `Debug` hides the secret.
#[derive(Clone)]
pub struct RefreshToken {
    raw: Zeroizing<[u8; RAW_LEN]>,
}

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshToken")
            .field("session", &self.session_id())
            .field("generation", &self.generation())
            .finish_non_exhaustive()
    }
}

impl RefreshToken {
    /// A new family's first token.
    pub fn first(session: &[u8; 16]) -> Result<Self> {
        let secret = crypto::random_bytes(32).map_err(Error::internal)?;
        let mut raw = Zeroizing::new([0u8; RAW_LEN]);
        raw[..16].copy_from_slice(session);
        raw[24..].copy_from_slice(&secret);
        Ok(RefreshToken { raw })
    }

    /// Parses the text form; anything malformed is `InvalidGrant`.
    pub fn parse(text: &str) -> Result<Self> {
        const BAD: Error = Error::InvalidGrant("malformed refresh token");
        let body = text.strip_prefix(PREFIX).ok_or(BAD)?;
        if body.len() != 75 {
            return Err(BAD);
        }
        let bytes = Zeroizing::new(b64::decode(body.as_bytes(), "refresh token").map_err(|_| BAD)?);
        let mut raw = Zeroizing::new([0u8; RAW_LEN]);
        if bytes.len() != RAW_LEN {
            return Err(BAD);
        }
        raw.copy_from_slice(&bytes);
        let token = RefreshToken { raw };
        // Generations count up from 0. A negative one is never issued, and
        // would otherwise buy a forger a long chain walk against any session.
        if token.generation() < 0 {
            return Err(BAD);
        }
        Ok(token)
    }

    /// The text form.
    pub fn encode(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(String::with_capacity(PREFIX.len() + 75));
        s.push_str(PREFIX);
        b64::encode_into(&*self.raw, &mut s);
        s
    }

    /// The session id (base64url of the 16 id bytes).
    pub fn session_id(&self) -> String {
        b64::encode(&self.raw[..16])
    }

    /// The rotation counter.
    pub fn generation(&self) -> i64 {
        let mut g = [0u8; 8];
        g.copy_from_slice(&self.raw[16..24]);
        i64::from_be_bytes(g)
    }

    /// SHA-256 of the token (what the store keeps).
    pub fn hash(&self) -> [u8; 32] {
        crypto::sha256(&*self.raw)
    }

    /// The deterministic successor.
    pub fn successor(&self, secret: &ServerSecret) -> Self {
        let mut input = Zeroizing::new([0u8; 15 + RAW_LEN]);
        input[..15].copy_from_slice(b"tessera/v1/next");
        input[15..].copy_from_slice(&*self.raw);
        let next = Zeroizing::new(crypto::hmac_sha256(secret.successor_key(), &*input));
        let mut raw = Zeroizing::new([0u8; RAW_LEN]);
        raw[..16].copy_from_slice(&self.raw[..16]);
        raw[16..24].copy_from_slice(&self.generation().saturating_add(1).to_be_bytes());
        raw[24..].copy_from_slice(&*next);
        RefreshToken { raw }
    }

    /// True if stepping this token's chain forward to `generation` lands on
    /// `hash`: the token is a genuine (spent) member of that family. Gives up
    /// after `max_steps`.
    pub fn leads_to(
        &self,
        secret: &ServerSecret,
        generation: i64,
        hash: &[u8],
        max_steps: i64,
    ) -> bool {
        let steps = generation.saturating_sub(self.generation());
        if steps < 0 || steps > max_steps {
            return false;
        }
        let mut t = self.clone();
        for _ in 0..steps {
            t = t.successor(secret);
        }
        crypto::constant_time_eq(&t.hash(), hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_chain_and_forgery() {
        let secret = ServerSecret::from_bytes(&[1u8; 32]).unwrap();
        let t0 = RefreshToken::first(&[9u8; 16]).unwrap();
        let text = t0.encode();
        assert!(text.starts_with("tsr_") && text.len() == 79);
        let back = RefreshToken::parse(&text).unwrap();
        assert_eq!(back.hash(), t0.hash());
        assert_eq!(back.generation(), 0);
        let t1 = t0.successor(&secret);
        assert_eq!(t1.generation(), 1);
        assert_eq!(t1.session_id(), t0.session_id());
        assert_eq!(t0.successor(&secret).hash(), t1.hash(), "deterministic");
        let t3 = t1.successor(&secret).successor(&secret);
        assert!(t0.leads_to(&secret, 3, &t3.hash(), 100));
        assert!(!t0.leads_to(&secret, 3, &t3.hash(), 2), "step cap");
        let other = ServerSecret::from_bytes(&[2u8; 32]).unwrap();
        assert!(
            !t0.leads_to(&other, 3, &t3.hash(), 100),
            "needs the server secret"
        );
        let forged = RefreshToken::first(&[9u8; 16]).unwrap();
        assert!(!forged.leads_to(&secret, 3, &t3.hash(), 100));
        assert!(!format!("{t0:?}").contains(&text[10..30]));
        for bad in [
            "",
            "tsr_",
            "xyz_",
            &text[..78],
            &format!("{}=", &text[..78]),
        ] {
            assert!(RefreshToken::parse(bad).is_err(), "{bad}");
        }
    }
}
