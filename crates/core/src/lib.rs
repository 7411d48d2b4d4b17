//! # tessera-core
//!
//! Tessera's rules, independent of HTTP, as services with one job each,
//! built together by [`App::open`] (or [`App::new`] over an open store):
//!
//! | service | job |
//! |---|---|
//! | [`Accounts`] | registration, operator-created users, roles, the password and email policy; user import ([`import`]: the JSON-lines format; [`imported`]: hashes from other systems, upgraded to Argon2id at first login) |
//! | [`Sessions`] | login under the backoff rules, refresh rotation (rate limited), logout, the session list, the Bearer check |
//! | [`Tokens`] | the signing keys: JWKS, rotation |
//! | [`Clients`](oauth::Clients) and [`OAuth`](oauth::OAuth) | the OAuth client registry; the token endpoint's [`Grant`](oauth::Grant)s, revocation, introspection |
//! | [`Oidc`](oidc::Oidc) | the OpenID Connect provider: authorization requests, SSO sessions, consent, authorization codes, ID tokens, userinfo, RP-initiated logout |
//! | [`Lifecycle`] | password change and reset, email verification and change, account deletion, disabling (with mail through a [`Mailer`](mail::Mailer)) |
//! | [`Feed`](feed::Feed) | the revocation feed resource servers follow |
//! | [`Audit`] | reading the audit log ([`AuditEvent`] names what is written) |
//! | [`Maintenance`] | the timer's work and the readiness probe |
//! | [`Dpop`] | DPoP proofs (RFC 9449): the proof check, the shared `jti` replay cache, server nonces |
//!
//! The services share one private context (store, clock, server secret,
//! policy, keys, liveness cache); none of them hands out the store. Time
//! comes from a [`tessera_jose::Clock`]; storage from a
//! [`tessera_store::Store`]; mail goes through a [`mail::Mailer`] (SMTP,
//! `.eml` files, or memory) behind an outbox, and DPoP proofs (RFC 9449)
//! through [`Dpop`]. The services of later issues (MFA) join [`App`] the
//! same way.
//!
//! ## Refresh rotation, exactly
//! - The current token rotates: the session's hash moves to its successor in
//!   one compare-and-swap, so of N concurrent refreshes exactly one rotates.
//! - The immediate parent, presented within `refresh_reuse_grace` of that
//!   rotation **by the client that rotated** (the same OAuth client, else the
//!   same IPv4 address or IPv6 /64 and `User-Agent`, see
//!   [`ClientInfo`]), gets the **same** successor back (it is derived, not
//!   stored), which makes lost responses and racing tabs harmless.
//! - Any other genuine spent token, the parent after the window, or the
//!   parent from another client, revokes the whole session and writes
//!   `refresh.reuse_detected` to the audit log.
//! - A session started by an authenticated OAuth client is bound to it
//!   (`Session::client_id`): only that client refreshes, revokes or
//!   introspects its refresh token.
//! - A session whose refresh token is bound to a DPoP key
//!   (`Session::dpop_jkt`, set at login by a public client's proof) refreshes
//!   only with a proof from that key: a genuine token without one ends the
//!   session as on reuse, which also limits grace replays to the key holder.
//! - A token that is not genuine (forged, or from another server) is simply
//!   refused; it never kills a session.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use tessera_core::{App, AppConfig, ClientInfo, config::Argon2Params};
//! use tessera_jose::ManualClock;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let mut cfg = AppConfig::new(dir.path());
//! cfg.auth.argon2 = Argon2Params { memory_kib: 256, iterations: 1, parallelism: 1 };
//! let clock = Arc::new(ManualClock::new(1_700_000_000));
//! let app = App::open(cfg, clock).await?;
//! let ctx = ClientInfo::default();
//! app.accounts.register("ada@example.com", "correct horse battery", &ctx).await?;
//! let pair = app.sessions.login("ada@example.com", "correct horse battery", &ctx).await?;
//! let (next, _) = app.sessions.refresh(&pair.refresh_token, &ctx).await?;
//! assert_ne!(*next.refresh_token, *pair.refresh_token);
//! let me = app.sessions.authenticate(&next.access_token).await?;
//! assert_eq!(me.session_id(), Some(pair.session_id.as_str()));
//! # Ok::<(), tessera_core::Error>(())
//! # });
//! ```
#![forbid(unsafe_code)]

mod accounts;
mod app;
mod audit;
pub mod breached;
mod claims;
pub mod config;
mod ctx;
mod dpop;
mod error;
mod events;
pub mod feed;
pub mod import;
pub mod imported;
mod keys;
pub mod lifecycle;
mod live;
pub mod mail;
mod maintenance;
pub mod oauth;
pub mod oidc;
pub mod overview;
pub mod password;
pub mod refresh;
mod secret;
mod sessions;
pub mod throttle;
mod tokens;
mod verified;

pub use accounts::{check_password, check_roles, normalize_email, Accounts};
pub use app::{App, AppConfig};
pub use audit::Audit;
pub use claims::{AccessClaims, Principal};
pub use config::{AuthConfig, SharedSecrets, TokenEncryption};
pub use dpop::{Dpop, DPOP_ALGORITHMS};
pub use error::{BoxError, DpopRefused, Error, Result, TokenRefused};
pub use events::{Actor, AuditEvent, ClientInfo};
pub use keys::{KeyInfo, KeyState, Keys};
pub use lifecycle::Lifecycle;
pub use live::Account;
pub use maintenance::Maintenance;
pub use secret::ServerSecret;
pub use sessions::{
    RefreshOutcome, RefreshPermit, Sessions, TokenPair, COARSE_SECS, DPOP_THEFT, REUSE_DETECTED,
};
pub use tokens::Tokens;
