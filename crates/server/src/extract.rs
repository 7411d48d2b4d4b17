//! Request extractors with strict, JSON-shaped rejections.

use crate::dpop::{check_resource, Scheme};
use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use tessera_core::{ClientInfo, Principal};

/// A JSON body: `Content-Type: application/json`, within the size cap, one
/// strict JSON object (no duplicate members), matching `T`.
pub struct JsonBody<T>(pub T);

fn is_json(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| {
            let m = mime.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
        .unwrap_or(false)
}

/// Describes a serde error without echoing input values.
fn describe(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg);
    if msg.starts_with("missing field")
        || msg.starts_with("unknown field")
        || msg.starts_with("duplicate field")
    {
        msg.to_owned()
    } else if msg.starts_with("invalid type")
        || msg.starts_with("invalid value")
        || msg.starts_with("invalid length")
    {
        // "invalid type: string \"...\", expected ..." — keep only what was expected.
        match msg.rsplit_once("expected ") {
            Some((_, exp)) => format!("a field has the wrong type (expected {exp})"),
            None => "a field has the wrong type".into(),
        }
    } else {
        "the body does not match the expected shape".into()
    }
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    tessera_jose::json::check(bytes, 16).map_err(|e| match e {
        tessera_jose::Error::DuplicateMember => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "duplicate member in JSON object",
        ),
        tessera_jose::Error::TooDeep => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "JSON nests too deeply",
        ),
        _ => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "the body is not valid JSON",
        ),
    })?;
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request(describe(&e)))
}

async fn read_body(req: Request, state: &AppState) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rej| {
        if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the body exceeds {} bytes", state.config.max_body_bytes),
            )
        } else {
            ApiError::bad_request("the body could not be read")
        }
    })
}

/// The raw body within the size cap; past it, a JSON 413 like every other
/// error (axum's own `Bytes` rejection is plain text).
pub struct RawBody(pub Bytes);

impl FromRequest<AppState> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        read_body(req, state).await.map(RawBody)
    }
}

fn unsupported() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "expected Content-Type: application/json",
    )
}

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        if !is_json(&req) {
            return Err(unsupported());
        }
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Like [`JsonBody`], but an empty body is `None` (for cookie-mode requests,
/// which need no body).
pub struct OptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned> FromRequest<AppState> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let json = is_json(&req);
        let bytes = read_body(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(None));
        }
        if !json {
            return Err(unsupported());
        }
        parse_json(&bytes).map(|v| OptionalJson(Some(v)))
    }
}

/// A path parameter; a segment that does not decode (for example invalid
/// UTF-8 after percent-decoding) is a JSON 400, not axum's plain-text one.
pub struct PathParam<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParam<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| PathParam(p.0))
            .map_err(|_| ApiError::bad_request("a path segment is not valid"))
    }
}

/// The caller's address (behind `trusted_proxies`, the one they name; see
/// `client_ip`) and user agent.
pub struct Client(pub ClientInfo);

impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| {
            crate::client_ip::client_ip(
                c.0.ip(),
                &parts.headers,
                &s.config.trusted_proxies,
                s.config.proxy_header,
            )
            .to_string()
        });
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(512).collect());
        Ok(Client(ClientInfo {
            ip,
            user_agent,
            ..ClientInfo::default()
        }))
    }
}

/// Extracts the raw token of an `Authorization: Bearer` header; the scheme
/// is matched case-insensitively.
pub fn bearer_token(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::invalid_token("missing bearer token"))?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::invalid_token("malformed Authorization header"))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| ApiError::invalid_token("malformed Authorization header"))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::invalid_token(
            "the Authorization scheme must be Bearer",
        ));
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(ApiError::invalid_token("missing bearer token"));
    }
    Ok(token)
}

/// The scheme and token of an `Authorization: Bearer` or `Authorization:
/// DPoP` header (RFC 9449 §7.1); schemes are matched case-insensitively.
fn access_token(parts: &Parts) -> Result<(Scheme, &str), ApiError> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::invalid_token("missing bearer token"))?
        .to_str()
        .map_err(|_| ApiError::invalid_token("malformed Authorization header"))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| ApiError::invalid_token("malformed Authorization header"))?;
    let scheme = if scheme.eq_ignore_ascii_case("dpop") {
        Scheme::DPoP
    } else if scheme.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else {
        return Err(ApiError::invalid_token(
            "the Authorization scheme must be Bearer or DPoP",
        ));
    };
    let token = token.trim();
    if token.is_empty() {
        return Err(ApiError::invalid_token("missing bearer token"));
    }
    Ok((scheme, token))
}

/// A caller with a valid access token whose session is alive; a DPoP-bound
/// token comes with the `DPoP` scheme and a valid proof from its key.
pub struct Bearer(pub Principal);

impl FromRequestParts<AppState> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (scheme, token) = access_token(parts)?;
        let who = state.app.sessions.authenticate(token).await.map_err(|e| {
            let mut e = ApiError::from(e);
            e.dpop_challenge = scheme == Scheme::DPoP && e.bearer.is_some();
            e
        })?;
        check_resource(state, parts, scheme, token, &who).await?;
        // Tessera's own endpoints serve users; a client-credentials token
        // (no session) is for resource servers, not for acting as a user.
        if who.session_id().is_none() {
            return Err(ApiError::invalid_token(
                "a user's access token is required (client tokens have no session)",
            ));
        }
        // A token from the authorization code flow carries the scopes a
        // client was granted: it is for resource servers and userinfo. Only
        // a first-party client's (trusted like the JSON login, no consent)
        // may act on the account through Tessera's own API; the registry is
        // read now, so a client demoted from first-party loses it at once.
        if who.claims.scope.is_some() {
            let first_party = match who.claims.client_id.as_deref() {
                Some(id) => state
                    .app
                    .clients
                    .get(id)
                    .await?
                    .is_some_and(|c| c.first_party),
                None => false,
            };
            if !first_party {
                return Err(ApiError::insufficient(
                    "a third-party client's token cannot use Tessera's account API",
                ));
            }
        }
        Ok(Bearer(who))
    }
}

/// A caller with role `admin`.
pub struct Admin(pub Principal);

/// An administrative action: a caller with role `admin` (checked against
/// the store, as [`Admin`]), and the request's [`ClientInfo`] acting as
/// them, so that every audit row the action writes names its actor.
pub struct Acting(pub ClientInfo);

impl FromRequestParts<AppState> for Acting {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Admin(admin) = Admin::from_request_parts(parts, state).await?;
        let Ok(Client(info)) = Client::from_request_parts(parts, state).await;
        let actor = tessera_core::Actor::User(admin.user_id().to_owned());
        Ok(Acting(info.acting(actor)))
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Bearer(p) = Bearer::from_request_parts(parts, state).await?;
        if !p.has_role("admin") {
            return Err(ApiError::insufficient("the admin role is required"));
        }
        Ok(Admin(p))
    }
}
