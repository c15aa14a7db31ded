//! The repositories: the port implementations over the pool.

use std::sync::Arc;

use async_trait::async_trait;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use tessera_domain::StoreError;
use tessera_domain::keys::{KeyState, SigningKey};
use tessera_domain::ports::{Clock, KeyRepository, SealError, Sealer, ServerSecretRepository};
use tessera_domain::secret::SecretPepper;

use crate::convert::{KeyRow, key_from_row, key_row};
use crate::error::{from_diesel, from_pool};
use crate::pool::{AnyConnection, DbPool, StoreConfig, open};
use crate::schema::{server_secrets, signing_keys, store_versions};
use crate::writer::Writer;

pub(crate) type Conn = AnyConnection;

/// The name of the pepper row in `server_secrets`.
const PEPPER: &str = "client-secret-pepper";

/// The store: its two pools (see [`crate::pool::Pools`]), every repository port.
#[derive(Clone)]
pub struct DieselStore {
    pool: DbPool,
    readers: DbPool,
    /// SQLite only: the one writer of this process (see [`crate::writer`]).
    writer: Option<Arc<Writer>>,
    pub(crate) clock: Arc<dyn Clock>,
    sealer: Arc<dyn Sealer>,
}

/// The sealing context of a signing key's private half.
fn key_context(kid: &str) -> String {
    format!("signing_key:{kid}")
}

/// The sealing context of a server secret.
fn secret_context(name: &str) -> String {
    format!("server_secret:{name}")
}

fn unsealed(sealer: &dyn Sealer, context: &str, stored: Vec<u8>) -> Result<Vec<u8>, StoreError> {
    match sealer.open(context, &stored) {
        Ok(plain) => Ok(plain),
        // Stored before sealing existed; `open` seals such values at start-up.
        Err(SealError::NotSealed) => Ok(stored),
        Err(e) => Err(StoreError::Corrupt(format!(
            "{context}: {e} (is the master key the one it was sealed under?)"
        ))),
    }
}

/// The key stored in `row`, its private half opened.
fn open_key_row(sealer: &dyn Sealer, mut row: KeyRow) -> Result<SigningKey, StoreError> {
    row.private_der = unsealed(
        sealer,
        &key_context(&row.kid),
        std::mem::take(&mut row.private_der),
    )?;
    key_from_row(row)
}

fn sealed(sealer: &dyn Sealer, context: &str, plain: &[u8]) -> Result<Vec<u8>, StoreError> {
    sealer
        .seal(context, plain)
        .map_err(|e| StoreError::Corrupt(format!("{context}: {e}")))
}

impl DieselStore {
    /// Opens (creating when absent) the database and applies pending migrations. Blocking: call it
    /// at start-up, before serving.
    ///
    /// # Errors
    /// `Unavailable` when the database cannot be opened or migrated.
    pub fn open(
        config: &StoreConfig,
        clock: Arc<dyn Clock>,
        sealer: Arc<dyn Sealer>,
    ) -> Result<Self, StoreError> {
        let pools = open(config)?;
        let store = Self {
            writer: if config.url.is_postgres() {
                None
            } else {
                Some(Arc::new(Writer::start(
                    pools.writers.clone(),
                    config.busy_timeout,
                )?))
            },
            pool: pools.writers,
            readers: pools.readers,
            clock,
            sealer,
        };
        let mut conn = store
            .pool
            .get()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let sealer = Arc::clone(&store.sealer);
        reseal(&mut conn, sealer.as_ref(), sealer.as_ref())?;
        Ok(store)
    }

    /// Re-encrypts every sealed secret under `next` (`tessera keys rewrap`), in one transaction:
    /// either every value is under the new master key afterwards, or none is.
    ///
    /// # Errors
    /// `Corrupt` when a value does not open under the current key; `Unavailable`.
    pub async fn rewrap(&self, next: Arc<dyn Sealer>) -> Result<usize, StoreError> {
        let current = Arc::clone(&self.sealer);
        self.run(move |conn| reseal(conn, current.as_ref(), next.as_ref()))
            .await
    }

