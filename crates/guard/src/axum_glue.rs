//! The tower layer, the axum extractors and the RFC 6750 rejections.

use crate::error::Error;
use crate::{Authenticated, Guard};
use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{header, HeaderValue, Request, StatusCode};
use serde::de::DeserializeOwned;
use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// A refused request: the status, an RFC 6750 `WWW-Authenticate` challenge
/// and a JSON body `{"error": ..., "error_description": ...}`.
#[derive(Debug, Clone)]
pub struct Rejection {
    error: Error,
    realm: Arc<str>,
    dpop: bool,
}

impl Rejection {
    /// A rejection for `error` in `realm`.
    pub fn new(error: Error, realm: &str) -> Self {
        Rejection {
            error,
            realm: realm.into(),
            dpop: false,
        }
    }
    /// Also challenge with the `DPoP` scheme (RFC 9449 §7.1): a guard that
    /// accepts DPoP-bound tokens says so on every 401.
    pub fn with_dpop(mut self, dpop: bool) -> Self {
        self.dpop = dpop;
        self
    }
    /// Why.
    pub fn error(&self) -> &Error {
        &self.error
    }
}

/// The proof algorithms a guard accepts, for `algs` in DPoP challenges.
const ALGS: &str = "ES256 EdDSA RS256 PS256";

/// RFC 6750 §3: quoted-string values may not hold `"` or `\`.
fn quoted(s: &str) -> String {
    s.chars()
        .filter(|c| (' '..='~').contains(c) && *c != '"' && *c != '\\')
        .collect()
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let realm = quoted(&self.realm);
        let description = quoted(&self.error.to_string());
        let (status, code, challenge) = match &self.error {
            Error::MissingToken => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                // §3.1: no error code when the request had no credentials.
                Some(format!("Bearer realm=\"{realm}\"")),
            ),
            Error::MalformedHeader => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                Some(format!(
                    "Bearer realm=\"{realm}\", error=\"invalid_request\", error_description=\"{description}\""
                )),
            ),
            Error::InvalidToken(_) | Error::Revoked => (
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                Some(format!(
                    "Bearer realm=\"{realm}\", error=\"invalid_token\", error_description=\"{description}\""
                )),
            ),
            Error::MissingRole(_) => (
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                Some(format!(
                    "Bearer realm=\"{realm}\", error=\"insufficient_scope\", error_description=\"{description}\""
                )),
            ),
            Error::MissingScope(s) => (
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                Some(format!(
                    "Bearer realm=\"{realm}\", error=\"insufficient_scope\", error_description=\"{description}\", scope=\"{}\"",
                    quoted(s)
                )),
            ),
            Error::DpopRequired | Error::NotDpopBound | Error::DpopNotConfigured => (
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                Some(format!(
                    "DPoP realm=\"{realm}\", error=\"invalid_token\", error_description=\"{description}\", algs=\"{ALGS}\""
                )),
            ),
            Error::InvalidDpopProof(_) | Error::DpopReplayed | Error::DpopKeyMismatch => (
                StatusCode::UNAUTHORIZED,
                "invalid_dpop_proof",
                Some(format!(
                    "DPoP realm=\"{realm}\", error=\"invalid_dpop_proof\", error_description=\"{description}\", algs=\"{ALGS}\""
                )),
            ),
            Error::KeysUnavailable | Error::Fetch(_) | Error::Setup(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                None,
            ),
        };
        let body =
            serde_json::json!({ "error": code, "error_description": self.error.to_string() });
        let mut res = (status, axum::Json(body)).into_response();
        let h = res.headers_mut();
        let is_dpop = challenge.as_deref().is_some_and(|c| c.starts_with("DPoP "));
        if let Some(v) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            h.insert(header::WWW_AUTHENTICATE, v);
        }
        // A guard that takes DPoP names both schemes on a 401 (RFC 9449 §7.1).
        if self.dpop && !is_dpop && status == StatusCode::UNAUTHORIZED {
            if let Ok(v) =
                HeaderValue::from_str(&format!("DPoP realm=\"{realm}\", algs=\"{ALGS}\""))
            {
                h.append(header::WWW_AUTHENTICATE, v);
            }
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            h.insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        }
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    }
}

/// The token of `Authorization: Bearer <token>` (RFC 6750 §2.1; the scheme
/// is case-insensitive). Tokens in the query string are not accepted.
#[cfg(test)]
pub(crate) fn bearer(headers: &http::HeaderMap) -> Result<&str, Error> {
    match crate::dpop::credentials(headers)? {
        (crate::dpop::Scheme::Bearer, token) => Ok(token),
        _ => Err(Error::MissingToken),
    }
}

/// The layer of [`Guard::layer`].
#[derive(Clone, Debug)]
pub struct GuardLayer {
    guard: Guard,
}

impl GuardLayer {
    pub(crate) fn new(guard: Guard) -> Self {
        GuardLayer { guard }
    }
}

impl<S> tower::Layer<S> for GuardLayer {
    type Service = GuardService<S>;
    fn layer(&self, inner: S) -> GuardService<S> {
        GuardService {
            inner,
            guard: self.guard.clone(),
        }
    }
}

/// The service of [`GuardLayer`]: verifies, then calls the inner service
/// with the [`Authenticated`] caller in the request extensions.
#[derive(Clone, Debug)]
pub struct GuardService<S> {
    inner: S,
    guard: Guard,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, B> tower::Service<Request<B>> for GuardService<S>
where
    S: tower::Service<Request<B>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        // The clone that was driven to readiness serves this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let guard = self.guard.clone();
        Box::pin(async move {
            let verified = guard
                .verify_request(req.method(), req.uri(), req.headers())
                .await;
            match verified {
                Ok(auth) => {
                    req.extensions_mut().insert(auth);
                    req.extensions_mut().insert(guard);
                    inner.call(req).await
                }
                Err(e) => Ok(Rejection::new(e, guard.realm())
                    .with_dpop(guard.accepts_dpop())
                    .into_response()),
            }
        })
    }
}

