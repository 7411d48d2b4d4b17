//! Test support (feature `test-support`): one fresh database per test, on
//! the backend the test run asks for.
//!
//! `TESSERA_TEST_BACKEND=postgres` selects PostgreSQL at
//! `TESSERA_TEST_POSTGRES_URL`, with a new schema per call; anything else
//! selects SQLite in the given directory.

use crate::{Result, Store, StoreError};
use std::path::Path;
use std::sync::Arc;

/// True when this test run targets PostgreSQL.
pub fn postgres_requested() -> bool {
    std::env::var("TESSERA_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

/// A `database_url` for a fresh, migrated database: `None` (SQLite in the
/// test's data directory) or a PostgreSQL URL pinned to a new schema.
pub async fn fresh_database_url() -> Result<Option<String>> {
    if !postgres_requested() {
        return Ok(None);
    }
    fresh_postgres_url().await.map(Some)
}

#[cfg(feature = "postgres")]
async fn fresh_postgres_url() -> Result<String> {
    use crate::{PgPoolSettings, PgStore};
    let base = std::env::var("TESSERA_TEST_POSTGRES_URL").map_err(|_| {
        StoreError::Config("TESSERA_TEST_BACKEND=postgres needs TESSERA_TEST_POSTGRES_URL")
    })?;
    let bytes = tessera_jose::crypto::random_bytes(8)
        .map_err(|_| StoreError::Config("no randomness for a test schema name"))?;
    let schema = format!(
        "t_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let pg = PgStore::open_in_schema(&base, Some(&schema), PgPoolSettings::default()).await?;
    pg.close().await;
    let sep = if base.contains('?') { '&' } else { '?' };
    Ok(format!("{base}{sep}options=-c%20search_path%3D{schema}"))
}

#[cfg(not(feature = "postgres"))]
async fn fresh_postgres_url() -> Result<String> {
    Err(StoreError::Config(
        "TESSERA_TEST_BACKEND=postgres needs tessera-store's `postgres` feature",
    ))
}

/// Opens the database a URL from [`fresh_database_url`] names.
pub async fn open(url: Option<&str>, dir: &Path) -> Result<Arc<dyn Store>> {
    crate::open(url, dir).await
}
