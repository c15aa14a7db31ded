//! Tessera's HTTP adapter over actix-web: the RFC 6749 token endpoint, the JWKS (RFC 7517), the
//! authorization server metadata (RFC 8414) and the health check.
//!
//! Each token API is a *dialect*: a module that turns its wire format into a domain
//! [`TokenRequest`](tessera_domain::service::TokenRequest) and the domain's result or
//! [`TokenError`](tessera_domain::TokenError) back into its own body and status. Dialects decide
//! nothing: authentication, grants, scopes and lifetimes are the domain's. This crate is the only
//! one that knows status codes.

pub mod admin;
pub mod context;
pub mod dialect;
mod form;
#[cfg(test)]
mod fuzz;
mod meta;
pub mod metrics;
pub mod oidc;
pub mod openapi;
pub mod register;
pub mod request_id;
mod server;
pub mod tls;

pub use server::{
    AuthMeRoute, DialectRoute, Dialects, HttpState, SemearRoute, ServerOptions, check_routes,
    configure, start,
};
