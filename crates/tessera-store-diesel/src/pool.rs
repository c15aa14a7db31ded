//! Opening the database: URL parsing, the connection (SQLite or PostgreSQL), the r2d2 pool,
//! per-connection settings and migrations.

use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ManageConnection, Pool, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, MultiConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use tessera_domain::StoreError;

/// The SQLite migrations, compiled into the binary and applied at start-up.
pub(crate) const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
/// The PostgreSQL migrations: the same versions, the same tables and column types.
pub(crate) const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to either backend. Every repository query is written once against it (Diesel's
/// multi-backend connection); the few statements the two dialects spell differently match on it.
#[derive(MultiConnection)]
pub enum AnyConnection {
    /// The embedded default.
    Sqlite(SqliteConnection),
    /// The scale-out backend.
    Postgres(PgConnection),
}

/// Runs the same statement on the concrete connection inside an [`AnyConnection`]: for the few
/// Diesel features the multi-backend connection does not carry (batch inserts, `RETURNING` a
/// selectable). The statement is still written once; it is compiled once per backend.
macro_rules! each_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::pool::AnyConnection::Sqlite($c) => $body,
            $crate::pool::AnyConnection::Postgres($c) => $body,
        }
    };
}
pub(crate) use each_backend;

/// Where the database is.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (`postgres://user@host:port/db?sslmode=…`).
    Postgres(String),
}

impl std::fmt::Debug for DatabaseUrl {
    /// A PostgreSQL URL may carry a password: only its host part is printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "Sqlite({})", path.display()),
            Self::Postgres(url) => write!(f, "Postgres({})", redacted(url)),
        }
    }
}

/// `url` without its password.
fn redacted(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((user, host)) => {
                let user = user.split_once(':').map_or(user, |(u, _)| u);
                format!("{scheme}://{user}:***@{host}")
            }
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

impl DatabaseUrl {
    /// Parses `postgres://…` or `postgresql://…` (PostgreSQL), `sqlite://PATH`, `sqlite:PATH` or
    /// a bare path (SQLite).
    ///
    /// # Errors
    /// When the URL names a backend this build does not have, or is empty.
    pub fn parse(url: &str) -> Result<Self, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() {
            return Err("the database URL is empty".into());
        }
        if let Some((scheme, _)) = path.split_once("://") {
            return Err(format!(
                "unsupported database URL scheme {scheme:?}: use postgres://, sqlite:// or a file path"
            ));
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }

    /// The SQLite database file inside a data directory.
    #[must_use]
    pub fn in_data_dir(dir: &Path) -> Self {
        Self::Sqlite(dir.join("tessera.sqlite"))
    }

    /// Whether this is the PostgreSQL backend.
    #[must_use]
    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }

    /// What to print about it: the file, or the URL without its password.
    #[must_use]
    pub fn display(&self) -> String {
        match self {
            Self::Sqlite(path) => path.display().to_string(),
            Self::Postgres(url) => redacted(url),
        }
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

/// Opens connections of the configured backend and sets each up.
///
/// SQLite: WAL, a busy timeout instead of instant `SQLITE_BUSY`, foreign keys on, and
/// `synchronous=NORMAL` (durable in WAL mode across application crashes). PostgreSQL: the busy
/// timeout as `lock_timeout` (a write waiting for another transaction's row lock gives up like
/// SQLite's does) and as `statement_timeout` twice over (a stuck query cannot hold a pooled
/// connection forever).
///
/// A reader's connections are read-only (SQLite `query_only`, PostgreSQL
/// `default_transaction_read_only`): a write that strays onto one fails instead of queueing there.
#[derive(Debug)]
pub(crate) struct Manager {
    url: DatabaseUrl,
    busy_timeout_ms: u128,
    read_only: bool,
}

impl ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<AnyConnection, diesel::r2d2::Error> {
        let t = self.busy_timeout_ms;
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let path = path.to_str().ok_or_else(|| {
                    diesel::r2d2::Error::ConnectionError(
                        diesel::ConnectionError::InvalidConnectionUrl(
                            "the database path is not UTF-8".into(),
                        ),
                    )
                })?;
                let mut conn = SqliteConnection::establish(path)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                let read_only = if self.read_only {
                    " PRAGMA query_only = ON;"
                } else {
                    ""
                };
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {t}; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;{read_only}"
                ))
                .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(AnyConnection::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => {
                let mut conn =
                    PgConnection::establish(url).map_err(diesel::r2d2::Error::ConnectionError)?;
                let read_only = if self.read_only {
                    " SET default_transaction_read_only = on;"
                } else {
                    ""
                };
                conn.batch_execute(&format!(
                    "SET lock_timeout = {t}; SET statement_timeout = {}; SET TIME ZONE 'UTC';{read_only}",
                    t * 2
                ))
                .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(AnyConnection::Postgres(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), diesel::r2d2::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut AnyConnection) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

pub(crate) type DbPool = Pool<Manager>;

/// The two pools of a store: writers, and readers that never wait behind them.
///
/// A write may hold its connection for up to the busy timeout while it waits for SQLite's one
/// writer or a PostgreSQL row lock. Were reads drawn from the same pool, a handful of blocked
/// writers would leave a read (opaque introspection, a session, a user) queueing for a connection
/// behind them; from their own pool they answer at once (SQLite WAL readers never wait for the
/// writer; PostgreSQL reads take no row locks).
pub(crate) struct Pools {
    pub writers: DbPool,
    pub readers: DbPool,
}

/// Opens the pools (for SQLite creating the file and its directory when absent) and applies
/// pending migrations.
pub(crate) fn open(config: &StoreConfig) -> Result<Pools, StoreError> {
    if let DatabaseUrl::Sqlite(path) = &config.url
        && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
        })?;
    }
    let build = |read_only: bool, min_idle: Option<u32>| {
        Pool::builder()
            .max_size(config.max_connections.max(1))
            .min_idle(min_idle)
            .connection_timeout(config.busy_timeout)
            .build(Manager {
                url: config.url.clone(),
                busy_timeout_ms: config.busy_timeout.as_millis(),
                read_only,
            })
            .map_err(|e| {
                StoreError::Unavailable(format!("cannot open {}: {e}", config.url.display()))
            })
    };
    let writers = build(false, None)?;
    let mut conn = writers.get().map_err(|e| crate::error::from_pool(&e))?;
    migrate(&mut conn)?;
    drop(conn);
    // Readers open after the migrations, so that their first connection sees the tables.
    let readers = build(true, Some(2))?;
    Ok(Pools { writers, readers })
}

