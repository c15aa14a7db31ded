//! The ports: every way the domain reaches the world, as traits the adapters implement.
//!
//! Policy of this module:
//! - I/O ports (stores) are `#[async_trait]` and `Send + Sync`, so the app holds `Arc<dyn Port>`.
//!   They return [`StoreError`], never an infrastructure error: adapters translate at the seam.
//! - CPU-only ports (clock, randomness, signing, key generation) are synchronous.
//! - Time and randomness are inputs: the domain reads neither directly.
//! - Every obligation written under `# Errors` is checked by the contract suites in
//!   `tessera-testkit`, which run against the in-memory fakes and the real adapters alike.
//!
//! With the `mocks` feature (and in this crate's tests) each port has a mockall mock, `MockX`.

use async_trait::async_trait;

#[cfg(any(test, feature = "mocks"))]
use mockall::automock;

use crate::audit::{AuditEvent, AuditQuery, Recorded};
use crate::client::{Client, ClientId, SigningAlgorithm};
use crate::error::StoreError;
use crate::keys::{PrivateKeyDer, PublicJwk, SigningKey};
use crate::secret::SecretPepper;
use crate::time::UnixTime;
use crate::token::{AccessToken, AccessTokenClaims, IdTokenClaims};
use crate::user::{Logon, User, UserId};

mod backchannel;
mod browser;
mod issued;
mod registration;
pub use backchannel::{DeliveryError, LogoutDelivery, LogoutOutbox};
#[cfg(any(test, feature = "mocks"))]
pub use backchannel::{MockLogoutDelivery, MockLogoutOutbox};
pub use browser::{AuthorizationCodeStore, ConsentStore, SessionStore, SignInThrottle};
#[cfg(any(test, feature = "mocks"))]
pub use browser::{
    MockAuthorizationCodeStore, MockConsentStore, MockSessionStore, MockSignInThrottle,
};
#[cfg(any(test, feature = "mocks"))]
pub use issued::{MockOpaqueTokenStore, MockParamStore, MockRefreshTokenStore, MockRevocationList};
pub use issued::{OpaqueTokenStore, ParamStore, RefreshTokenStore, RevocationList};
pub use registration::{
    DocumentFetcher, FetchError, FetchedDocument, InitialAccessToken, RegistrationStore,
};
#[cfg(any(test, feature = "mocks"))]
pub use registration::{MockDocumentFetcher, MockRegistrationStore};

/// Where clients live.
#[cfg_attr(any(test, feature = "mocks"), automock)]
#[async_trait]
pub trait ClientRepository: Send + Sync {
    /// The client with this id, or `None`.
    ///
    /// # Errors
    /// MUST return `Unavailable` when the store cannot answer, and `Corrupt` when a stored row does
    /// not parse into a [`Client`]. MUST NOT return `NotFound`: absence is `Ok(None)`.
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads.
    async fn find(&self, id: &ClientId) -> Result<Option<Client>, StoreError>;

    /// Stores a new client.
    ///
    /// # Errors
    /// MUST return `Conflict` when a client with the same id exists, leaving it unchanged.
    ///
    /// # Cancel safety
    /// The insert is one transaction: after cancellation it has happened entirely or not at all.
    async fn insert(&self, client: &Client) -> Result<(), StoreError>;

    /// Replaces an existing client (same id) with `client`, secrets included.
    ///
    /// # Errors
    /// MUST return `NotFound` when no client has that id.
    ///
    /// # Cancel safety
    /// One transaction, as for `insert`.
    async fn update(&self, client: &Client) -> Result<(), StoreError>;

    /// Replaces the stored client `expected` with `client` (same id), atomically: when the
    /// stored client is no longer `expected` — another writer changed it since it was read —
    /// nothing changes. What optimistic concurrency (the admin API's `If-Match`) rests on.
    ///
    /// # Errors
    /// MUST return `NotFound` when no client has that id, `Conflict` when the stored client is
    /// not `expected`.
    ///
    /// # Cancel safety
    /// One transaction, as for `insert`.
    async fn replace(&self, client: &Client, expected: &Client) -> Result<(), StoreError>;

    /// Deletes a client and its secrets.
    ///
    /// # Errors
    /// MUST return `NotFound` when no client has that id.
    ///
    /// # Cancel safety
    /// One transaction, as for `insert`.
    async fn delete(&self, id: &ClientId) -> Result<(), StoreError>;

    /// Every client, ordered by id.
    ///
    /// # Errors
    /// As for `find`.
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads.
    async fn list(&self) -> Result<Vec<Client>, StoreError>;

