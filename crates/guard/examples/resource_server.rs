//! A small API protected by tessera-guard.
//!
//! ```text
//! cargo run --release -p tessera-guard --example resource_server -- \
//!     --issuer http://127.0.0.1:8080 --listen 127.0.0.1:8081
//! ```
//!
//! - `GET /api/hello`: any valid access token.
//! - `GET /api/admin`: role `admin`.
//! - `GET /healthz`: no token; the guard's counters.
//!
//! With `--client-id` and `TESSERA_GUARD_CLIENT_SECRET` (an OAuth client made
//! with `tessera clients create`), it follows the revocation feed, so a
//! logged-out session's token is refused within seconds. With `--public-url`
//! it accepts DPoP-bound tokens (`Authorization: DPoP` and a proof).
#![allow(clippy::print_stdout)]

use axum::routing::get;
use axum::{Json, Router};
use clap::Parser;
use serde::Deserialize;
use serde_json::{json, Value};
use std::net::SocketAddr;
use tessera_guard::{Claims, Guard, RequireRole};

tessera_guard::role!(Admin = "admin");

#[derive(Parser, Debug)]
#[command(about = "A resource server protected by tessera-guard")]
struct Args {
    /// The Tessera issuer URL (discovery and JWKS are read from it).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    issuer: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// The audience tokens must carry (Tessera's `audience` setting).
    #[arg(long, default_value = "tessera")]
    audience: String,
    /// Follow the revocation feed as this OAuth client; the secret comes from
    /// `TESSERA_GUARD_CLIENT_SECRET`.
    #[arg(long)]
    client_id: Option<String>,
    /// Accept DPoP-bound tokens (RFC 9449): the URL clients reach this
    /// server at, which their proofs name (never taken from `Host`).
    #[arg(long)]
    public_url: Option<String>,
}

#[derive(Deserialize)]
struct Caller {
    sub: String,
    #[serde(default)]
    roles: Vec<String>,
    exp: i64,
}

async fn hello(Claims(c): Claims<Caller>) -> Json<Value> {
    Json(json!({ "hello": c.sub, "roles": c.roles, "token_expires_at": c.exp }))
}

async fn admin(RequireRole(who, _): RequireRole<Admin>) -> Json<Value> {
    Json(json!({ "admin": who.subject() }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let mut builder = Guard::builder(&args.issuer, &args.audience);
    if let Some(id) = &args.client_id {
        let secret = std::env::var("TESSERA_GUARD_CLIENT_SECRET")
            .map_err(|_| "--client-id needs TESSERA_GUARD_CLIENT_SECRET")?;
        builder = builder.follow_revocations(id, secret);
    }
    if let Some(url) = &args.public_url {
        builder = builder.dpop_public_url(url);
    }
    let guard = builder.build().await?;
    let stats = guard.clone();
    let app = Router::new()
        .route("/api/hello", get(hello))
        .route("/api/admin", get(admin))
        .layer(guard.layer())
        .route(
            "/healthz",
            get(move || {
                let s = stats.stats();
                async move {
                    Json(json!({
                        "status": "ok",
                        "cache_hits": s.cache_hits,
                        "cache_misses": s.cache_misses,
                        "jwks_fetches": s.jwks_fetches,
                        "revoked_sessions": s.revoked_sessions,
                    }))
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!(
        "resource server on http://{} (issuer {})",
        listener.local_addr()?,
        args.issuer
    );
    axum::serve(listener, app).await?;
    Ok(())
}
