//! The ports of dynamic client registration (RFC 7591, RFC 7592): each registered client's
//! registration access token, and the initial access tokens operators hand out. Only hashes are
//! stored.

use async_trait::async_trait;
#[cfg(any(test, feature = "mocks"))]
use mockall::automock;

use crate::client::ClientId;
use crate::error::StoreError;
use crate::issued::TokenHash;
use crate::time::UnixTime;

/// An initial access token (RFC 7591 §3): what an operator issued, without the token itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitialAccessToken {
    /// Its public identifier (to list and revoke it).
    pub id: String,
    /// The hash of the token.
    pub hash: TokenHash,
    /// How many more registrations it allows; `None`: any number until it expires.
    pub uses_left: Option<u32>,
    /// When it stops working.
    pub expires_at: UnixTime,
    /// When it was issued.
    pub created_at: UnixTime,
    /// What the operator noted (who it is for).
    pub note: String,
}

/// Registration access tokens and initial access tokens.
#[cfg_attr(any(test, feature = "mocks"), automock)]
#[async_trait]
pub trait RegistrationStore: Send + Sync {
    /// Sets (or replaces: a rotation) the registration access token of `client`.
    ///
    /// # Errors
    /// `Unavailable`.
    ///
    /// # Cancel safety
    /// One statement.
    async fn set_registration_token(
        &self,
        client: &ClientId,
        hash: &TokenHash,
        now: UnixTime,
    ) -> Result<(), StoreError>;

    /// The hash of `client`'s registration access token; `None` for a client that was not
    /// registered dynamically.
    ///
    /// # Errors
    /// `Unavailable`, `Corrupt`.
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads.
    async fn registration_token(&self, client: &ClientId) -> Result<Option<TokenHash>, StoreError>;

    /// Forgets `client`'s registration access token (its client is deleted).
    ///
    /// # Errors
    /// `Unavailable`.
    ///
    /// # Cancel safety
    /// One statement.
    async fn delete_registration_token(&self, client: &ClientId) -> Result<(), StoreError>;

    /// Stores a new initial access token.
    ///
    /// # Errors
    /// `Conflict` when its id is taken; `Unavailable`.
    ///
    /// # Cancel safety
    /// One statement.
    async fn insert_initial_token(&self, token: &InitialAccessToken) -> Result<(), StoreError>;

    /// Uses the initial access token with this hash once: MUST succeed (returning `true`) only
    /// when it exists, has not expired at `now` and has a use left, and MUST count the use in
    /// the same atomic step, so that concurrent registrations cannot overspend it.
    ///
    /// # Errors
    /// `Unavailable`.
    ///
    /// # Cancel safety
    /// One statement.
    async fn use_initial_token(&self, hash: &TokenHash, now: UnixTime) -> Result<bool, StoreError>;

    /// Every initial access token, by id.
    ///
    /// # Errors
    /// `Unavailable`, `Corrupt`.
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads.
    async fn initial_tokens(&self) -> Result<Vec<InitialAccessToken>, StoreError>;

    /// Revokes the initial access token `id`; `false` when there was none.
    ///
    /// # Errors
    /// `Unavailable`.
    ///
    /// # Cancel safety
    /// One statement.
    async fn delete_initial_token(&self, id: &str) -> Result<bool, StoreError>;
}
