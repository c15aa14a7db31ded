//! Throwaway PostgreSQL databases for tests and benchmarks (feature `testing`): created on a
//! server the caller may create databases on, dropped when the value is dropped.

use std::sync::atomic::{AtomicU32, Ordering};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

/// A PostgreSQL database of its own.
pub struct PgTestDatabase {
    admin: String,
    name: String,
    url: String,
}

impl PgTestDatabase {
    /// The server tests use: `TESSERA_TEST_POSTGRES` (a URL of a database the user may create
    /// databases from), by default the local server with trust authentication.
    #[must_use]
    #[allow(
        clippy::disallowed_methods,
        reason = "test support (feature `testing`): the tests' server, never the service's"
    )]
    pub fn admin_url() -> String {
        std::env::var("TESSERA_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
    }

    /// Creates a fresh database named `PREFIX_PID_N` through `admin`.
    ///
    /// # Errors
    /// When the server cannot be reached or refuses.
    pub fn create(admin: &str, prefix: &str) -> Result<Self, String> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "{prefix}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        // One statement per call: several would run as one transaction, which these refuse.
        run(
            admin,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        )?;
        run(admin, &format!("CREATE DATABASE {name}"))?;
        let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
        Ok(Self {
            url: format!("{base}/{name}"),
            admin: admin.to_owned(),
            name,
        })
    }

    /// Its connection URL.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }
}

fn run(admin: &str, sql: &str) -> Result<(), String> {
    let mut conn = PgConnection::establish(admin)
        .map_err(|e| format!("PostgreSQL at {admin} is needed ({e}); set TESSERA_TEST_POSTGRES"))?;
    conn.batch_execute(sql).map_err(|e| format!("{sql}: {e}"))
}

impl Drop for PgTestDatabase {
    fn drop(&mut self) {
        let _ = run(
            &self.admin,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}