    /// A number that changes whenever any client changes: caches compare it to know when to drop
    /// what they hold. It MUST grow with every successful `insert`, `update` or `delete`, including
    /// those made by other processes sharing the store.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot answer.
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads.
    async fn version(&self) -> Result<u64, StoreError>;
}

/// Where signing keys live.
#[cfg_attr(any(test, feature = "mocks"), automock)]
#[async_trait]
pub trait KeyRepository: Send + Sync {
    /// Every key that is not retired, oldest first.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot answer, `Corrupt` when a row does not parse.
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads.
    async fn live_keys(&self) -> Result<Vec<SigningKey>, StoreError>;

    /// Stores a new key.
    ///
    /// # Errors
    /// MUST return `Conflict` when a key with the same `kid` exists.
    ///
    /// # Cancel safety
    /// One transaction: after cancellation it has happened entirely or not at all.
    async fn insert(&self, key: &SigningKey) -> Result<(), StoreError>;

    /// Every key, retired ones included, oldest first.
    ///
    /// # Errors
    /// As for `live_keys`.
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads.
    async fn all_keys(&self) -> Result<Vec<SigningKey>, StoreError>;

    /// Records a key's new state, activation and retirement instants (the key material never
    /// changes).
    ///
    /// # Errors
    /// MUST return `NotFound` when no key has that `kid`.
    ///
    /// # Cancel safety
    /// One transaction.
    async fn update(&self, key: &SigningKey) -> Result<(), StoreError>;

    /// A number that grows whenever any key is added or changes state, as for
    /// [`ClientRepository::version`].
    ///
    /// # Errors
    /// `Unavailable` when the store cannot answer.
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads.
    async fn version(&self) -> Result<u64, StoreError>;
}

/// Where server-wide secrets live, apart from the clients they protect.
#[cfg_attr(any(test, feature = "mocks"), automock)]
#[async_trait]
pub trait ServerSecretRepository: Send + Sync {
    /// The pepper under which client secrets are hashed. When none is stored yet, `candidate` is
    /// stored and returned; when one is stored (also by a concurrent caller), that one is returned
    /// and `candidate` is dropped. Every caller therefore agrees on one pepper.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot answer, `Corrupt` when the stored value is malformed.
    ///
    /// # Cancel safety
    /// The first insert is atomic; a cancelled call leaves either no pepper or one.
    async fn pepper_or_insert(&self, candidate: SecretPepper) -> Result<SecretPepper, StoreError>;
}

/// Signs access tokens with keys parsed once and held in memory, and publishes their public halves.
#[cfg_attr(any(test, feature = "mocks"), automock)]
pub trait TokenSigner: Send + Sync {
    /// Signs `claims` as an RFC 9068 JWT (`typ: at+jwt`) with the active key for `alg`.
    ///
    /// # Errors
    /// [`SignError::NoActiveKey`] when no active key for `alg` is installed.
    fn sign(
        &self,
        alg: SigningAlgorithm,
        claims: &AccessTokenClaims,
    ) -> Result<AccessToken, SignError>;

    /// Signs `claims` as a Back-Channel Logout token (`typ: logout+jwt`, §2.4) with the active
    /// key for `alg`.
    ///
    /// # Errors
    /// [`SignError::NoActiveKey`] when no active key for `alg` is installed.
    fn sign_logout_token(
        &self,
        alg: SigningAlgorithm,
        claims: &crate::backchannel::LogoutTokenClaims,
    ) -> Result<AccessToken, SignError>;

    /// Signs `claims` as an OpenID Connect ID token (`typ: JWT`) with the active key for `alg`.
    ///
    /// # Errors
    /// [`SignError::NoActiveKey`] when no active key for `alg` is installed.
    fn sign_id_token(
        &self,
        alg: SigningAlgorithm,
        claims: &IdTokenClaims,
    ) -> Result<AccessToken, SignError>;

    /// Replaces the installed keys with `keys` (parsing each private key once). Keys whose state is
    /// not published are dropped.
    ///
    /// # Errors
    /// [`SignError::BadKey`] when a key does not parse; the previously installed keys stay.
    fn install(&self, keys: &[SigningKey]) -> Result<(), SignError>;

    /// The public halves of the installed, published keys, for the JWKS.
    fn published(&self) -> Vec<PublicJwk>;

    /// Whether a key for `alg` is installed and active (it can sign now).
    fn can_sign(&self, alg: SigningAlgorithm) -> bool;

