//! `tessera`: the one binary. `tessera serve` runs the server; the other
//! subcommands administer the same data directory and database.
//!
//! ```text
//! tessera serve                                   # zero configuration
//! echo 'a long password' | tessera users create --email ada@example.com --role admin --password-stdin
//! tessera token decode eyJ...
//! ```
#![forbid(unsafe_code)]

mod logsink;

use clap::{Args, Parser, Subcommand};
use serde_json::{json, Map, Value};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tessera_core::ClientInfo;
use tessera_jose::{Clock, KeySet, SystemClock, UnverifiedToken, Validation};
use tessera_server::config::{Config, LogFormat};

#[derive(Parser)]
#[command(
    name = "tessera",
    version,
    about = "A small, strict JWT authentication server"
)]
struct Cli {
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(ConfigArgs),
    /// Manage users.
    Users {
        #[command(subcommand)]
        cmd: UsersCmd,
    },
    /// Manage OAuth clients.
    Clients {
        #[command(subcommand)]
        cmd: ClientsCmd,
    },
    /// Manage sessions.
    Sessions {
        #[command(subcommand)]
        cmd: SessionsCmd,
    },
    /// Manage signing keys.
    Keys {
        #[command(subcommand)]
        cmd: KeysCmd,
    },
    /// Inspect tokens.
    Token {
        #[command(subcommand)]
        cmd: TokenCmd,
    },
    /// Print a new random server secret (for `secret` / `TESSERA_SECRET`).
    GenSecret,
    /// Apply pending database migrations and exit (they also run at start-up).
    Migrate(ConfigArgs),
    /// Read the audit log.
    Audit {
        #[command(subcommand)]
        cmd: AuditCmd,
    },
}

#[derive(Subcommand)]
enum UsersCmd {
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
}

