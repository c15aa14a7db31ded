//! Starting the processes of a bench run: the release binary's data (clients, a user) in a data
//! directory or a PostgreSQL database, `serve` on a free port with limits far above what the
//! machine can do (one or more nodes on one database), and the reference handler.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
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

/// The secrets of the bench clients: `bench` (client_credentials only, so its tokens write
/// nothing), `bench-refresh` (also refresh tokens, from client_credentials), `bench-opaque`
/// (opaque access tokens), `bench-web` (the code flow) and `bench-authme` (AuthMe's roles).
pub struct Secrets {
    pub plain: String,
    pub refreshing: String,
    pub opaque: String,
    pub web: String,
    pub authme: String,
}

/// Where a node keeps its data.
pub struct Deployment<'a> {
    pub tessera: &'a PathBuf,
    pub data: &'a Path,
    pub database_url: Option<&'a str>,
}

impl Deployment<'_> {
    fn command(&self) -> Command {
        let mut cmd = Command::new(self.tessera);
        cmd.arg("--data-dir").arg(self.data);
        if let Some(url) = self.database_url {
            cmd.env("TESSERA_DATABASE_URL", url);
        }
        cmd
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> anyhow::Result<Vec<u8>> {
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot run tessera")?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            std::io::Write::write_all(&mut pipe, text.as_bytes())?;
        }
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "tessera {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(out.stdout)
    }

    /// Creates the bench clients and the bench user; returns the secrets.
    pub fn prepare(&self) -> anyhow::Result<Secrets> {
        let create = |id: &str, extra: &[&str]| -> anyhow::Result<String> {
            let scope = if id == "bench-web" {
                "openid"
            } else {
                "read write"
            };
            let mut args = vec![
                "client",
                "create",
                "--id",
                id,
                "--name",
                "Bench",
                "--scope",
                scope,
                "--role",
                "ROLE_CLI-1STPARTY",
                // The introspection role: the bench introspects its own tokens either way.
                "--role",
                "ROLE_CLI-INTROSPECT",
            ];
            args.extend_from_slice(extra);
            let created: serde_json::Value = serde_json::from_slice(&self.run(&args, None)?)?;
            Ok(created
                .get("client_secret")
                .and_then(serde_json::Value::as_str)
                .context("no secret")?
                .to_owned())
        };
        self.run(
            &[
                "user",
                "create",
                "--logon",
                "bench",
                "--email",
                "bench@example.com",
                "--name",
                "Bench",
                "--password-stdin",
            ],
            Some(super::load::PASSWORD),
        )?;
        Ok(Secrets {
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
            opaque: create("bench-opaque", &["--access-token-format", "opaque"])?,
            web: create(
                "bench-web",
                &[
                    "--grant",
                    "authorization_code",
                    "--redirect-uri",
                    super::load::REDIRECT,
                ],
            )?,
            authme: create("bench-authme", &["--role", "ROLE_CLI-AUTH-BASIC"])?,
        })
    }

    /// Starts `serve` on a free loopback port.
    pub fn serve(&self) -> anyhow::Result<Server> {
        let child = self
            .command()
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("TESSERA_LOG__FILTER", "warn")
            // One client on one address at full speed: raise the limits far above what the
            // machine can do, so they are checked on every request but never refuse one.
            .env("TESSERA_LIMITS__CLIENT_REQUESTS_PER_SECOND", "10000000")
            .env("TESSERA_LIMITS__CLIENT_BURST", "10000000")
            .env("TESSERA_LIMITS__ADDRESS_REQUESTS_PER_SECOND", "10000000")
            .env("TESSERA_LIMITS__ADDRESS_BURST", "10000000")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start tessera serve")?;
        listening(child, "tessera listening on http://")
    }
}

/// Starts the reference handler (this binary, `--serve-reference`) for `secret`.
pub fn serve_reference(secret: &str) -> anyhow::Result<Server> {
    let child = Command::new(std::env::current_exe()?)
        .arg("--serve-reference")
        .env(super::reference::SECRET_ENV, secret)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start the reference handler")?;
    listening(child, "reference listening on ")
}

/// Waits for the line `prefix ADDR` on the child's standard output.
fn listening(mut child: std::process::Child, prefix: &str) -> anyhow::Result<Server> {
    let stdout = child.stdout.take().context("stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines
            .next()
            .context("the server exited before listening")??;
        if let Some(rest) = line.strip_prefix(prefix) {
            break rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Ok(Server { child, addr })
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
