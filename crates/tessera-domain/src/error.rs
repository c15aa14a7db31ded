//! The errors of the domain: parse failures, store failures and the token endpoint's errors.

use thiserror::Error;

/// A value from outside did not parse into a domain type; the message names the rule it broke.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{what}: {reason}")]
pub struct ParseError {
    /// Which kind of value was being parsed (`client_id`, `scope`, …).
    pub what: &'static str,
    /// Why it was refused, as a sentence fragment fit for an error message.
    pub reason: String,
}

impl ParseError {
    /// A parse error for a value of kind `what`.
    pub fn new(what: &'static str, reason: impl Into<String>) -> Self {
        Self {
            what,
            reason: reason.into(),
        }
    }
}

/// What a store port reports. Adapters map their infrastructure errors into these at the seam.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum StoreError {
    /// The record to change does not exist.
    #[error("not found")]
    NotFound,
    /// A record with the same identity already exists (a unique constraint).
    #[error("already exists")]
    Conflict,
    /// The store cannot be reached or is busy; the operation may succeed if retried later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A row read back from the store does not parse into a domain value: the data is corrupt.
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

/// The token endpoint's errors, one variant per RFC 6749 §5.2 error code.
///
/// The description is safe to send to the client: it never names a secret, a stored value or an
/// internal cause. Internal causes are logged where they happen.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum TokenError {
    /// The request is missing a parameter, repeats one, uses two authentication methods, or is
    /// otherwise malformed.
    #[error("{0}")]
    InvalidRequest(String),
    /// Client authentication failed: unknown client, wrong secret, disabled client, no
    /// authentication, or a method the client may not use. Deliberately one undifferentiated case.
    #[error("client authentication failed")]
    InvalidClient,
    /// The grant (code, refresh token, param) is invalid, expired or revoked; the reason says
    /// which, so that a dialect with codes of its own matches a variant, never a description.
    #[error("{0}")]
    InvalidGrant(GrantFailure),
    /// The authenticated client may not use this grant type.
    #[error("the client is not allowed to use this grant type")]
    UnauthorizedClient,
    /// The grant type is not supported by this server.
    #[error("unsupported grant_type: {0}")]
    UnsupportedGrantType(String),
    /// The requested scope is invalid, unknown, or exceeds what the client may have.
    #[error("{0}")]
    InvalidScope(String),
    /// A requested resource (RFC 8707 §2) is not one the client may have, or widens what the
    /// grant was for.
    #[error("{0}")]
    InvalidTarget(String),
    /// The server failed; the cause has been logged.
    #[error("the server could not complete the request")]
    ServerError,
    /// A dependency (the store) is unavailable; retrying later may succeed.
    #[error("the service is temporarily unavailable")]
    TemporarilyUnavailable,
    /// Too many requests from this client or address, or too many failed authentications: retry
    /// after this many seconds (HTTP 429, RFC 6585).
    #[error("too many requests; retry after {0} seconds")]
    TooManyRequests(u32),
}

/// Why a grant was refused (`invalid_grant`, RFC 6749 §5.2). The `Display` is the description
/// sent to the client.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum GrantFailure {
    /// The refresh token is unknown, expired, revoked, of another client or reused (§6, §10.4).
    #[error("the refresh token is invalid, expired or revoked")]
    RefreshToken,
    /// The authorization code is unknown, expired or already used (§4.1.3).
    #[error("the code is invalid, expired or already used")]
    Code,
    /// The code was redeemed a second time; what the first redemption issued is revoked (§4.1.2).
    #[error("the code was already used; the tokens issued for it are revoked")]
    CodeReused,
    /// The code was issued to another client (§4.1.3).
    #[error("the code was issued to another client")]
    CodeOfAnotherClient,
    /// `redirect_uri` differs from the authorization request's (§4.1.3).
    #[error("redirect_uri differs from the authorization request's")]
    RedirectUriDiffers,
    /// The authorization request named a `redirect_uri`, the token request did not (§4.1.3).
    #[error("redirect_uri is required: the authorization request had one")]
    RedirectUriRequired,
    /// The `code_verifier` is not one RFC 7636 §4.1 allows; the text says which rule it broke.
    #[error("{0}")]
    VerifierMalformed(String),
    /// The verifier does not match the challenge (RFC 7636 §4.6).
    #[error("PKCE verification failed")]
    PkceFailed,
    /// The authorization request had a challenge, the token request no verifier (RFC 7636 §4.5).
    #[error("code_verifier is required (PKCE)")]
    VerifierRequired,
    /// A verifier for an authorization request that had no challenge.
    #[error("code_verifier given but the authorization request had no code_challenge")]
    VerifierUnexpected,
    /// AuthMe's one-time param is unknown, expired, used, of another client or of another user.
    #[error("the param is invalid, expired or already used")]
    Param,
    /// The user the grant is about exists but may not sign in (disabled or locked).
    #[error("the user is not active")]
    UserNotActive,
    /// No active user answers to the name given (generate-param).
    #[error("no active user by that name")]
    NoSuchUser,
}

