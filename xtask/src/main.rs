//! Tessera's development tasks, run as `cargo xtask <task>`:
//!
//! - `dev`: build and run the service on its embedded default with demo clients.
//! - `ci`: the whole check, exactly as CI runs it.
//! - `deps`: the dependency-direction (hexagon) check.
//! - `bench`: the release-mode throughput benchmark.

mod deps;
mod dev;

use std::process::{Command, ExitCode};

use anyhow::{Context as _, bail};

const USAGE: &str = "usage: cargo xtask <dev|ci|deps|bench> [args]
  dev                 build and run tessera on SQLite in .dev/ with demo clients
  ci                  fmt check, clippy -D warnings, every test, dependency-direction check
  deps                check that tessera-domain depends on no infrastructure crate
  bench [ARGS]        release build, then the HTTP and signing benchmark (--help for its args)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("dev") => dev::run(),
        Some("ci") => ci(),
        Some("deps") => {
            deps::check().map(|tree| println!("tessera-domain depends only on:\n{tree}"))
        }
        Some("bench") => bench(args.get(1..).unwrap_or_default()),
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

/// Runs `cargo` with `args` in the workspace root, failing when it fails.
pub fn cargo(args: &[&str]) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("$ cargo {}", args.join(" "));
    let status = Command::new(cargo)
        .args(args)
        .current_dir(root())
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("cargo {} failed", args.join(" "));
    }
    Ok(())
}

fn ci() -> anyhow::Result<()> {
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
    deps::check()?;
    eprintln!("xtask ci: all checks passed");
    Ok(())
}

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
