//! `GET /v1/revocations`: the revocation feed that resource servers follow.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Longest long poll, whatever `wait` asks for.
pub const MAX_WAIT_SECS: u64 = 55;

/// The query of `GET /v1/revocations`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// The `cursor` of the previous answer (opaque: `start.seen`, or
    /// `start.seen.revoked_at.sid` while a window is read in pages); omit
    /// (or leave empty) for the whole current window.
    #[param(
        pattern = "^([0-9]{1,18}\\.[0-9]{1,19}(\\.[0-9]{1,19}\\.[A-Za-z0-9_-]{1,64})?(~[0-9]{1,19}(~[0-9a-f]{16})?)?)?$"
    )]
    pub since: Option<String>,
    /// Long poll: seconds to wait for a change (default 0; at most 55, and
    /// within the request timeout, whatever is asked).
    #[param(minimum = 0, maximum = 18446744073709551615_u64)]
    pub wait: Option<u64>,
}

/// One page of the revocation feed (`Cache-Control: no-store`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RevocationFeed {
    /// Sessions revoked in the window, oldest first; may repeat entries of
    /// the previous answer (deduplicate by `sid`).
    pub revoked: Vec<RevokedSession>,
    /// Pass as `since` in the next poll.
    pub cursor: String,
    /// `true`: the page was cut; poll again at once.
    #[serde(default)]
    #[schema(required = true)]
    pub more: bool,
    /// Seconds after `revoked_at` that an entry can be forgotten (the
    /// access-token lifetime plus the leeway).
    pub max_age: i64,
    /// Every revoked signing key: refuse tokens whose `kid` is listed,
    /// whatever their `exp`, and never forget them. Absent from servers
    /// older than key revocation; empty in an answer that found nothing new.
    #[serde(default)]
    #[schema(required = true)]
    pub revoked_keys: Vec<RevokedKey>,
    /// Every revoked session-less access token (client credentials, revoked
    /// by RFC 7009) that could still verify: refuse tokens whose `jti` is
    /// listed, until their `exp` (plus your leeway). Absent from older
    /// servers; empty in an answer that found nothing new.
    #[serde(default)]
    #[schema(required = true)]
    pub revoked_tokens: Vec<RevokedToken>,
}

/// A revoked access token without a session (client credentials).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RevokedToken {
    /// Token id: refuse access tokens whose `jti` claim equals it.
    #[schema(min_length = 1, max_length = 128)]
    pub jti: String,
    /// The token's `exp` (Unix seconds): the entry can be forgotten after
    /// it, plus the leeway.
    pub exp: i64,
}

/// A signing key revoked by an operator (a suspected compromise).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RevokedKey {
    /// Key id: refuse access tokens whose `kid` header equals it.
    pub kid: String,
    /// Unix seconds.
    pub revoked_at: i64,
}

/// One revoked session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RevokedSession {
    /// Session id: refuse access tokens whose `sid` claim equals it.
    pub sid: String,
    /// Unix seconds.
    pub revoked_at: i64,
}