#[derive(Subcommand)]
enum ClientsCmd {
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
        /// A grant type: client_credentials (default), password, refresh_token (repeatable).
        #[arg(long = "grant")]
        grants: Vec<String>,
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

#[derive(Subcommand)]
enum SessionsCmd {
    /// End every session of a user.
    Revoke {
        /// The user's email or id.
        #[arg(long)]
        user: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

#[derive(Subcommand)]
enum KeysCmd {
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
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Print a token's header and claims WITHOUT verifying it.
    Decode {
        /// The compact JWT.
        jwt: String,
    },
    /// Verify a token's signature and claims against a JWKS.
    Verify {
        /// The compact JWT.
        jwt: String,
        /// JWKS URL (http) or file path.
        #[arg(long)]
        jwks: String,
        /// Required issuer (default: the token's own, which only checks the signature).
        #[arg(long)]
        iss: Option<String>,
        /// Required audience (default: the token's own).
        #[arg(long)]
        aud: Option<String>,
        /// Required `typ` header (default at+jwt; `any` accepts any).
        #[arg(long, default_value = "at+jwt")]
        typ: String,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Show the newest audit events.
    Tail {
        /// How many.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: u32,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

/// Every configuration key as a flag; a flag beats `TESSERA_*`, which beats the file.
#[derive(Args, Clone, Default)]
struct ConfigArgs {
    /// Path of a TOML configuration file.
    #[arg(long)]
    config: Option<PathBuf>,
    #[arg(long)]
    listen: Option<String>,
    #[arg(long)]
    data_dir: Option<String>,
    #[arg(long)]
    database_url: Option<String>,
    #[arg(long)]
    issuer: Option<String>,
    #[arg(long)]
    audience: Option<String>,
    #[arg(long)]
    access_token_ttl: Option<String>,
    #[arg(long)]
    refresh_token_ttl: Option<String>,
    #[arg(long)]
    refresh_idle_ttl: Option<String>,
    #[arg(long)]
    refresh_reuse_grace: Option<String>,
    #[arg(long)]
    leeway: Option<String>,
    #[arg(long)]
    signing_alg: Option<String>,
    #[arg(long)]
    key_rotation_interval: Option<String>,
    #[arg(long)]
    key_publish_lead: Option<String>,
    #[arg(long)]
    registration: Option<String>,
    #[arg(long)]
    argon2_memory_kib: Option<u32>,
    #[arg(long)]
    argon2_iterations: Option<u32>,
    #[arg(long)]
    argon2_parallelism: Option<u32>,
    #[arg(long)]
    argon2_workers: Option<u32>,
    #[arg(long)]
    max_body_bytes: Option<u32>,
    #[arg(long)]
    request_timeout: Option<String>,
    #[arg(long)]
    log_format: Option<String>,
}

impl ConfigArgs {
    fn load(&self) -> Result<Config, String> {
        let mut m = Map::new();
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                m.insert(k.into(), v);
            }
        };
        let s = |v: &Option<String>| v.as_ref().map(|x| Value::from(x.as_str()));
        let n = |v: &Option<u32>| v.map(Value::from);
        put("listen", s(&self.listen));
        put("data_dir", s(&self.data_dir));
        put("database_url", s(&self.database_url));
        put("issuer", s(&self.issuer));
        put("audience", s(&self.audience));
        put("access_token_ttl", s(&self.access_token_ttl));
        put("refresh_token_ttl", s(&self.refresh_token_ttl));
        put("refresh_idle_ttl", s(&self.refresh_idle_ttl));
        put("refresh_reuse_grace", s(&self.refresh_reuse_grace));
        put("leeway", s(&self.leeway));
        put("signing_alg", s(&self.signing_alg));
        put("key_rotation_interval", s(&self.key_rotation_interval));
        put("key_publish_lead", s(&self.key_publish_lead));
        put("registration", s(&self.registration));
        put("argon2_memory_kib", n(&self.argon2_memory_kib));
        put("argon2_iterations", n(&self.argon2_iterations));
        put("argon2_parallelism", n(&self.argon2_parallelism));
        put("argon2_workers", n(&self.argon2_workers));
        put("max_body_bytes", n(&self.max_body_bytes));
        put("request_timeout", s(&self.request_timeout));
        put("log_format", s(&self.log_format));
        Config::from_process(self.config.as_deref(), &m).map_err(|e| e.to_string())
    }
}

fn init_logging(format: LogFormat, sink: &logsink::LogSink) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        // Colour codes only for a terminal, never into a log file.
        .with_ansi(std::io::stdout().is_terminal())
        .with_writer(sink.clone());
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Human => builder.try_init(),
    };
}

fn print(json_mode: bool, value: &Value, human: impl FnOnce() -> String) {
    if json_mode {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        );
    } else {
        println!("{}", human());
    }
}

async fn state(cfg: &ConfigArgs) -> Result<tessera_core::App, String> {
    let cfg = cfg.load()?;
    tessera_server::open_app(&cfg, Arc::new(SystemClock))
        .await
        .map_err(|e| e.to_string())
}

fn operator() -> ClientInfo {
    ClientInfo {
        ip: None,
        user_agent: Some("tessera-cli".into()),
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let j = cli.json;
    match cli.command {
        Command::Serve(args) => {
            let cfg = args.load()?;
            let sink = logsink::LogSink::stdout();
            init_logging(cfg.log_format, &sink);
            let server = tessera_server::spawn_with_signals(cfg, Arc::new(SystemClock))
                .await
                .map_err(|e| e.to_string());
            let server = match server {
                Ok(server) => server,
                Err(e) => {
                    sink.flush();
                    return Err(e);
                }
            };
            let addr = server.addr();
            let data_dir = server.state().config.data_dir.display().to_string();
            tracing::info!(
                "Tessera is listening on http://{addr} (data in {data_dir}). Try: curl http://{addr}/.well-known/openid-configuration"
            );
            sink.flush();
            server.wait().await;
            sink.flush();
            Ok(())
        }
        Command::Users { cmd } => match cmd {
            UsersCmd::Create {
                email,
                roles,
                password_stdin: _,
                config,
            } => {
                let mut pw = String::new();
                std::io::stdin()
                    .read_to_string(&mut pw)
                    .map_err(|e| format!("reading the password from stdin: {e}"))?;
                let pw = pw.trim_end_matches(['\r', '\n']);
                let st = state(&config).await?;
                let user = st
                    .accounts
                    .create_user(&email, pw, &roles)
                    .await
                    .map_err(|e| e.to_string())?;
                let v = json!({"id": user.id, "email": user.email, "roles": user.roles});
                print(j, &v, || {
                    format!("created user {} ({})", user.email, user.id)
                });
                Ok(())
            }
            UsersCmd::List { config } => {
                let st = state(&config).await?;
                let mut all = Vec::new();
                let mut after: Option<String> = None;
                loop {
                    let page = st
                        .accounts
                        .list_users(after.as_deref(), 500)
                        .await
                        .map_err(|e| e.to_string())?;
                    let done = page.len() < 500;
                    after = page.last().map(|u| u.email.clone());
                    all.extend(page);
                    if done {
                        break;
                    }
                }
                let v: Vec<Value> = all
                    .iter()
                    .map(|u| json!({"id": u.id, "email": u.email, "roles": u.roles, "created_at": u.created_at}))
                    .collect();
                print(j, &Value::from(v), || {
                    all.iter()
                        .map(|u| format!("{}\t{}\t{}", u.id, u.email, u.roles.join(",")))
                        .collect::<Vec<_>>()
                        .join("\n")
                });
                Ok(())
            }
            UsersCmd::SetRoles {
                email,
                roles,
                config,
            } => {
                let st = state(&config).await?;
                let user = st
                    .accounts
                    .user_by_email(&email)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("no user with email {email}"))?;
                let user = st
                    .accounts
                    .set_roles(&user.id, &roles, &operator())
                    .await
                    .map_err(|e| e.to_string())?;
                let v = json!({"id": user.id, "email": user.email, "roles": user.roles});
                print(j, &v, || {
                    format!("{} now has roles [{}]", user.email, user.roles.join(", "))
                });
                Ok(())
            }
        },
        Command::Clients { cmd } => match cmd {
            ClientsCmd::Create {
                id,
                secret_stdin: _,
                scopes,
                grants,
                config,
            } => {
                let mut secret = String::new();
                std::io::stdin()
                    .read_to_string(&mut secret)
                    .map_err(|e| format!("reading the secret from stdin: {e}"))?;
                let secret = secret.trim_end_matches(['\r', '\n']);
                let st = state(&config).await?;
                let c = st
                    .clients
                    .create(&id, secret, &scopes, &grants)
                    .await
                    .map_err(|e| e.to_string())?;
                let v = json!({"id": c.id, "scopes": c.scopes, "grants": c.grants});
                print(j, &v, || {
                    format!("created client {} (grants: {})", c.id, c.grants.join(", "))
                });
                Ok(())
            }
            ClientsCmd::List { config } => {
                let st = state(&config).await?;
                let list = st.clients.list().await.map_err(|e| e.to_string())?;
                let v: Vec<Value> = list
                    .iter()
                    .map(|c| json!({"id": c.id, "scopes": c.scopes, "grants": c.grants, "created_at": c.created_at}))
                    .collect();
                print(j, &Value::from(v), || {
                    list.iter()
                        .map(|c| {
                            format!(
                                "{}\tscopes={}\tgrants={}",
                                c.id,
                                c.scopes.join(" "),
                                c.grants.join(",")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                });
                Ok(())
            }
            ClientsCmd::Delete { id, config } => {
                let st = state(&config).await?;
                if !st.clients.delete(&id).await.map_err(|e| e.to_string())? {
                    return Err(format!("no client with id {id}"));
                }
                print(j, &json!({"deleted": id}), || {
                    format!("deleted client {id}")
                });
                Ok(())
            }
        },
        Command::Sessions {
            cmd: SessionsCmd::Revoke { user, config },
        } => {
            let st = state(&config).await?;
            let id = if user.contains('@') {
                st.accounts
                    .user_by_email(&user)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("no user with email {user}"))?
                    .id
            } else {
                user
            };
            let n = st
                .sessions
                .revoke_user_sessions(&id, &operator())
                .await
                .map_err(|e| e.to_string())?;
            print(j, &json!({"user": id, "revoked": n}), || {
                format!("revoked {n} session(s)")
            });
            Ok(())
        }
        Command::Keys { cmd } => match cmd {
            KeysCmd::List { config } => {
                let st = state(&config).await?;
                let infos = st.tokens.key_infos();
                let v = serde_json::to_value(&infos).unwrap_or_default();
                print(j, &v, || {
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
            KeysCmd::Rotate { immediate, config } => {
                let st = state(&config).await?;
                let info = st
                    .tokens
                    .rotate_keys(immediate, &operator())
                    .await
                    .map_err(|e| e.to_string())?;
                let v = serde_json::to_value(&info).unwrap_or_default();
                print(j, &v, || {
                    format!("new key {} signs from {}", info.kid, info.activates_at)
                });
                Ok(())
            }
        },
        Command::Token { cmd } => match cmd {
            TokenCmd::Decode { jwt } => {
                let parts = tessera_jose::dangerous::decode_unverified(
                    jwt.trim(),
                    &tessera_jose::Limits::default(),
                )
                .map_err(|e| format!("cannot decode: {e}"))?;
                let v = json!({
                    "verified": false,
                    "warning": "NOT VERIFIED: the signature and claims were not checked",
                    "header": parts.header_json,
                    "claims": parts.payload,
                });
                print(j, &v, || {
                    format!(
                        "NOT VERIFIED: the signature and claims were not checked\nheader: {}\nclaims: {}",
                        serde_json::to_string_pretty(&parts.header_json).unwrap_or_default(),
                        serde_json::to_string_pretty(&parts.payload).unwrap_or_default()
                    )
                });
                Ok(())
            }
            TokenCmd::Verify {
                jwt,
                jwks,
                iss,
                aud,
                typ,
            } => verify(j, jwt.trim(), &jwks, iss, aud, &typ).await,
        },
        Command::Migrate(args) => {
            let cfg = args.load()?;
            tessera_store::open_with(cfg.database_url.as_deref(), &cfg.data_dir, cfg.pg_pool())
                .await
                .map_err(|e| e.to_string())?;
            let target = cfg
                .database_url
                .as_deref()
                .map(tessera_server::config::redact_url)
                .unwrap_or_else(|| cfg.data_dir.join("tessera.db").display().to_string());
            print(j, &json!({"migrated": target}), || {
                format!("the schema of {target} is up to date")
            });
            Ok(())
        }
        Command::GenSecret => {
            let bytes = tessera_jose::crypto::random_bytes(32).map_err(|e| e.to_string())?;
            println!("{}", tessera_jose::b64::encode(&bytes));
            Ok(())
        }
        Command::Audit {
            cmd: AuditCmd::Tail { lines, config },
        } => {
            let st = state(&config).await?;
            let mut rows = st
                .audit
                .before(None, lines.clamp(1, 10_000))
                .await
                .map_err(|e| e.to_string())?;
            rows.reverse();
            let v: Vec<Value> = rows
                .iter()
                .map(|r| {
                    json!({"id": r.id, "at": r.event.at, "event": r.event.event, "user_id": r.event.user_id,
                           "session_id": r.event.session_id, "ip": r.event.ip, "user_agent": r.event.user_agent,
                           "detail": r.event.detail})
                })
                .collect();
            print(j, &Value::from(v), || {
                rows.iter()
                    .map(|r| {
                        format!(
                            "{}\t{}\t{}\tuser={}\tsession={}\tip={}",
                            r.id,
                            r.event.at,
                            r.event.event,
                            r.event.user_id.as_deref().unwrap_or("-"),
                            r.event.session_id.as_deref().unwrap_or("-"),
                            r.event.ip.as_deref().unwrap_or("-")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            Ok(())
        }
    }
}

async fn fetch_jwks(src: &str) -> Result<tessera_jose::Jwks, String> {
    if src.starts_with("http://") || src.starts_with("https://") {
        // The guard's client: rustls with the system's roots, no redirects.
        tessera_guard::fetch_jwks(src, None, std::time::Duration::from_secs(10))
            .await
            .map_err(|e| format!("fetching {src}: {e}"))
    } else {
        let text = std::fs::read_to_string(src).map_err(|e| format!("reading {src}: {e}"))?;
        tessera_jose::Jwks::from_json(&text).map_err(|e| format!("JWKS: {e}"))
    }
}

async fn verify(
    j: bool,
    jwt: &str,
    jwks: &str,
    iss: Option<String>,
    aud: Option<String>,
    typ: &str,
) -> Result<(), String> {
    let set = fetch_jwks(jwks).await?;
    let keys = KeySet::from_jwks(&set);
    let limits = tessera_jose::Limits::default();
    // Default iss/aud to the token's own only after the signature verifies.
    let verified = UnverifiedToken::parse(jwt, &limits)
        .and_then(|t| t.verify_with(&keys))
        .map_err(|e| format!("INVALID: {e}"))?;
    let claims: Value =
        serde_json::from_slice(verified.payload()).map_err(|e| format!("INVALID: {e}"))?;
    let own_aud = match claims.get("aud") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Array(a)) => a.first().and_then(|v| v.as_str()).map(str::to_owned),
        _ => None,
    };
    let iss = iss
        .or_else(|| {
            claims
                .get("iss")
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let aud = aud.or(own_aud).unwrap_or_default();
    let mut validation = Validation::new(iss, aud);
    if typ != "any" {
        validation = validation.with_typ(Some(typ));
    } else {
        validation = validation.with_typ(None);
    }
    let data = verified
        .validate::<Value>(&validation, SystemClock.now())
        .map_err(|e| format!("INVALID: {e}"))?;
    let v = json!({"valid": true, "header": {"alg": data.header.alg().as_str(), "kid": data.header.kid(), "typ": data.header.typ()}, "claims": data.claims});
    print(j, &v, || {
        format!(
            "VALID: signature verified with key {} and claims validated\nclaims: {}",
            data.header.kid().unwrap_or("-"),
            serde_json::to_string_pretty(&data.claims).unwrap_or_default()
        )
    });
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
