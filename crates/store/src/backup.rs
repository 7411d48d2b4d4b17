//! Backing up and restoring the SQLite database (`tessera backup` and
//! `tessera restore`). PostgreSQL has `pg_dump` for this.
//!
//! A backup is `VACUUM INTO`: one read transaction, so it is a consistent
//! snapshot taken while the server keeps writing (WAL mode), with no
//! downtime. A restore checks the file first: a SQLite database that passes
//! `PRAGMA quick_check`, with a `schema_migrations` table naming only
//! versions this build knows.

use crate::{Result, StoreError};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, Row};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The SQLite file a configuration uses: `database_url` (`sqlite:…`) or
/// `tessera.db` in the data directory; `None` for PostgreSQL.
pub fn sqlite_file(database_url: Option<&str>, data_dir: &Path) -> Result<Option<PathBuf>> {
    match database_url {
        None => Ok(Some(data_dir.join("tessera.db"))),
        Some(url) if url.starts_with("sqlite:") => {
            let opts = SqliteConnectOptions::from_str(url).map_err(crate::sqlite::map_err)?;
            Ok(Some(opts.get_filename().to_owned()))
        }
        Some(_) => Ok(None),
    }
}

/// The newest schema version (migration) this build knows.
pub fn known_schema_version() -> i64 {
    crate::sqlite::MIGRATIONS
        .iter()
        .map(|(v, _)| *v)
        .max()
        .unwrap_or(0)
}

fn io(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes a consistent copy of the live database `db` to `dest` (which must
/// not exist), while other connections keep reading and writing.
pub async fn sqlite_backup(db: &Path, dest: &Path) -> Result<()> {
    if dest.exists() {
        return Err(io(dest, std::io::ErrorKind::AlreadyExists.into()));
    }
    if !db.exists() {
        return Err(io(db, std::io::ErrorKind::NotFound.into()));
    }
    let mut conn = SqliteConnectOptions::new()
        .filename(db)
        .read_only(true)
        .busy_timeout(std::time::Duration::from_secs(30))
        .connect()
        .await
        .map_err(crate::sqlite::map_err)?;
    let target = dest
        .to_str()
        .ok_or(StoreError::Config("the backup path must be valid UTF-8"))?;
    sqlx::query("VACUUM INTO $1")
        .bind(target)
        .execute(&mut conn)
        .await
        .map_err(crate::sqlite::map_err)?;
    conn.close().await.map_err(crate::sqlite::map_err)
}

/// Checks a backup file: an intact SQLite database whose schema is one this
/// build knows. Returns its schema version.
pub async fn check_backup(file: &Path) -> Result<i64> {
    if !file.is_file() {
        return Err(io(file, std::io::ErrorKind::NotFound.into()));
    }
    let mut conn = SqliteConnectOptions::new()
        .filename(file)
        .read_only(true)
        .connect()
        .await
        .map_err(crate::sqlite::map_err)?;
    let check: String = sqlx::query("PRAGMA quick_check")
        .fetch_one(&mut conn)
        .await
        .and_then(|r| r.try_get(0))
        .map_err(|_| StoreError::Config("the file is not a SQLite database"))?;
    if check != "ok" {
        return Err(StoreError::Config("the backup fails SQLite's quick_check"));
    }
    let versions: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations")
        .fetch_all(&mut conn)
        .await
        .map_err(|_| {
            StoreError::Config("the file is not a Tessera database (no schema_migrations)")
        })?
        .iter()
        .filter_map(|r| r.try_get::<i64, _>(0).ok())
        .collect();
    let _ = conn.close().await;
    let known = known_schema_version();
    match versions.iter().max() {
        None => Err(StoreError::Config("the backup has no migrations applied")),
        Some(&v) if v > known => Err(StoreError::Config(
            "the backup's schema is newer than this tessera binary knows; restore it with a newer tessera",
        )),
        Some(&v) => Ok(v),
    }
}

/// Puts a checked backup in place of the database file `db`: copied beside
/// it, the old WAL and shared-memory files removed, then renamed over it.
/// The caller makes sure no server has the database open.
pub async fn restore_sqlite(file: &Path, db: &Path) -> Result<i64> {
    let version = check_backup(file).await?;
    if let Some(dir) = db.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    }
    let tmp = db.with_extension("db.restoring");
    std::fs::copy(file, &tmp).map_err(|e| io(&tmp, e))?;
    for suffix in ["-wal", "-shm"] {
        let mut side = db.as_os_str().to_owned();
        side.push(suffix);
        let side = PathBuf::from(side);
        match std::fs::remove_file(&side) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&side, e)),
        }
    }
    std::fs::rename(&tmp, db).map_err(|e| io(db, e))?;
    Ok(version)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn a_backup_is_checked_for_its_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("tessera.db");
        let store = crate::SqliteStore::open_file(&db).await.unwrap();
        let copy = dir.path().join("copy.db");
        sqlite_backup(&db, &copy).await.unwrap();
        assert_eq!(check_backup(&copy).await.unwrap(), known_schema_version());
        assert!(sqlite_backup(&db, &copy).await.is_err(), "never overwrites");
        // A schema from a newer tessera is refused, naming why.
        sqlx::query("INSERT INTO schema_migrations (version) VALUES (9999)")
            .execute(crate::sql::SqlBackend::pool(&store))
            .await
            .unwrap();
        let newer = dir.path().join("newer.db");
        sqlite_backup(&db, &newer).await.unwrap();
        let e = check_backup(&newer).await.unwrap_err().to_string();
        assert!(e.contains("newer than this tessera"), "{e}");
        // Restoring puts the checked copy in place.
        let target = dir.path().join("restored/tessera.db");
        assert_eq!(
            restore_sqlite(&copy, &target).await.unwrap(),
            known_schema_version()
        );
        assert!(restore_sqlite(&newer, &target).await.is_err());
        store.close().await;
    }
}
