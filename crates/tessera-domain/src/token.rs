//! What the token endpoint issues: the claims of an access token (RFC 9068 §2.2) and the result.

use std::fmt;

use crate::client::{Audience, ClientId, Role};
use crate::policy::Issuer;
use crate::scope::ScopeSet;
use crate::time::UnixTime;

/// The claims of a JWT access token per RFC 9068 §2.2, built by the domain and serialised by the
/// signing adapter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessTokenClaims {
    /// `iss`.
    pub iss: Issuer,
    /// `sub`: the client itself for client_credentials (RFC 9068 §2.2).
    pub sub: String,
    /// `aud`.
    pub aud: Audience,
    /// `exp`.
    pub exp: UnixTime,
    /// `iat`.
    pub iat: UnixTime,
    /// `jti`: unique per token, 128 random bits.
    pub jti: String,
    /// `client_id`.
    pub client_id: ClientId,
    /// `scope`: omitted from the token when empty.
    pub scope: ScopeSet,
    /// `roles` (RFC 9068 §2.2.3.1 / RFC 7643): omitted when the client has none.
    pub roles: Vec<Role>,
    /// The user the token is about, for user tokens (AuthMe `USER`, `REMEMBER_ME`).
    pub user: Option<UserClaims>,
    /// `cnf.x5t#S256`: the certificate the token is bound to (RFC 8705 §3.1).
    pub cnf: Option<crate::cert::CertThumbprint>,
    /// `cid`: the client id again, for APIs whose tokens carry it (Banco Semear).
    pub cid: Option<ClientId>,
}

/// What a user token says about its user and how they signed in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserClaims {
    /// `acr`: the assurance level of the sign-in; `authorities` lists it and every weaker one.
    pub acr: crate::assurance::AssuranceLevel,
    /// `userId`.
    pub user_id: crate::user::UserId,
    /// `logon`.
    pub logon: Option<crate::user::Logon>,
    /// `deviceId`, when the client named one.
    pub device_id: Option<String>,
    /// `defaultClientId`, when the client named one.
    pub default_client_id: Option<String>,
}

/// A signed access token, as sent to the client. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    /// Wraps the compact serialisation.
    #[must_use]
    pub const fn new(compact: String) -> Self {
        Self(compact)
    }

    /// The token, to send to its client only.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

/// A successful token response, before a dialect renders it (RFC 6749 §5.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issued {
    /// The access token.
    pub access_token: AccessToken,
    /// Seconds until it expires.
    pub expires_in: u32,
    /// The scope granted.
    pub scope: ScopeSet,
    /// Its `jti`.
    pub jti: String,
    /// A refresh token, when the client may use the refresh_token grant.
    pub refresh_token: Option<crate::issued::ReferenceToken>,
}

/// What a token is, for introspection (RFC 7662 §2.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    /// `token_type`: `Bearer` for access tokens, `refresh_token` for refresh tokens.
    pub token_type: &'static str,
    /// `client_id`.
    pub client_id: ClientId,
    /// `sub`.
    pub sub: String,
    /// `scope`.
    pub scope: ScopeSet,
    /// `iss`.
    pub iss: Issuer,
    /// `aud`, for access tokens.
    pub aud: Option<Audience>,
    /// `jti`, for access tokens.
    pub jti: Option<String>,
    /// `iat`.
    pub iat: UnixTime,
    /// `exp`.
    pub exp: UnixTime,
    /// `cnf.x5t#S256`, for certificate-bound tokens.
    pub cnf: Option<crate::cert::CertThumbprint>,
}

/// The answer of introspection: an active token and what it is, or inactive (which also covers
/// unknown tokens and tokens the caller may not see).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Introspection {
    /// `{"active": true, …}`.
    Active(TokenInfo),
    /// `{"active": false}`.
    Inactive,
}
