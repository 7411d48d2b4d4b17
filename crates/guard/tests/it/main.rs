//! tessera-guard against a real Tessera server and a real backend, both on
//! ephemeral ports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod dpop;
mod guard;
mod hs_and_jwe;
mod support;
