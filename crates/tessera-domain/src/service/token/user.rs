//! The first-party user grant (AuthMe `USER`): a one-time param (see `service::params`) proves the
//! user to this client, once.

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
                    resources: Vec::new(),
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
                self.new_family(
                    client,
                    Grantee {
                        subject,
                        scope,
                        user: Some(claims),
                        resources: Vec::new(),
                    },
                    now,
                )
                .await?,
            );
        }
        Ok(issued)
    }
}
