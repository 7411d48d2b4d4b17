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
/// OpenID Connect Discovery path (OIDC Discovery 1.0 §3). It states only
/// what the server does: no dynamic client registration (RFC 7591; user
/// sign-up is `tessera_endpoints.register`). In HS mode (shared secrets)
/// clients could not verify ID tokens, so the OpenID Connect members
/// (`userinfo_endpoint`, `id_token_signing_alg_values_supported`, the
/// `openid` scope) are left out; the authorization code flow itself stays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[allow(missing_docs)]
pub struct ServerMetadata {
    pub issuer: String,
    /// `GET`/`POST /oauth2/authorize` (the hosted login page).
    pub authorization_endpoint: String,
    pub jwks_uri: String,
    pub token_endpoint: String,
    /// OIDC Core §5.3 (Bearer; claims by scope). Absent in HS mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub userinfo_endpoint: Option<String>,
    /// RP-initiated logout.
    pub end_session_endpoint: String,
    pub revocation_endpoint: String,
    pub introspection_endpoint: String,
    /// Tessera's revocation feed for resource servers (`GET`, client authentication).
    pub revocation_feed_endpoint: String,
    pub scopes_supported: Vec<String>,
    /// `["code"]`.
    pub response_types_supported: Vec<String>,
    /// `["query"]`.
    pub response_modes_supported: Vec<String>,
    pub grant_types_supported: Vec<String>,
    /// `["public"]`: `sub` is the user id, the same for every client.
    pub subject_types_supported: Vec<String>,
    /// The ID token algorithm (the server's signing algorithm). Absent in HS mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub id_token_signing_alg_values_supported: Option<Vec<String>>,
    /// Key management algorithms for encrypted ID tokens (OIDC Registration
    /// §2; asymmetric only). Absent in HS mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub id_token_encryption_alg_values_supported: Option<Vec<String>>,
    /// Content encryption algorithms for encrypted ID tokens. Absent in HS mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub id_token_encryption_enc_values_supported: Option<Vec<String>>,
    /// `["S256"]` (RFC 7636; `plain` is refused).
    pub code_challenge_methods_supported: Vec<String>,
    /// RFC 9207: the authorization response carries `iss`.
    pub authorization_response_iss_parameter_supported: bool,
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

/// `GET /` for anything but a browser: what this server is, and where to go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FrontDoor {
    /// `Tessera`.
    pub name: String,
    /// The server's version.
    pub version: String,
    /// The issuer (`iss` of its tokens).
    pub issuer: String,
    /// Whether the store answers (as `/readyz`).
    pub ready: bool,
    /// Where things are (absolute URLs under the issuer).
    pub links: FrontDoorLinks,
}

/// The links of [`FrontDoor`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FrontDoorLinks {
    /// The token debugger (`/debugger`).
    pub debugger: String,
    /// The demo application (`/demo`).
    pub demo: String,
    /// The API documentation, Swagger UI (`/docs`).
    pub docs: String,
    /// The OpenAPI document (`/openapi.json`).
    pub openapi: String,
    /// OpenID Connect discovery (`/.well-known/openid-configuration`).
    pub discovery: String,
    /// The JWK Set (`/.well-known/jwks.json`).
    pub jwks: String,
    /// The admin console (`/admin`).
    pub console: String,
}
