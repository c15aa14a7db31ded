//! The first-party token API's policy (AuthMe's `generate-token`): which clients it admits, and
//! which lifetime, format and assurance each kind of request gets. The dialect parses the wire and
//! asks [`FirstPartyPolicy::profile`]; it decides nothing itself.

use crate::assurance::{AssuranceLevel, RoleRequirement};
use crate::client::{AccessTokenFormat, TokenTtl};
use crate::error::ParseError;
use crate::service::ApiProfile;

/// The kinds of request the first-party API serves (AuthMe's `tokenRequestType`, and its
/// `renew-token`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirstPartyRequest {
    /// A client token (`CLIENT`).
    Client,
    /// An opaque product-access token (`PRODUCT`, `generate-opaque-token`).
    Product,
    /// A user token from a one-time param (`USER`), with or without remember-me.
    User {
        /// Also issue a refresh token, and give the access token the remember-me lifetime.
        remember_me: bool,
    },
    /// A refresh of a remember-me token (`REMEMBER_ME`, `renew-token`).
    RememberMe,
}

/// Bounds of a one-time param's lifetime, in seconds.
pub const PARAM_TTL_RANGE: std::ops::RangeInclusive<u32> = 10..=3600;

/// How the first-party API treats its requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirstPartyPolicy {
    required_roles: RoleRequirement,
    client_ttl: Option<TokenTtl>,
    remember_me_ttl: TokenTtl,
    param_ttl_secs: u32,
}

impl FirstPartyPolicy {
    /// A policy: clients need `required_roles`; `CLIENT`, `PRODUCT` and plain `USER` tokens live
    /// `client_ttl` (the client's own lifetime when `None`), remember-me tokens
    /// `remember_me_ttl`; a param works `param_ttl_secs`.
    ///
    /// # Errors
    /// A param lifetime outside [`PARAM_TTL_RANGE`].
    pub fn new(
        required_roles: RoleRequirement,
        client_ttl: Option<TokenTtl>,
        remember_me_ttl: TokenTtl,
        param_ttl_secs: u32,
    ) -> Result<Self, ParseError> {
        if !PARAM_TTL_RANGE.contains(&param_ttl_secs) {
            return Err(ParseError::new(
                "param_ttl_seconds",
                format!(
                    "must be between {} and {}",
                    PARAM_TTL_RANGE.start(),
                    PARAM_TTL_RANGE.end()
                ),
            ));
        }
        Ok(Self {
            required_roles,
            client_ttl,
            remember_me_ttl,
            param_ttl_secs,
        })
    }

    /// The roles a client needs.
    #[must_use]
    pub fn required_roles(&self) -> &RoleRequirement {
        &self.required_roles
    }

    /// How long a one-time param works, in seconds.
    #[must_use]
    pub fn param_ttl_secs(&self) -> u32 {
        self.param_ttl_secs
    }

    /// The assurance level of a user token whose request names none.
    #[must_use]
    pub fn default_level(&self) -> AssuranceLevel {
        AssuranceLevel::Identified
    }

    /// What the token service must apply to a request of this kind.
    #[must_use]
    pub fn profile(&self, request: FirstPartyRequest) -> ApiProfile {
        let base = ApiProfile {
            default_ttl: self.client_ttl,
            required_roles: self.required_roles.clone(),
            first_party: true,
            ..ApiProfile::default()
        };
        match request {
            FirstPartyRequest::Client => base,
            FirstPartyRequest::Product => ApiProfile {
                format: Some(AccessTokenFormat::Opaque),
                ..base
            },
            FirstPartyRequest::User { remember_me: false } => ApiProfile {
                fixed_ttl: self.client_ttl,
                ..base
            },
            FirstPartyRequest::User { remember_me: true } | FirstPartyRequest::RememberMe => {
                ApiProfile {
                    fixed_ttl: Some(self.remember_me_ttl),
                    ..base
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn policy() -> FirstPartyPolicy {
        FirstPartyPolicy::new(
            RoleRequirement::parse("ROLE_CLI-1STPARTY+ROLE_CLI-AUTH-BASIC").unwrap(),
            Some(TokenTtl::from_secs(1800).unwrap()),
            TokenTtl::from_secs(600).unwrap(),
            300,
        )
        .unwrap()
    }

    #[test]
    fn each_kind_of_request_gets_its_lifetime_and_format() {
        let p = policy();
        let ttl = |s| Some(TokenTtl::from_secs(s).unwrap());
        let client = p.profile(FirstPartyRequest::Client);
        assert_eq!((client.default_ttl, client.fixed_ttl), (ttl(1800), None));
        assert!(client.first_party);
        assert_eq!(client.required_roles, *p.required_roles());
        let product = p.profile(FirstPartyRequest::Product);
        assert_eq!(product.format, Some(AccessTokenFormat::Opaque));
        assert_eq!(product.fixed_ttl, None);
        let plain = p.profile(FirstPartyRequest::User { remember_me: false });
        assert_eq!((plain.fixed_ttl, plain.format), (ttl(1800), None));
        let remember = p.profile(FirstPartyRequest::User { remember_me: true });
        assert_eq!(remember.fixed_ttl, ttl(600));
        assert_eq!(p.profile(FirstPartyRequest::RememberMe).fixed_ttl, ttl(600));
        assert_eq!(p.default_level(), AssuranceLevel::Identified);
    }

    #[test]
    fn a_param_lifetime_outside_its_bounds_is_refused() {
        let make = |secs| {
            FirstPartyPolicy::new(
                RoleRequirement::default(),
                None,
                TokenTtl::from_secs(600).unwrap(),
                secs,
            )
        };
        assert!(make(9).is_err());
        assert!(make(3601).is_err());
        assert_eq!(make(10).unwrap().param_ttl_secs(), 10);
    }
}
