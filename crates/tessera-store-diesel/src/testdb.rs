//! Databases for the store's own tests: a SQLite file in a temporary directory, or a PostgreSQL
//! database created for the one test and dropped after it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::pool::DatabaseUrl;
use crate::testing::PgTestDatabase;

/// One test's database; dropped with it.
pub(crate) enum TestDb {
    /// A SQLite file in its own directory.
    Sqlite(tempfile::TempDir),
    /// A PostgreSQL database of its own.
    Postgres(PgTestDatabase),
}

impl TestDb {
    pub(crate) fn sqlite() -> Self {
        Self::Sqlite(tempfile::tempdir().unwrap())
    }

    pub(crate) fn postgres() -> Self {
        Self::Postgres(
            PgTestDatabase::create(&PgTestDatabase::admin_url(), "tessera_test")
                .unwrap_or_else(|e| panic!("{e}")),
        )
    }

    pub(crate) fn url(&self) -> DatabaseUrl {
        match self {
            Self::Sqlite(dir) => DatabaseUrl::in_data_dir(dir.path()),
            Self::Postgres(db) => DatabaseUrl::Postgres(db.url().to_owned()),
        }
    }

    /// A store over this database (fixed clock, test sealer).
    pub(crate) fn store(&self) -> crate::DieselStore {
        crate::DieselStore::open(
            &crate::pool::StoreConfig::new(self.url()),
            std::sync::Arc::new(tessera_testkit::fakes::FixedClock::at(1)),
            std::sync::Arc::new(tessera_testkit::fakes::TestSealer(1)),
        )
        .unwrap()
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
