//! `tessera healthcheck`: one `GET /healthz` against a running server, for a
//! container's `HEALTHCHECK` (the image has no curl). Exit 0 when it answers
//! 200 with `{"status":"ok"}`, non-zero otherwise.

use anyhow::{bail, Context};
use std::time::Duration;

/// The check's arguments.
#[derive(clap::Args)]
pub struct HealthArgs {
    /// The URL to check (plain http: the check runs beside the server).
    #[arg(
        long,
        value_name = "URL",
        default_value = "http://127.0.0.1:8080/healthz"
    )]
    url: String,
    /// Give up after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    timeout: u64,
}

/// Fetches the URL; an error unless the server says it is up.
pub async fn run(args: &HealthArgs, json: bool) -> anyhow::Result<()> {
    if !args.url.starts_with("http://") {
        bail!("--url must be an http:// URL (the check runs beside the server)");
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("cannot build the HTTP client")?;
    let resp = http
        .get(&args.url)
        .send()
        .await
        .with_context(|| format!("no answer from {}", args.url))?;
    let status = resp.status();
    if !status.is_success() {
        bail!("{} answered {status}", args.url);
    }
    let body: serde_json::Value = resp
        .json()
        .await
        .with_context(|| format!("{} answered no JSON", args.url))?;
    if body["status"] != "ok" {
        bail!("{} answered {body}", args.url);
    }
    super::print(json, &body, || "ok".to_owned());
    Ok(())
}
