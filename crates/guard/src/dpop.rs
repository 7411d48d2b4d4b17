//! DPoP-bound tokens (RFC 9449) at the resource server: the `DPoP`
//! Authorization scheme, the proof check (signature, `htm`, `htu`, `ath`,
//! `iat` window, the key matching the token's `cnf.jkt`) and a bounded
//! in-memory `jti` replay cache on the guard's clock.
//!
//! The URL a proof must name is the configured public base URL
//! ([`crate::Builder::dpop_public_url`]) and the request path: never the
//! `Host` header, which the sender chooses. Without a public URL the guard
//! refuses DPoP-bound tokens (it cannot tell which URL they were meant for).

use crate::error::Error;
use http::{header, HeaderMap, HeaderName, Method, Uri};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use tessera_jose::dpop::{self, Expect};
use tessera_jose::Clock;

/// The request header carrying a proof.
pub const PROOF_HEADER: HeaderName = HeaderName::from_static("dpop");

/// How an access token came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Bearer,
    DPoP,
}

/// The DPoP settings of a guard.
pub(crate) struct DpopSettings {
    /// The public base URL (scheme, host, optional port and path prefix).
    pub public_url: Option<String>,
    /// Refuse tokens that are not DPoP-bound.
    pub required: bool,
    /// How old a proof's `iat` may be.
    pub iat_window: i64,
    /// How far in the future a proof's `iat` may be.
    pub leeway: i64,
    pub replay: ReplayCache,
}

/// Proof ids seen recently, each kept until its proof could no longer pass
/// the `iat` check. Bounded: when full of live entries, new proofs are
/// refused (fail closed) rather than forgetting one that could be replayed.
pub(crate) struct ReplayCache {
    capacity: usize,
    inner: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    until: HashMap<[u8; 32], i64>,
    order: VecDeque<([u8; 32], i64)>,
}

impl ReplayCache {
    pub(crate) fn new(capacity: usize) -> Self {
        ReplayCache {
            capacity: capacity.max(1),
            inner: Mutex::new(Seen::default()),
        }
    }

    /// Records `id` until `until`; false if it was seen and is still kept.
    fn first_use(&self, id: [u8; 32], until: i64, now: i64) -> Result<bool, Error> {
        let mut s = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(&(old, t)) = s.order.front() {
            if t > now {
                break;
            }
            s.order.pop_front();
            if s.until.get(&old).is_some_and(|u| *u <= now) {
                s.until.remove(&old);
            }
        }
        if s.until.get(&id).is_some_and(|u| *u > now) {
            return Ok(false);
        }
        if s.until.len() >= self.capacity {
            return Err(Error::InvalidDpopProof(tessera_jose::Error::Malformed(
                "DPoP replay cache is full; retry shortly",
            )));
        }
        s.until.insert(id, until);
        s.order.push_back((id, until));
        Ok(true)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .until
            .len()
    }
}

/// The scheme and token of an `Authorization` header: `Bearer` (RFC 6750
/// §2.1) or `DPoP` (RFC 9449 §7.1), case-insensitively; `token68` syntax.
pub(crate) fn credentials(headers: &HeaderMap) -> Result<(Scheme, &str), Error> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(v) = values.next() else {
        return Err(Error::MissingToken);
    };
    if values.next().is_some() {
        return Err(Error::MalformedHeader);
    }
    let v = v.to_str().map_err(|_| Error::MalformedHeader)?;
    let (scheme, token) = v.split_once(' ').ok_or(Error::MalformedHeader)?;
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Scheme::DPoP
    } else {
        // Another scheme (Basic…) is not a token credential at all.
        return Err(Error::MissingToken);
    };
    let token = token.trim_start_matches(' ');
    // b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    let body = token.trim_end_matches('=');
    if body.is_empty()
        || !body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
    {
        return Err(Error::MalformedHeader);
    }
    Ok((scheme, token))
}

/// What a request says about itself, for the proof check.
pub(crate) struct RequestLine<'a> {
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
}

