//! DPoP (RFC 9449) at the HTTP edge: reading the `DPoP` header, the URL a
//! proof must name (built from the configured issuer, never from `Host` or
//! forwarding headers an attacker chooses), the token endpoints' extractor
//! ([`DpopKey`]) and the resource check behind [`crate::extract::Bearer`].
//! The rules themselves are in `tessera_core::Dpop`. Imports `error` and
//! `state`; `extract` and the token handlers import it.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderName, StatusCode};
use tessera_core::{DpopRefused, Error as CoreError, Principal};

/// The request header carrying a proof.
pub const PROOF_HEADER: HeaderName = HeaderName::from_static("dpop");
/// The response header carrying a server nonce.
pub use crate::error::NONCE_HEADER;

/// The proof of a request: `None` without a `DPoP` header; two or more, or
/// one that is not text, are refused (RFC 9449 §4.3: exactly one).
pub(crate) fn proof_of(parts: &Parts) -> ApiResult<Option<&str>> {
    let mut all = parts.headers.get_all(&PROOF_HEADER).iter();
    let Some(first) = all.next() else {
        return Ok(None);
    };
    if all.next().is_some() {
        return Err(CoreError::InvalidDpopProof(DpopRefused::Multiple).into());
    }
    first.to_str().map(|s| Some(s.trim())).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_dpop_proof",
            "malformed DPoP header",
        )
    })
}

/// The URL a proof for this request must name: the configured issuer (the
/// server's public URL) and the request path, without the query.
pub(crate) fn request_url(s: &AppState, parts: &Parts) -> String {
    format!("{}{}", s.config.issuer(), parts.uri.path())
}

/// The key of a token request's valid DPoP proof (`None`: no proof). A
/// refused proof is a 400 `invalid_dpop_proof` (or `use_dpop_nonce` with a
/// `DPoP-Nonce` header), before anything else is done with the request.
pub struct DpopKey(pub Option<String>);

impl FromRequestParts<AppState> for DpopKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        let Some(proof) = proof_of(parts)? else {
            return Ok(DpopKey(None));
        };
        let url = request_url(s, parts);
        let jkt = s
            .app
            .dpop
            .check(proof, parts.method.as_str(), &url, None)
            .await?;
        Ok(DpopKey(Some(jkt)))
    }
}

/// `res` with the current server nonce in `DPoP-Nonce`, when nonces are on
/// (RFC 9449 §8.2: a fresh nonce may come with any answer, so a client
/// rarely meets `use_dpop_nonce`).
pub(crate) fn with_nonce(
    s: &AppState,
    mut res: axum::response::Response,
) -> axum::response::Response {
    if let Some(v) = s
        .app
        .dpop
        .nonce()
        .and_then(|n| axum::http::HeaderValue::from_str(&n).ok())
    {
        res.headers_mut().insert(NONCE_HEADER, v);
    }
    res
}

/// How an access token came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Bearer,
    DPoP,
}

/// A resource request's DPoP rules, after the token itself passed: a bound
/// token needs the `DPoP` scheme and a proof from its key with the right
/// `ath`; an unbound one needs the `Bearer` scheme. Failures are 401s with
/// a `WWW-Authenticate: DPoP` challenge (RFC 9449 §7.1).
pub(crate) async fn check_resource(
    s: &AppState,
    parts: &Parts,
    scheme: Scheme,
    token: &str,
    who: &Principal,
) -> ApiResult<()> {
    match (who.claims.jkt(), scheme) {
        (None, Scheme::Bearer) => Ok(()),
        (None, Scheme::DPoP) => Err(ApiError::dpop_unauthorized(
            "invalid_token",
            "the token is not DPoP-bound; send it with the Bearer scheme",
        )),
        (Some(_), Scheme::Bearer) => Err(ApiError::dpop_unauthorized(
            "invalid_token",
            "the token is DPoP-bound; send it as `Authorization: DPoP` with a DPoP proof",
        )),
        (Some(bound), Scheme::DPoP) => {
            let proof = proof_of(parts)
                .map_err(|e| ApiError::dpop_unauthorized("invalid_dpop_proof", e.description))?
                .ok_or_else(|| {
                    ApiError::dpop_unauthorized("invalid_dpop_proof", "a DPoP proof is required")
                })?;
            let url = request_url(s, parts);
            let jkt = s
                .app
                .dpop
                .check(proof, parts.method.as_str(), &url, Some(token))
                .await
                .map_err(resource_error)?;
            if !tessera_jose::crypto::constant_time_eq(jkt.as_bytes(), bound.as_bytes()) {
                return Err(resource_error(CoreError::InvalidDpopProof(
                    DpopRefused::WrongKey,
                )));
            }
            Ok(())
        }
    }
}

/// A proof failure on a resource request: 401 with a DPoP challenge.
fn resource_error(e: CoreError) -> ApiError {
    match e {
        CoreError::InvalidDpopProof(why) => {
            ApiError::dpop_unauthorized("invalid_dpop_proof", format!("DPoP proof refused: {why}"))
        }
        CoreError::UseDpopNonce(nonce) => ApiError {
            dpop_nonce: Some(nonce),
            ..ApiError::dpop_unauthorized("use_dpop_nonce", "send a DPoP proof with the nonce")
        },
        other => ApiError::from(other),
    }
}
