//! # tessera-core
//!
//! Tessera's rules, independent of HTTP: password hashing, login, refresh
//! rotation with a grace window and reuse detection, sessions, and signing
//! key rotation. Time comes from a [`tessera_jose::Clock`]; storage from a
//! [`tessera_store::Store`].
//!
//! ## Refresh rotation, exactly
//! - The current token rotates: the session's hash moves to its successor in
//!   one compare-and-swap, so of N concurrent refreshes exactly one rotates.
//! - The immediate parent, presented within `refresh_reuse_grace` of that
//!   rotation, gets the **same** successor back (it is derived, not stored),
//!   which makes lost responses and racing tabs harmless.
//! - Any other genuine spent token, or the parent after the window, revokes
//!   the whole session and writes `refresh.reuse_detected` to the audit log.
//! - A token that is not genuine (forged, or from another server) is simply
//!   refused; it never kills a session.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use tessera_core::{Auth, AuthConfig, ClientInfo, ServerSecret, config::Argon2Params};
//! use tessera_jose::ManualClock;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = tessera_store::open(None, dir.path()).await.unwrap();
//! let cfg = AuthConfig {
//!     argon2: Argon2Params { memory_kib: 256, iterations: 1, parallelism: 1 },
//!     ..AuthConfig::default()
//! };
//! let clock = Arc::new(ManualClock::new(1_700_000_000));
//! let auth = Auth::new(store, ServerSecret::from_bytes(&[7; 32])?, cfg, clock).await?;
//! let ctx = ClientInfo::default();
//! auth.register("ada@example.com", "correct horse battery", &ctx).await?;
//! let pair = auth.login("ada@example.com", "correct horse battery", &ctx).await?;
//! let (next, _) = auth.refresh(&pair.refresh_token, &ctx).await?;
//! assert_ne!(*next.refresh_token, *pair.refresh_token);
//! let me = auth.authenticate(&next.access_token).await?;
//! assert_eq!(me.session_id(), Some(pair.session_id.as_str()));
//! # Ok::<(), tessera_core::Error>(())
//! # });
//! ```
#![forbid(unsafe_code)]

mod auth;
pub mod breached;
pub mod config;
mod error;
pub mod feed;
mod keys;
pub mod oauth;
pub mod password;
pub mod refresh;
mod secret;
pub mod throttle;

pub use auth::{
    check_password, check_roles, normalize_email, AccessClaims, Account, Auth, ClientInfo,
    Principal, RefreshOutcome, TokenPair,
};
pub use config::AuthConfig;
pub use error::{Error, Result};
pub use keys::{KeyInfo, KeyState, Keys};
pub use secret::ServerSecret;
