//! Every error leaves as `{"error": "...", "error_description": "..."}` with a
//! 4xx status (503 when the database is down). Bearer failures carry RFC 6750
//! `WWW-Authenticate` headers.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use tessera_api::ErrorBody;

/// The response header carrying a DPoP server nonce (RFC 9449 §8).
pub const NONCE_HEADER: axum::http::HeaderName = axum::http::HeaderName::from_static("dpop-nonce");

/// An HTTP error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// Status code.
    pub status: StatusCode,
    /// Machine-readable code.
    pub error: &'static str,
    /// Human-readable description (never a secret).
    pub description: String,
    /// Set on Bearer failures: the RFC 6750 error code for `WWW-Authenticate`.
    pub bearer: Option<&'static str>,
    /// Seconds for `Retry-After`.
    pub retry_after: Option<u64>,
    /// Adds `WWW-Authenticate: Basic` (OAuth `invalid_client`).
    pub basic_challenge: bool,
    /// The challenge (for `bearer`) is `DPoP` with the accepted `algs`
    /// (RFC 9449 §7.1), not `Bearer`.
    pub dpop_challenge: bool,
    /// A server nonce for the `DPoP-Nonce` header (RFC 9449 §8).
    pub dpop_nonce: Option<String>,
    /// `mfa_required`: the token that continues the login, and how.
    pub mfa: Option<Box<MfaExtra>>,
}

/// The members `mfa_required` adds to the error body. `Debug` hides the token.
#[derive(Clone)]
pub struct MfaExtra {
    /// The `mfa_token`.
    pub mfa_token: String,
    /// The methods the second step may use.
    pub methods: Vec<String>,
    /// Seconds the token works.
    pub expires_in: i64,
}

impl std::fmt::Debug for MfaExtra {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaExtra")
            .field("methods", &self.methods)
            .finish_non_exhaustive()
    }
}

impl ApiError {
    /// A plain error.
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        ApiError {
            status,
            error,
            description: description.into(),
            bearer: None,
            retry_after: None,
            basic_challenge: false,
            dpop_challenge: false,
            dpop_nonce: None,
            mfa: None,
        }
    }

    /// 401 for a resource request whose DPoP-bound token or proof was
    /// refused, with a `WWW-Authenticate: DPoP` challenge (RFC 9449 §7.1).
    pub fn dpop_unauthorized(error: &'static str, description: impl Into<String>) -> Self {
        ApiError {
            bearer: Some(error),
            dpop_challenge: true,
            ..Self::new(StatusCode::UNAUTHORIZED, error, description)
        }
    }

    /// 400 `invalid_request`.
    pub fn bad_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// 401 for a Bearer endpoint.
    pub fn invalid_token(description: impl Into<String>) -> Self {
        ApiError {
            bearer: Some("invalid_token"),
            ..Self::new(StatusCode::UNAUTHORIZED, "invalid_token", description)
        }
    }

    /// 403 for a Bearer endpoint whose token lacks a role or scope.
    pub fn insufficient(description: impl Into<String>) -> Self {
        ApiError {
            bearer: Some("insufficient_scope"),
            ..Self::new(StatusCode::FORBIDDEN, "insufficient_scope", description)
        }
    }

    /// 429 with `Retry-After`.
    pub fn too_many(retry_after_secs: u64) -> Self {
        ApiError {
            retry_after: Some(retry_after_secs),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                format!("too many attempts; retry in {retry_after_secs} s"),
            )
        }
    }

    /// 404.
    pub fn not_found(description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", description)
    }
}

fn quote(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '"' && *c != '\\' && (' '..='~').contains(c))
        .collect()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let challenge = self.bearer.map(|code| {
            let scheme = if self.dpop_challenge {
                "DPoP"
            } else {
                "Bearer"
            };
            let mut c = format!(
                "{scheme} realm=\"tessera\", error=\"{code}\", error_description=\"{}\"",
                quote(&self.description)
            );
            if self.dpop_challenge {
                c.push_str(&format!(
                    ", algs=\"{}\"",
                    tessera_core::DPOP_ALGORITHMS.join(" ")
                ));
            }
            c
        });
        let nonce = self.dpop_nonce.clone();
        let mut res = match self.mfa {
            Some(m) => (
                self.status,
                Json(tessera_api::MfaRequiredBody {
                    error: self.error.to_owned(),
                    error_description: self.description,
                    mfa_token: m.mfa_token,
                    methods: m.methods,
                    expires_in: m.expires_in,
                }),
            )
                .into_response(),
            None => (
                self.status,
                Json(ErrorBody {
                    error: self.error.to_owned(),
                    error_description: self.description,
                }),
            )
                .into_response(),
        };
        let headers = res.headers_mut();
        if let Some(v) = challenge {
            if let Ok(v) = HeaderValue::from_str(&v) {
                headers.insert(header::WWW_AUTHENTICATE, v);
            }
        }
        if let Some(v) = nonce.and_then(|n| HeaderValue::from_str(&n).ok()) {
            headers.insert(NONCE_HEADER, v);
        }
        if self.basic_challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"tessera\", charset=\"UTF-8\""),
            );
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        } else if self.status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    }
}

