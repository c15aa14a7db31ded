//! The first-party user grant (AuthMe `USER`) and its one-time params (generate-param).

use super::*;

impl TokenService {
    /// The first-party user grant: the param proves the user to this client, once.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn user_grant(
        &self,
        client: &Client,
        selector: UserSelector,
        param: &str,
        level: AssuranceLevel,
        remember_me: bool,
        device_id: Option<String>,
        default_client_id: Option<String>,
        shape: Shape,
        now: UnixTime,
    ) -> Result<Issued, TokenError> {
        if client.max_assurance().is_some_and(|max| level > max) {
            return Err(TokenError::UnauthorizedClient);
        }
        let invalid_param = || TokenError::InvalidGrant(GrantFailure::Param);
        let presented = recognise_param(param).ok_or_else(invalid_param)?;
        let record = self
            .ports
            .params
            .consume(&presented.hash(), client.id(), now)
            .await
            .map_err(store_error)?
            .ok_or_else(invalid_param)?;
        let user = self
            .ports
            .users
            .find(&record.user_id)
            .await
            .map_err(store_error)?
            .ok_or_else(invalid_param)?;
        let named_other = match &selector {
            UserSelector::Id(id) => *id != user.id,
            UserSelector::Logon(logon) => *logon != user.logon,
            UserSelector::Any => false,
        };
        if named_other {
            return Err(invalid_param());
        }
        if user.status != UserStatus::Active {
            return Err(TokenError::InvalidGrant(GrantFailure::UserNotActive));
        }
        let claims = UserClaims {
            acr: level,
            user_id: user.id.clone(),
            logon: Some(user.logon.clone()),
            device_id,
            default_client_id,
        };
        let subject = user.id.as_str().to_owned();
        let scope = client.default_scopes().clone();
        let mut issued = self
            .access_for(
                client,
                Grantee {
                    subject: subject.clone(),
                    scope: scope.clone(),
                    user: Some(claims.clone()),
                },
                Shape {
                    format: AccessTokenFormat::Jwt,
                    ..shape.clone()
                },
                None,
                now,
            )
            .await?;
        if remember_me {
            issued.refresh_token = Some(
                self.new_family(client, subject, scope, Some(claims), now)
                    .await?,
            );
        }
        Ok(issued)
    }

    /// Issues a one-time sign-in param for a user, usable by the calling client only, for
    /// `ttl_secs`. Returns it with its lifetime.
    ///
    /// # Errors
    /// `invalid_client`, `unauthorized_client` (roles), `invalid_grant` when the user does not
    /// exist or is not active, `invalid_request` when no user is named.
    pub async fn generate_param(
        &self,
        caller: &Admitted,
        selector: UserSelector,
        policy: &FirstPartyPolicy,
        now: UnixTime,
    ) -> Result<(ReferenceToken, u32), TokenError> {
        let client = caller.client();
        let ttl_secs = policy.param_ttl_secs();
        if !policy.required_roles().is_met_by(client.roles()) {
            return Err(TokenError::UnauthorizedClient);
        }
        let user = match &selector {
            UserSelector::Id(id) => self.active_user(id).await?,
            UserSelector::Logon(logon) => self
                .ports
                .users
                .find_by_logon(logon)
                .await
                .map_err(store_error)?
                .filter(|u| u.status == UserStatus::Active),
            UserSelector::Any => {
                return Err(TokenError::InvalidRequest(
                    "name the user by userId or logon".into(),
                ));
            }
        }
        .ok_or(TokenError::InvalidGrant(GrantFailure::NoSuchUser))?;
        let mut raw = [0u8; PARAM_LEN];
        self.ports.random.fill(&mut raw);
        let param = generate_param(raw);
        let record = ParamRecord {
            hash: param.hash(),
            client_id: client.id().clone(),
            user_id: user.id,
            expires_at: now.plus_secs(i64::from(ttl_secs)),
        };
        self.ports
            .params
            .insert(&record)
            .await
            .map_err(store_error)?;
        Ok((param, ttl_secs))
    }
}
