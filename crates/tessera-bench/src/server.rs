//! Starting the release binary for a bench run: a data directory (or a PostgreSQL database), the
//! bench clients, `serve` on a free port with limits far above what the machine can do.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

pub struct Server {
    pub child: std::process::Child,
    pub addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The secrets of the two bench clients: `bench` (client_credentials only, so its tokens write
/// nothing) and `bench-refresh` (also refresh tokens, from client_credentials).
pub struct Secrets {
    pub plain: String,
    pub refreshing: String,
}

pub fn start_server(
    tessera: &PathBuf,
    data: &std::path::Path,
    database_url: Option<&str>,
) -> anyhow::Result<(Server, Secrets)> {
    let tessera_cmd = || {
        let mut cmd = Command::new(tessera);
        cmd.arg("--data-dir").arg(data);
        if let Some(url) = database_url {
            cmd.env("TESSERA_DATABASE_URL", url);
        }
        cmd
    };
    let create = |id: &str, extra: &[&str]| -> anyhow::Result<String> {
        let mut args = vec![
            "client",
            "create",
            "--id",
            id,
            "--name",
            "Bench",
            "--scope",
            "read write",
            "--role",
            "ROLE_CLI-1STPARTY",
            // The introspection role: the bench introspects its own tokens either way.
            "--role",
            "ROLE_CLI-INTROSPECT",
        ];
        args.extend_from_slice(extra);
        let out = tessera_cmd()
            .args(&args)
            .output()
            .context("cannot run tessera client create")?;
        if !out.status.success() {
            bail!(
                "client create failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let created: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        Ok(created
            .get("client_secret")
            .and_then(serde_json::Value::as_str)
            .context("no secret")?
            .to_owned())
    };
    let secrets = Secrets {
        plain: create("bench", &[])?,
        refreshing: create(
            "bench-refresh",
            &[
                "--grant",
                "client_credentials",
                "--grant",
                "refresh_token",
                "--refresh-with-client-credentials",
            ],
        )?,
    };
    let mut child = tessera_cmd()
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("TESSERA_LOG__FILTER", "warn")
        // One client on one address at full speed: raise the limits far above what the machine can
        // do, so they are checked on every request but never refuse one.
        .env("TESSERA_LIMITS__CLIENT_REQUESTS_PER_SECOND", "10000000")
        .env("TESSERA_LIMITS__CLIENT_BURST", "10000000")
        .env("TESSERA_LIMITS__ADDRESS_REQUESTS_PER_SECOND", "10000000")
        .env("TESSERA_LIMITS__ADDRESS_BURST", "10000000")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start tessera serve")?;
    let stdout = child.stdout.take().context("stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines.next().context("tessera exited before listening")??;
        if let Some(rest) = line.strip_prefix("tessera listening on http://") {
            break rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Ok((Server { child, addr }, secrets))
}

/// Peak resident set size of `pid` in KiB (Linux `VmHWM`).
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}
