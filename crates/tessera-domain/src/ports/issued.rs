//! The ports of what the token endpoint issues and must remember: refresh-token families (atomic
//! rotation), opaque access tokens, the JWT denylist and AuthMe's one-time params.

use async_trait::async_trait;

#[cfg(any(test, feature = "mocks"))]
use mockall::automock;

use crate::client::ClientId;
use crate::error::StoreError;
use crate::issued::{
    OpaqueTokenRecord, ParamRecord, RefreshFamily, RefreshTokenRecord, RotateOutcome, TokenHash,
};
use crate::time::UnixTime;

/// Where refresh-token families live. Rotation is one atomic conditional write, so concurrent uses
/// of one token (also on several nodes) leave exactly one successor.
#[cfg_attr(any(test, feature = "mocks"), automock)]
#[async_trait]
pub trait RefreshTokenStore: Send + Sync {
    /// Stores a new family and its first token.
    ///
    /// # Errors
    /// `Conflict` when the family id or the token hash exists.
    ///
    /// # Cancel safety
    /// One transaction.
    async fn create_family(
        &self,
        family: &RefreshFamily,
        first: &RefreshTokenRecord,
    ) -> Result<(), StoreError>;

    /// The token with this hash and its family.
    ///
    /// # Errors
    /// `Unavailable`, `Corrupt`. Absence is `Ok(None)`.
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads.
    async fn find(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<(RefreshTokenRecord, RefreshFamily)>, StoreError>;

    /// Uses the token `presented` of `client`, atomically, in one round trip where the backend
    /// allows:
    /// - no such token, or its family is another client's: `NotFound`, changing nothing;
    /// - if its family is revoked or expired at `now`: `Dead`;
    /// - if it is current: marks it rotated into `successor`, stores `successor` (issued at
    ///   `now`, in the same family): `Rotated`;
    /// - if it was rotated into `successor` no more than `grace_secs` ago and that successor is
    ///   still unused: `Replayed`, changing nothing;
    /// - otherwise (reuse): revokes the family: `Reused`.
    ///
    /// Of any number of concurrent calls for one token, at most one MUST return `Rotated`.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot answer (nothing changed then).
    ///
    /// # Cancel safety
    /// One transaction: after cancellation it has happened entirely or not at all.
    async fn rotate(
        &self,
        presented: &TokenHash,
        client: &ClientId,
        successor: &TokenHash,
        now: UnixTime,
        grace_secs: u32,
    ) -> Result<RotateOutcome, StoreError>;

    /// Revokes a family (idempotent; unknown ids are ignored).
    ///
    /// # Errors
    /// `Unavailable`.
    ///
    /// # Cancel safety
    /// One statement.
    async fn revoke_family(&self, family_id: &str, now: UnixTime) -> Result<(), StoreError>;

    /// Deletes families (and their tokens) that expired before `now`. Returns how many.
    ///
    /// # Errors
    /// `Unavailable`.
    ///
    /// # Cancel safety
    /// One transaction.
    async fn purge(&self, now: UnixTime) -> Result<u64, StoreError>;
}

/// Where opaque access tokens live.
#[cfg_attr(any(test, feature = "mocks"), automock)]
#[async_trait]
pub trait OpaqueTokenStore: Send + Sync {
    /// Stores a new opaque token.
    ///
    /// # Errors
    /// `Conflict` when the hash exists.
    ///
    /// # Cancel safety
    /// One statement.
    async fn insert(&self, record: &OpaqueTokenRecord) -> Result<(), StoreError>;

    /// The token with this hash (also when expired or revoked: the caller decides).
    ///
    /// # Errors
    /// `Unavailable`, `Corrupt`. Absence is `Ok(None)`.
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads.
    async fn find(&self, hash: &TokenHash) -> Result<Option<OpaqueTokenRecord>, StoreError>;

    /// Marks the token revoked (idempotent; unknown hashes are ignored).
    ///
    /// # Errors
    /// `Unavailable`.
    ///
    /// # Cancel safety
    /// One statement.
    async fn revoke(&self, hash: &TokenHash, now: UnixTime) -> Result<(), StoreError>;

    /// Deletes tokens that expired before `now`. Returns how many.
    ///
    /// # Errors
    /// `Unavailable`.
    ///
    /// # Cancel safety
    /// One statement.
    async fn purge(&self, now: UnixTime) -> Result<u64, StoreError>;
}

/// The denylist of revoked JWT access tokens, by `jti`, kept until each token's `exp`.
#[cfg_attr(any(test, feature = "mocks"), automock)]
#[async_trait]
pub trait RevocationList: Send + Sync {
    /// Denies `jti` until `expires_at` (idempotent).
    ///
    /// # Errors
    /// `Unavailable`.
    ///
    /// # Cancel safety
    /// One statement.
    async fn revoke(&self, jti: &str, expires_at: UnixTime) -> Result<(), StoreError>;

    /// Whether `jti` is denied.
    ///
    /// # Errors
    /// `Unavailable`.
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads.
    async fn is_revoked(&self, jti: &str) -> Result<bool, StoreError>;

    /// Forgets entries whose token expired before `now`. Returns how many.
    ///
    /// # Errors
    /// `Unavailable`.
    ///
    /// # Cancel safety
    /// One statement.
    async fn purge(&self, now: UnixTime) -> Result<u64, StoreError>;

    /// A counter that changes whenever a `jti` is denied (by any node), so that a copy in memory
    /// knows when to reload.
    ///
    /// # Errors
    /// `Unavailable`.
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads.
    async fn version(&self) -> Result<u64, StoreError>;

    /// Every `jti` denied whose token has not expired at `now`.
    ///
    /// # Errors
    /// `Unavailable`.
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads.
    async fn live(&self, now: UnixTime) -> Result<Vec<String>, StoreError>;
}

/// Where one-time sign-in params live.
#[cfg_attr(any(test, feature = "mocks"), automock)]
#[async_trait]
pub trait ParamStore: Send + Sync {
    /// Stores a new param.
    ///
    /// # Errors
    /// `Conflict` when the hash exists.
    ///
    /// # Cancel safety
    /// One statement.
    async fn insert(&self, param: &ParamRecord) -> Result<(), StoreError>;

    /// Uses the param: atomically deletes it and returns it, when it exists, belongs to `client`
    /// and has not expired at `now`. A param is used at most once, however many callers race.
    ///
    /// # Errors
    /// `Unavailable`.
    ///
    /// # Cancel safety
    /// One statement.
    async fn consume(
        &self,
        hash: &TokenHash,
        client: &ClientId,
        now: UnixTime,
    ) -> Result<Option<ParamRecord>, StoreError>;
}
