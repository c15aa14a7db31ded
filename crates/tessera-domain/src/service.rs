//! The use cases: issuing tokens, administering clients, keeping signing keys.
//!
//! Each service sequences pure policy ([`crate::policy`]) around the ports ([`crate::ports`]).

mod admin;
mod authorize;
mod backchannel;
mod client_update;
mod keys;
mod logout;
mod params;
mod register;
mod token;
mod user_update;
mod users;

pub use crate::keys::{KeyChange, KeyPolicy};
pub use admin::{
    AdminError, ClientAdmin, DeploymentLimits, MAX_GRACE_SECS, NewClient, SecretSource,
};
pub use authorize::{AuthorizePolicy, AuthorizePorts, AuthorizeService};
pub use backchannel::{Backchannel, CourierPorts, LogoutCourier, Round};
pub use client_update::{ClientChanges, revision};
pub use keys::{KEY_LEASE, KeyError, KeyService, key_lease_secs};
pub use logout::LogoutParams;
pub use params::ParamService;
pub use register::{
    ClientMetadata, DynamicRegistration, INITIAL_TOKEN_PREFIX, InitialTokens,
    MAX_INITIAL_TOKEN_SECS, MetadataError, REGISTRATION_TOKEN_PREFIX, RawMetadata, Registered,
    RegistrationError, RegistrationMode, RegistrationPolicy,
};
pub use token::{
    ADMIN_READ_SCOPE, ADMIN_ROLE, ADMIN_SCOPE, AdminAccess, AdminDenied, Admitted, ApiProfile,
    ClientAuthentication, Credential, GrantRequest, IssueRequest, PASSWORD_LEVEL, Readiness,
    TokenPorts, TokenRequest, TokenService, UserInfoError, UserSelector, admin_allows,
};
pub use user_update::{UserChanges, user_revision};
pub use users::{NewUser, SignIn, SignInError, UserAdmin, UserError};

#[cfg(test)]
mod tests;
