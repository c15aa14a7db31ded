//! OpenID Connect Back-Channel Logout 1.0: who is told when a browser session ends, what the
//! logout token says (§2.4), and how delivery is retried until it succeeds or its time is up.

use crate::client::ClientId;
use crate::policy::Issuer;
use crate::registration::BackchannelUri;
use crate::time::UnixTime;
use crate::user::UserId;

/// The `events` member of a logout token (§2.4).
pub const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// How long a logout token is valid after it is signed (§2.4 asks for a short `exp`); each
/// attempt signs a fresh one with the same `jti`.
pub const LOGOUT_TOKEN_TTL_SECS: i64 = 120;
/// The longest wait between two attempts.
pub const MAX_RETRY_SECS: i64 = 300;

/// A client that obtained a code through a browser session: it is told when that session ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Participant {
    /// The session's `sid`.
    pub sid: String,
    /// The user of the session.
    pub user_id: UserId,
    /// The client.
    pub client_id: ClientId,
    /// When the record may be forgotten (the session's own end).
    pub expires_at: UnixTime,
}

/// A logout notice waiting to be delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogoutNotice {
    /// The logout token's `jti`, the same on every attempt (so a receiver can drop a repeat).
    pub jti: String,
    /// The client told.
    pub client_id: ClientId,
    /// Where.
    pub uri: BackchannelUri,
    /// `sub`: the user.
    pub sub: String,
    /// `sid`: the session.
    pub sid: Option<String>,
    /// Attempts made so far.
    pub attempts: u32,
    /// When to try next.
    pub next_attempt_at: UnixTime,
    /// After this, the notice is abandoned (logged and counted).
    pub give_up_at: UnixTime,
}

/// The claims of a logout token (§2.4): `iss`, `aud`, `iat`, `exp`, `jti`, `sub`, `sid` and the
/// back-channel `events` member; never a `nonce`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogoutTokenClaims {
    /// `iss`.
    pub iss: Issuer,
    /// `aud`: the client.
    pub aud: ClientId,
    /// `iat`.
    pub iat: UnixTime,
    /// `exp`.
    pub exp: UnixTime,
    /// `jti`.
    pub jti: String,
    /// `sub`.
    pub sub: String,
    /// `sid`.
    pub sid: Option<String>,
}

impl LogoutTokenClaims {
    /// The token of `notice`, signed now.
    #[must_use]
    pub fn of(notice: &LogoutNotice, iss: &Issuer, now: UnixTime) -> Self {
        Self {
            iss: iss.clone(),
            aud: notice.client_id.clone(),
            iat: now,
            exp: now.plus_secs(LOGOUT_TOKEN_TTL_SECS),
            jti: notice.jti.clone(),
            sub: notice.sub.clone(),
            sid: notice.sid.clone(),
        }
    }
}

/// What becomes of a notice after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterFailure {
    /// Try again then (exponential back-off from one second, at most [`MAX_RETRY_SECS`]).
    RetryAt(UnixTime),
    /// Its time is up.
    Abandon,
}

/// The back-off after the `attempts`-th failed attempt.
#[must_use]
pub fn after_failure(attempts: u32, give_up_at: UnixTime, now: UnixTime) -> AfterFailure {
    let wait = 1_i64
        .checked_shl(attempts.saturating_sub(1).min(20))
        .unwrap_or(MAX_RETRY_SECS)
        .min(MAX_RETRY_SECS);
    let next = now.plus_secs(wait);
    if next > give_up_at {
        AfterFailure::Abandon
    } else {
        AfterFailure::RetryAt(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_five_minutes_and_then_give_up() {
        let now = UnixTime::from_secs(1_000);
        let end = UnixTime::from_secs(10_000);
        let at = |n| after_failure(n, end, now);
        assert_eq!(at(1), AfterFailure::RetryAt(UnixTime::from_secs(1_001)));
        assert_eq!(at(2), AfterFailure::RetryAt(UnixTime::from_secs(1_002)));
        assert_eq!(at(4), AfterFailure::RetryAt(UnixTime::from_secs(1_008)));
        assert_eq!(at(9), AfterFailure::RetryAt(UnixTime::from_secs(1_256)));
        assert_eq!(at(10), AfterFailure::RetryAt(UnixTime::from_secs(1_300)));
        assert_eq!(
            at(u32::MAX),
            AfterFailure::RetryAt(UnixTime::from_secs(1_300))
        );
        assert_eq!(
            after_failure(10, UnixTime::from_secs(1_299), now),
            AfterFailure::Abandon
        );
    }

    #[test]
    fn a_logout_token_is_short_lived_and_keeps_the_notice_jti() {
        let notice = LogoutNotice {
            jti: "j1".into(),
            client_id: ClientId::parse("web").unwrap_or_else(|e| panic!("{e}")),
            uri: BackchannelUri::parse("https://rp.example/bc").unwrap_or_else(|e| panic!("{e}")),
            sub: "usr_1".into(),
            sid: Some("s1".into()),
            attempts: 3,
            next_attempt_at: UnixTime::from_secs(0),
            give_up_at: UnixTime::from_secs(0),
        };
        let iss = Issuer::parse("https://id.example").unwrap_or_else(|e| panic!("{e}"));
        let claims = LogoutTokenClaims::of(&notice, &iss, UnixTime::from_secs(50));
        assert_eq!(claims.jti, "j1");
        assert_eq!(claims.aud.as_str(), "web");
        assert_eq!(
            claims.exp.as_secs() - claims.iat.as_secs(),
            LOGOUT_TOKEN_TTL_SECS
        );
        assert_eq!(claims.sid.as_deref(), Some("s1"));
    }
}
