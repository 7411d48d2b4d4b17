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

mod admin;
mod auth;
mod claims;
mod discovery;
mod error;
mod feed;
mod oauth;

pub use admin::{
    AuditEvent, AuditList, AuditQuery, KeyInfo, KeyList, RevokedCount, RolesRequest, RotateQuery,
    UserList, UsersQuery,
};
pub use auth::{
    Credentials, LoginRequest, MeResponse, RefreshRequest, SessionList, SessionView, TokenResponse,
    TokenType, UserView, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS, REFRESH_TOKEN_PATTERN,
};
pub use claims::AccessClaims;
pub use discovery::{JwkSet, ServerMetadata, Status, TesseraEndpoints};
pub use error::ErrorBody;
pub use feed::{FeedQuery, RevocationFeed, RevokedSession, MAX_WAIT_SECS};
pub use oauth::{
    GrantType, Introspection, IntrospectionTokenType, OAuthTokenResponse, TokenParams,
    TokenRequest, TokenTypeHint, TOKEN_MAX_BYTES,
};
