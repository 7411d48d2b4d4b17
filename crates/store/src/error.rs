//! The one error type of tessera-store.

use std::fmt;

/// Why a storage operation failed.
///
/// The causes are kept: [`std::error::Error::source`] returns the driver's
/// own error (sqlx, Redis, I/O). `Display` names the cause's message too, so
/// a caller that flattens the error to a string still says what failed.
/// Neither ever contains a secret: statements are bound, never formatted
/// with values.
///
/// Callers should ask [`StoreError::is_unavailable`] rather than match the
/// variants that carry a cause: it is the line between "retrying may help"
/// (an HTTP server answers 503 with `Retry-After`) and every other failure.
///
/// `Debug` prints the same as `Display`: a driver's own `Debug` can carry a
/// PostgreSQL error's `detail`, which quotes the failing row's values.
#[non_exhaustive]
pub enum StoreError {
    /// A unique constraint was violated (for example a duplicate email).
    Conflict,
    /// The database cannot be reached, timed out or is overloaded (pool
    /// exhausted, connection lost, lock or serialization conflict):
    /// retrying may help.
    Unavailable(sqlx::Error),
    /// Any other error the database reported.
    Database(sqlx::Error),
    /// Redis failed (unreachable, timed out or refused the command). The
    /// shared throttle is unusable until it answers: retrying may help.
    #[cfg(feature = "redis")]
    Redis(redis::RedisError),
    /// The data directory could not be created.
    Io {
        /// The directory.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A background task the operation ran on ended without an answer
    /// (cancelled at shutdown, or it panicked).
    Task(tokio::task::JoinError),
    /// The configuration asks for something this build or backend cannot
    /// do: an unknown URL scheme, a backend not compiled in (features
    /// `postgres`, `redis`), an invalid schema name.
    Config(&'static str),
}

impl StoreError {
    /// True when the failure is transient and retrying later may help
    /// (unreachable or overloaded database or Redis, missing data directory).
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Unavailable(_) | StoreError::Io { .. } => true,
            #[cfg(feature = "redis")]
            StoreError::Redis(_) => true,
            StoreError::Conflict
            | StoreError::Database(_)
            | StoreError::Task(_)
            | StoreError::Config(_) => false,
        }
    }

    /// Classifies a sqlx error: a unique violation is a
    /// [`StoreError::Conflict`], what the backend's `transient` accepts
    /// (its error codes, lost connections) is [`StoreError::Unavailable`],
    /// the rest is [`StoreError::Database`].
    pub(crate) fn from_sqlx(e: sqlx::Error, transient: fn(&sqlx::Error) -> bool) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
            _ if transient(&e) => StoreError::Unavailable(e),
            _ => StoreError::Database(e),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Conflict => f.write_str("conflict with an existing row"),
            StoreError::Unavailable(e) => write!(f, "database unavailable: {e}"),
            StoreError::Database(e) => write!(f, "database error: {e}"),
            #[cfg(feature = "redis")]
            StoreError::Redis(e) => write!(f, "redis unavailable: {e}"),
            StoreError::Io { path, source } => {
                write!(
                    f,
                    "database unavailable: cannot create {}: {source}",
                    path.display()
                )
            }
            StoreError::Task(e) => write!(f, "store task failed: {e}"),
            StoreError::Config(why) => f.write_str(why),
        }
    }
}

impl fmt::Debug for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreError({self})")
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Unavailable(e) | StoreError::Database(e) => Some(e),
            #[cfg(feature = "redis")]
            StoreError::Redis(e) => Some(e),
            StoreError::Io { source, .. } => Some(source),
            StoreError::Task(e) => Some(e),
            StoreError::Conflict | StoreError::Config(_) => None,
        }
    }
}

#[cfg(feature = "redis")]
impl From<redis::RedisError> for StoreError {
    fn from(e: redis::RedisError) -> Self {
        StoreError::Redis(e)
    }
}

/// Shorthand result type.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
