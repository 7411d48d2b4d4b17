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
}

/// OpenID Provider / OAuth authorization server metadata (OpenID Connect
/// Discovery 1.0, RFC 8414).
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
    pub registration_endpoint: String,
    pub userinfo_endpoint: String,
    pub grant_types_supported: Vec<String>,
    pub response_types_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    pub subject_types_supported: Vec<String>,
    pub id_token_signing_alg_values_supported: Vec<String>,
    pub access_token_signing_alg_values_supported: Vec<String>,
    pub claims_supported: Vec<String>,
    pub tessera_endpoints: TesseraEndpoints,
}

/// `GET /healthz`, `GET /readyz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Status {
    /// `ok` (healthz) or `ready` (readyz).
    #[schema(example = "ok")]
    pub status: String,
}
