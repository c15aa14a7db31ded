//! Pure token policy: which scope a request gets and how long its token lives. No I/O, no clock.

use std::fmt;

use crate::client::{Audience, Client, Role, SigningAlgorithm, TokenTtl};
use crate::error::{ParseError, TokenError};
use crate::scope::ScopeSet;

/// The issuer identifier (RFC 8414 §2): an `https` (or, for local use, `http`) URL with no query or
/// fragment, stored without a trailing slash.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Issuer(String);

impl Issuer {
    /// Parses an issuer URL.
    ///
    /// # Errors
    /// When it is not an `http(s)://host…` URL, or has a query, a fragment, or whitespace.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let rest = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"))
            .ok_or_else(|| ParseError::new("issuer", "must start with https:// or http://"))?;
        if rest.is_empty() || rest.starts_with('/') {
            return Err(ParseError::new("issuer", "must name a host"));
        }
        if s.contains(['?', '#']) {
            return Err(ParseError::new(
                "issuer",
                "may not have a query or fragment (RFC 8414 §2)",
            ));
        }
        if s.chars().any(|c| !matches!(c, '\x21'..='\x7E')) {
            return Err(ParseError::new("issuer", "must be visible ASCII"));
        }
        Ok(Self(s.trim_end_matches('/').to_owned()))
    }

    /// The issuer URL, without a trailing slash.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The deployment's token settings: what a client gets when it has no setting of its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenPolicy {
    /// `iss` of every token.
    pub issuer: Issuer,
    /// `aud` when the client has none.
    pub default_audience: Audience,
    /// Access-token lifetime when the client has none.
    pub default_ttl: TokenTtl,
    /// Signing algorithm when the client has none.
    pub default_alg: SigningAlgorithm,
    /// Absolute lifetime of a refresh-token family, in seconds.
    pub refresh_ttl_secs: u32,
    /// How long after a rotation a retry of the rotated token gets the same successor back.
    pub refresh_grace_secs: u32,
    /// The role that lets a client introspect tokens of other clients.
    pub introspection_role: Role,
    /// The algorithm ID tokens are signed with (OpenID Connect's default is RS256).
    pub id_token_alg: SigningAlgorithm,
}

/// The bounds of a refresh family's absolute lifetime, in seconds (one minute to 366 days).
pub const REFRESH_TTL_RANGE: std::ops::RangeInclusive<u32> = 60..=366 * 86_400;

/// The longest grace window for a retried refresh, in seconds: long enough for a lost answer's
/// retry, short enough that a stolen predecessor is not a second credential.
pub const MAX_REFRESH_GRACE_SECS: u32 = 60;

/// Checks a refresh family's lifetime and the retry grace window (RFC 6749 §10.4: rotation is
/// only as good as the window in which a predecessor still works is short).
///
/// # Errors
/// Names the value (`refresh_ttl_seconds`, `refresh_reuse_grace_seconds`) out of its bounds.
pub fn refresh_lifetimes(ttl_secs: u64, grace_secs: u64) -> Result<(u32, u32), crate::ParseError> {
    let ttl = u32::try_from(ttl_secs)
        .ok()
        .filter(|s| REFRESH_TTL_RANGE.contains(s))
        .ok_or_else(|| {
            crate::ParseError::new(
                "refresh_ttl_seconds",
                "must be between 60 seconds and 366 days",
            )
        })?;
    let grace = u32::try_from(grace_secs)
        .ok()
        .filter(|s| *s <= MAX_REFRESH_GRACE_SECS)
        .ok_or_else(|| {
            crate::ParseError::new("refresh_reuse_grace_seconds", "must be at most 60")
        })?;
    Ok((ttl, grace))
}

impl TokenPolicy {
    /// The lifetime of `client`'s access tokens: its own, else the default of the API it asked
    /// through (`profile_default`, from that API's configuration), else the deployment's.
    #[must_use]
    pub fn ttl_for(&self, client: &Client, profile_default: Option<TokenTtl>) -> TokenTtl {
        client
            .access_token_ttl()
            .or(profile_default)
            .unwrap_or(self.default_ttl)
    }