#[allow(clippy::result_large_err)] // axum rejections are responses
fn caller(parts: &Parts) -> Result<(Arc<Authenticated>, Arc<str>), Response> {
    let realm: Arc<str> = parts
        .extensions
        .get::<Guard>()
        .map_or_else(|| "api".into(), |g| g.realm().into());
    match parts.extensions.get::<Arc<Authenticated>>() {
        Some(a) => Ok((a.clone(), realm)),
        // A programming error (the route is not behind `guard.layer()`),
        // never a client's fault: say so loudly.
        None => {
            tracing::error!("tessera-guard extractor used on a route without the guard layer");
            Err((
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(serde_json::json!({
                    "error": "server_error",
                    "error_description": "route is not behind the guard layer",
                })),
            )
                .into_response())
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        caller(parts).map(|(a, _)| (*a).clone())
    }
}

/// The verified claims as `T`.
#[derive(Debug, Clone)]
pub struct Claims<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Claims<T> {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        let (auth, realm) = caller(parts)?;
        auth.deserialize::<T>().map(Claims).map_err(|_| {
            Rejection::new(
                Error::InvalidToken(tessera_jose::Error::InvalidClaim(
                    "claims do not have the shape this API expects",
                )),
                &realm,
            )
            .into_response()
        })
    }
}

/// A role name for [`RequireRole`]; declare one with [`role!`](crate::role).
pub trait RoleName: Send + Sync + 'static {
    /// The role.
    const NAME: &'static str;
}

/// A scope name for [`RequireScope`]; declare one with [`scope!`](crate::scope).
pub trait ScopeName: Send + Sync + 'static {
    /// The scope.
    const NAME: &'static str;
}

/// Declares a [`RoleName`]: `tessera_guard::role!(Admin = "admin");`.
#[macro_export]
macro_rules! role {
    ($v:vis $name:ident = $role:literal) => {
        #[doc = concat!("The `", $role, "` role.")]
        #[derive(Debug, Clone, Copy)]
        $v struct $name;
        impl $crate::RoleName for $name {
            const NAME: &'static str = $role;
        }
    };
}

/// Declares a [`ScopeName`]: `tessera_guard::scope!(ReadX = "read:x");`.
#[macro_export]
macro_rules! scope {
    ($v:vis $name:ident = $scope:literal) => {
        #[doc = concat!("The `", $scope, "` scope.")]
        #[derive(Debug, Clone, Copy)]
        $v struct $name;
        impl $crate::ScopeName for $name {
            const NAME: &'static str = $scope;
        }
    };
}

/// Extractor that answers 403 (`insufficient_scope`) unless the token has
/// role `R`.
#[derive(Debug)]
pub struct RequireRole<R: RoleName>(pub Authenticated, pub PhantomData<R>);

impl<S: Send + Sync, R: RoleName> FromRequestParts<S> for RequireRole<R> {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        let (auth, realm) = caller(parts)?;
        if auth.has_role(R::NAME) {
            Ok(RequireRole((*auth).clone(), PhantomData))
        } else {
            Err(Rejection::new(Error::MissingRole(R::NAME.to_owned()), &realm).into_response())
        }
    }
}

/// Extractor that answers 403 (`insufficient_scope`, with the `scope` the
/// route needs) unless the token's `scope` includes `S`.
#[derive(Debug)]
pub struct RequireScope<Sc: ScopeName>(pub Authenticated, pub PhantomData<Sc>);

impl<S: Send + Sync, Sc: ScopeName> FromRequestParts<S> for RequireScope<Sc> {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        let (auth, realm) = caller(parts)?;
        if auth.has_scope(Sc::NAME) {
            Ok(RequireScope((*auth).clone(), PhantomData))
        } else {
            Err(Rejection::new(Error::MissingScope(Sc::NAME.to_owned()), &realm).into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    fn auth(v: &[&'static str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for x in v {
            h.append(header::AUTHORIZATION, HeaderValue::from_static(x));
        }
        h
    }

    #[test]
    fn bearer_header_parsing_follows_rfc_6750() {
        assert_eq!(bearer(&auth(&["Bearer abc.def.ghi"])), Ok("abc.def.ghi"));
        assert_eq!(
            bearer(&auth(&["bearer abc.d-_f.g~+/=="])),
            Ok("abc.d-_f.g~+/==")
        );
        assert_eq!(bearer(&auth(&[])), Err(Error::MissingToken));
        assert_eq!(
            bearer(&auth(&["Basic dXNlcjpwYXNz"])),
            Err(Error::MissingToken)
        );
        for bad in [
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "Bearer a\"b",
            "Bearer ===",
            "Bearer a,b",
        ] {
            assert_eq!(
                bearer(&auth(&[bad])),
                Err(Error::MalformedHeader),
                "{bad:?}"
            );
        }
        assert_eq!(
            bearer(&auth(&["Bearer a.b.c", "Bearer d.e.f"])),
            Err(Error::MalformedHeader)
        );
    }

    #[test]
    fn challenges_never_carry_quotes_or_backslashes() {
        let r =
            Rejection::new(Error::MissingScope("read:\"x\\".into()), "a\"realm").into_response();
        let c = r.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(
            c.starts_with("Bearer realm=\"arealm\", error=\"insufficient_scope\""),
            "{c}"
        );
        assert!(c.ends_with("scope=\"read:x\""), "{c}");
    }
}
