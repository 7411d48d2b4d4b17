//! `tessera users`: create, list, set roles, unlock.

use super::open::open;
use super::{operator, print, read_stdin};
use crate::args::ConfigArgs;
use anyhow::anyhow;
use clap::Subcommand;
use serde_json::{json, Value};

/// Users page size when listing.
const PAGE: u32 = 500;

#[derive(Subcommand)]
pub enum UsersCmd {
    /// Create a user; the password is read from standard input.
    Create {
        /// Email address.
        #[arg(long)]
        email: String,
        /// A role (repeatable).
        #[arg(long = "role")]
        roles: Vec<String>,
        /// Read the password from stdin (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// List users.
    List {
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Replace a user's roles.
    SetRoles {
        /// The user's email.
        #[arg(long)]
        email: String,
        /// A role (repeatable; none clears them).
        #[arg(long = "role")]
        roles: Vec<String>,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Clear an account's login backoff (after failed logins), with an audit row.
    Unlock {
        /// The user's email.
        #[arg(long)]
        email: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

pub async fn run(cmd: UsersCmd, json: bool) -> anyhow::Result<()> {
    match cmd {
        UsersCmd::Create {
            email,
            roles,
            password_stdin: _,
            config,
        } => create(&config, &email, &roles, json).await,
        UsersCmd::List { config } => list(&config, json).await,
        UsersCmd::SetRoles {
            email,
            roles,
            config,
        } => set_roles(&config, &email, &roles, json).await,
        UsersCmd::Unlock { email, config } => unlock(&config, &email, json).await,
    }
}

async fn create(
    config: &ConfigArgs,
    email: &str,
    roles: &[String],
    json: bool,
) -> anyhow::Result<()> {
    let password = read_stdin("password")?;
    let admin = open(config).await?;
    let user = admin.accounts.create_user(email, &password, roles).await?;
    let v = json!({"id": user.id, "email": user.email, "roles": user.roles});
    print(json, &v, || {
        format!("created user {} ({})", user.email, user.id)
    });
    Ok(())
}

async fn list(config: &ConfigArgs, json: bool) -> anyhow::Result<()> {
    let admin = open(config).await?;
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = admin.accounts.list_users(after.as_deref(), PAGE).await?;
        let done = page.len() < PAGE as usize;
        after = page.last().map(|u| u.email.clone());
        all.extend(page);
        if done {
            break;
        }
    }
    let v: Vec<Value> = all
        .iter()
        .map(
            |u| json!({"id": u.id, "email": u.email, "roles": u.roles, "created_at": u.created_at}),
        )
        .collect();
    print(json, &Value::from(v), || {
        all.iter()
            .map(|u| format!("{}\t{}\t{}", u.id, u.email, u.roles.join(",")))
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}

async fn set_roles(
    config: &ConfigArgs,
    email: &str,
    roles: &[String],
    json: bool,
) -> anyhow::Result<()> {
    let admin = open(config).await?;
    let user = admin
        .accounts
        .user_by_email(email)
        .await?
        .ok_or_else(|| anyhow!("no user with email {email}"))?;
    let user = admin
        .accounts
        .set_roles(&user.id, roles, &operator())
        .await?;
    let v = json!({"id": user.id, "email": user.email, "roles": user.roles});
    print(json, &v, || {
        format!("{} now has roles [{}]", user.email, user.roles.join(", "))
    });
    Ok(())
}

async fn unlock(config: &ConfigArgs, email: &str, json: bool) -> anyhow::Result<()> {
    let admin = open(config).await?;
    let user = admin.accounts.unlock(email, &operator()).await?;
    let v = json!({"id": user.id, "email": user.email, "unlocked": true});
    print(json, &v, || {
        format!("{} may log in again at once", user.email)
    });
    Ok(())
}
