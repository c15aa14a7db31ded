//! The userinfo use case (OpenID Connect Core §5.3): the user an access token is about, by its
//! scopes.

use super::*;

/// Why the userinfo endpoint refuses a token (RFC 6750 §3.1 names the first two).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UserInfoError {
    /// `invalid_token`: not an active access token of this server, or not about an active user.
    #[error("the access token is invalid, expired or revoked")]
    InvalidToken,
    /// `insufficient_scope`: the token lacks `openid`.
    #[error("the access token does not carry the openid scope")]
    InsufficientScope,
    /// The store is unavailable; retrying later may succeed.
    #[error("the service is temporarily unavailable")]
    Unavailable,
    /// The server failed; the cause has been logged.
    #[error("the server could not complete the request")]
    ServerError,
}

impl From<TokenError> for UserInfoError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::TemporarilyUnavailable => Self::Unavailable,
            _ => Self::ServerError,
        }
    }
}

impl TokenService {
    /// The OpenID Connect userinfo of the user an access token is about (Core §5.3): the token
    /// must be active, about a user, and carry `openid`.
    ///
    /// # Errors
    /// [`UserInfoError`]: `InvalidToken` when it is not an active access token about an active
    /// user, `InsufficientScope` when it lacks `openid`, `Unavailable` when the store fails.
    pub async fn userinfo(&self, raw: &str, now: UnixTime) -> Result<UserInfo, UserInfoError> {
        let info = self
            .lookup(raw, now)
            .await?
            .filter(|i| i.token_type == TokenType::Bearer)
            .ok_or(UserInfoError::InvalidToken)?;
        if !info.scope.contains("openid") {
            return Err(UserInfoError::InsufficientScope);
        }
        let id = UserId::parse(&info.sub).map_err(|_| UserInfoError::InvalidToken)?;
        let user = self
            .active_user(&id)
            .await?
            .ok_or(UserInfoError::InvalidToken)?;
        Ok(UserInfo::of(&user, &info.scope))
    }
}
