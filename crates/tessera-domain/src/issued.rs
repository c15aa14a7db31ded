//! State kept about issued tokens: opaque access tokens, refresh-token families, and the JWT
//! denylist. The values here are what the stores persist; the rules are in [`crate::service`].
//!
//! Issued reference tokens are 256 random bits behind a recognisable prefix (`tat_` for opaque
//! access tokens, `trt_` for refresh tokens). Only their SHA-256 is stored: the token itself is
//! unguessable, so an unkeyed hash suffices, and a stolen table yields nothing usable.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::client::{ClientId, Role};
use crate::error::ParseError;
use crate::policy::Issuer;
use crate::scope::ScopeSet;
use crate::secret::SecretPepper;
use crate::time::UnixTime;

/// The prefix of opaque access tokens.
pub const OPAQUE_PREFIX: &str = "tat_";
/// The prefix of refresh tokens.
pub const REFRESH_PREFIX: &str = "trt_";
/// Length of the base64url body: 32 bytes.
const BODY_LEN: usize = 43;

/// The SHA-256 of an issued reference token: what the stores key on.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// The hash of `token`.
    #[must_use]
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// The hash from its base64url text (as stored).
    ///
    /// # Errors
    /// When the text is not 32 bytes of base64url.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let raw = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|e| ParseError::new("token_hash", e.to_string()))?;
        raw.try_into()
            .map(Self)
            .map_err(|_| ParseError::new("token_hash", "not 32 bytes"))
    }

    /// The raw hash.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The base64url text of the hash, as stored.
    #[must_use]
    pub fn to_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({})", self.to_text())
    }
}

/// A reference token (opaque access or refresh token). Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ReferenceToken(String);

impl ReferenceToken {
    /// A new token with `prefix` from 32 random bytes.
    #[must_use]
    pub fn generate(prefix: &str, random: [u8; 32]) -> Self {
        Self(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(random)))
    }

    /// Recognises a presented token of the kind `prefix` names: the prefix and 43 base64url
    /// characters. Anything else cannot be one of ours.
    #[must_use]
    pub fn recognise(prefix: &str, presented: &str) -> Option<Self> {
        let body = presented.strip_prefix(prefix)?;
        (body.len() == BODY_LEN
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| Self(presented.to_owned()))
    }

    /// The successor of this refresh token in its family: HMAC-SHA-256 of it under the server
    /// pepper. Deterministic, so a client retrying a lost response within the grace window gets
    /// the very same successor back without the server storing it; unpredictable to anyone who
    /// does not hold both this token and the pepper.
    #[must_use]
    pub fn successor(&self, pepper: &SecretPepper) -> Self {
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(pepper.expose()).map(|mut m| {
            m.update(b"tessera refresh successor\0");
            m.update(self.0.as_bytes());
            m.finalize().into_bytes()
        });
        let bytes: [u8; 32] = mac.map(Into::into).unwrap_or([0; 32]);
        Self::generate(REFRESH_PREFIX, bytes)
    }

    /// Its hash.
    #[must_use]
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }

    /// The token, for its client only.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ReferenceToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReferenceToken(<redacted>)")
    }
}

/// What is stored for an opaque access token: its hash and its claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpaqueTokenRecord {
    /// SHA-256 of the token.
    pub hash: TokenHash,
    /// `iss`.
    pub iss: Issuer,
    /// `sub`.
    pub sub: String,
    /// `aud`.
    pub aud: crate::resource::Audiences,
    /// `client_id`.
    pub client_id: ClientId,
    /// `scope`.
    pub scope: ScopeSet,
    /// `roles`.
    pub roles: Vec<Role>,
    /// `jti`.
    pub jti: String,
    /// `iat`.
    pub iat: UnixTime,
    /// `exp`.
    pub exp: UnixTime,
    /// When it was revoked, if it was.
    pub revoked_at: Option<UnixTime>,
    /// The certificate it is bound to (RFC 8705), if any.
    pub cnf: Option<crate::cert::CertThumbprint>,
}

/// A refresh-token family: every token descended from one grant. Revoking the family revokes all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshFamily {
    /// Its identifier (128 random bits, base64url).
    pub id: String,
    /// The client it was granted to.
    pub client_id: ClientId,
    /// The subject of the grant (the client itself for client_credentials).
    pub subject: String,
    /// The scope originally granted: a refresh may narrow it, never widen it.
    pub scope: ScopeSet,
    /// When the grant was made.
    pub created_at: UnixTime,
    /// The absolute end of the family, however often it is refreshed.
    pub expires_at: UnixTime,
    /// When it was revoked, if it was.
    pub revoked_at: Option<UnixTime>,
    /// For a user grant (AuthMe remember-me): who, and how they signed in.
    pub user: Option<crate::token::UserClaims>,
    /// The resources (RFC 8707) the grant was made for: a refresh may narrow them, never widen
    /// them; none for the client's default audience.
    pub resources: Vec<crate::resource::Resource>,
}

