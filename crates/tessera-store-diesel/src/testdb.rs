//! Databases for tests: a SQLite file in a temporary directory, or a PostgreSQL database created
//! for the one test and dropped after it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU32, Ordering};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

use crate::pool::DatabaseUrl;

/// The PostgreSQL server tests use: `TESSERA_TEST_POSTGRES` (a URL of a database the user may
/// create databases from), by default the local server with trust authentication.
pub(crate) fn admin_url() -> String {
    std::env::var("TESSERA_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// One test's database; dropped with it.
pub(crate) enum TestDb {
    /// A SQLite file in its own directory.
    Sqlite(tempfile::TempDir),
    /// A PostgreSQL database of its own.
    Postgres {
        /// Its name.
        name: String,
    },
}

impl TestDb {
    pub(crate) fn sqlite() -> Self {
        Self::Sqlite(tempfile::tempdir().unwrap())
    }

    pub(crate) fn postgres() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "tessera_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = PgConnection::establish(&admin_url()).unwrap_or_else(|e| {
            panic!(
                "the PostgreSQL tests need a server at {} ({e}); set TESSERA_TEST_POSTGRES",
                admin_url()
            )
        });
        // One statement per call: several would run as one transaction, which these refuse.
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        Self::Postgres { name }
    }

    pub(crate) fn url(&self) -> DatabaseUrl {
        match self {
            Self::Sqlite(dir) => DatabaseUrl::in_data_dir(dir.path()),
            Self::Postgres { name } => {
                let admin = admin_url();
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                DatabaseUrl::Postgres(format!("{base}/{name}"))
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Self::Postgres { name } = self
            && let Ok(mut admin) = PgConnection::establish(&admin_url())
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// Runs each named `async fn(TestDb)` as two tests: on SQLite and on PostgreSQL.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name($crate::testdb::TestDb::sqlite()).await
            })*
        }
        mod on_postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name($crate::testdb::TestDb::postgres()).await
            })*
        }
    };
}
pub(crate) use on_both_backends;
