//! Discovery metadata, the JWKS, and the health answers.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A JWK Set (RFC 7517 §5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct JwkSet {
    /// Public keys: the signing key, keys about to sign, and recently retired ones.
    #[schema(value_type = Vec<Object>)]
    pub keys: Vec<serde_json::Value>,
}

/// Tessera's own endpoints, in discovery metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct TesseraEndpoints {
    pub register: String,
    pub login: String,
    pub refresh: String,
    pub logout: String,
    pub logout_all: String,
    pub sessions: String,
    /// The caller's account (`GET /v1/me`). Not an OpenID Connect UserInfo
    /// endpoint: its answer is Tessera's own shape.
    pub me: String,
}

/// OAuth authorization server metadata (RFC 8414), also served at the
/// OpenID Connect Discovery path. It states only what the server does: no
/// authorization endpoint yet (so `response_types_supported` is empty), no
/// dynamic client registration (RFC 7591; user sign-up is
/// `tessera_endpoints.register`), no ID tokens and no UserInfo endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct ServerMetadata {
    pub issuer: String,
    pub jwks_uri: String,
    pub token_endpoint: String,
    pub revocation_endpoint: String,
    pub introspection_endpoint: String,
    /// Tessera's revocation feed for resource servers (`GET`, client authentication).
    pub revocation_feed_endpoint: String,
    pub grant_types_supported: Vec<String>,
    /// `response_type` values of an authorization endpoint: none yet.
    pub response_types_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    pub access_token_signing_alg_values_supported: Vec<String>,
    /// DPoP proof algorithms accepted (RFC 9449 §5.1).
    pub dpop_signing_alg_values_supported: Vec<String>,
    pub claims_supported: Vec<String>,
    pub tessera_endpoints: TesseraEndpoints,
}

/// What a resource server reads from an issuer's discovery document
/// ([`ServerMetadata`] as Tessera publishes it; other members, and other
/// servers' extensions, are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IssuerMetadata {
    /// Must equal the issuer the document was fetched for (OpenID Connect
    /// Discovery 1.0 §4.3).
    pub issuer: String,
    /// Where the signing keys are.
    pub jwks_uri: String,
    /// Tessera's revocation feed, when the issuer has one.
    #[serde(default)]
    pub revocation_feed_endpoint: Option<String>,
}

/// `GET /healthz`, `GET /readyz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Status {
    /// `ok` (healthz) or `ready` (readyz).
    #[schema(example = "ok")]
    pub status: String,
}