impl DpopSettings {
    /// The DPoP rules for a token that verified: a bound token needs the
    /// `DPoP` scheme and a good proof from its key; an unbound one the
    /// `Bearer` scheme (and is refused when DPoP is required).
    pub(crate) fn check(
        &self,
        scheme: Scheme,
        token: &str,
        jkt: Option<&str>,
        req: &RequestLine<'_>,
        clock: &dyn Clock,
    ) -> Result<(), Error> {
        let bound = match (jkt, scheme) {
            (None, Scheme::Bearer) if self.required => return Err(Error::DpopRequired),
            (None, Scheme::Bearer) => return Ok(()),
            (None, Scheme::DPoP) => return Err(Error::NotDpopBound),
            (Some(_), Scheme::Bearer) => return Err(Error::DpopRequired),
            (Some(jkt), Scheme::DPoP) => jkt,
        };
        let base = self.public_url.as_deref().ok_or(Error::DpopNotConfigured)?;
        let mut proofs = req.headers.get_all(&PROOF_HEADER).iter();
        let proof = match (proofs.next(), proofs.next()) {
            (Some(p), None) => p.to_str().map_err(|_| malformed())?,
            (None, _) => {
                return Err(Error::InvalidDpopProof(tessera_jose::Error::Malformed(
                    "no DPoP proof",
                )))
            }
            (Some(_), Some(_)) => return Err(malformed()),
        };
        let url = format!("{}{}", base.trim_end_matches('/'), req.uri.path());
        let now = clock.now();
        let expect = Expect {
            method: req.method.as_str(),
            url: &url,
            access_token: Some(token),
            now,
            max_age: self.iat_window,
            leeway: self.leeway,
        };
        let p = dpop::verify(proof.trim(), &expect).map_err(Error::InvalidDpopProof)?;
        if !tessera_jose::crypto::constant_time_eq(p.jkt.as_bytes(), bound.as_bytes()) {
            return Err(Error::DpopKeyMismatch);
        }
        let mut id = p.jkt.into_bytes();
        id.push(0);
        id.extend_from_slice(p.jti.as_bytes());
        let until = now
            .saturating_add(self.iat_window)
            .saturating_add(self.leeway)
            .saturating_add(1);
        if !self
            .replay
            .first_use(tessera_jose::crypto::sha256(&id), until, now)?
        {
            return Err(Error::DpopReplayed);
        }
        Ok(())
    }
}

impl crate::Guard {
    /// Verifies a request's credentials: `Authorization: Bearer <token>`,
    /// or `Authorization: DPoP <token>` with a `DPoP` proof (RFC 9449). A
    /// DPoP-bound token (`cnf.jkt`) needs the proof of its key for this
    /// method and URL; sent as a Bearer token it is refused.
    pub async fn verify_request(
        &self,
        method: &::http::Method,
        uri: &::http::Uri,
        headers: &::http::HeaderMap,
    ) -> crate::Result<std::sync::Arc<crate::Authenticated>> {
        let (scheme, token) = credentials(headers)?;
        let auth = self.verify(token).await?;
        let req = RequestLine {
            method,
            uri,
            headers,
        };
        self.inner
            .dpop
            .check(scheme, token, auth.dpop_jkt(), &req, &*self.inner.clock)?;
        Ok(auth)
    }

    /// True if the guard checks DPoP proofs (a public URL is configured).
    pub fn accepts_dpop(&self) -> bool {
        self.inner.dpop.public_url.is_some()
    }
}

impl crate::Builder {
    /// Accept DPoP-bound tokens (RFC 9449): proofs must name this public
    /// base URL (scheme, host, port, path prefix) plus the request path.
    /// The URL is configured, never read from `Host`. Without it, bound
    /// tokens are refused.
    pub fn dpop_public_url(mut self, url: impl Into<String>) -> Self {
        self.dpop_url = Some(url.into());
        self
    }
    /// Refuse tokens that are not DPoP-bound (default: Bearer tokens work).
    pub fn require_dpop(mut self, required: bool) -> Self {
        self.dpop_required = required;
        self
    }
    /// How old a DPoP proof's `iat` may be (default 60 s; the future side
    /// is the leeway).
    pub fn dpop_iat_window(mut self, secs: u64) -> Self {
        self.dpop_iat_window = secs;
        self
    }
    /// How many proof ids the replay cache holds (default 100 000); when
    /// full of unexpired ids, new proofs are refused.
    pub fn dpop_replay_capacity(mut self, n: usize) -> Self {
        self.dpop_replay_capacity = n;
        self
    }
}

fn malformed() -> Error {
    Error::InvalidDpopProof(tessera_jose::Error::Malformed("malformed DPoP header"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_replay_cache_forgets_only_expired_ids_and_fails_closed_when_full() {
        let c = ReplayCache::new(2);
        assert!(c.first_use([1; 32], 100, 10).unwrap());
        assert!(!c.first_use([1; 32], 100, 50).unwrap());
        assert!(c.first_use([2; 32], 120, 50).unwrap());
        assert!(c.first_use([3; 32], 130, 60).is_err(), "full of live ids");
        // At 100 the first expires and makes room; it may be used again.
        assert!(c.first_use([3; 32], 160, 100).unwrap());
        assert_eq!(c.len(), 2);
        assert!(c.first_use([1; 32], 200, 121).unwrap());
    }

    #[test]
    fn both_schemes_parse() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, "DPoP a.b.c".parse().unwrap());
        assert_eq!(credentials(&h).unwrap(), (Scheme::DPoP, "a.b.c"));
        h.insert(header::AUTHORIZATION, "bearer a.b.c".parse().unwrap());
        assert_eq!(credentials(&h).unwrap(), (Scheme::Bearer, "a.b.c"));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(credentials(&h), Err(Error::MissingToken));
    }
}
