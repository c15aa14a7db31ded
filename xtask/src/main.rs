//! Tessera's development tasks, run as `cargo xtask <task>`:
//!
//! - `dev`: build and run the service on its embedded default with demo clients.
//! - `ci`: the whole check, exactly as CI runs it.
//! - `deps`: the dependency-direction (hexagon) check.
//! - `bench`: the release-mode throughput benchmark.
//! - `fuzz`: the property-based fuzz targets with many cases.

mod deps;
mod dev;
mod prepare;

use std::process::{Command, ExitCode};

use anyhow::{Context as _, bail};

const USAGE: &str = "usage: cargo xtask <dev|ci|deps|bench|fuzz> [args]
  dev [--check]       build and run tessera on SQLite in .dev/ with demo clients
                      (--check: run every printed example against a throwaway server)
  ci                  fmt check, clippy -D warnings, every test, dependency-direction check
  deps                check that tessera-domain depends on no infrastructure crate
  bench [ARGS]        release build, then the HTTP and signing benchmark (--help for its args)
  fuzz [CASES]        the fuzz targets (parsers, dialect handlers) with CASES cases each
                      (default 20000; the test suite runs them with 256)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("dev") => dev::run(args.get(1).is_some_and(|a| a == "--check")),
        Some("ci") => ci(),
        Some("deps") => {
            deps::check().map(|tree| println!("tessera-domain depends only on:\n{tree}"))
        }
        Some("bench") => bench(args.get(1..).unwrap_or_default()),
        Some("fuzz") => fuzz(args.get(1).map(String::as_str), true),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of this crate).
pub fn root() -> std::path::PathBuf {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// Environment that `ci` prepared (a `PATH` with Node 20, a throwaway PostgreSQL's URL) for every
/// cargo command it runs.
static EXTRA_ENV: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();

/// Runs `cargo` with `args` in the workspace root, failing when it fails.
pub fn cargo(args: &[&str]) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("$ cargo {}", args.join(" "));
    let status = Command::new(cargo)
        .args(args)
        .envs(EXTRA_ENV.get().into_iter().flatten().map(|(k, v)| (k, v)))
        .current_dir(root())
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("cargo {} failed", args.join(" "));
    }
    Ok(())
}

fn ci() -> anyhow::Result<()> {
    let prepared = prepare::prepare()?;
    let _ = EXTRA_ENV.set(prepared.env.clone());
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ])?;
    cargo(&["test", "--workspace", "--locked"])?;
    // Every example `cargo xtask dev` prints works when pasted.
    dev::run(true)?;
    // A short fuzz run beyond the suite's own 256 cases per target (debug build, already made).
    fuzz(Some("2000"), false)?;
    deps::check()?;
    drop(prepared);
    eprintln!("xtask ci: all checks passed");
    Ok(())
}

/// The property-based fuzz targets (`fuzz` modules of the domain and the HTTP adapter) with
/// `cases` cases each; a failure is shrunk, saved under `proptest-regressions/` and fails the run.
fn fuzz(cases: Option<&str>, release: bool) -> anyhow::Result<()> {
    let cases = cases.unwrap_or("20000");
    let n: u64 = cases
        .parse()
        .with_context(|| format!("fuzz: {cases:?} is not a number of cases"))?;
    let mut args = vec![
        "test",
        "--locked",
        "-p",
        "tessera-domain",
        "-p",
        "tessera-http-actix",
    ];
    if release {
        args.push("--release");
    }
    args.extend(["fuzz::", "--", "--test-threads=2"]);
    let started = std::time::Instant::now();
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root())
        .args(&args)
        .env("PROPTEST_CASES", cases)
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("a fuzz target failed; the shrunk input is in proptest-regressions/");
    }
    eprintln!(
        "xtask fuzz: {FUZZ_TARGETS} targets × {n} cases (the handler targets run 1/20 of that) in {:.1?}, no failure",
        started.elapsed()
    );
    Ok(())
}

/// How many fuzz targets there are (checked by `fuzz_target_count_is_current`).
const FUZZ_TARGETS: usize = 14;

fn bench(args: &[String]) -> anyhow::Result<()> {
    cargo(&[
        "build",
        "--release",
        "--locked",
        "-p",
        "tessera-app",
        "-p",
        "tessera-bench",
    ])?;
    let target =
        std::env::var("CARGO_TARGET_DIR").map_or_else(|_| root().join("target"), Into::into);
    let release = target.join("release");
    let status = Command::new(release.join("tessera-bench"))
        .arg("--tessera")
        .arg(release.join("tessera"))
        .args(args)
        .status()
        .context("cannot run tessera-bench")?;
    if !status.success() {
        bail!("the benchmark failed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn fuzz_target_count_is_current() {
        let count: usize = [
            "crates/tessera-domain/src/fuzz.rs",
            "crates/tessera-http-actix/src/fuzz.rs",
        ]
        .iter()
        .map(|f| {
            std::fs::read_to_string(super::root().join(f))
                .unwrap_or_default()
                .matches("#[test]")
                .count()
        })
        .sum();
        assert_eq!(count, super::FUZZ_TARGETS);
    }
}
