//! `tessera keys`: list, rotate and revoke signing keys.

use super::open::open;
use super::{operator, print};
use crate::args::ConfigArgs;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum KeysCmd {
    /// List signing keys.
    List {
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Create a new signing key (published now; signs after the publish lead).
    Rotate {
        /// Sign with the new key at once (after a suspected compromise).
        #[arg(long)]
        immediate: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Revoke a key after a suspected compromise: unpublished at once, its
    /// tokens refused; a signing key is replaced by a new one that signs at once.
    Revoke {
        /// The key id (see `tessera keys list`).
        #[arg(long, allow_hyphen_values = true)]
        kid: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

pub async fn run(cmd: KeysCmd, json: bool) -> anyhow::Result<()> {
    match cmd {
        KeysCmd::List { config } => list(&config, json).await,
        KeysCmd::Rotate { immediate, config } => rotate(&config, immediate, json).await,
        KeysCmd::Revoke { kid, config } => revoke(&config, &kid, json).await,
    }
}

async fn list(config: &ConfigArgs, json: bool) -> anyhow::Result<()> {
    let admin = open(config).await?;
    let infos = admin.tokens.key_infos();
    let v = serde_json::to_value(&infos).unwrap_or_default();
    print(json, &v, || {
        infos
            .iter()
            .map(|k| {
                format!(
                    "{}\t{}\tcreated {}\tsigns from {}{}{}",
                    k.kid,
                    k.alg,
                    k.created_at,
                    k.activates_at,
                    k.retired_at
                        .map(|r| format!("\tretired {r}"))
                        .unwrap_or_default(),
                    if k.signing { "\t(signing)" } else { "" }
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}

async fn rotate(config: &ConfigArgs, immediate: bool, json: bool) -> anyhow::Result<()> {
    let admin = open(config).await?;
    let info = admin.tokens.rotate_keys(immediate, &operator()).await?;
    let v = serde_json::to_value(&info).unwrap_or_default();
    print(json, &v, || {
        format!("new key {} signs from {}", info.kid, info.activates_at)
    });
    Ok(())
}

async fn revoke(config: &ConfigArgs, kid: &str, json: bool) -> anyhow::Result<()> {
    let admin = open(config).await?;
    let (revoked, signing) = admin.tokens.revoke_key(kid, &operator()).await?;
    let v = serde_json::json!({ "revoked": revoked, "signing": signing });
    print(json, &v, || {
        format!(
            "revoked {}; {} signs now. Running servers drop the key within 2 seconds; \
             sessions stay (refresh tokens do not depend on signing keys)",
            revoked.kid, signing.kid
        )
    });
    Ok(())
}
