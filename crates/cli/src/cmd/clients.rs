//! `tessera clients`: OAuth clients.

use super::open::open;
use super::{operator, print, read_stdin};
use crate::args::ConfigArgs;
use anyhow::bail;
use clap::Subcommand;
use serde_json::{json, Value};
use tessera_core::oauth::ClientSpec;

#[derive(Subcommand)]
pub enum ClientsCmd {
    /// Register a client: a confidential one reads its secret (32+ characters)
    /// from stdin (`--secret-stdin`); a `--public` one has none (PKCE).
    Create {
        /// Client id.
        #[arg(long)]
        id: String,
        /// Read the secret from stdin (secrets never go on the command line);
        /// required unless `--public`.
        #[arg(long, required_unless_present = "public", conflicts_with = "public")]
        secret_stdin: bool,
        /// A public client (SPA, native app): no secret, PKCE required.
        #[arg(long)]
        public: bool,
        /// A first-party client: the consent page is skipped.
        #[arg(long)]
        first_party: bool,
        /// A redirect URI of the authorization code flow (exact match; repeatable).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// A post-logout redirect URI (exact match; repeatable).
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// The ID token algorithm (must be the server's signing algorithm).
        #[arg(long)]
        id_token_alg: Option<String>,
        /// A scope the client may request (repeatable).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// A grant type: authorization_code (default with --redirect-uri or
        /// --public), client_credentials (default otherwise), password,
        /// refresh_token; or the permission `introspect` (use the
        /// introspection endpoint). Repeatable.
        #[arg(long = "grant")]
        grants: Vec<String>,
        /// Token requests must carry a DPoP proof (RFC 9449): tokens are always key-bound.
        #[arg(long)]
        require_dpop: bool,
        /// Encrypt ID tokens to the client (OIDC Registration §2): RSA-OAEP-256,
        /// ECDH-ES, ECDH-ES+A128KW or ECDH-ES+A256KW; needs --jwks-file.
        #[arg(long)]
        id_token_encrypted_response_alg: Option<String>,
        /// The content encryption of ID tokens (default A128CBC-HS256).
        #[arg(long)]
        id_token_encrypted_response_enc: Option<String>,
        /// The client's public keys, a JWK Set file (`jwks`; no private members).
        #[arg(long)]
        jwks_file: Option<std::path::PathBuf>,
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
    /// Give a confidential client a new random secret, printed once (only
    /// its hash is stored; the old secret stops working at once).
    RotateSecret {
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
            secret_stdin,
            public,
            first_party,
            redirect_uris,
            post_logout_redirect_uris,
            id_token_alg,
            scopes,
            grants,
            require_dpop,
            id_token_encrypted_response_alg,
            id_token_encrypted_response_enc,
            jwks_file,
            config,
        } => {
            let mut spec = ClientSpec::new(id);
            spec.secret = if secret_stdin {
                Some(read_stdin("secret")?)
            } else {
                None
            };
            spec.public = public;
            spec.first_party = first_party;
            spec.redirect_uris = redirect_uris;
            spec.post_logout_redirect_uris = post_logout_redirect_uris;
            spec.id_token_alg = id_token_alg;
            spec.scopes = scopes;
            spec.grants = grants;
            spec.require_dpop = require_dpop;
            spec.id_token_enc_alg = id_token_encrypted_response_alg;
            spec.id_token_enc_enc = id_token_encrypted_response_enc;
            spec.jwks = match jwks_file {
                Some(p) => Some(
                    std::fs::read_to_string(&p)
                        .map_err(|e| anyhow::anyhow!("--jwks-file {}: {e}", p.display()))?,
                ),
                None => None,
            };
            create(&config, &spec, json).await
        }
        ClientsCmd::List { config } => list(&config, json).await,
        ClientsCmd::Delete { id, config } => delete(&config, &id, json).await,
        ClientsCmd::RotateSecret { id, config } => rotate_secret(&config, &id, json).await,
    }
}

/// A new secret for a confidential client, printed this once.
async fn rotate_secret(config: &ConfigArgs, id: &str, json: bool) -> anyhow::Result<()> {
    let admin = open(config).await?;
    let (c, secret) = admin.clients.rotate_secret(id, &operator()).await?;
    let v = json!({"client_id": c.id, "client_secret": secret});
    print(json, &v, || {
        format!(
            "new secret of client {} (shown once; the old one no longer works):\n{secret}",
            c.id
        )
    });
    Ok(())
}

async fn create(config: &ConfigArgs, spec: &ClientSpec, json: bool) -> anyhow::Result<()> {
    let admin = open(config).await?;
    let c = admin.clients.register_as(spec, &operator()).await?;
    let v = json!({
        "id": c.id, "scopes": c.scopes, "grants": c.grants, "public": c.public,
        "first_party": c.first_party, "redirect_uris": c.redirect_uris,
        "post_logout_redirect_uris": c.post_logout_redirect_uris,
        "require_dpop": c.require_dpop,
        "id_token_encrypted_response_alg": c.id_token_enc_alg,
        "id_token_encrypted_response_enc": c.id_token_enc_enc,
    });
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
        .map(|c| {
            json!({
                "id": c.id, "scopes": c.scopes, "grants": c.grants, "created_at": c.created_at,
                "public": c.public, "first_party": c.first_party,
                "redirect_uris": c.redirect_uris,
                "post_logout_redirect_uris": c.post_logout_redirect_uris,
                "require_dpop": c.require_dpop,
            })
        })
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
    if !admin.clients.delete_as(id, &operator()).await? {
        bail!("no client with id {id}");
    }
    print(json, &json!({"deleted": id}), || {
        format!("deleted client {id}")
    });
    Ok(())
}