    /// The algorithm `client`'s tokens are signed with.
    #[must_use]
    pub fn alg_for(&self, client: &Client) -> SigningAlgorithm {
        client.signing_alg().unwrap_or(self.default_alg)
    }

    /// The audience of `client`'s tokens.
    #[must_use]
    pub fn audience_for<'a>(&'a self, client: &'a Client) -> &'a Audience {
        client.audience().unwrap_or(&self.default_audience)
    }
}

/// The scope a request is granted (RFC 6749 §3.3): the requested scope when it is a subset of what
/// the client may have, the client's default scope when it asked for none, `invalid_scope` otherwise.
///
/// # Errors
/// `invalid_scope` naming the scopes the client may not have.
pub fn resolve_scope(
    requested: Option<&ScopeSet>,
    client: &Client,
) -> Result<ScopeSet, TokenError> {
    match requested {
        None => Ok(client.default_scopes().clone()),
        Some(req) if req.is_empty() => Ok(client.default_scopes().clone()),
        Some(req) => {
            if req.is_subset(client.allowed_scopes()) {
                Ok(req.clone())
            } else {
                let refused: Vec<&str> = req
                    .difference(client.allowed_scopes())
                    .map(|s| s.as_str())
                    .collect();
                Err(TokenError::InvalidScope(format!(
                    "the client may not request: {}",
                    refused.join(" ")
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_lifetimes_keep_to_their_bounds() {
        assert_eq!(refresh_lifetimes(86_400, 5), Ok((86_400, 5)));
        assert_eq!(
            refresh_lifetimes(59, 5).unwrap_err().what,
            "refresh_ttl_seconds"
        );
        assert_eq!(
            refresh_lifetimes(u64::MAX, 5).unwrap_err().what,
            "refresh_ttl_seconds"
        );
        assert_eq!(
            refresh_lifetimes(86_400, 61).unwrap_err().what,
            "refresh_reuse_grace_seconds"
        );
    }
    use crate::client::{ClientId, ClientName, ClientSpec};
    use crate::secret::SecretVerifier;
    use crate::time::UnixTime;

    fn client(allowed: &str, default: &str) -> Client {
        Client::new(ClientSpec {
            allowed_scopes: ScopeSet::parse(allowed).unwrap_or_default(),
            default_scopes: ScopeSet::parse(default).unwrap_or_default(),
            ..ClientSpec::new(
                ClientId::parse("c").unwrap_or_else(|_| unreachable!()),
                ClientName::parse("c").unwrap_or_else(|_| unreachable!()),
                vec![SecretVerifier::HmacSha256([0; 32]).into()],
                UnixTime::from_secs(0),
            )
        })
        .unwrap_or_else(|e| unreachable!("{e}"))
    }

    fn check(allowed: &str, default: &str, requested: Option<&str>, expected: Result<&str, &str>) {
        let req = requested.map(|r| ScopeSet::parse(r).unwrap_or_default());
        let got = resolve_scope(req.as_ref(), &client(allowed, default));
        match expected {
            Ok(scope) => assert_eq!(got.map(|s| s.to_string()), Ok(scope.to_owned())),
            Err(msg) => assert_eq!(got, Err(TokenError::InvalidScope(msg.to_owned()))),
        }
    }

    #[test]
    fn scope_resolution_follows_rfc_6749_section_3_3() {
        check("a b c", "a", None, Ok("a"));
        check("a b c", "a", Some(""), Ok("a"));
        check("a b c", "a", Some("b c"), Ok("b c"));
        check("a b c", "", None, Ok(""));
        check(
            "a b",
            "a",
            Some("a z y"),
            Err("the client may not request: y z"),
        );
        check("", "", Some("a"), Err("the client may not request: a"));
    }

    #[test]
    fn issuers_are_urls_without_query_or_fragment() {
        assert_eq!(
            Issuer::parse("https://id.example.com/").map(|i| i.to_string()),
            Ok("https://id.example.com".to_owned())
        );
        assert!(Issuer::parse("http://127.0.0.1:8080").is_ok());
        for bad in [
            "id.example.com",
            "https://",
            "https:///x",
            "https://a?b",
            "https://a#b",
            "ftp://a",
        ] {
            assert!(Issuer::parse(bad).is_err(), "{bad}");
        }
    }
}
