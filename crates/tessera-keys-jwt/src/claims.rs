//! The wire form of access-token claims (RFC 9068 §2.2). The domain builds the claims; this DTO
//! only names them.

use serde::{Deserialize, Serialize};
use tessera_domain::policy::Issuer;
use tessera_domain::token::AccessTokenClaims;
use tessera_domain::{Audience, ClientId, Role, ScopeSet, UnixTime};

/// RFC 9068 §2.2 claims, borrowed from the domain's value.
#[derive(Serialize)]
pub(crate) struct JwtClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
    iat: i64,
    jti: &'a str,
    client_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    roles: Vec<&'a str>,
}

impl<'a> From<&'a AccessTokenClaims> for JwtClaims<'a> {
    fn from(c: &'a AccessTokenClaims) -> Self {
        Self {
            iss: c.iss.as_str(),
            sub: &c.sub,
            aud: c.aud.as_str(),
            exp: c.exp.as_secs(),
            iat: c.iat.as_secs(),
            jti: &c.jti,
            client_id: c.client_id.as_str(),
            scope: (!c.scope.is_empty()).then(|| c.scope.to_string()),
            roles: c.roles.iter().map(|r| r.as_str()).collect(),
        }
    }
}

/// The claims of a presented token, as read back for verification.
#[derive(Deserialize)]
pub(crate) struct OwnedClaims {
    iss: String,
    sub: String,
    aud: String,
    exp: i64,
    iat: i64,
    jti: String,
    client_id: String,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
}

impl OwnedClaims {
    /// The domain's claims, when every value parses.
    pub(crate) fn into_domain(self) -> Option<AccessTokenClaims> {
        Some(AccessTokenClaims {
            iss: Issuer::parse(&self.iss).ok()?,
            sub: self.sub,
            aud: Audience::parse(&self.aud).ok()?,
            exp: UnixTime::from_secs(self.exp),
            iat: UnixTime::from_secs(self.iat),
            jti: self.jti,
            client_id: ClientId::parse(&self.client_id).ok()?,
            scope: ScopeSet::parse(self.scope.as_deref().unwrap_or_default()).ok()?,
            roles: self
                .roles
                .iter()
                .map(|r| Role::parse(r).ok())
                .collect::<Option<_>>()?,
        })
    }
}
