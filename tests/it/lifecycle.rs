//! State over time: restarts keep keys and clients; changes made through the command line reach a
//! running server; SIGTERM stops it cleanly.

use std::time::{Duration, Instant};

use crate::harness::{Tessera, basic, token_request};
use crate::jwt::{jwks, verify_with};

#[test]
fn a_restart_keeps_the_signing_key_and_the_clients() {
    let t = Tessera::new();
    let (id, secret) = t.create_client("steady", &["--scope", "x"]);
    let first = t.serve(&[]);
    let before = token_request(
        &first,
        Some(&basic(&id, &secret)),
        "grant_type=client_credentials",
    )
    .json();
    let kids_before: Vec<_> = jwks(&first)
        .keys
        .iter()
        .filter_map(|k| k.common.key_id.clone())
        .collect();
    let issuer_before = first.base.clone();
    assert!(first.stop(), "SIGTERM exits 0");

    let second = t.serve(&[]);
    let set = jwks(&second);
    let kids_after: Vec<_> = set
        .keys
        .iter()
        .filter_map(|k| k.common.key_id.clone())
        .collect();
    assert_eq!(kids_before, kids_after, "same keys after restart");
    // The token issued before the restart still verifies with the keys published after it.
    verify_with(
        &set,
        before["access_token"].as_str().unwrap(),
        &issuer_before,
        &issuer_before,
    );
    let after = token_request(
        &second,
        Some(&basic(&id, &secret)),
        "grant_type=client_credentials",
    );
    assert_eq!(after.status, 200, "the client survived the restart");
}

#[test]
fn clients_changed_on_the_command_line_take_effect_on_a_running_server() {
    let t = Tessera::new();
    let server = t.serve(&[]);
    let (id, secret) = t.create_client("late", &[]);
    let auth = basic(&id, &secret);
    let until = |want: u16| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = token_request(&server, Some(&auth), "grant_type=client_credentials").status;
            if got == want || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    assert_eq!(until(200), 200, "a client created after start is served");
    t.cli_json(&["client", "disable", &id]);
    let started = Instant::now();
    assert_eq!(until(401), 401, "a disabled client is refused");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "within the refresh interval, took {:?}",
        started.elapsed()
    );
}
