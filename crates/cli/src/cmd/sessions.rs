//! `tessera sessions`: end a user's sessions.

use super::open::open;
use super::{operator, print};
use crate::args::ConfigArgs;
use anyhow::anyhow;
use clap::Subcommand;
use serde_json::json;

#[derive(Subcommand)]
pub enum SessionsCmd {
    /// End every session of a user.
    Revoke {
        /// The user's email or id.
        #[arg(long)]
        user: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

pub async fn run(cmd: SessionsCmd, json: bool) -> anyhow::Result<()> {
    match cmd {
        SessionsCmd::Revoke { user, config } => revoke(&config, user, json).await,
    }
}

/// Ends every session of the user named by email (with an `@`) or id.
async fn revoke(config: &ConfigArgs, user: String, json: bool) -> anyhow::Result<()> {
    let admin = open(config).await?;
    let id = if user.contains('@') {
        admin
            .accounts
            .user_by_email(&user)
            .await?
            .ok_or_else(|| anyhow!("no user with email {user}"))?
            .id
    } else {
        user
    };
    let n = admin
        .sessions
        .revoke_user_sessions(&id, &operator())
        .await?;
    print(json, &json!({"user": id, "revoked": n}), || {
        format!("revoked {n} session(s)")
    });
    Ok(())
}
