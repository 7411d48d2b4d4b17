//! `tessera users`: create, list, search by email prefix, show one (with
//! its live sessions), set roles, unlock, disable, enable, delete, set a
//! password; import and export (`import.rs`).

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
    /// Find users whose email starts with a prefix (one page, by email).
    Search {
        /// The email prefix.
        prefix: String,
        /// Start after this email (the last one of the previous page).
        #[arg(long)]
        after: Option<String>,
        /// Page size (1 to 500).
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Show one user (by email or id) with their live sessions.
    Show {
        /// The user's email or id.
        user: String,
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
    /// Disable an account: no login or refresh; every session ends.
    Disable {
        /// The user's email.
        #[arg(long)]
        email: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Enable a disabled account again.
    Enable {
        /// The user's email.
        #[arg(long)]
        email: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Delete an account: every session ends, the email and password hash go
    /// (the audit trail keeps the id); the email can register again.
    Delete {
        /// The user's email.
        #[arg(long)]
        email: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Set a user's password (read from standard input); every session ends.
    SetPassword {
        /// The user's email.
        #[arg(long)]
        email: String,
        /// Read the password from stdin (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Import users from a JSON-lines file (`-`: standard input): email,
    /// email_verified, roles, created_at and a password hash from another
    /// system (Argon2, bcrypt, PBKDF2 (Django, Keycloak), scrypt), upgraded
    /// to Argon2id at each user's first login. Existing emails are skipped.
    Import {
        /// The JSON-lines file.
        file: std::path::PathBuf,
        /// Check the file and report, without writing anything.
        #[arg(long)]
        dry_run: bool,
        /// Users written per transaction.
        #[arg(long, default_value_t = 1000)]
        batch_size: usize,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Export every user as JSON lines, password hashes included (the
    /// format `users import` reads).
    Export {
        /// Write to this new file instead of standard output.
        #[arg(long)]
        output: Option<std::path::PathBuf>,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

/// How long a command waits for its notice mail to leave before exiting.
const MAIL_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// What an operator command does to one account.
#[derive(Clone, Copy)]
enum Act {
    Disable,
    Enable,
    Delete,
    SetPassword,
}

async fn act(config: &ConfigArgs, email: &str, what: Act, json: bool) -> anyhow::Result<()> {
    let password = match what {
        Act::SetPassword => Some(read_stdin("password")?),
        _ => None,
    };
    let app = open(config).await?;
    let user = app
        .accounts
        .user_by_email(email)
        .await?
        .ok_or_else(|| anyhow!("no user with email {email}"))?;
    let l = &app.lifecycle;
    let (state, text) = match what {
        Act::Disable => {
            l.disable_user(&user.id, &operator()).await?;
            ("disabled", "is disabled; its sessions have ended")
        }
        Act::Enable => {
            l.enable_user(&user.id, &operator()).await?;
            ("enabled", "is enabled")
        }
        Act::Delete => {
            l.delete_user(&user.id, &operator()).await?;
            ("deleted", "is deleted; its sessions have ended")
        }
        Act::SetPassword => {
            let pw = password.unwrap_or_default();
            l.set_password(&user.id, &pw, &operator()).await?;
            (
                "password_set",
                "has a new password; its sessions have ended",
            )
        }
    };
    if !l.flush_mail(MAIL_WAIT).await {
        eprintln!("warning: the notice mail could not be sent yet (see the log)");
    }
    let v = json!({"id": user.id, "email": user.email, "state": state});
    print(json, &v, || format!("{} {text}", user.email));
    Ok(())
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
        UsersCmd::Search {
            prefix,
            after,
            limit,
            config,
        } => search(&config, &prefix, after.as_deref(), limit, json).await,
        UsersCmd::Show { user, config } => show(&config, &user, json).await,
        UsersCmd::SetRoles {
            email,
            roles,
            config,
        } => set_roles(&config, &email, &roles, json).await,
        UsersCmd::Unlock { email, config } => unlock(&config, &email, json).await,
        UsersCmd::Disable { email, config } => act(&config, &email, Act::Disable, json).await,
        UsersCmd::Enable { email, config } => act(&config, &email, Act::Enable, json).await,
        UsersCmd::Delete { email, config } => act(&config, &email, Act::Delete, json).await,
        UsersCmd::SetPassword {
            email,
            password_stdin: _,
            config,
        } => act(&config, &email, Act::SetPassword, json).await,
        UsersCmd::Import {
            file,
            dry_run,
            batch_size,
            config,
        } => super::import::import(&config, &file, dry_run, batch_size, json).await,
        UsersCmd::Export { output, config } => {
            super::import::export(&config, output.as_deref()).await
        }
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
    let user = admin
        .accounts
        .create_user_as(email, &password, roles, &operator())
        .await?;
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
    print_users(&all, json);
    Ok(())
}

/// A user as `--json` prints it.
fn user_json(u: &tessera_store::User) -> Value {
    json!({"id": u.id, "email": u.email, "roles": u.roles, "created_at": u.created_at,
        "email_verified": u.email_verified(), "disabled": u.disabled(),
        "last_login_at": u.last_login_at})
}

fn print_users(all: &[tessera_store::User], json: bool) {
    let v: Vec<Value> = all.iter().map(user_json).collect();
    print(json, &Value::from(v), || {
        all.iter()
            .map(|u| format!("{}\t{}\t{}", u.id, u.email, u.roles.join(",")))
            .collect::<Vec<_>>()
            .join("\n")
    });
}

async fn search(
    config: &ConfigArgs,
    prefix: &str,
    after: Option<&str>,
    limit: u32,
    json: bool,
) -> anyhow::Result<()> {
    let admin = open(config).await?;
    let page = admin.accounts.search_users(prefix, after, limit).await?;
    print_users(&page, json);
    Ok(())
}

async fn show(config: &ConfigArgs, who: &str, json: bool) -> anyhow::Result<()> {
    let admin = open(config).await?;
    let user = if who.contains('@') {
        admin
            .accounts
            .user_by_email(who)
            .await?
            .ok_or_else(|| anyhow!("no user with email {who}"))?
    } else {
        admin.accounts.user(who).await?
    };
    let sessions = admin.sessions.live_sessions_of(&user.id).await?;
    let list: Vec<Value> = sessions
        .iter()
        .map(|s| {
            json!({"id": s.id, "created_at": s.created_at, "last_used_at": s.last_used_at,
                "expires_at": s.expires_at.min(s.idle_expires_at), "client_id": s.client_id,
                "ip": s.ip, "user_agent": s.user_agent})
        })
        .collect();
    let v = json!({"user": user_json(&user), "sessions": list});
    print(json, &v, || {
        let mut out = format!(
            "{}\t{}\troles={}\tcreated {}\tlast login {}{}{}",
            user.id,
            user.email,
            user.roles.join(","),
            user.created_at,
            user.last_login_at
                .map_or_else(|| "never".to_owned(), |t| t.to_string()),
            if user.email_verified() {
                "\tverified"
            } else {
                ""
            },
            if user.disabled() { "\tdisabled" } else { "" },
        );
        for s in &sessions {
            out.push_str(&format!(
                "\n  session {}\tcreated {}\tip={}\tclient={}",
                s.id,
                s.created_at,
                s.ip.as_deref().unwrap_or("-"),
                s.client_id.as_deref().unwrap_or("-")
            ));
        }
        out
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
