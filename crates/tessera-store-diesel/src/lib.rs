//! Tessera's persistence adapter: Diesel over an r2d2 pool, on SQLite (the embedded default, in WAL
//! mode) or PostgreSQL (the scale-out backend, shared by several nodes); both client libraries are
//! built from source, so no system library is needed.
//!
//! Implements [`ClientRepository`], [`KeyRepository`] and [`ServerSecretRepository`]. Diesel is
//! blocking, so every port method moves its work onto tokio's blocking pool here, inside the
//! adapter; callers only see `async` methods. Rows are converted to domain values through the
//! domain's own constructors, so a corrupt row is reported as [`StoreError::Corrupt`], never
//! trusted. Queries are written once, against Diesel's multi-backend connection (`pool::AnyConnection`).

mod audit;
mod authz;
mod backchannel;
mod clients;
mod convert;
mod error;
mod leases;
mod pool;
mod registrations;
mod repo;
mod rotation;
mod schema;
#[cfg(test)]
mod testdb;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod tokens;
mod users;
mod writer;

pub use pool::{DatabaseUrl, StoreConfig};
pub use repo::DieselStore;
