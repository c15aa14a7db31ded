//! Opening the database: URL parsing, the r2d2 pool, per-connection pragmas and migrations.

use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use tessera_domain::StoreError;

/// The SQLite migrations, compiled into the binary and applied at start-up.
pub(crate) const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Where the database is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file.
    Sqlite(PathBuf),
}

impl DatabaseUrl {
    /// Parses `sqlite://PATH`, `sqlite:PATH` or a bare path.
    ///
    /// # Errors
    /// When the URL names a backend this build does not have, or is empty.
    pub fn parse(url: &str) -> Result<Self, String> {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() {
            return Err("the database URL is empty".into());
        }
        if let Some((scheme, _)) = path.split_once("://") {
            return Err(format!(
                "unsupported database URL scheme {scheme:?}: this build supports sqlite:// URLs and file paths"
            ));
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }

    /// The SQLite database file inside a data directory.
    #[must_use]
    pub fn in_data_dir(dir: &Path) -> Self {
        Self::Sqlite(dir.join("tessera.sqlite"))
    }
}

/// How to open the store.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// The database.
    pub url: DatabaseUrl,
    /// Most connections in the pool.
    pub max_connections: u32,
    /// How long a query waits for a locked database or a free connection before giving up.
    pub busy_timeout: Duration,
}

impl StoreConfig {
    /// Defaults for `url`: 8 connections, 5 s busy timeout.
    #[must_use]
    pub fn new(url: DatabaseUrl) -> Self {
        Self {
            url,
            max_connections: 8,
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// Sets each new SQLite connection up: WAL, a busy timeout instead of instant `SQLITE_BUSY`,
/// foreign keys on, and `synchronous=NORMAL` (durable in WAL mode across application crashes).
#[derive(Debug)]
struct SqlitePragmas {
    busy_timeout_ms: u128,
}

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
             PRAGMA foreign_keys = ON;",
            self.busy_timeout_ms
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

pub(crate) type SqlitePool = Pool<ConnectionManager<SqliteConnection>>;

/// Opens the pool, creating the file (and its directory) when absent, and applies pending
/// migrations.
pub(crate) fn open(config: &StoreConfig) -> Result<SqlitePool, StoreError> {
    let DatabaseUrl::Sqlite(path) = &config.url;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
        })?;
    }
    let url = path
        .to_str()
        .ok_or_else(|| StoreError::Unavailable("the database path is not UTF-8".into()))?;
    let pool = Pool::builder()
        .max_size(config.max_connections.max(1))
        .connection_timeout(config.busy_timeout)
        .connection_customizer(Box::new(SqlitePragmas {
            busy_timeout_ms: config.busy_timeout.as_millis(),
        }))
        .build(ConnectionManager::<SqliteConnection>::new(url))
        .map_err(|e| StoreError::Unavailable(format!("cannot open {url}: {e}")))?;
    let mut conn = pool.get().map_err(|e| crate::error::from_pool(&e))?;
    conn.run_pending_migrations(SQLITE_MIGRATIONS)
        .map_err(|e| StoreError::Unavailable(format!("migrations failed: {e}")))?;
    Ok(pool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls() {
        let p = |s: &str| DatabaseUrl::parse(s);
        assert_eq!(
            p("sqlite:///tmp/t.db"),
            Ok(DatabaseUrl::Sqlite("/tmp/t.db".into()))
        );
        assert_eq!(
            p("sqlite:data/t.db"),
            Ok(DatabaseUrl::Sqlite("data/t.db".into()))
        );
        assert_eq!(p("t.db"), Ok(DatabaseUrl::Sqlite("t.db".into())));
        assert!(p("").is_err());
        assert!(p("mysql://x").is_err_and(|e| e.contains("unsupported")));
    }
}
