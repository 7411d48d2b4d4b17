//! HTTP integration tests: each test starts a real server on an ephemeral
//! port with its own data directory and a manual clock, and drives it with
//! `reqwest`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod abuse;
mod accounts;
mod admin;
mod bad_input;
mod bearer;
mod console;
mod console_api;
mod cookies;
mod db_outage;
mod discovery;
mod dpop;
mod encrypted;
mod expiry;
mod fuzz;
mod hs_mode;
mod keys;
mod lifecycle;
mod limits;
mod metrics_auth;
mod mfa;
mod oauth;
mod observability_files;
mod oidc;
mod oidc_enc;
mod oidc_pages;
mod ops;
mod pages;
mod passkeys;
mod proxies;
mod refresh;
mod restart;
mod revocations;
mod sessions;
mod support;
mod tls;
mod web;
