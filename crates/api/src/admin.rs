//! `/v1/admin/*`: users, roles, sessions, keys and the audit log.

use crate::auth::UserView;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};

/// Paging for `GET /v1/admin/users`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UsersQuery {
    /// Start after this email (the previous page's `next`); no NUL.
    #[param(pattern = "^[^\\u0000]*$")]
    pub after: Option<String>,
    /// Page size: default 100; values outside 1 to 500 are clamped to it.
    #[param(minimum = 0, maximum = 4294967295_u64)]
    pub limit: Option<u32>,
}

/// `GET /v1/admin/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UserList {
    /// One page of users, by email.
    pub users: Vec<UserView>,
    /// The `after` cursor for the next page; null on the last page.
    #[schema(required = true)]
    pub next: Option<String>,
}

/// `PUT /v1/admin/users/{id}/roles`: a user's complete set of roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolesRequest {
    /// The new roles (replaces the old set): at most 64, each 1 to 64
    /// characters of `A-Z a-z 0-9 _ . : -`.
    #[schema(schema_with = role_list)]
    pub roles: Vec<String>,
}

/// The schema of a role list (`check_roles` in tessera-core enforces it).
fn role_list() -> ArrayBuilder {
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(64))
                .pattern(Some("^[A-Za-z0-9_.:-]{1,64}$")),
        )
        .max_items(Some(64))
        .examples([serde_json::json!(["admin"])])
}

/// `DELETE /v1/admin/users/{id}/sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RevokedCount {
    /// How many sessions were revoked.
    pub revoked: u64,
}

/// Options of `POST /v1/admin/keys/rotate`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RotateQuery {
    /// Sign with the new key at once instead of after the publish lead time
    /// (tokens may fail for verifiers with a cached JWKS).
    pub immediate: Option<bool>,
}

/// What an operator may see about a signing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KeyInfo {
    /// Key id.
    pub kid: String,
    /// JWS algorithm.
    pub alg: String,
    /// Unix seconds: published since.
    pub created_at: i64,
    /// Unix seconds: signs from.
    pub activates_at: i64,
    /// Unix seconds: stopped signing at.
    #[schema(required = true)]
    pub retired_at: Option<i64>,
    /// True for the key that signs now.
    pub signing: bool,
}

/// `POST /v1/admin/keys/{kid}/revoke`: what was revoked, and what signs now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KeyRevocation {
    /// The revoked key: unpublished, its tokens refused from now on.
    pub revoked: KeyInfo,
    /// The key that signs now (a new one when the revoked key was signing).
    pub signing: KeyInfo,
}

/// `GET /v1/admin/keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KeyList {
    /// Published keys.
    pub keys: Vec<KeyInfo>,
}

/// Paging for `GET /v1/admin/audit`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only events older than this id (the previous page's `next`).
    pub before: Option<i64>,
    /// Page size: default 100; values outside 1 to 1000 are clamped to it.
    #[param(minimum = 0, maximum = 4294967295_u64)]
    pub limit: Option<u32>,
}

/// One audit event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditEvent {
    /// Monotonic id (the paging cursor).
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    /// Event name, e.g. `login.success`.
    pub event: String,
    /// User, if known.
    #[schema(required = true)]
    pub user_id: Option<String>,
    /// Session, if any.
    #[schema(required = true)]
    pub session_id: Option<String>,
    /// Client IP.
    #[schema(required = true)]
    pub ip: Option<String>,
    /// User agent.
    #[schema(required = true)]
    pub user_agent: Option<String>,
    /// Free-form detail (never a secret).
    #[schema(required = true)]
    pub detail: Option<String>,
    /// How many times it happened: repeated failed logins from one address
    /// at one account within an hour are one entry (`at` is the first).
    #[serde(default = "one")]
    #[schema(required = true, minimum = 1)]
    pub count: i64,
    /// The last time, when `count` is above 1.
    #[serde(default)]
    #[schema(required = true)]
    pub last_at: Option<i64>,
}

fn one() -> i64 {
    1
}

/// `GET /v1/admin/audit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditList {
    /// Newest first.
    pub events: Vec<AuditEvent>,
    /// The `before` cursor for the next (older) page; null on the last page.
    #[schema(required = true)]
    pub next: Option<i64>,
}
