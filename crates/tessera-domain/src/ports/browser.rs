//! The ports of the browser flow: authorization codes, sessions, remembered consent and the
//! per-address sign-in throttle.

use async_trait::async_trait;

#[cfg(any(test, feature = "mocks"))]
use mockall::automock;

use crate::authorize::{CodeIssue, CodeRecord, Redemption, Session};
use crate::client::ClientId;
use crate::error::StoreError;
use crate::issued::TokenHash;
use crate::scope::ScopeSet;
use crate::time::UnixTime;
use crate::user::UserId;

/// Authorization codes (RFC 6749 §4.1), stored by hash.
#[cfg_attr(any(test, feature = "mocks"), automock)]
#[async_trait]
pub trait AuthorizationCodeStore: Send + Sync {
    /// Stores a new, unredeemed code.
    ///
    /// # Errors
    /// MUST return `Conflict` when the hash exists.
    ///
    /// # Cancel safety
    /// One statement.
    async fn insert(&self, code: &CodeRecord) -> Result<(), StoreError>;

    /// Redeems a code. An unredeemed code with `now < expires_at` is marked with `issue` and
    /// returned as `Fresh` (its `issued` set to `issue`); a code redeemed before is returned as
    /// `Reused` with what its first redemption issued; anything else is `Invalid`. MUST be atomic:
    /// of concurrent redemptions on any number of nodes, exactly one is `Fresh`.
    ///
    /// # Errors
    /// `Unavailable`, `Corrupt`.
    ///
    /// # Cancel safety
    /// One transaction: if cancelled the code is either redeemed or not.
    async fn redeem(
        &self,
        hash: &TokenHash,
        issue: &CodeIssue,
        now: UnixTime,
    ) -> Result<Redemption, StoreError>;

    /// Deletes codes that expired more than a day before `now` (kept that long so a late second
    /// redemption still revokes what the first issued). Returns how many.
    ///
    /// # Errors
    /// `Unavailable`.
    ///
    /// # Cancel safety
    /// One statement.
    async fn purge(&self, now: UnixTime) -> Result<u64, StoreError>;
}

/// Signed-in browser sessions, stored by the hash of their cookie value.
#[cfg_attr(any(test, feature = "mocks"), automock)]
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session.
    ///
    /// # Errors
    /// MUST return `Conflict` when the hash exists.
    ///
    /// # Cancel safety
    /// One statement.
    async fn insert(&self, session: &Session) -> Result<(), StoreError>;

    /// The session with this hash, if it has not ended at `now`.
    ///
    /// # Errors
    /// `Unavailable`, `Corrupt`.
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads.
    async fn find(&self, hash: &TokenHash, now: UnixTime) -> Result<Option<Session>, StoreError>;

    /// Ends a session (idempotent) and returns it, when it existed.
    ///
    /// # Errors
    /// `Unavailable`.
    ///
    /// # Cancel safety
    /// One statement that deletes; what it returns is read first.
    async fn delete(&self, hash: &TokenHash) -> Result<Option<Session>, StoreError>;

    /// Every stored session of `user`.
    ///
    /// # Errors
    /// `Unavailable`, `Corrupt`.
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads.
    async fn for_user(&self, user: &UserId) -> Result<Vec<Session>, StoreError>;

    /// Deletes sessions that ended before `now`; returns how many.
    ///
    /// # Errors
    /// `Unavailable`.
    ///
    /// # Cancel safety
    /// One statement.
    async fn purge(&self, now: UnixTime) -> Result<u64, StoreError>;
}

/// Scopes users have consented to per client.
#[cfg_attr(any(test, feature = "mocks"), automock)]
#[async_trait]
pub trait ConsentStore: Send + Sync {
    /// The scopes `user` has granted `client` (empty when none).
    ///
    /// # Errors
    /// `Unavailable`, `Corrupt`.
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads.
    async fn granted(&self, user: &UserId, client: &ClientId) -> Result<ScopeSet, StoreError>;

    /// Adds `scope` to what `user` has granted `client`. MUST keep what was granted before.
    ///
    /// # Errors
    /// `Unavailable`.
    ///
    /// # Cancel safety
    /// One transaction.
    async fn grant(
        &self,
        user: &UserId,
        client: &ClientId,
        scope: &ScopeSet,
        now: UnixTime,
    ) -> Result<(), StoreError>;
}

/// Failed sign-ins counted per source address, in fixed windows.
#[cfg_attr(any(test, feature = "mocks"), automock)]
#[async_trait]
pub trait SignInThrottle: Send + Sync {
    /// Failures from `address` in its current window (0 when the window has ended).
    ///
    /// # Errors
    /// `Unavailable`.
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads.
    async fn failures(&self, address: &str, now: UnixTime) -> Result<u32, StoreError>;

    /// Counts a failure from `address`: one more in its window, or the first of a new window of
    /// `window_seconds` when the last one has ended. Returns the count. MUST be atomic.
    ///
    /// # Errors
    /// `Unavailable`.
    ///
    /// # Cancel safety
    /// One transaction.
    async fn record_failure(
        &self,
        address: &str,
        now: UnixTime,
        window_seconds: u32,
    ) -> Result<u32, StoreError>;

    /// Forgets windows that ended before `now`; returns how many.
    ///
    /// # Errors
    /// `Unavailable`.
    ///
    /// # Cancel safety
    /// One statement.
    async fn purge(&self, now: UnixTime) -> Result<u64, StoreError>;
}
