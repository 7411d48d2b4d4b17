//! `tessera migrate` and `tessera gen-secret`: setting up a deployment.

use super::print;
use crate::args::ConfigArgs;
use serde_json::json;

/// Opens the store, which applies pending migrations, and says which.
pub async fn run(config: &ConfigArgs, json: bool) -> anyhow::Result<()> {
    let cfg = config.load()?;
    tessera_store::open_with(cfg.database_url.as_deref(), &cfg.data_dir, cfg.pg_pool()).await?;
    let target = cfg
        .database_url
        .as_deref()
        .map(tessera_server::config::redact_url)
        .unwrap_or_else(|| cfg.data_dir.join("tessera.db").display().to_string());
    print(json, &json!({"migrated": target}), || {
        format!("the schema of {target} is up to date")
    });
    Ok(())
}

/// Prints a new random server secret: 32 bytes, base64url.
pub fn gen_secret() -> anyhow::Result<()> {
    let bytes = tessera_jose::crypto::random_bytes(32)?;
    println!("{}", tessera_jose::b64::encode(&bytes));
    Ok(())
}