    /// Checks that `token` is an access token this server signed with one of its published keys
    /// (`typ: at+jwt`, the key's own algorithm, a valid signature) and returns its claims. Expiry
    /// is not checked here: the caller compares `exp` with its own `now`.
    ///
    /// # Errors
    /// [`SignError::Invalid`] for anything else.
    fn verify(&self, token: &str) -> Result<AccessTokenClaims, SignError>;

    /// Checks that `token` is an ID token this server signed with one of its published keys
    /// (`typ: JWT`, the key's own algorithm, a valid signature) and returns the claims a hint
    /// needs. Neither expiry nor issuer is checked here: the caller compares `iss` with its own.
    ///
    /// # Errors
    /// [`SignError::Invalid`] for anything else.
    fn verify_id_token(&self, token: &str) -> Result<crate::interaction::IdTokenHint, SignError>;
}

/// Why a sealed value could not be opened.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The value was stored before sealing existed (plaintext).
    #[error("not sealed")]
    NotSealed,
    /// Authentication failed: another master key, another context, or tampering.
    #[error("cannot be opened with this master key")]
    WrongKey,
    /// Sealing failed (the cipher refused; a bug).
    #[error("sealing failed")]
    Failed,
}

/// Encryption at rest of the server's own secrets (private signing keys, the secret pepper) under
/// a master key. `context` names the value (e.g. the key id) and is authenticated with it, so a
/// sealed value cannot be moved to another row.
#[cfg_attr(any(test, feature = "mocks"), automock)]
pub trait Sealer: Send + Sync {
    /// Encrypts `plain`.
    ///
    /// # Errors
    /// `Failed` only if the cipher refuses.
    fn seal(&self, context: &str, plain: &[u8]) -> Result<Vec<u8>, SealError>;

    /// Decrypts what `seal` made.
    ///
    /// # Errors
    /// `NotSealed` for a value that is not in the sealed format; `WrongKey` when it does not
    /// authenticate.
    fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError>;
}

/// Where security events go. Fire-and-forget: an implementation buffers and never blocks or
/// fails the caller (a lost event is counted and logged by the adapter, never a refused token).
#[cfg_attr(any(test, feature = "mocks"), automock)]
pub trait AuditLog: Send + Sync {
    /// Records an event.
    fn record(&self, event: AuditEvent);
}

/// Leases on periodic jobs that must run on one node at a time (the signing-key lifecycle): held
/// in the shared database, so nodes need no protocol of their own. A node that stops renewing
/// loses its lease when it expires, and another takes over.
#[cfg_attr(any(test, feature = "mocks"), automock)]
#[async_trait]
pub trait LeaseStore: Send + Sync {
    /// Takes the lease `name` for `holder` until `until` when it is free, expired at `now`, or
    /// already `holder`'s (a renewal); returns whether `holder` holds it now. Atomic across
    /// every process sharing the store.
    ///
    /// # Errors
    /// `Unavailable`: the caller must then act as if it does not hold the lease.
    ///
    /// # Cancel safety
    /// One transaction.
    async fn acquire(
        &self,
        name: &str,
        holder: &str,
        now: UnixTime,
        until: UnixTime,
    ) -> Result<bool, StoreError>;
}

/// The stored audit trail.
#[cfg_attr(any(test, feature = "mocks"), automock)]
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends events, in order, in one transaction.
    ///
    /// # Errors
    /// `Unavailable`.
    ///
    /// # Cancel safety
    /// One transaction.
    async fn append(&self, events: &[AuditEvent]) -> Result<(), StoreError>;

    /// The page of events `query` selects, oldest first (see [`AuditQuery`]: what
    /// [`AuditQuery::select`] would return over the whole trail in id order).
    ///
    /// # Errors
    /// `Unavailable`, `Corrupt`.
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads.
    async fn query(&self, query: &AuditQuery) -> Result<Vec<Recorded>, StoreError>;

    /// Deletes events older than `before`; returns how many.
    ///
    /// # Errors
    /// `Unavailable`.
    ///
    /// # Cancel safety
    /// One statement.
    async fn purge(&self, before: UnixTime) -> Result<u64, StoreError>;
}

/// What a rate is counted for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RateKind {
    /// A client id.
    Client,
    /// A source address.
    Address,
}

/// Request rates and failed authentications, counted per client id and per source address. Kept
/// in memory by each node: the limits are per node.
#[cfg_attr(any(test, feature = "mocks"), automock)]
pub trait RateLimiter: Send + Sync {
    /// Counts one request for (`kind`, `key`); `Some(seconds to wait)` when it is over its rate,
    /// and then the request is refused (and not counted).
    fn admit(&self, kind: RateKind, key: &str) -> Option<u32>;

