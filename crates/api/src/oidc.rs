//! OpenID Connect wire types: client registration (admin API), the
//! caller's consents, and the userinfo answer.

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// An optional member that may be absent but not `null`, as the schema
/// says (`nullable: false`): absent is `None` (`#[serde(default)]`), a
/// value is `Some`, and `null` is refused.
fn not_null<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// [`not_null`] for a JSON value member (where `null` is itself a value).
fn not_null_json<'de, D: Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Err(serde::de::Error::custom("must not be null")),
        v => Ok(Some(v)),
    }
}

/// `POST /v1/admin/clients` and `PUT /v1/admin/clients/{id}`: a client's
/// registration. `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientRegistration {
    /// Client id (ignored by `PUT`, which takes it from the path).
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z0-9_.:-]{1,128}$", max_length = 128)]
    pub client_id: String,
    /// A confidential client's secret (at least 32 characters). Absent for
    /// a public client; on `PUT`, absent keeps the current secret.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "not_null"
    )]
    #[schema(nullable = false, min_length = 32, max_length = 1024, format = Password)]
    pub client_secret: Option<String>,
    /// Redirect URIs (exact match; `http://127.0.0.1/…` matches any port).
    #[serde(default)]
    #[schema(max_items = 32)]
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may return to (exact match).
    #[serde(default)]
    #[schema(max_items = 32)]
    pub post_logout_redirect_uris: Vec<String>,
    /// `authorization_code`, `refresh_token`, `client_credentials`,
    /// `password`, `introspect` (default: `authorization_code` with redirect
    /// URIs or a public client, else `client_credentials`).
    #[serde(default)]
    pub grant_types: Vec<String>,
    /// API scopes it may request (besides `openid`, `profile`, `email`,
    /// `offline_access`).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// A public client (SPA, native app): no secret, PKCE required.
    #[serde(default)]
    pub public: bool,
    /// A first-party client: no consent page.
    #[serde(default)]
    pub first_party: bool,
    /// The ID token algorithm (must be the server's signing algorithm).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "not_null"
    )]
    #[schema(nullable = false)]
    pub id_token_signed_response_alg: Option<String>,
    /// Token requests must carry a DPoP proof, so every token is key-bound
    /// (RFC 9449 §5.2 client metadata; `tessera clients create --require-dpop`).
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
    /// Encrypt ID tokens to the client (OIDC Registration §2):
    /// RSA-OAEP-256, ECDH-ES, ECDH-ES+A128KW or ECDH-ES+A256KW; needs `jwks`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "not_null"
    )]
    #[schema(nullable = false, max_length = 32)]
    pub id_token_encrypted_response_alg: Option<String>,
    /// A128GCM, A256GCM, A128CBC-HS256 (the default) or A256CBC-HS512.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "not_null"
    )]
    #[schema(nullable = false, max_length = 32)]
    pub id_token_encrypted_response_enc: Option<String>,
    /// The client's public keys (a JWK Set, no private members): exactly
    /// one must serve `id_token_encrypted_response_alg` (`use` absent or
    /// `enc`). `jwks_uri` is not supported.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "not_null_json"
    )]
    #[schema(nullable = false, value_type = Object)]
    pub jwks: Option<serde_json::Value>,
}

impl std::fmt::Debug for ClientRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRegistration")
            .field("client_id", &self.client_id)
            .field("redirect_uris", &self.redirect_uris)
            .field("grant_types", &self.grant_types)
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// A registered client, as the admin API shows it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClientView {
    /// Client id.
    pub client_id: String,
    /// Redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Grant types.
    pub grant_types: Vec<String>,
    /// API scopes.
    pub scopes: Vec<String>,
    /// Public client.
    pub public: bool,
    /// First-party client.
    pub first_party: bool,
    /// `client_secret_basic` and `client_secret_post`, or `none` (public).
    pub token_endpoint_auth_method: String,
    /// The ID token algorithm, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub id_token_signed_response_alg: Option<String>,
    /// Token requests must carry a DPoP proof (RFC 9449 §5.2).
    #[serde(default)]
    #[schema(required = true)]
    pub dpop_bound_access_tokens: bool,
    /// `id_token_encrypted_response_alg`, if ID tokens are encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub id_token_encrypted_response_alg: Option<String>,
    /// `id_token_encrypted_response_enc`, if ID tokens are encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub id_token_encrypted_response_enc: Option<String>,
    /// The client's registered public keys (a JWK Set), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, value_type = Object)]
    pub jwks: Option<serde_json::Value>,
    /// Registration time (Unix seconds).
    pub created_at: i64,
}

/// `GET /v1/admin/clients`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClientList {
    /// Every client, by id.
    pub clients: Vec<ClientView>,
}

/// One client the caller consented to, with the scopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsentView {
    /// The client.
    pub client_id: String,
    /// The scopes consented to.
    pub scopes: Vec<String>,
    /// When consent was first given (Unix seconds).
    pub granted_at: i64,
}

/// `GET /v1/account/consents`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsentList {
    /// By client id.
    pub consents: Vec<ConsentView>,
}

/// `GET`/`POST /oauth2/userinfo` (OIDC Core §5.3): claims by scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UserInfoResponse {
    /// The user id.
    pub sub: String,
    /// With the `email` scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub email: Option<String>,
    /// With the `email` scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub email_verified: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_members_may_be_absent_but_not_null() {
        let ok: ClientRegistration = serde_json::from_str(r#"{"client_id":"a"}"#).unwrap();
        assert_eq!(ok.id_token_signed_response_alg, None);
        let set: ClientRegistration =
            serde_json::from_str(r#"{"client_id":"a","id_token_signed_response_alg":"RS256"}"#)
                .unwrap();
        assert_eq!(set.id_token_signed_response_alg.as_deref(), Some("RS256"));
        for null in [
            r#"{"client_id":"a","id_token_signed_response_alg":null}"#,
            r#"{"client_id":"a","client_secret":null}"#,
            r#"{"client_id":"a","id_token_encrypted_response_alg":null}"#,
            r#"{"client_id":"a","jwks":null}"#,
        ] {
            assert!(
                serde_json::from_str::<ClientRegistration>(null).is_err(),
                "{null}"
            );
        }
    }
}