/// Applies the backend's pending migrations. On PostgreSQL several nodes may start at once: an
/// advisory lock makes them migrate one after the other (the later ones find nothing to do).
fn migrate(conn: &mut AnyConnection) -> Result<(), StoreError> {
    let failed =
        |e: &dyn std::fmt::Display| StoreError::Unavailable(format!("migrations failed: {e}"));
    match conn {
        AnyConnection::Sqlite(c) => c
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|_| ())
            .map_err(|e| failed(&e)),
        AnyConnection::Postgres(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
                .map_err(|e| failed(&e))?;
            let result = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|_| ())
                .map_err(|e| failed(&e));
            let unlocked = c
                .batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
                .map_err(|e| failed(&e));
            result.and(unlocked)
        }
    }
}

/// The advisory lock of migrations (an arbitrary constant, "TESSERA1" in ASCII).
const MIGRATION_LOCK: i64 = 0x5445_5353_4552_4131;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The PostgreSQL migrations mirror the SQLite ones: the same versions, and the same SQL but
    /// for the few spellings the dialects differ in.
    #[test]
    fn the_postgres_migrations_mirror_the_sqlite_ones() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let versions = |backend: &str| {
            let mut v: Vec<String> = std::fs::read_dir(root.join(backend))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(versions("sqlite"), versions("postgres"));
        // What PostgreSQL spells differently; comments may differ.
        let portable = |sql: String| -> Vec<String> {
            sql.replace("BLOB", "BYTEA")
                .replace(
                    "BOOLEAN NOT NULL DEFAULT 0",
                    "BOOLEAN NOT NULL DEFAULT FALSE",
                )
                .replace(
                    "id        INTEGER PRIMARY KEY,",
                    "id        BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,",
                )
                .lines()
                .map(|l| {
                    l.split("--")
                        .next()
                        .unwrap_or_default()
                        .trim_end()
                        .to_owned()
                })
                .filter(|l| !l.is_empty())
                .collect()
        };
        for version in versions("sqlite") {
            for file in ["up.sql", "down.sql"] {
                let read = |backend: &str| {
                    std::fs::read_to_string(root.join(backend).join(&version).join(file)).unwrap()
                };
                assert_eq!(
                    portable(read("sqlite")),
                    portable(read("postgres")),
                    "{version}/{file}"
                );
            }
        }
    }

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
        let pg = p("postgres://tessera:s3cret@db:5432/tessera").unwrap();
        assert!(pg.is_postgres());
        assert_eq!(
            p("postgresql://db/tessera"),
            Ok(DatabaseUrl::Postgres("postgresql://db/tessera".into()))
        );
        // The password never prints.
        assert_eq!(pg.display(), "postgres://tessera:***@db:5432/tessera");
        assert!(!format!("{pg:?}").contains("s3cret"));
    }
}
