//! Black-box tests: the real `tessera` binary on a free port with a temporary data directory,
//! driven through its command line and over HTTP.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod admin;
mod admin_users;
mod backchannel;
mod browser;
mod cli;
mod cluster;
mod dialects;
mod documents;
mod errors;
mod harness;
mod hostile;
mod jwt;
mod keys;
mod lifecycle;
mod limits;
mod mtls;
mod oidc;
mod oidc_conformance;
mod oidc_logout;
mod ops;
mod refresh;
mod registration;
mod remote_cli;
mod resources;
mod rp_node;
mod secrets;
mod tokens;
