//! `tessera`: the one binary. `tessera serve` runs the server; the other
//! subcommands administer the same data directory and database.
//!
//! ```text
//! tessera serve                                   # zero configuration
//! echo 'a long password' | tessera users create --email ada@example.com --role admin --password-stdin
//! tessera token decode eyJ...
//! ```
//!
//! Layout: `main` parses the command line and hands it to `try_main`, which
//! dispatches to one small function per mode in `cmd/` (one file per command
//! group). [`args::ConfigArgs`] turns the configuration table of
//! `tessera_server::config` into flags; `cmd/open.rs` builds what the admin
//! commands need, without the HTTP server.
#![forbid(unsafe_code)]

mod args;
mod cmd;
mod logsink;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

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
    Serve(args::ConfigArgs),
    /// Manage users.
    Users {
        #[command(subcommand)]
        cmd: cmd::users::UsersCmd,
    },
    /// Manage OAuth clients.
    Clients {
        #[command(subcommand)]
        cmd: cmd::clients::ClientsCmd,
    },
    /// Manage sessions.
    Sessions {
        #[command(subcommand)]
        cmd: cmd::sessions::SessionsCmd,
    },
    /// Manage signing keys.
    Keys {
        #[command(subcommand)]
        cmd: cmd::keys::KeysCmd,
    },
    /// Inspect tokens.
    Token {
        #[command(subcommand)]
        cmd: cmd::token::TokenCmd,
    },
    /// Print a new random server secret (for `secret` / `TESSERA_SECRET`).
    GenSecret,
    /// Apply pending database migrations and exit (they also run at start-up).
    Migrate(args::ConfigArgs),
    /// Read the audit log.
    Audit {
        #[command(subcommand)]
        cmd: cmd::audit::AuditCmd,
    },
    /// The overview of the admin console: counts of the last hour and day,
    /// live sessions, accounts, the signing key's age, warnings.
    Overview(args::ConfigArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `tessera man > tessera.1`.
    Man,
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        cmd: cmd::config::ConfigCmd,
    },
    /// Back up the SQLite database to a new file while the server runs
    /// (`VACUUM INTO`); with PostgreSQL, says to use pg_dump.
    Backup {
        /// The backup file (must not exist).
        file: std::path::PathBuf,
        #[command(flatten)]
        config: args::ConfigArgs,
    },
    /// Restore the SQLite database from a backup: checks its integrity and
    /// schema version, refuses while a server answers on `listen`, and
    /// refuses to replace an existing database without --force.
    Restore {
        /// The backup file.
        file: std::path::PathBuf,
        /// Replace an existing database.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        config: args::ConfigArgs,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match try_main(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", report(&e));
            ExitCode::FAILURE
        }
    }
}

fn try_main(cli: Cli) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the runtime: {e}"))?;
    rt.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let json = cli.json;
    match cli.command {
        Command::Serve(config) => cmd::serve::run(&config).await,
        Command::Users { cmd } => cmd::users::run(cmd, json).await,
        Command::Clients { cmd } => cmd::clients::run(cmd, json).await,
        Command::Sessions { cmd } => cmd::sessions::run(cmd, json).await,
        Command::Keys { cmd } => cmd::keys::run(cmd, json).await,
        Command::Token { cmd } => cmd::token::run(cmd, json).await,
        Command::GenSecret => cmd::migrate::gen_secret(),
        Command::Migrate(config) => cmd::migrate::run(&config, json).await,
        Command::Audit { cmd } => cmd::audit::run(cmd, json).await,
        Command::Overview(config) => cmd::overview::run(&config, json).await,
        Command::Config { cmd } => cmd::config::run(cmd, json),
        Command::Completions { shell } => completions(shell),
        Command::Man => man(),
        Command::Backup { file, config } => cmd::backup::backup(&config, &file, json).await,
        Command::Restore {
            file,
            force,
            config,
        } => cmd::backup::restore(&config, &file, force, json).await,
    }
}

/// `tessera completions SHELL`: the script, generated from [`Cli`].
fn completions(shell: clap_complete::Shell) -> anyhow::Result<()> {
    use clap::CommandFactory;
    use std::io::Write;
    // Into memory first: `generate` panics on a write error (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "tessera", &mut script);
    std::io::stdout().write_all(&script)?;
    Ok(())
}

/// `tessera man`: the roff page, generated from [`Cli`].
fn man() -> anyhow::Result<()> {
    use clap::CommandFactory;
    clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
    Ok(())
}

/// The error and its causes on one line, each cause once: a cause whose
/// text its error already shows is not repeated.
fn report(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_shows_each_cause_once() {
        let io = std::io::Error::other("broken pipe");
        let e = anyhow::Error::new(io).context("reading the password from stdin");
        assert_eq!(report(&e), "reading the password from stdin: broken pipe");
        let e = anyhow::anyhow!("store: disk full").context("store: disk full");
        assert_eq!(report(&e), "store: disk full");
    }

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
