//! `tessera sessions`: end a user's sessions, all or one.

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
    /// End one session of a user (see `tessera users show`).
    End {
        /// The user's email or id.
        #[arg(long)]
        user: String,
        /// The session id.
        #[arg(long)]
        session: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

pub async fn run(cmd: SessionsCmd, json: bool) -> anyhow::Result<()> {
    match cmd {
        SessionsCmd::Revoke { user, config } => revoke(&config, user, json).await,
        SessionsCmd::End {
            user,
            session,
            config,
        } => end(&config, user, &session, json).await,
    }
}

/// The id of the user named by email (with an `@`) or id.
async fn user_id(admin: &tessera_core::App, user: String) -> anyhow::Result<String> {
    if !user.contains('@') {
        return Ok(user);
    }
    Ok(admin
        .accounts
        .user_by_email(&user)
        .await?
        .ok_or_else(|| anyhow!("no user with email {user}"))?
        .id)
}

/// Ends one live session of a user.
async fn end(config: &ConfigArgs, user: String, sid: &str, json: bool) -> anyhow::Result<()> {
    let admin = open(config).await?;
    let id = user_id(&admin, user).await?;
    admin
        .sessions
        .end_user_session(&id, sid, &operator())
        .await?;
    print(json, &json!({"user": id, "ended": sid}), || {
        format!("ended session {sid}")
    });
    Ok(())
}

/// Ends every session of the user named by email (with an `@`) or id.
async fn revoke(config: &ConfigArgs, user: String, json: bool) -> anyhow::Result<()> {
    let admin = open(config).await?;
    let id = user_id(&admin, user).await?;
    let n = admin
        .sessions
        .revoke_user_sessions(&id, &operator())
        .await?;
    print(json, &json!({"user": id, "revoked": n}), || {
        format!("revoked {n} session(s)")
    });
    Ok(())
}
