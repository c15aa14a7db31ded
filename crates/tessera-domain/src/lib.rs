//! Tessera's domain: clients, grants, scopes, roles, token policy, the use-case services and the
//! ports through which they reach the outside world.
//!
//! Nothing here knows HTTP, SQL, JSON, JWT, configuration or an async runtime: adapters translate
//! their technology into these types at the seam, and every decision (who may have a token, with
//! which scope, for how long, carrying which claims) is taken here.
//!
//! The crate parses, it does not validate: every value that crosses a seam (`ClientId`, `Scope`,
//! `Role`, `TokenTtl`, …) is a newtype with a fallible `parse` as its only way in, so a value that
//! exists is a value that is valid.

pub mod assurance;
pub mod audit;
pub mod authorize;
pub mod backchannel;
pub mod cache;
pub mod cert;
pub mod client;
pub mod denylist;
pub mod error;
pub mod first_party;
#[cfg(test)]
mod fuzz;
pub mod interaction;
pub mod issued;
pub mod keys;
pub mod logout;
pub mod metadata_document;
pub mod policy;
pub mod ports;
pub mod registration;
pub mod resource;
pub mod scope;
pub mod secret;
pub mod service;
pub mod time;
pub mod token;
pub mod user;

pub use client::{
    AccessTokenFormat, Audience, Client, ClientAuthMethod, ClientId, ClientName, GrantType, Role,
    RoleSet, SigningAlgorithm, TokenTtl,
};
pub use error::{GrantFailure, ParseError, StoreError, TokenError};
pub use scope::{Scope, ScopeSet};
pub use time::UnixTime;
