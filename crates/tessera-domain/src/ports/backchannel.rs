//! The ports of Back-Channel Logout 1.0: the store of who took part in which session and of the
//! notices not yet delivered, and the outbound HTTP that delivers them.

use async_trait::async_trait;

#[cfg(any(test, feature = "mocks"))]
use mockall::automock;

use crate::backchannel::{LogoutNotice, Participant};
use crate::error::StoreError;
use crate::registration::BackchannelUri;
use crate::time::UnixTime;

/// Who took part in which browser session, and the logout notices waiting for delivery. Notices
/// live in the store, so they survive a restart and any node may deliver them.
#[cfg_attr(any(test, feature = "mocks"), automock)]
#[async_trait]
pub trait LogoutOutbox: Send + Sync {
    /// Remembers that a client obtained a code through a session. Idempotent: the same session
    /// and client again MUST keep one record, with the later of the two `expires_at`.
    ///
    /// # Errors
    /// `Unavailable`.
    ///
    /// # Cancel safety
    /// At most two statements, each leaving a consistent record.
    async fn record_participant(&self, participant: &Participant) -> Result<(), StoreError>;

    /// The session `sid` lives on until `until` (the same user signed in again in the same
    /// browser): its participants are kept at least that long.
    ///
    /// # Errors
    /// `Unavailable`.
    ///
    /// # Cancel safety
    /// One statement.
    async fn extend_participants(&self, sid: &str, until: UnixTime) -> Result<(), StoreError>;

    /// The participants of the sessions `sids`.
    ///
    /// # Errors
    /// `Unavailable`, `Corrupt`.
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads.
    async fn participants(&self, sids: &[String]) -> Result<Vec<Participant>, StoreError>;

    /// Forgets the participants of the sessions `sids` (once their notices are queued).
    ///
    /// # Errors
    /// `Unavailable`.
    ///
    /// # Cancel safety
    /// One statement.
    async fn forget_participants(&self, sids: &[String]) -> Result<(), StoreError>;

    /// Stores notices for delivery.
    ///
    /// # Errors
    /// MUST return `Conflict` when a `jti` exists (nothing is stored then).
    ///
    /// # Cancel safety
    /// One transaction.
    async fn enqueue(&self, notices: &[LogoutNotice]) -> Result<(), StoreError>;

    /// Claims at most `limit` notices due at `now` (oldest first): each is hidden from other
    /// claims until `lease_until`, so two nodes never deliver the same notice at once.
    ///
    /// # Errors
    /// `Unavailable`, `Corrupt`.
    ///
    /// # Cancel safety
    /// One transaction; a claim whose caller is cancelled is retried when its lease ends.
    async fn claim_due(
        &self,
        now: UnixTime,
        lease_until: UnixTime,
        limit: u32,
    ) -> Result<Vec<LogoutNotice>, StoreError>;

    /// Records a failed attempt: `attempts` so far, next try at `at`.
    ///
    /// # Errors
    /// `Unavailable`.
    ///
    /// # Cancel safety
    /// One statement.
    async fn reschedule(&self, jti: &str, attempts: u32, at: UnixTime) -> Result<(), StoreError>;

    /// Forgets a notice: delivered, or abandoned (idempotent).
    ///
    /// # Errors
    /// `Unavailable`.
    ///
    /// # Cancel safety
    /// One statement.
    async fn finish(&self, jti: &str) -> Result<(), StoreError>;

    /// Forgets the participants of sessions that ended before `now`; returns how many.
    ///
    /// # Errors
    /// `Unavailable`.
    ///
    /// # Cancel safety
    /// One statement.
    async fn purge(&self, now: UnixTime) -> Result<u64, StoreError>;
}

/// Why a logout token was not delivered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// No connection, TLS failure, or no answer in time.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// The client answered with another status than 200 or 204 (Back-Channel Logout §2.8).
    #[error("answered {0}")]
    Refused(u16),
}

/// Posts a logout token to a client (Back-Channel Logout 1.0 §2.5: `application/x-www-form-
/// urlencoded`, `logout_token=…`).
#[cfg_attr(any(test, feature = "mocks"), automock)]
#[async_trait]
pub trait LogoutDelivery: Send + Sync {
    /// Delivers `token` to `uri`.
    ///
    /// # Errors
    /// See [`DeliveryError`].
    ///
    /// # Cancel safety
    /// Cancel safe: an interrupted delivery is retried with the same `jti`.
    async fn deliver(&self, uri: &BackchannelUri, token: &str) -> Result<(), DeliveryError>;
}