impl TokenError {
    /// The RFC 6749 §5.2 `error` code of this error.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant(_) => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType(_) => "unsupported_grant_type",
            Self::InvalidScope(_) => "invalid_scope",
            Self::InvalidTarget(_) => "invalid_target",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::TooManyRequests(_) => "too_many_requests",
        }
    }

    /// A store failure as the token endpoint reports it.
    #[must_use]
    pub fn from_store(err: &StoreError) -> Self {
        match err {
            StoreError::Unavailable(_) => Self::TemporarilyUnavailable,
            StoreError::NotFound | StoreError::Conflict | StoreError::Corrupt(_) => {
                Self::ServerError
            }
        }
    }
}

/// Whether `c` may appear in an `error_description` (RFC 6749 §5.2 and §4.1.2.1:
/// `%x20-21 / %x23-5B / %x5D-7E`, printable ASCII without `"` and `\`).
#[must_use]
pub const fn is_description_char(c: char) -> bool {
    matches!(c, '\x20'..='\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')
}

/// `description` in the characters an `error_description` may hold (RFC 6749 §5.2): `§` reads
/// "section", quotation marks become apostrophes, a backslash a slash, anything else outside
/// the set (non-ASCII, control characters, from the request or not) a question mark. Every
/// renderer of an RFC 6749-shaped error passes its description through this.
#[must_use]
pub fn wire_description(description: &str) -> std::borrow::Cow<'_, str> {
    if description.chars().all(is_description_char) {
        return std::borrow::Cow::Borrowed(description);
    }
    let mut out = String::with_capacity(description.len() + 8);
    for c in description.chars() {
        match c {
            c if is_description_char(c) => out.push(c),
            '§' => out.push_str("section "),
            '"' | '“' | '”' | '‘' | '’' | '«' | '»' => out.push('\''),
            '\\' => out.push('/'),
            '\t' | '\n' | '\r' => out.push(' '),
            _ => out.push('?'),
        }
    }
    std::borrow::Cow::Owned(out.replace("section  ", "section "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_descriptions_keep_to_the_rfc_6749_character_set() {
        assert_eq!(wire_description("plain words"), "plain words");
        assert_eq!(
            wire_description("must not have a fragment (RFC 6749 §3.1.2)"),
            "must not have a fragment (RFC 6749 section 3.1.2)"
        );
        assert_eq!(
            wire_description("character '\"' in \"a\\b\" use “x”"),
            "character ''' in 'a/b' use 'x'"
        );
        assert_eq!(wire_description("é\u{0}\n"), "?? ");
        for s in ["§ 5", "\"\\", "ünïcødé", "\u{7f}", "a\u{2028}b"] {
            assert!(
                wire_description(s).chars().all(is_description_char),
                "{s:?}"
            );
        }
    }

    #[test]
    fn every_variant_has_its_rfc_6749_code() {
        let cases = [
            (TokenError::InvalidRequest(String::new()), "invalid_request"),
            (TokenError::InvalidClient, "invalid_client"),
            (
                TokenError::InvalidGrant(GrantFailure::Code),
                "invalid_grant",
            ),
            (TokenError::UnauthorizedClient, "unauthorized_client"),
            (
                TokenError::UnsupportedGrantType(String::new()),
                "unsupported_grant_type",
            ),
            (TokenError::InvalidScope(String::new()), "invalid_scope"),
            (TokenError::InvalidTarget(String::new()), "invalid_target"),
            (TokenError::ServerError, "server_error"),
            (
                TokenError::TemporarilyUnavailable,
                "temporarily_unavailable",
            ),
        ];
        for (err, code) in cases {
            assert_eq!(err.code(), code);
        }
    }

    #[test]
    fn an_unreachable_store_is_temporary_and_corruption_is_not() {
        assert_eq!(
            TokenError::from_store(&StoreError::Unavailable("locked".into())),
            TokenError::TemporarilyUnavailable
        );
        assert_eq!(
            TokenError::from_store(&StoreError::Corrupt("x".into())),
            TokenError::ServerError
        );
    }
}
