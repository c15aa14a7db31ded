//! A relying party nobody on this project wrote: panva's `oauth4webapi` (npm, pinned in
//! `tests/rp/package-lock.json`) drives the real binary from `tests/rp/oidc.test.mjs` under
//! `node --test` — discovery, the code flow with PKCE, ID token signatures against the JWKS,
//! userinfo, refresh rotation, introspection, revocation, `max_age`, `prompt=none` and
//! RP-initiated logout. Needs Node.js 20 or newer on PATH.

use std::path::Path;
use std::process::{Command, Output};

use crate::oidc::{PASSWORD, POST_LOGOUT, REDIRECT, setup};

/// The npm project of the relying party.
const RP_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/rp");

fn run(cmd: &mut Command, what: &str) -> Output {
    cmd.output().unwrap_or_else(|e| {
        panic!("{what}: {e} (the relying-party test needs Node.js 20 or newer and npm on PATH)")
    })
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn oauth4webapi_signs_in_refreshes_introspects_and_logs_out() {
    let node = run(Command::new("node").arg("--version"), "running node");
    assert!(node.status.success(), "node --version: {}", text(&node));
    if !Path::new(RP_DIR).join("node_modules").is_dir() {
        let ci = run(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(RP_DIR),
            "running npm ci",
        );
        assert!(ci.status.success(), "npm ci in tests/rp: {}", text(&ci));
    }

    let s = setup(&["--role", "ROLE_CLI-1STPARTY"]);
    let (public, _) = s.t.create_client(
        "spa",
        &[
            "--auth-method",
            "none",
            "--grant",
            "authorization_code",
            "--redirect-uri",
            REDIRECT,
            "--scope",
            "openid profile email",
            "--role",
            "ROLE_CLI-1STPARTY",
        ],
    );
    let server = s.t.serve(&[]);

    let out = run(
        Command::new("node")
            .args(["--test", "--test-reporter=spec", "oidc.test.mjs"])
            .current_dir(RP_DIR)
            .env("TESSERA_ISSUER", &server.base)
            .env("RP_CLIENT_ID", &s.client)
            .env("RP_CLIENT_SECRET", &s.secret)
            .env("RP_PUBLIC_CLIENT_ID", &public)
            .env("RP_REDIRECT_URI", REDIRECT)
            .env("RP_POST_LOGOUT_URI", POST_LOGOUT)
            .env("RP_LOGON", "ana")
            .env("RP_PASSWORD", PASSWORD)
            .env("RP_EMAIL", "ana@example.com"),
        "running node --test",
    );
    assert!(
        out.status.success(),
        "node --test tests/rp/oidc.test.mjs failed:\n{}\n--- server log ---\n{}",
        text(&out),
        server.log()
    );
}
