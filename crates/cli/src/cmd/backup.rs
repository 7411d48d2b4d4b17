//! `tessera backup` and `tessera restore`: a consistent copy of the SQLite
//! database while the server runs, and putting one back. With PostgreSQL,
//! `pg_dump` and `pg_restore` do this job.

use super::print;
use crate::args::ConfigArgs;
use anyhow::{bail, Context};
use serde_json::json;
use std::path::{Path, PathBuf};
use tessera_server::config::Config;

/// What to tell a PostgreSQL deployment.
const PG_DUMP: &str = "the database is PostgreSQL: back it up with pg_dump \
    (e.g. `pg_dump --format=custom --file=tessera.dump \"$DATABASE_URL\"`) and restore \
    with pg_restore; keep the server secret with it (see README, Running in production)";

fn sqlite_file(cfg: &Config) -> anyhow::Result<PathBuf> {
    match tessera_store::backup::sqlite_file(cfg.database_url.as_deref(), &cfg.data_dir)? {
        Some(path) => Ok(path),
        None => bail!("{PG_DUMP}"),
    }
}

/// `tessera backup FILE`: `VACUUM INTO` a new file, while the server runs.
pub async fn backup(config: &ConfigArgs, file: &Path, json: bool) -> anyhow::Result<()> {
    let cfg = config.load()?;
    let db = sqlite_file(&cfg)?;
    tessera_store::backup::sqlite_backup(&db, file)
        .await
        .with_context(|| format!("backing up {}", db.display()))?;
    let version = tessera_store::backup::check_backup(file).await?;
    let v = json!({"backup": file, "database": db, "schema_version": version});
    print(json, &v, || {
        format!(
            "backed up {} to {} (schema version {version}); keep the server secret too",
            db.display(),
            file.display()
        )
    });
    Ok(())
}

/// True if something answers on the configured listen address (a running
/// server, which has the database open).
fn server_running(cfg: &Config) -> bool {
    let mut addr = cfg.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(500)).is_ok()
}

/// `tessera restore FILE [--force]`: checks the backup (an intact SQLite
/// database with a schema this binary knows), then puts it in place.
pub async fn restore(
    config: &ConfigArgs,
    file: &Path,
    force: bool,
    json: bool,
) -> anyhow::Result<()> {
    let cfg = config.load()?;
    let db = sqlite_file(&cfg)?;
    let version = tessera_store::backup::check_backup(file)
        .await
        .with_context(|| format!("checking {}", file.display()))?;
    if server_running(&cfg) {
        bail!(
            "a server answers on {}: stop it before restoring (a live database is never overwritten)",
            cfg.listen
        );
    }
    if db.exists() && !force {
        bail!(
            "{} exists: restoring would overwrite it; pass --force to replace it",
            db.display()
        );
    }
    tessera_store::backup::restore_sqlite(file, &db)
        .await
        .with_context(|| format!("restoring to {}", db.display()))?;
    let v = json!({"restored": db, "from": file, "schema_version": version});
    print(json, &v, || {
        format!(
            "restored {} from {} (schema version {version}; pending migrations run at the next start)",
            db.display(),
            file.display()
        )
    });
    Ok(())
}