    /// The connection pool's size and how many of its connections are idle.
    #[must_use]
    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.pool.state();
        (state.connections, state.idle_connections)
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| {
            diesel::sql_query("SELECT 1")
                .execute(conn)
                .map(|_| ())
                .map_err(from_diesel)
        })
        .await
    }

    /// Runs `f`, which may write: on SQLite on the process's one writer thread
    /// ([`crate::writer`]), on PostgreSQL with a writer's connection on tokio's blocking pool.
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<T, StoreError> + Send + 'static,
    {
        match &self.writer {
            Some(writer) => writer.run(f).await,
            None => Self::on(self.pool.clone(), f).await,
        }
    }

    /// Runs the read-only `f` with a reader's connection on tokio's blocking pool: it never
    /// waits for a connection behind writers blocked on a lock.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<T, StoreError> + Send + 'static,
    {
        Self::on(self.readers.clone(), f).await
    }

    async fn on<T, F>(pool: DbPool, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<T, StoreError> + Send + 'static,
    {
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| from_pool(&e))?;
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("store task failed: {e}")))?
    }
}

/// Bumps a change counter; called inside the write's own transaction.
pub(crate) fn bump(conn: &mut Conn, name: &str) -> Result<(), diesel::result::Error> {
    diesel::update(store_versions::table.find(name))
        .set(store_versions::version.eq(store_versions::version + 1))
        .execute(conn)
        .map(|_| ())
}

pub(crate) fn read_version(conn: &mut Conn, name: &str) -> Result<u64, StoreError> {
    let v: i64 = store_versions::table
        .find(name)
        .select(store_versions::version)
        .first(conn)
        .map_err(from_diesel)?;
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative version for {name}")))
}

/// How many times a PostgreSQL write transaction is tried when it loses a serialization conflict
/// (SQLSTATE 40001) or a deadlock (40P01) to another transaction on the same rows.
const SERIALIZABLE_ATTEMPTS: u32 = 8;

/// Runs a read-then-write in one transaction that is atomic against every other writer, on its
/// own rows only — no lock is shared by unrelated work:
/// - SQLite: `BEGIN IMMEDIATE` (SQLite has one writer; two writers queue on the busy timeout
///   instead of deadlocking on a lock upgrade).
/// - PostgreSQL: `SERIALIZABLE` isolation. Transactions on different rows never wait for each
///   other; one that conflicts with a concurrent transaction on the same rows is rolled back by
///   PostgreSQL (serialization failure or deadlock) and `f` runs again, up to
///   [`SERIALIZABLE_ATTEMPTS`] times with a short growing pause, then the write reports
///   `Unavailable`. A row lock held elsewhere is waited for up to `lock_timeout`.
///
/// `f` may therefore run more than once: it must only read and write through `conn`.
pub(crate) fn write_tx<T>(
    conn: &mut Conn,
    mut f: impl FnMut(&mut Conn) -> Result<T, diesel::result::Error>,
) -> Result<T, StoreError> {
    if matches!(conn, AnyConnection::Sqlite(_)) {
        return immediate(conn, f).map_err(from_diesel);
    }
    let mut attempt = 1;
    loop {
        let result = conn.transaction(|conn| {
            // The first statement of the transaction (PostgreSQL requires it so).
            conn.batch_execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")?;
            f(conn)
        });
        match result {
            Err(e) if attempt < SERIALIZABLE_ATTEMPTS && is_conflict(&e) => {
                std::thread::sleep(std::time::Duration::from_millis(u64::from(
                    attempt * attempt,
                )));
                attempt += 1;
            }
            other => return other.map_err(from_diesel),
        }
    }
}

