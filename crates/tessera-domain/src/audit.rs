//! The audit trail: security events as the domain sees them. Recording is fire-and-forget (the
//! [`crate::ports::AuditLog`] port never blocks a token request); the store keeps them for the
//! retention period and `tessera audit tail` reads them back.

use std::fmt;

use crate::error::ParseError;
use crate::time::UnixTime;

crate::client::vocabulary!(
    /// What happened.
    AuditKind, "audit kind" {
        /// An access token was issued (any grant but refresh).
        TokenIssued => "token.issued",
        /// A refresh token was exchanged.
        TokenRefreshed => "token.refreshed",
        /// A token was revoked (RFC 7009), or a reused code revoked what it had issued.
        TokenRevoked => "token.revoked",
        /// A client failed to authenticate.
        AuthenticationFailed => "client.authentication_failed",
        /// A client was registered.
        ClientCreated => "client.created",
        /// A client was changed (disabled, its secret rotated).
        ClientChanged => "client.changed",
        /// A client was deleted.
        ClientDeleted => "client.deleted",
        /// A signing key was published, activated, retired or removed.
        KeyChanged => "key.changed",
        /// A user signed in.
        SignedIn => "user.signed_in",
        /// A sign-in failed.
        SignInFailed => "user.sign_in_failed",
    }
);

/// One security event. Never holds a secret or a token: only identifiers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    /// When.
    pub at: UnixTime,
    /// What.
    pub kind: AuditKind,
    /// The client concerned, if any (as claimed, for a failed authentication).
    pub client_id: Option<String>,
    /// The user or subject concerned, if any.
    pub subject: Option<String>,
    /// The source address, when the event came from a request.
    pub source: Option<String>,
    /// Details: a grant type, a key id, a `jti`…
    pub detail: String,
}

impl AuditEvent {
    /// An event of `kind` at `at` with `detail` and nothing else yet.
    #[must_use]
    pub fn new(kind: AuditKind, at: UnixTime, detail: impl Into<String>) -> Self {
        Self {
            at,
            kind,
            client_id: None,
            subject: None,
            source: None,
            detail: detail.into(),
        }
    }

    /// With the client.
    #[must_use]
    pub fn client(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(id.into());
        self
    }

    /// With the subject.
    #[must_use]
    pub fn subject(mut self, sub: impl Into<String>) -> Self {
        self.subject = Some(sub.into());
        self
    }

    /// With the source address.
    #[must_use]
    pub fn source(mut self, source: Option<&str>) -> Self {
        self.source = source.map(str::to_owned);
        self
    }
}

/// An audit log that keeps nothing (for services whose events nobody asked for, and tests).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoAudit;

impl crate::ports::AuditLog for NoAudit {
    fn record(&self, _event: AuditEvent) {}
}
