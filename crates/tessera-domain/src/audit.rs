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
        /// A user was created.
        UserCreated => "user.created",
        /// A user was changed (profile, password, status) or signed out.
        UserChanged => "user.changed",
        /// An initial access token (RFC 7591 §3) was issued or revoked.
        InitialTokenChanged => "registration.initial_token_changed",
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

/// An event as stored: with its position in the trail, the cursor of [`AuditQuery`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// Increases with every event appended (across nodes sharing the store).
    pub id: u64,
    /// The event.
    pub event: AuditEvent,
}

/// The most events one query returns.
pub const MAX_AUDIT_PAGE: u32 = 1000;

/// Which events to read: every filter given must hold. Without a cursor (`after`, `before`) or
/// `since`, the newest `limit` (a tail); with `after` or `since`, the oldest `limit` from there
/// on (reading forward, e.g. to follow the trail); with `before`, the newest `limit` before it
/// (reading back). Always returned oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Events at or after this time.
    pub since: Option<UnixTime>,
    /// Of this kind.
    pub kind: Option<AuditKind>,
    /// Concerning this client.
    pub client_id: Option<String>,
    /// Concerning this user or subject.
    pub subject: Option<String>,
    /// After this event id.
    pub after: Option<u64>,
    /// Before this event id.
    pub before: Option<u64>,
    /// At most this many, at most [`MAX_AUDIT_PAGE`].
    pub limit: u32,
}

impl AuditQuery {
    /// The newest `limit` events.
    #[must_use]
    pub fn tail(limit: u32) -> Self {
        Self {
            limit,
            ..Self::default()
        }
        .bounded()
    }

    /// The same query with its limit between 1 and [`MAX_AUDIT_PAGE`].
    #[must_use]
    pub fn bounded(mut self) -> Self {
        self.limit = self.limit.clamp(1, MAX_AUDIT_PAGE);
        self
    }

    /// Whether it reads forward (oldest first from a point) rather than from the newest end.
    #[must_use]
    pub fn reads_forward(&self) -> bool {
        self.before.is_none() && (self.after.is_some() || self.since.is_some())
    }

    /// Whether `r` passes every filter (what a store without a query language checks).
    #[must_use]
    pub fn matches(&self, r: &Recorded) -> bool {
        let e = &r.event;
        self.since.is_none_or(|t| e.at >= t)
            && self.kind.is_none_or(|k| e.kind == k)
            && self
                .client_id
                .as_deref()
                .is_none_or(|c| e.client_id.as_deref() == Some(c))
            && self
                .subject
                .as_deref()
                .is_none_or(|s| e.subject.as_deref() == Some(s))
            && self.after.is_none_or(|a| r.id > a)
            && self.before.is_none_or(|b| r.id < b)
    }

    /// The page of `all` (in id order) this query selects, oldest first.
    #[must_use]
    pub fn select(&self, all: &[Recorded]) -> Vec<Recorded> {
        let limit = self.limit as usize;
        let matching = all.iter().filter(|r| self.matches(r));
        if self.reads_forward() {
            matching.take(limit).cloned().collect()
        } else {
            let mut page: Vec<Recorded> = matching.rev().take(limit).cloned().collect();
            page.reverse();
            page
        }
    }
}

/// An audit log that keeps nothing (for services whose events nobody asked for, and tests).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoAudit;

impl crate::ports::AuditLog for NoAudit {
    fn record(&self, _event: AuditEvent) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trail() -> Vec<Recorded> {
        (1..=10)
            .map(|id| Recorded {
                id,
                event: AuditEvent::new(
                    if id % 2 == 0 {
                        AuditKind::TokenIssued
                    } else {
                        AuditKind::ClientChanged
                    },
                    UnixTime::from_secs(100 + id as i64),
                    "",
                )
                .client(if id <= 5 { "a" } else { "b" }),
            })
            .collect()
    }

    fn ids(page: &[Recorded]) -> Vec<u64> {
        page.iter().map(|r| r.id).collect()
    }

    #[test]
    fn a_tail_is_the_newest_events_oldest_first() {
        assert_eq!(ids(&AuditQuery::tail(3).select(&trail())), [8, 9, 10]);
    }

    #[test]
    fn after_and_since_read_forward_and_before_reads_back() {
        let q = |after, before, since: Option<i64>| AuditQuery {
            after,
            before,
            since: since.map(UnixTime::from_secs),
            limit: 3,
            ..AuditQuery::default()
        };
        assert_eq!(ids(&q(Some(2), None, None).select(&trail())), [3, 4, 5]);
        assert_eq!(ids(&q(None, None, Some(104)).select(&trail())), [4, 5, 6]);
        assert_eq!(ids(&q(None, Some(8), None).select(&trail())), [5, 6, 7]);
        assert_eq!(ids(&q(Some(2), Some(5), None).select(&trail())), [3, 4]);
    }

    #[test]
    fn filters_combine() {
        let q = AuditQuery {
            kind: Some(AuditKind::TokenIssued),
            client_id: Some("a".into()),
            limit: 10,
            ..AuditQuery::default()
        };
        assert_eq!(ids(&q.select(&trail())), [2, 4]);
        let none = AuditQuery {
            subject: Some("u".into()),
            ..AuditQuery::tail(10)
        };
        assert!(none.select(&trail()).is_empty());
    }

    #[test]
    fn the_limit_is_bounded() {
        assert_eq!(AuditQuery::tail(0).limit, 1);
        assert_eq!(AuditQuery::tail(1_000_000).limit, MAX_AUDIT_PAGE);
    }
}
