//! Infrastructure errors mapped into the domain's [`StoreError`] at the seam.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use tessera_domain::StoreError;

/// Maps a Diesel error: a unique violation is a `Conflict`, a missing row `NotFound`, a busy or
/// locked database (and anything else the database says) `Unavailable`.
pub(crate) fn from_diesel(e: DieselError) -> StoreError {
    match e {
        DieselError::NotFound => StoreError::NotFound,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => StoreError::Conflict,
        DieselError::DeserializationError(e) => StoreError::Corrupt(e.to_string()),
        other => StoreError::Unavailable(other.to_string()),
    }
}

/// A pool that could not hand out a connection in time.
pub(crate) fn from_pool(e: &r2d2::Error) -> StoreError {
    StoreError::Unavailable(format!("no database connection: {e}"))
}
