//! AuthMe's one-time sign-in params (`generate-param`): a proof, usable once and by the calling
//! client only, that it may issue a token for a user. The user grant that consumes one is in
//! `token/user.rs`.

use std::sync::Arc;

use crate::error::{GrantFailure, TokenError};
use crate::first_party::FirstPartyPolicy;
use crate::issued::{PARAM_LEN, ParamRecord, ReferenceToken, generate_param};
use crate::ports::{ParamStore, RandomSource, UserRepository};
use crate::service::token::{active_user, store_error};
use crate::service::{Admitted, UserSelector};
use crate::time::UnixTime;

/// Issues one-time params.
pub struct ParamService {
    users: Arc<dyn UserRepository>,
    params: Arc<dyn ParamStore>,
    random: Arc<dyn RandomSource>,
}

impl ParamService {
    /// A service over the user directory, the param store and a randomness source (the same
    /// param store the token service consumes params from).
    #[must_use]
    pub fn new(
        users: Arc<dyn UserRepository>,
        params: Arc<dyn ParamStore>,
        random: Arc<dyn RandomSource>,
    ) -> Self {
        Self {
            users,
            params,
            random,
        }
    }

    /// A one-time param for the user `selector` names, usable by `caller` only, for the policy's
    /// param lifetime. Returns it with that lifetime in seconds.
    ///
    /// # Errors
    /// `unauthorized_client` (the policy's roles), `invalid_request` when no user is named,
    /// `invalid_grant` (`NoSuchUser`) when the user does not exist or is not active,
    /// `temporarily_unavailable` when the store fails.
    pub async fn generate(
        &self,
        caller: &Admitted,
        selector: &UserSelector,
        policy: &FirstPartyPolicy,
        now: UnixTime,
    ) -> Result<(ReferenceToken, u32), TokenError> {
        let client = caller.client();
        if !policy.required_roles().is_met_by(client.roles()) {
            return Err(TokenError::UnauthorizedClient);
        }
        if *selector == UserSelector::Any {
            return Err(TokenError::InvalidRequest(
                "name the user by userId or logon".into(),
            ));
        }
        let user = active_user(self.users.as_ref(), selector)
            .await
            .map_err(store_error)?
            .ok_or(TokenError::InvalidGrant(GrantFailure::NoSuchUser))?;
        let mut raw = [0u8; PARAM_LEN];
        self.random.fill(&mut raw);
        let param = generate_param(raw);
        let ttl_secs = policy.param_ttl_secs();
        let record = ParamRecord {
            hash: param.hash(),
            client_id: client.id().clone(),
            user_id: user.id,
            expires_at: now.plus_secs(i64::from(ttl_secs)),
        };
        self.params.insert(&record).await.map_err(store_error)?;
        Ok((param, ttl_secs))
    }
}
