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
    /// Only users whose email starts with this (case-insensitive: emails
    /// are stored lower-cased); at most 320 characters, no NUL.
    #[param(pattern = "^[^\\u0000]*$", max_length = 320)]
    pub q: Option<String>,
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
    /// `published` (in the JWKS, not signing yet or no longer the newest),
    /// `signing` (signs now), `retiring` (stopped signing, still published
    /// so that its tokens verify until they expire) or `revoked`
    /// (unpublished, its tokens refused).
    #[serde(default)]
    pub state: KeyState,
    /// Unix seconds: revoked at (only for `revoked`).
    #[serde(default)]
    #[schema(required = true)]
    pub revoked_at: Option<i64>,
}

/// The state of a signing key (see [`KeyInfo::state`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    /// Published in the JWKS, not the key that signs.
    #[default]
    Published,
    /// The key that signs now.
    Signing,
    /// Stopped signing; still published while its tokens may live.
    Retiring,
    /// Revoked: unpublished, its tokens refused.
    Revoked,
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
    /// The published keys, oldest first, then the revoked ones (state
    /// `revoked`, oldest revocation first). For a key revoked before
    /// version 0.15 the store kept only its kid and revocation time: its
    /// `alg` is empty and its `created_at` and `activates_at` are 0.
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
    /// Only this event name (e.g. `roles.changed`).
    #[param(pattern = "^[a-z_.]{1,64}$")]
    pub event: Option<String>,
    /// Only events about this user (the `user_id` column: the user who
    /// acted on their own account, or the target of an admin action).
    #[param(pattern = "^[^\\u0000]{1,200}$")]
    pub user_id: Option<String>,
    /// Only events about this OAuth client (the client that called, or the
    /// target of a client administration).
    #[param(pattern = "^[^\\u0000]{1,200}$")]
    pub client_id: Option<String>,
    /// Only events done by this actor: an admin's user id, or
    /// `cli:<os user>` for the command line.
    #[param(pattern = "^[^\\u0000]{1,200}$")]
    pub actor: Option<String>,
    /// Only events at or after this time (Unix seconds).
    pub since: Option<i64>,
    /// Only events before this time (Unix seconds).
    pub until: Option<i64>,
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
    /// Free-form detail (never a secret); the target of an admin action
    /// that is not a user or client (a key: `kid=...`).
    #[schema(required = true)]
    pub detail: Option<String>,
    /// Who did it, for an administrative action: the acting admin's user
    /// id, or `cli:<os user>` for the command line; null otherwise.
    #[serde(default)]
    #[schema(required = true)]
    pub actor: Option<String>,
    /// The OAuth client: the one that called (`/oauth2/*`), or the target
    /// of a client administration.
    #[serde(default)]
    #[schema(required = true)]
    pub client_id: Option<String>,
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

/// `GET /v1/admin/users/{id}`: a user and their live sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UserDetail {
    /// The user.
    pub user: UserView,
    /// Their live (unrevoked, unexpired) sessions, newest first.
    pub sessions: Vec<AdminSessionView>,
}

/// A user's session as an operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AdminSessionView {
    /// Session id (the `sid` of its tokens).
    pub id: String,
    /// Unix seconds: login.
    pub created_at: i64,
    /// Unix seconds: last refresh (null: never refreshed).
    #[schema(required = true)]
    pub last_used_at: Option<i64>,
    /// Unix seconds: the earlier of the absolute and idle expiry.
    pub expires_at: i64,
    /// The OAuth client the session was issued to (null: Tessera's own API).
    #[schema(required = true)]
    pub client_id: Option<String>,
    /// Client IP at login.
    #[schema(required = true)]
    pub ip: Option<String>,
    /// User agent at login.
    #[schema(required = true)]
    pub user_agent: Option<String>,
}

/// `POST /v1/admin/clients/{id}/secret`: the new secret, shown this once
/// (only its keyed hash is stored).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClientSecret {
    /// The client.
    pub client_id: String,
    /// The new secret; the old one stops working at once.
    pub client_secret: String,
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSecret")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// An hour's and a day's count of one kind of event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EventCount {
    /// In the last hour.
    pub hour: u64,
    /// In the last 24 hours.
    pub day: u64,
}

/// The signing key's age.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SigningKeyAge {
    /// The key that signs now.
    pub kid: String,
    /// Seconds since it was created.
    pub age_seconds: i64,
    /// Unix seconds: when the scheduled rotation replaces it (null: no
    /// automatic rotation, e.g. HS mode).
    #[schema(required = true)]
    pub rotates_at: Option<i64>,
}

/// Something an operator should look at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Warning {
    /// Stable code: `key_rotation_overdue`, `registration_open`,
    /// `smtp_not_configured`, `http_issuer` (and `no_admin_with_mfa` once
    /// multi-factor authentication exists).
    pub code: String,
    /// What it means, for a person.
    pub message: String,
}

/// `GET /v1/admin/overview`: counts from the audit log over the last hour
/// and day, hourly series, and the state of the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Overview {
    /// By name: `logins` (`login.success`), `login_failures`
    /// (`login.failure`, repeats included), `refreshes` (`refresh.rotated`),
    /// `reuse_detected` (`refresh.reuse_detected`), `registrations`
    /// (`user.registered`), `revocations` (`session.revoked`,
    /// `sessions.revoked`, `logout`, `logout.all`), `admin_actions` (rows
    /// with an actor).
    #[schema(value_type = std::collections::BTreeMap<String, EventCount>)]
    pub counts: std::collections::BTreeMap<String, EventCount>,
    /// The same names, each 24 hourly counts, oldest first (the last is
    /// the hour that ends now).
    #[schema(value_type = std::collections::BTreeMap<String, Vec<u64>>)]
    pub series: std::collections::BTreeMap<String, Vec<u64>>,
    /// Unrevoked, unexpired sessions.
    pub active_sessions: i64,
    /// Accounts (not deleted).
    pub users: i64,
    /// The key that signs access tokens now (null in HS mode).
    #[schema(required = true)]
    pub signing_key: Option<SigningKeyAge>,
    /// Things to look at; empty when all is well.
    pub warnings: Vec<Warning>,
}
