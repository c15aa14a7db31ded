//! Tessera's test kit: in-memory fakes of every port, a fixed clock and counter-based randomness,
//! client fixtures, and the port contract suites.
//!
//! The contract suites turn the `# Errors` obligations written on each port into executable checks.
//! They run against the fakes here and against every real adapter in that adapter's own tests, so a
//! fake cannot drift from the real thing.

// Test support: panicking on a broken expectation is the point.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod contract;
pub mod fakes;
pub mod fixtures;
pub mod outbox;