/// Runs writes that are each atomic on their own — inserts of new rows, updates and deletes by
/// key, counter increments — in one transaction at the default isolation (PostgreSQL
/// `READ COMMITTED`): they decide nothing from an earlier read, so they need no serializable
/// snapshot, and wait only for a row lock on the very rows they change (two writers of the
/// `clients` change counter queue on it; the audit trail's inserts wait for nothing).
pub(crate) fn keyed_tx<T>(
    conn: &mut Conn,
    f: impl FnOnce(&mut Conn) -> Result<T, diesel::result::Error>,
) -> Result<T, StoreError> {
    match conn {
        AnyConnection::Sqlite(_) => immediate(conn, f),
        AnyConnection::Postgres(_) => conn.transaction(f),
    }
    .map_err(from_diesel)
}

/// Whether PostgreSQL rolled a transaction back for a conflict that a retry resolves.
fn is_conflict(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        Error::DatabaseError(_, info) => {
            let m = info.message();
            m.contains("deadlock detected") || m.contains("could not serialize access")
        }
        _ => false,
    }
}

/// `f` in SQLite's `BEGIN IMMEDIATE … COMMIT`, through Diesel's transaction manager (so its state
/// stays right: a connection left inside a transaction by a panic is discarded by the pool).
fn immediate<T>(
    conn: &mut Conn,
    f: impl FnOnce(&mut Conn) -> Result<T, diesel::result::Error>,
) -> Result<T, diesel::result::Error> {
    fn sqlite(conn: &mut Conn) -> &mut diesel::sqlite::SqliteConnection {
        match conn {
            AnyConnection::Sqlite(c) => c,
            AnyConnection::Postgres(_) => unreachable!("immediate() is for SQLite"),
        }
    }
    AnsiTransactionManager::begin_transaction_sql(sqlite(conn), "BEGIN IMMEDIATE")?;
    match f(conn) {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(sqlite(conn))?;
            Ok(value)
        }
        Err(e) => {
            AnsiTransactionManager::rollback_transaction(sqlite(conn))?;
            Err(e)
        }
    }
}

#[async_trait]
impl KeyRepository for DieselStore {
    async fn live_keys(&self) -> Result<Vec<SigningKey>, StoreError> {
        let sealer = Arc::clone(&self.sealer);
        self.read(move |conn| {
            signing_keys::table
                .filter(signing_keys::state.ne(KeyState::Retired.as_str()))
                .order((signing_keys::created_at, signing_keys::kid))
                .select(KeyRow::as_select())
                .load(conn)
                .map_err(from_diesel)?
                .into_iter()
                .map(|row| open_key_row(sealer.as_ref(), row))
                .collect()
        })
        .await
    }

    async fn insert(&self, key: &SigningKey) -> Result<(), StoreError> {
        let mut row = key_row(key);
        row.private_der = sealed(
            self.sealer.as_ref(),
            &key_context(&row.kid),
            &row.private_der,
        )?;
        self.run(move |conn| {
            keyed_tx(conn, |conn| {
                diesel::insert_into(signing_keys::table)
                    .values(&row)
                    .execute(conn)?;
                bump(conn, "keys")
            })
        })
        .await
    }

    async fn all_keys(&self) -> Result<Vec<SigningKey>, StoreError> {
        let sealer = Arc::clone(&self.sealer);
        self.read(move |conn| {
            signing_keys::table
                .order((signing_keys::created_at, signing_keys::kid))
                .select(KeyRow::as_select())
                .load(conn)
                .map_err(from_diesel)?
                .into_iter()
                .map(|row| open_key_row(sealer.as_ref(), row))
                .collect()
        })
        .await
    }

    async fn update(&self, key: &SigningKey) -> Result<(), StoreError> {
        let row = key_row(key);
        self.run(move |conn| {
            keyed_tx(conn, |conn| {
                let changed = diesel::update(signing_keys::table.find(&row.kid))
                    .set((
                        signing_keys::state.eq(&row.state),
                        signing_keys::activated_at.eq(row.activated_at),
                        signing_keys::retire_at.eq(row.retire_at),
                    ))
                    .execute(conn)?;
                if changed == 0 {
                    return Err(diesel::result::Error::NotFound);
                }
                bump(conn, "keys")
            })
        })
        .await
    }

