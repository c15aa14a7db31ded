//! Runs the real `tessera` binary: a temporary data directory, the command line, and a server on a
//! free port that is killed when dropped.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// The binary under test: `TESSERA_TEST_BIN` when set (to test a release build), else the one cargo
/// built from the same `main.rs` for these tests.
pub fn binary() -> PathBuf {
    std::env::var_os("TESSERA_TEST_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_tessera-under-test")),
        PathBuf::from,
    )
}

/// A data directory and the commands that use it.
pub struct Tessera {
    dir: tempfile::TempDir,
    /// Set on every command (the CLI and `serve`).
    env: Vec<(String, String)>,
}

impl Tessera {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
            env: Vec::new(),
        }
    }

    /// A node of a cluster: its own data directory, the shared database and master key.
    pub fn node(database_url: &str, master_key: &str) -> Self {
        let mut t = Self::new();
        t.env = vec![
            ("TESSERA_DATABASE_URL".into(), database_url.into()),
            ("TESSERA_MASTER_KEY".into(), master_key.into()),
        ];
        t
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// A command with the data directory set and a clean `TESSERA_` environment.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(binary());
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("TESSERA_") || k == "RUST_LOG" {
                cmd.env_remove(k);
            }
        }
        cmd.current_dir(self.dir.path())
            .arg("--data-dir")
            .arg(self.dir.path());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs the command line with `args` and optional standard input.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tessera");
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(input.as_bytes())
                .expect("write stdin");
        }
        drop(child.stdin.take());
        child.wait_with_output().expect("wait tessera")
    }

    /// Runs the command line, expecting success and JSON on standard output.
    pub fn cli_json(&self, args: &[&str]) -> Value {
        let out = self.cli(args, None);
        assert!(
            out.status.success(),
            "tessera {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON output")
    }

    /// Registers a client and returns its id and secret.
    pub fn create_client(&self, id: &str, extra: &[&str]) -> (String, String) {
        let mut args = vec!["client", "create", "--name", id, "--id", id];
        args.extend_from_slice(extra);
        let v = self.cli_json(&args);
        (
            v["client_id"].as_str().expect("id").to_owned(),
            v["client_secret"].as_str().unwrap_or_default().to_owned(),
        )
    }

    /// Starts `tessera serve` on a free port and waits until it listens.
    pub fn serve(&self, extra_env: &[(&str, &str)]) -> Server {
        let mut cmd = self.command();
        cmd.args(["serve", "--bind", "127.0.0.1:0"])
            .env("TESSERA_CACHE__REFRESH_INTERVAL_MS", "200")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn tessera serve");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        let tls_base = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
        let tls_sink = tls_base.clone();
        let admin_base = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
        let admin_sink = admin_base.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("tessera admin API listening on ")
                    && let Ok(mut a) = admin_sink.lock()
                {
                    *a = Some(rest.trim().to_owned());
                }
                if let Some(rest) = line.strip_prefix("tessera listening with mutual TLS on ")
                    && let Ok(mut t) = tls_sink.lock()
                {
                    *t = Some(rest.trim().to_owned());
                }
                if let Some(rest) = line.strip_prefix("tessera listening on ") {
                    let url = rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    let _ = tx.send(url);
                }
            }
        });
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(mut l) = sink.lock() {
                    l.push_str(&line);
                    l.push('\n');
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(base) => {
                let tls_base = tls_base.lock().ok().and_then(|t| t.clone());
                let admin_base = admin_base.lock().ok().and_then(|a| a.clone());
                Server {
                    child,
                    base,
                    log,
                    tls_base,
                    admin_base,
                }
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "tessera serve did not start: {}",
                    log.lock().map(|l| l.clone()).unwrap_or_default()
                );
            }
        }
    }
}

/// A running server.
pub struct Server {
    child: Child,
    pub base: String,
    log: std::sync::Arc<std::sync::Mutex<String>>,
    /// `https://ADDR` of the mutual-TLS listener, when configured.
    pub tls_base: Option<String>,
    /// `http://ADDR` of the admin API's listener, when configured.
    pub admin_base: Option<String>,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Kills the process with SIGKILL (no shutdown at all) and waits for it to be gone.
    pub fn kill_hard(mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM without waiting.
    pub fn terminate(&self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
    }

    /// Stops the server with SIGTERM and waits for it; returns whether it exited successfully.
    pub fn stop(self) -> bool {
        self.terminate();
        self.wait_exit()
    }

    /// Waits up to 10 s for the process to end; returns whether it exited successfully.
    pub fn wait_exit(mut self) -> bool {
        for _ in 0..200 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP answer: status, lower-cased headers, body.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }
}

/// Waits until a running server has followed a change made on the command line: its caches poll
/// the store every `cache.refresh_interval_ms` (200 ms in these tests).
pub fn settle() {
    std::thread::sleep(Duration::from_millis(600));
}

/// One shared agent (keep-alive).
pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build()
}

/// Sends `req` with an optional body, and returns the reply whatever its status.
pub fn send(req: ureq::Request, body: Option<&[u8]>) -> Reply {
    let result = match body {
        Some(b) => req.send_bytes(b),
        None => req.call(),
    };
    let res = match result {
        Ok(res) => res,
        Err(ureq::Error::Status(_, res)) => res,
        Err(e) => panic!("transport error: {e}"),
    };
    let status = res.status();
    // Every value of every header (Set-Cookie comes several times).
    let headers = res
        .headers_names()
        .into_iter()
        .flat_map(|n| {
            res.all(&n)
                .into_iter()
                .map(|v| (n.to_ascii_lowercase(), v.to_owned()))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut res.into_reader(), &mut body).expect("read body");
    Reply {
        status,
        headers,
        body,
    }
}

/// `POST` a form body to the token endpoint with an optional Authorization header.
pub fn token_request(server: &Server, authorization: Option<&str>, body: &str) -> Reply {
    let mut req = agent()
        .post(&server.url("/oauth2/token"))
        .set("Content-Type", "application/x-www-form-urlencoded");
    if let Some(auth) = authorization {
        req = req.set("Authorization", auth);
    }
    send(req, Some(body.as_bytes()))
}

/// `Basic` credentials per RFC 6749 §2.3.1 (the id and secret here need no form-encoding).
pub fn basic(id: &str, secret: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

/// A PostgreSQL database of one test's own, dropped with it (`TESSERA_TEST_POSTGRES` names the
/// server; by default the local one).
pub fn pg_database() -> tessera_store_diesel::testing::PgTestDatabase {
    use tessera_store_diesel::testing::PgTestDatabase;
    PgTestDatabase::create(&PgTestDatabase::admin_url(), "tessera_it")
        .unwrap_or_else(|e| panic!("the cluster tests need PostgreSQL: {e}"))
}
