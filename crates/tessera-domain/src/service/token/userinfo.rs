//! The userinfo use case (OpenID Connect Core §5.3): the user an access token is about, by its
//! scopes.

use super::*;

impl TokenService {
    /// The OpenID Connect userinfo of the user an access token is about (Core §5.3): the token
    /// must be active, about a user, and carry `openid`.
    ///
    /// # Errors
    /// `InvalidGrant` (rendered as `invalid_token` by the adapter) when it is not; `Forbidden`
    /// when it lacks `openid`; `temporarily_unavailable` when the store fails.
    pub async fn userinfo(&self, raw: &str, now: UnixTime) -> Result<UserInfo, TokenError> {
        let info = self
            .lookup(raw, now)
            .await?
            .filter(|i| i.token_type == "Bearer")
            .ok_or_else(|| TokenError::InvalidGrant("the access token is not active".into()))?;
        if !info.scope.contains("openid") {
            return Err(TokenError::InvalidScope(
                "the access token does not carry the openid scope".into(),
            ));
        }
        let not_a_user = || TokenError::InvalidGrant("the access token is not about a user".into());
        let id = UserId::parse(&info.sub).map_err(|_| not_a_user())?;
        let user = self
            .ports
            .users
            .find(&id)
            .await
            .map_err(store_error)?
            .filter(|u| u.status == UserStatus::Active)
            .ok_or_else(not_a_user)?;
        Ok(UserInfo::of(&user, &info.scope))
    }
}
