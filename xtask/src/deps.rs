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

/// The domain's deciding modules: every public function there is a decision (who may have which
/// scope, which lifetime applies, what a logout does, when a key rotates, whether a secret
/// matches). The HTTP adapter reaches them only through the domain's services, never by calling
/// one itself, so a second copy of a rule cannot creep into a dialect.
const DECIDING: &[&str] = &[
    "policy.rs",
    "interaction.rs",
    "logout.rs",
    "backchannel.rs",
    "keys.rs",
    "assurance.rs",
    "first_party.rs",
    "secret.rs",
    "client/access.rs",
    "authorize/request.rs",
    "user.rs",
    "metadata_document.rs",
    "service/register/metadata.rs",
];

/// Functions of the deciding modules that decide nothing: parsers, constructors, accessors and
/// renderings of values the adapter reads or writes, and the first-party policy's answer the
/// dialect asks for.
const VOCABULARY: &[&str] = &[
    "parse",
    "new",
    "of",
    "as_str",
    "as_secs",
    "expose",
    "id",
    "name",
    "label",
    "profile",
    "default_level",
    "param_ttl_secs",
    "required_roles",
    "from_secs",
    "from_roles",
    "default",
    "fmt",
    "to_string",
    "is_empty",
    "iter",
    "len",
    "contains",
    // Renderings: an address's `formatted` claim, the redirect a refused request answers with.
    "formatted",
    "refusal",
    // A metadata-document URL recognised (a parser) and its host (an accessor).
    "recognise",
    "host",
];

/// The public functions of the domain's deciding modules that are decisions.
fn decisions() -> Vec<String> {
    let domain = crate::root().join("crates/tessera-domain/src");
    let mut names = std::collections::BTreeSet::new();
    for file in DECIDING {
        let text = std::fs::read_to_string(domain.join(file)).unwrap_or_default();
        // Only the code before the unit tests.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for line in code.lines() {
            let line = line.trim_start();
            let Some(rest) = ["pub fn ", "pub const fn ", "pub async fn "]
                .iter()
                .find_map(|p| line.strip_prefix(p))
            else {
                continue;
            };
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && !VOCABULARY.contains(&name.as_str()) {
                names.insert(name);
            }
        }
    }
    names.into_iter().collect()
}

/// Whether the call at `at` goes through one of the domain's services held in the server state
/// (`state.authorize.check(…)` is the service asking the domain, which is the point).
fn through_a_service(code: &str, at: usize) -> bool {
    let before = code.get(..at).unwrap_or_default();
    let receiver: String = before
        .chars()
        .rev()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.' || c.is_whitespace())
        .filter(|c| !c.is_whitespace())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    ["state.tokens", "state.authorize", "state.params"]
        .iter()
        .any(|s| receiver.ends_with(s))
}

/// Places in the HTTP adapter's production code that call one of the domain's decisions.
pub fn policy_in_adapters() -> Vec<String> {
    let decisions = decisions();
    let mut found = Vec::new();
    let mut stack = vec![crate::root().join("crates/tessera-http-actix/src")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                // Test fixtures may build what they need.
                if !path.ends_with("tests") {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs")
                && !path.ends_with("tests.rs")
                && !path.ends_with("fuzz.rs")
            {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let code = text.split("#[cfg(test)]").next().unwrap_or_default();
                for name in &decisions {
                    let called = [".", "::"].iter().any(|sep| {
                        let call = format!("{sep}{name}(");
                        code.match_indices(&call)
                            .any(|(at, _)| !through_a_service(code, at))
                    });
                    if called {
                        found.push(format!("{} calls the domain's {name}", path.display()));
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

    #[test]
    fn the_guard_knows_the_domains_decisions() {
        let decisions = super::decisions();
        for name in [
            "resolve_scope",
            "ttl_for",
            "alg_for",
            "is_met_by",
            "next_step",
            "plan_key_changes",
            "verify_any",
        ] {
            assert!(
                decisions.iter().any(|d| d == name),
                "{name} in {decisions:?}"
            );
        }
        assert!(!decisions.iter().any(|d| d == "parse"));
    }
}
