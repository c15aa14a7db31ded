//! The wire form of access-token claims (RFC 9068 §2.2). The domain builds the claims; this DTO
//! only names them.

use serde::Serialize;
use tessera_domain::token::AccessTokenClaims;

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
