//! `tessera clients`: OAuth clients.

use super::open::open;
use super::{print, read_stdin};
use crate::args::ConfigArgs;
use anyhow::bail;
use clap::Subcommand;
use serde_json::{json, Value};

#[derive(Subcommand)]
pub enum ClientsCmd {
    /// Register a confidential client; the secret (32+ characters) is read from stdin.
    Create {
        /// Client id.
        #[arg(long)]
        id: String,
        /// Read the secret from stdin (required: secrets never go on the command line).
        #[arg(long, required = true)]
        secret_stdin: bool,
        /// A scope the client may request (repeatable).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// A grant type: client_credentials (default), password, refresh_token; or the
        /// permission `introspect` (use the introspection endpoint). Repeatable.
        #[arg(long = "grant")]
        grants: Vec<String>,
        /// Token requests must carry a DPoP proof (RFC 9449): tokens are always key-bound.
        #[arg(long)]
        require_dpop: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// List clients.
    List {
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Delete a client.
    Delete {
        /// Client id.
        #[arg(long)]
        id: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

pub async fn run(cmd: ClientsCmd, json: bool) -> anyhow::Result<()> {
    match cmd {
        ClientsCmd::Create {
            id,
            secret_stdin: _,
            scopes,
            grants,
            require_dpop,
            config,
        } => create(&config, &id, &scopes, &grants, require_dpop, json).await,
        ClientsCmd::List { config } => list(&config, json).await,
        ClientsCmd::Delete { id, config } => delete(&config, &id, json).await,
    }
}

async fn create(
    config: &ConfigArgs,
    id: &str,
    scopes: &[String],
    grants: &[String],
    require_dpop: bool,
    json: bool,
) -> anyhow::Result<()> {
    let secret = read_stdin("secret")?;
    let admin = open(config).await?;
    let c = admin
        .clients
        .create_with(id, &secret, scopes, grants, require_dpop)
        .await?;
    let v =
        json!({"id": c.id, "scopes": c.scopes, "grants": c.grants, "require_dpop": c.require_dpop});
    print(json, &v, || {
        let dpop = if c.require_dpop {
            ", DPoP required"
        } else {
            ""
        };
        format!(
            "created client {} (grants: {}{dpop})",
            c.id,
            c.grants.join(", ")
        )
    });
    Ok(())
}

async fn list(config: &ConfigArgs, json: bool) -> anyhow::Result<()> {
    let admin = open(config).await?;
    let list = admin.clients.list().await?;
    let v: Vec<Value> = list
        .iter()
        .map(|c| json!({"id": c.id, "scopes": c.scopes, "grants": c.grants, "require_dpop": c.require_dpop, "created_at": c.created_at}))
        .collect();
    print(json, &Value::from(v), || {
        list.iter()
            .map(|c| {
                format!(
                    "{}\tscopes={}\tgrants={}{}",
                    c.id,
                    c.scopes.join(" "),
                    c.grants.join(","),
                    if c.require_dpop { "\trequire_dpop" } else { "" }
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}

async fn delete(config: &ConfigArgs, id: &str, json: bool) -> anyhow::Result<()> {
    let admin = open(config).await?;
    if !admin.clients.delete(id).await? {
        bail!("no client with id {id}");
    }
    print(json, &json!({"deleted": id}), || {
        format!("deleted client {id}")
    });
    Ok(())
}