impl From<tessera_core::Error> for ApiError {
    fn from(e: tessera_core::Error) -> Self {
        use tessera_core::Error as E;
        match e {
            E::InvalidInput { .. } | E::MissingParameter(_) => Self::bad_request(e.to_string()),
            E::UnsupportedGrantType => Self::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                e.to_string(),
            ),
            E::ClientAuthenticationRequired => ApiError {
                basic_challenge: true,
                ..Self::new(StatusCode::UNAUTHORIZED, "invalid_client", e.to_string())
            },
            E::TooManyRequests(r) => Self::too_many(r.0),
            E::EmailTaken => Self::new(StatusCode::CONFLICT, "email_taken", e.to_string()),
            E::RegistrationClosed => {
                Self::new(StatusCode::FORBIDDEN, "registration_closed", e.to_string())
            }
            E::InvalidCredentials => Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                e.to_string(),
            ),
            E::InvalidGrant(why) => Self::new(StatusCode::UNAUTHORIZED, "invalid_grant", why),
            E::InvalidLinkToken => {
                Self::new(StatusCode::BAD_REQUEST, "invalid_grant", e.to_string())
            }
            E::AccountDisabled => {
                Self::new(StatusCode::FORBIDDEN, "account_disabled", e.to_string())
            }
            E::EmailNotVerified => {
                Self::new(StatusCode::FORBIDDEN, "email_not_verified", e.to_string())
            }
            E::InvalidClient => ApiError {
                basic_challenge: true,
                ..Self::new(StatusCode::UNAUTHORIZED, "invalid_client", e.to_string())
            },
            E::UnauthorizedClient(why) => {
                Self::new(StatusCode::BAD_REQUEST, "unauthorized_client", why)
            }
            E::InvalidScope(why) => Self::new(StatusCode::BAD_REQUEST, "invalid_scope", why),
            E::InvalidToken(why) => Self::invalid_token(why.to_string()),
            // RFC 9449 §5: at the token endpoints, 400 `invalid_dpop_proof`
            // and `use_dpop_nonce` (resource requests map these themselves).
            E::InvalidDpopProof(why) => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_dpop_proof",
                format!("DPoP proof refused: {why}"),
            ),
            E::UseDpopNonce(nonce) => ApiError {
                dpop_nonce: Some(nonce),
                ..Self::new(
                    StatusCode::BAD_REQUEST,
                    "use_dpop_nonce",
                    "send a DPoP proof with the nonce in the DPoP-Nonce header",
                )
            },
            E::MfaRequired(c) => {
                let code = if c.enrollment {
                    "mfa_enrollment_required"
                } else {
                    "mfa_required"
                };
                let text = tessera_core::Error::MfaRequired(c.clone()).to_string();
                ApiError {
                    mfa: Some(Box::new(MfaExtra {
                        mfa_token: c.mfa_token.to_string(),
                        methods: c.methods,
                        expires_in: c.expires_in,
                    })),
                    ..Self::new(StatusCode::FORBIDDEN, code, text)
                }
            }
            E::InvalidMfaToken(_) => {
                Self::new(StatusCode::UNAUTHORIZED, "invalid_mfa_token", e.to_string())
            }
            E::InvalidMfaCode => {
                Self::new(StatusCode::UNAUTHORIZED, "invalid_mfa_code", e.to_string())
            }
            E::ReauthenticationRequired => Self::new(
                StatusCode::FORBIDDEN,
                "reauthentication_required",
                e.to_string(),
            ),
            E::Forbidden(why) => Self::insufficient(why),
            E::NotFound(what) => Self::not_found(format!("{what} not found")),
            E::Unavailable(why) => {
                tracing::warn!(reason = %why, "service unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "the service is temporarily unavailable; retry shortly",
                )
            }
            // Internal errors are logged, never shown.
            other => {
                tracing::error!(error = %other, "internal error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "internal error",
                )
            }
        }
    }
}

/// Runs the rest of the stack under `limit`; past it, a JSON 408 like every
/// other error (tower-http's timeout layer answers with an empty body).
pub(crate) async fn deadline(
    axum::extract::State(limit): axum::extract::State<std::time::Duration>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "the request was not completed in time",
        )
        .into_response(),
    }
}

/// Result type of handlers.
pub type ApiResult<T> = Result<T, ApiError>;

/// Refuses requests whose headers are too large in total, or too many, with a
/// JSON 431 (before any handler or extractor runs).
pub async fn header_cap(
    axum::extract::State(limit): axum::extract::State<usize>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let headers = req.headers();
    let total: usize = headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if total > limit || headers.len() > 100 {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "request_header_fields_too_large",
            format!("request headers exceed {limit} bytes or 100 fields"),
        )
        .into_response();
    }
    next.run(req).await
}
