//! The hexagon, checked: `tessera-domain` must not depend on any infrastructure crate, with every
//! feature on (the `mocks` feature included).

use std::process::Command;

use anyhow::{Context as _, bail};

/// Crate-name prefixes the domain must never reach, directly or transitively.
const FORBIDDEN: &[&str] = &[
    "actix",
    "awc",
    "hyper",
    "h2",
    "reqwest",
    "mio",
    "tokio",
    "diesel",
    "r2d2",
    "libsqlite3-sys",
    "pq-sys",
    "sqlx",
    "jsonwebtoken",
    "aws-lc",
    "ring",
    "config",
    "serde",
    "tracing-subscriber",
    "tessera-http",
    "tessera-store",
    "tessera-keys",
    "tessera-app",
    "tessera-testkit",
];

/// Whether `name` is one of the forbidden crates (or a crate of that family).
fn forbidden(name: &str) -> bool {
    FORBIDDEN.iter().any(|f| {
        name == *f || name.starts_with(&format!("{f}-")) || name.starts_with(&format!("{f}_"))
    })
}

/// Names in a `cargo tree --prefix none --format {p}` listing that are forbidden.
fn violations(tree: &str) -> Vec<String> {
    let mut bad: Vec<String> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| forbidden(n))
        .map(str::to_owned)
        .collect();
    bad.sort();
    bad.dedup();
    bad
}

/// Runs the check; returns the domain's dependency list.
pub fn check() -> anyhow::Result<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "-p",
            "tessera-domain",
            "-e",
            "normal,build",
            "--all-features",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .current_dir(crate::root())
        .output()
        .context("cannot run cargo tree")?;
    if !out.status.success() {
        bail!(
            "cargo tree failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let tree = String::from_utf8(out.stdout).context("cargo tree output")?;
    let bad = violations(&tree);
    if !bad.is_empty() {
        bail!(
            "tessera-domain depends on infrastructure: {}",
            bad.join(", ")
        );
    }
    let policy = policy_in_adapters();
    if !policy.is_empty() {
        bail!("policy outside the domain: {}", policy.join("; "));
    }
    let mut names: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    names.sort_unstable();
    names.dedup();
    Ok(names.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_domain_depends_on_no_infrastructure() {
        if let Err(e) = check() {
            panic!("{e:#}");
        }
    }

    #[test]
    fn the_check_recognises_infrastructure() {
        let tree = "tessera-domain v0.1.0\nthiserror v2.0.0\ntokio v1.0.0\ntokio-macros v2.0.0\nserde_json v1\nactix-web v4\n";
        assert_eq!(
            violations(tree),
            ["actix-web", "serde_json", "tokio", "tokio-macros"]
        );
        assert!(violations("tessera-domain v0.1.0\nsha2 v0.10\nargon2 v0.5\n").is_empty());
    }
}

/// Domain functions that decide policy; the HTTP adapter must never call them itself (a dialect
/// translates, the domain decides), so a second copy of secret, scope or role checking cannot
/// creep into a dialect.
const POLICY_ONLY_IN_DOMAIN: &[&str] = &[
    "verify_any",
    "SecretVerifier",
    "resolve_scope",
    ".is_subset(",
    ".is_met_by(",
    "ttl_for(",
    "alg_for(",
];

/// Files of the HTTP adapter that mention a policy function.
pub fn policy_in_adapters() -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![crate::root().join("crates/tessera-http-actix/src")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("tests.rs") {
                // Test fixtures may build verifiers; production code may not decide with them.
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                for needle in POLICY_ONLY_IN_DOMAIN {
                    if text.contains(needle) {
                        found.push(format!("{} uses {needle}", path.display()));
                    }
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod policy_tests {
    #[test]
    fn dialects_hold_no_policy() {
        let found = super::policy_in_adapters();
        assert!(found.is_empty(), "policy outside the domain: {found:?}");
    }
}
