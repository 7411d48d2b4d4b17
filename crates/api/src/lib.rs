//! # tessera-api
//!
//! Tessera's HTTP contract, written once: every request and response body
//! of the server's endpoints, the error body, the access-token claims and
//! the revocation-feed page. The server takes and returns these types (and
//! its OpenAPI document is generated from them), the guard parses tokens and
//! feed pages with them, and the CLI and tests read answers with them.
//!
//! Only wire types live here: serde (de)serialisation and `utoipa` schemas
//! that state the real constraints (lengths, ranges, required fields,
//! enumerations). The rules that enforce them are in `tessera-core` and the
//! server; this crate depends on neither.
//!
//! ```
//! use tessera_api::{TokenResponse, TokenType};
//!
//! let body = r#"{"access_token":"eyJ...","token_type":"Bearer","expires_in":900,
//!                "refresh_token_expires_in":2592000}"#;
//! let t: TokenResponse = serde_json::from_str(body)?;
//! assert_eq!(t.token_type, TokenType::Bearer);
//! assert!(t.refresh_token.is_none()); // cookie mode: only in Set-Cookie
//!
//! let page: tessera_api::RevocationFeed =
//!     serde_json::from_str(r#"{"revoked":[{"sid":"s1","revoked_at":1}],"cursor":"0.1","more":false,"max_age":930}"#)?;
//! assert_eq!(page.revoked[0].sid, "s1");
//! # Ok::<(), serde_json::Error>(())
//! ```
#![forbid(unsafe_code)]

mod account;
mod admin;
mod auth;
mod claims;
mod discovery;
mod error;
mod feed;
mod oauth;
mod oidc;

pub use account::{
    ChangeEmailRequest, ChangePasswordRequest, DeleteAccountRequest, ForgotPasswordRequest,
    ResetPasswordRequest, VerifyEmailRequest, LINK_TOKEN_PATTERN,
};
pub use admin::{
    AdminSessionView, AuditEvent, AuditList, AuditQuery, ClientSecret, EventCount, KeyInfo,
    KeyList, KeyRevocation, KeyState, Overview, RevokedCount, RolesRequest, RotateQuery,
    SigningKeyAge, UserDetail, UserList, UsersQuery, Warning,
};
pub use auth::{
    Credentials, LoginRequest, MeResponse, RefreshRequest, SessionList, SessionView, TokenResponse,
    TokenType, UserView, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS, REFRESH_TOKEN_PATTERN,
};
pub use claims::{AccessClaims, Confirmation};
pub use discovery::{
    FrontDoor, FrontDoorLinks, IssuerMetadata, JwkSet, ServerMetadata, Status, TesseraEndpoints,
};
pub use error::ErrorBody;
pub use feed::{
    FeedQuery, RevocationFeed, RevokedKey, RevokedSession, RevokedToken, MAX_WAIT_SECS,
};
pub use oauth::{
    GrantType, IntrospectionResponse, IntrospectionTokenType, OAuthTokenResponse, TokenParams,
    TokenRequest, TokenTypeHint, TOKEN_MAX_BYTES,
};
pub use oidc::{
    ClientList, ClientRegistration, ClientView, ConsentList, ConsentView, UserInfoResponse,
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use utoipa::PartialSchema;

    fn json_of<T: PartialSchema>() -> serde_json::Value {
        serde_json::to_value(T::schema()).unwrap()
    }

    #[test]
    fn documented_constraints_are_the_constants() {
        let s = json_of::<RefreshRequest>();
        assert_eq!(
            s["properties"]["refresh_token"]["pattern"],
            REFRESH_TOKEN_PATTERN
        );
        assert_eq!(s["required"], serde_json::json!(["refresh_token"]));
        let c = json_of::<Credentials>();
        let pw = &c["properties"]["password"];
        assert_eq!(pw["minLength"], PASSWORD_MIN_CHARS);
        assert_eq!(pw["maxLength"], PASSWORD_MAX_CHARS);
        assert_eq!(c["additionalProperties"], false);
        let t = json_of::<TokenParams>();
        assert_eq!(t["required"], serde_json::json!(["token"]));
        assert_eq!(
            t["dependentRequired"],
            serde_json::json!({"client_secret": ["client_id"]})
        );
        let g = json_of::<GrantType>();
        assert_eq!(
            g["enum"],
            serde_json::json!(["password", "refresh_token", "client_credentials"])
        );
    }

    #[test]
    fn enums_read_their_wire_names() {
        for g in [
            GrantType::Password,
            GrantType::RefreshToken,
            GrantType::ClientCredentials,
        ] {
            assert_eq!(GrantType::from_param(g.as_str()), Some(g));
            assert_eq!(serde_json::to_value(g).unwrap(), g.as_str());
        }
        assert_eq!(GrantType::from_param("authorization_code"), None);
        assert_eq!(
            TokenTypeHint::from_param(Some("refresh_token")),
            Some(TokenTypeHint::RefreshToken)
        );
        assert_eq!(TokenTypeHint::from_param(Some("other")), None);
        assert_eq!(
            serde_json::to_value(IntrospectionTokenType::RefreshToken).unwrap(),
            "refresh_token"
        );
    }

    #[test]
    fn claims_read_as_the_server_signs_them() {
        let c: AccessClaims = serde_json::from_value(serde_json::json!({
            "iss": "https://a", "sub": "u", "aud": "tessera", "exp": 2, "iat": 1,
            "jti": "j", "roles": null, "scope": "read write"
        }))
        .unwrap();
        assert!(c.roles.is_empty() && c.sid.is_none());
        assert_eq!(c.scopes().collect::<Vec<_>>(), ["read", "write"]);
        let back = serde_json::to_value(&c).unwrap();
        assert!(back.get("sid").is_none() && back["roles"] == serde_json::json!([]));
        assert!(serde_json::from_value::<AccessClaims>(serde_json::json!({"sub": "u"})).is_err());
    }

    #[test]
    fn introspection_answers_serialize_as_before() {
        assert_eq!(
            serde_json::to_value(IntrospectionResponse::inactive()).unwrap(),
            serde_json::json!({"active": false})
        );
        let claims = serde_json::json!({
            "iss": "https://a", "sub": "u", "aud": "tessera", "exp": 2, "iat": 1,
            "jti": "j", "sid": "s", "roles": ["admin"]
        });
        let c: AccessClaims = serde_json::from_value(claims.clone()).unwrap();
        let mut want = claims;
        want["active"] = true.into();
        want["token_type"] = "Bearer".into();
        want["username"] = "u".into();
        assert_eq!(
            serde_json::to_value(IntrospectionResponse::for_access(c)).unwrap(),
            want
        );
    }

    #[test]
    fn a_feed_page_without_more_is_complete() {
        // A page from a server older than `more`, `revoked_keys` and
        // `revoked_tokens` reads as complete and naming no revoked key or
        // token; Tessera always sends all three.
        let p: RevocationFeed =
            serde_json::from_str(r#"{"revoked":[],"cursor":"1.0","max_age":930}"#).unwrap();
        assert!(!p.more);
        assert!(p.revoked_keys.is_empty());
        assert!(p.revoked_tokens.is_empty());
        assert_eq!(
            json_of::<RevocationFeed>()["required"],
            serde_json::json!([
                "revoked",
                "cursor",
                "more",
                "max_age",
                "revoked_keys",
                "revoked_tokens"
            ])
        );
    }
}
