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

/// A metadata document as fetched: its parsed body and what its caching headers said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchedDocument {
    /// The JSON object, read.
    pub body: crate::metadata_document::DocumentBody,
    /// `Cache-Control: max-age`, when given.
    pub max_age: Option<u64>,
    /// `Cache-Control: no-store` or `no-cache`.
    pub no_store: bool,
}

/// Why a metadata document could not be fetched.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The host resolves to an address the policy does not allow (private, loopback,
    /// link-local…).
    #[error("{0} resolves to an address that may not be fetched")]
    ForbiddenAddress(String),
    /// The body is over the size limit.
    #[error("the document is over {0} bytes")]
    TooLarge(usize),
    /// The time limit passed.
    #[error("no complete answer within the time limit")]
    Timeout,
    /// The answer was not `200` with a JSON object.
    #[error("not a JSON metadata document: {0}")]
    NotADocument(String),
    /// The host could not be reached (DNS, TCP, TLS).
    #[error("unreachable: {0}")]
    Unreachable(String),
}

/// Fetches client ID metadata documents: `GET` over `https`, connecting only to addresses
/// `policy` allows (each resolved address checked, the connection made to a checked one), within
/// its size and time limits.
#[cfg_attr(any(test, feature = "mocks"), automock)]
#[async_trait]
pub trait DocumentFetcher: Send + Sync {
    /// Fetches the document at `url`.
    ///
    /// # Errors
    /// See [`FetchError`].
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads.
    async fn fetch(
        &self,
        url: &crate::metadata_document::DocumentUrl,
        policy: &crate::metadata_document::DocumentPolicy,
    ) -> Result<FetchedDocument, FetchError>;
}