    async fn version(&self) -> Result<u64, StoreError> {
        self.read(|conn| read_version(conn, "keys")).await
    }
}

#[async_trait]
impl ServerSecretRepository for DieselStore {
    async fn pepper_or_insert(&self, candidate: SecretPepper) -> Result<SecretPepper, StoreError> {
        let now = self.clock.now().as_secs();
        let context = secret_context(PEPPER);
        let sealed_candidate = sealed(self.sealer.as_ref(), &context, candidate.expose())?;
        let sealer = Arc::clone(&self.sealer);
        self.run(move |conn| {
            let value: Vec<u8> = write_tx(conn, |conn| {
                let existing: Option<Vec<u8>> = server_secrets::table
                    .find(PEPPER)
                    .select(server_secrets::value)
                    .first(conn)
                    .optional()?;
                if let Some(v) = existing {
                    return Ok(v);
                }
                diesel::insert_into(server_secrets::table)
                    .values((
                        server_secrets::name.eq(PEPPER),
                        server_secrets::value.eq(sealed_candidate.as_slice()),
                        server_secrets::created_at.eq(now),
                    ))
                    .execute(conn)?;
                Ok(sealed_candidate.clone())
            })?;
            let value = unsealed(sealer.as_ref(), &context, value)?;
            let bytes: [u8; 32] = value
                .try_into()
                .map_err(|_| StoreError::Corrupt("the stored pepper is not 32 bytes".into()))?;
            Ok(SecretPepper::from_bytes(bytes))
        })
        .await
    }
}

/// Seals every stored secret under `next`, opening it with `current` (plaintext values from
/// before sealing are taken as they are). One IMMEDIATE transaction. Returns how many values were
/// written.
fn reseal(conn: &mut Conn, current: &dyn Sealer, next: &dyn Sealer) -> Result<usize, StoreError> {
    let same = std::ptr::addr_eq(current, next);
    let mut failure: Option<StoreError> = None;
    let written = write_tx(conn, |conn| {
        let mut written = 0;
        let keys: Vec<(String, Vec<u8>)> = signing_keys::table
            .select((signing_keys::kid, signing_keys::private_der))
            .load(conn)?;
        let secrets: Vec<(String, Vec<u8>)> = server_secrets::table
            .select((server_secrets::name, server_secrets::value))
            .load(conn)?;
        let mut convert = |context: String, stored: Vec<u8>| -> Option<Vec<u8>> {
            let plaintext = matches!(current.open(&context, &stored), Err(SealError::NotSealed));
            if same && !plaintext {
                return None;
            }
            let plain = match unsealed(current, &context, stored) {
                Ok(p) => p,
                Err(e) => {
                    failure.get_or_insert(e);
                    return None;
                }
            };
            match sealed(next, &context, &plain) {
                Ok(v) => Some(v),
                Err(e) => {
                    failure.get_or_insert(e);
                    None
                }
            }
        };
        let mut key_updates = Vec::new();
        for (kid, stored) in keys {
            if let Some(v) = convert(key_context(&kid), stored) {
                key_updates.push((kid, v));
            }
        }
        let mut secret_updates = Vec::new();
        for (name, stored) in secrets {
            if let Some(v) = convert(secret_context(&name), stored) {
                secret_updates.push((name, v));
            }
        }
        if failure.is_some() {
            return Err(diesel::result::Error::RollbackTransaction);
        }
        for (kid, v) in key_updates {
            diesel::update(signing_keys::table.find(&kid))
                .set(signing_keys::private_der.eq(v))
                .execute(conn)?;
            written += 1;
        }
        for (name, v) in secret_updates {
            diesel::update(server_secrets::table.find(&name))
                .set(server_secrets::value.eq(v))
                .execute(conn)?;
            written += 1;
        }
        Ok(written)
    });
    match (failure, written) {
        (Some(e), _) => Err(e),
        (None, result) => result,
    }
}

#[cfg(test)]
mod tests;