    /// Counts one failed client authentication for (`kind`, `key`).
    fn record_failure(&self, kind: RateKind, key: &str);

    /// `Some(seconds)` while (`kind`, `key`) is backed off after too many failed authentications.
    fn backed_off(&self, kind: RateKind, key: &str) -> Option<u32>;
}

/// Makes new key pairs.
#[cfg_attr(any(test, feature = "mocks"), automock)]
pub trait KeyGenerator: Send + Sync {
    /// A new private key for `alg` and its `kid` (the RFC 7638 thumbprint of the public half).
    ///
    /// # Errors
    /// [`SignError::BadKey`] when the crypto library fails.
    fn generate(
        &self,
        alg: SigningAlgorithm,
    ) -> Result<(crate::keys::KeyId, PrivateKeyDer), SignError>;
}

/// Errors of the signing ports.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// No active key is installed for this algorithm.
    #[error("no active signing key for {0}")]
    NoActiveKey(SigningAlgorithm),
    /// A key could not be parsed, generated or used.
    #[error("signing key error: {0}")]
    BadKey(String),
    /// A presented token is not one this server signed.
    #[error("not a valid access token")]
    Invalid,
}

/// Where users live.
#[cfg_attr(any(test, feature = "mocks"), automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// The user with this id.
    ///
    /// # Errors
    /// `Unavailable`, `Corrupt`. Absence is `Ok(None)`.
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads.
    async fn find(&self, id: &UserId) -> Result<Option<User>, StoreError>;

    /// The user with this logon.
    ///
    /// # Errors
    /// As for `find`.
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads.
    async fn find_by_logon(&self, logon: &Logon) -> Result<Option<User>, StoreError>;

    /// Stores a new user.
    ///
    /// # Errors
    /// MUST return `Conflict` when the id or the logon is taken.
    ///
    /// # Cancel safety
    /// One statement.
    async fn insert(&self, user: &User) -> Result<(), StoreError>;

    /// Replaces a user (same id). MUST leave `failed_sign_ins` and `locked_until` as stored: only
    /// the two sign-in methods below change them, so an edit cannot wipe a concurrent count.
    ///
    /// # Errors
    /// MUST return `NotFound` when no user has that id, `Conflict` when the new logon is taken.
    ///
    /// # Cancel safety
    /// One statement.
    async fn update(&self, user: &User) -> Result<(), StoreError>;

    /// Replaces a user as [`UserRepository::update`] does, but only while its stored state is
    /// still `expected`'s (the same [`crate::service::user_revision`]); checking and writing are
    /// one atomic step. Returns `false`, writing nothing, when it is not.
    ///
    /// # Errors
    /// As for `update`.
    ///
    /// # Cancel safety
    /// One transaction.
    async fn replace(&self, user: &User, expected: &User) -> Result<bool, StoreError>;

    /// Every user, by id.
    ///
    /// # Errors
    /// As for `find`.
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads.
    async fn list(&self) -> Result<Vec<User>, StoreError>;

    /// Counts one more failed sign-in of the user and returns the new count. MUST be atomic:
    /// concurrent failures on several nodes each count.
    ///
    /// # Errors
    /// `NotFound` when no user has that id.
    ///
    /// # Cancel safety
    /// One statement.
    async fn record_failed_sign_in(&self, id: &UserId) -> Result<u32, StoreError>;

    /// Sets (or clears) the failed-sign-in lock and resets the failure count.
    ///
    /// # Errors
    /// `NotFound` when no user has that id.
    ///
    /// # Cancel safety
    /// One statement.
    async fn set_sign_in_lock(
        &self,
        id: &UserId,
        locked_until: Option<UnixTime>,
    ) -> Result<(), StoreError>;
}

/// The current time.
#[cfg_attr(any(test, feature = "mocks"), automock)]
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> UnixTime;
}

/// Cryptographically secure randomness.
#[cfg_attr(any(test, feature = "mocks"), automock)]
pub trait RandomSource: Send + Sync {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);
}

/// A place to run CPU-heavy work (argon2id) off the threads that serve requests.
/// (No mock: mockall cannot mock a boxed `FnOnce` argument; the testkit runs jobs inline.)
#[async_trait]
pub trait BlockingWork: Send + Sync {
    /// Runs `job` to completion somewhere it may block, and returns its answer; `false` when the
    /// job could not be run at all.
    async fn run(&self, job: Box<dyn FnOnce() -> bool + Send + 'static>) -> bool;
}