impl RefreshFamily {
    /// Whether tokens of the family may still be used at `now`.
    #[must_use]
    pub fn is_live(&self, now: UnixTime) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// One refresh token of a family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshTokenRecord {
    /// SHA-256 of the token.
    pub hash: TokenHash,
    /// The family.
    pub family_id: String,
    /// When it was issued.
    pub issued_at: UnixTime,
    /// When it was used (and so replaced), if it was.
    pub rotated_at: Option<UnixTime>,
    /// The hash of the token that replaced it.
    pub successor: Option<TokenHash>,
}

/// The characters of a sign-in param, as AuthMe issues them: upper-case letters and digits.
const PARAM_ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/// The length of a sign-in param (the seed's example is 61 characters).
pub const PARAM_LEN: usize = 61;

/// A one-time sign-in param from 61 random bytes: 61 characters of `[A-Z0-9]` (about 315 bits).
#[must_use]
pub fn generate_param(random: [u8; PARAM_LEN]) -> ReferenceToken {
    // 252 is the largest multiple of 36 below 256: reducing modulo 36 is then unbiased for bytes
    // below it; the few above are folded, a bias of well under one bit in total.
    let s: String = random
        .iter()
        .map(|b| {
            PARAM_ALPHABET
                .get(usize::from(*b) % PARAM_ALPHABET.len())
                .copied()
                .map_or('A', char::from)
        })
        .collect();
    ReferenceToken(s)
}

/// Recognises a presented param by its shape.
#[must_use]
pub fn recognise_param(presented: &str) -> Option<ReferenceToken> {
    (presented.len() == PARAM_LEN && presented.bytes().all(|b| PARAM_ALPHABET.contains(&b)))
        .then(|| ReferenceToken(presented.to_owned()))
}

/// A stored sign-in param: single use, short-lived, bound to the client that asked for it and to
/// one user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamRecord {
    /// SHA-256 of the param.
    pub hash: TokenHash,
    /// The client that generated it (and alone may use it).
    pub client_id: ClientId,
    /// The user it signs in.
    pub user_id: crate::user::UserId,
    /// When it stops working.
    pub expires_at: UnixTime,
}

/// What an attempt to rotate a refresh token found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The token was current: it is now rotated and the successor stored. Its family.
    Rotated(RefreshFamily),
    /// The token was rotated moments ago into this very successor, which is still unused: a retry
    /// within the grace window. Nothing changed. Its family.
    Replayed(RefreshFamily),
    /// The token had already been rotated and this is not a retry within the grace window: reuse
    /// of a stolen or stale token. The whole family is now revoked.
    Reused,
    /// The family was already revoked or expired.
    Dead,
    /// No such token, or another client's (indistinguishable, and nothing changed).
    NotFound,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_tokens_are_recognised_by_prefix_and_shape_only() {
        let t = ReferenceToken::generate(REFRESH_PREFIX, [9; 32]);
        assert_eq!(t.expose().len(), 4 + 43);
        assert_eq!(
            ReferenceToken::recognise(REFRESH_PREFIX, t.expose()),
            Some(t.clone())
        );
        assert_eq!(ReferenceToken::recognise(OPAQUE_PREFIX, t.expose()), None);
        assert_eq!(ReferenceToken::recognise(REFRESH_PREFIX, "trt_short"), None);
        let bad = format!("trt_{}", "!".repeat(43));
        assert_eq!(ReferenceToken::recognise(REFRESH_PREFIX, &bad), None);
        assert!(!format!("{t:?}").contains(t.expose()));
    }

    #[test]
    fn successors_are_deterministic_per_pepper_and_distinct_from_their_parent() {
        let pepper = SecretPepper::from_bytes([1; 32]);
        let t = ReferenceToken::generate(REFRESH_PREFIX, [2; 32]);
        let next = t.successor(&pepper);
        assert_eq!(next, t.successor(&pepper));
        assert_ne!(next, t);
        assert_ne!(next, t.successor(&SecretPepper::from_bytes([3; 32])));
        assert_ne!(next.successor(&pepper), next);
        assert!(ReferenceToken::recognise(REFRESH_PREFIX, next.expose()).is_some());
    }

    #[test]
    fn params_look_like_authmes() {
        let p = generate_param([200; PARAM_LEN]);
        assert_eq!(p.expose().len(), 61);
        assert!(
            p.expose()
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
        assert_eq!(recognise_param(p.expose()), Some(p));
        assert!(
            recognise_param("D1VEYFB9DQVN8EVE6ESRUXW1DPPG18DNYNRMNPGV0LYIS4Q9DLVNB29D6SG1A")
                .is_some()
        );
        assert!(recognise_param("lowercase").is_none());
    }

    #[test]
    fn hashes_round_trip_through_text() {
        let h = TokenHash::of("x");
        assert_eq!(TokenHash::parse(&h.to_text()).ok(), Some(h));
        assert!(TokenHash::parse("abc").is_err());
    }
}
