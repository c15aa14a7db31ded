//! `tessera-bench`: the benchmark behind `cargo xtask bench`.
//!
//! In one run, side by side on the same machine:
//! 1. signing alone: ES256 access tokens per second from the signing adapter on one core (parsed
//!    key, as the server signs), and `jsonwebtoken::encode` (which re-parses the key) for scale;
//! 2. the real release binary on SQLite, one registered client, and `client_credentials` requests
//!    over keep-alive HTTP/1.1 connections for a fixed time: tokens/s, p50/p99 latency, the
//!    server's peak RSS, and the ratio of HTTP tokens/s to the signing-only figure;
//! 3. with `--db postgres`, the same load on the same binary over a fresh PostgreSQL database, and
//!    both backends' figures side by side.

#![allow(clippy::expect_used)]

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tessera_domain::keys::{KeyState, SigningKey};
use tessera_domain::policy::Issuer;
use tessera_domain::token::AccessTokenClaims;
use tessera_domain::{Audience, ClientId, Role, ScopeSet, SigningAlgorithm, UnixTime};
use tessera_keys_jwt::{LoadedKey, generate_key, sign_with};

struct Args {
    tessera: PathBuf,
    duration: Duration,
    connections: usize,
    sign_seconds: Duration,
    /// Also run on PostgreSQL, from this server URL (a database the user may create databases from).
    postgres: Option<String>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        tessera: PathBuf::from("target/release/tessera"),
        duration: Duration::from_secs(10),
        connections: 64,
        sign_seconds: Duration::from_secs(3),
        postgres: None,
    };
    let default_pg = tessera_store_diesel::testing::PgTestDatabase::admin_url;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--tessera" => args.tessera = PathBuf::from(value()?),
            "--duration" => args.duration = Duration::from_secs(value()?.parse()?),
            "--connections" => args.connections = value()?.parse()?,
            "--sign-seconds" => args.sign_seconds = Duration::from_secs(value()?.parse()?),
            "--db" => match value()?.as_str() {
                "sqlite" => args.postgres = None,
                "postgres" => args.postgres = Some(default_pg()),
                other => bail!("--db sqlite|postgres, not {other}"),
            },
            "--postgres-url" => args.postgres = Some(value()?),
            "--help" | "-h" => {
                println!(
                    "tessera-bench [--tessera PATH] [--duration SECS=10] [--connections N=64] [--sign-seconds SECS=3] [--db sqlite|postgres] [--postgres-url URL]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}"),
        }
    }
    Ok(args)
}

fn claims() -> anyhow::Result<AccessTokenClaims> {
    let p = |e: tessera_domain::ParseError| anyhow::anyhow!("{e}");
    Ok(AccessTokenClaims {
        iss: Issuer::parse("http://127.0.0.1:8080").map_err(p)?,
        sub: "bench".into(),
        aud: Audience::parse("http://127.0.0.1:8080").map_err(p)?,
        exp: UnixTime::from_secs(1_900_000_000),
        iat: UnixTime::from_secs(1_899_996_400),
        jti: "AAAAAAAAAAAAAAAAAAAAAA".into(),
        client_id: ClientId::parse("bench").map_err(p)?,
        scope: ScopeSet::parse("read write").map_err(p)?,
        roles: vec![Role::parse("ROLE_CLI-1STPARTY").map_err(p)?],
        user: None,
        cnf: None,
        cid: None,
    })
}

/// Signs for `for_how_long` on this thread; returns tokens per second.
fn signing_rate(
    for_how_long: Duration,
    mut sign: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<f64> {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < for_how_long {
        for _ in 0..64 {
            sign()?;
        }
        n += 64;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

struct Server {
    child: std::process::Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(
    tessera: &PathBuf,
    data: &std::path::Path,
    database_url: Option<&str>,
) -> anyhow::Result<(Server, String)> {
    let tessera_cmd = || {
        let mut cmd = Command::new(tessera);
        cmd.arg("--data-dir").arg(data);
        if let Some(url) = database_url {
            cmd.env("TESSERA_DATABASE_URL", url);
        }
        cmd
    };
    let out = tessera_cmd()
        .args([
            "client",
            "create",
            "--id",
            "bench",
            "--name",
            "Bench",
            "--scope",
            "read write",
            "--role",
            "ROLE_CLI-1STPARTY",
        ])
        .output()
        .context("cannot run tessera client create")?;
    if !out.status.success() {
        bail!(
            "client create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let created: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let secret = created
        .get("client_secret")
        .and_then(serde_json::Value::as_str)
        .context("no secret")?
        .to_owned();
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
    Ok((Server { child, addr }, secret))
}

/// Peak resident set size of `pid` in KiB (Linux `VmHWM`).
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

struct Load {
    latencies_us: Vec<u32>,
    errors: u64,
    elapsed: Duration,
}

async fn connection(
    addr: String,
    auth: String,
    warmup_until: Instant,
    stop_at: Instant,
) -> anyhow::Result<(Vec<u32>, u64)> {
    let stream = tokio::net::TcpStream::connect(&addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let body = Bytes::from_static(b"grant_type=client_credentials");
    let mut latencies = Vec::with_capacity(64 * 1024);
    let mut errors = 0;
    loop {
        let now = Instant::now();
        if now >= stop_at {
            break;
        }
        let req = Request::builder()
            .method(Method::POST)
            .uri("/oauth2/token")
            .header("host", &addr)
            .header("authorization", &auth)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(body.clone()))?;
        sender.ready().await?;
        let res = sender.send_request(req).await?;
        let ok = res.status() == 200;
        let _ = res.into_body().collect().await?;
        if now >= warmup_until {
            if ok {
                latencies.push(u32::try_from(now.elapsed().as_micros()).unwrap_or(u32::MAX));
            } else {
                errors += 1;
            }
        }
    }
    Ok((latencies, errors))
}

fn run_load(
    addr: &str,
    secret: &str,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<Load> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("bench:{secret}"))
    );
    rt.block_on(async {
        let warmup_until = Instant::now() + Duration::from_secs(1);
        let stop_at = warmup_until + duration;
        let tasks: Vec<_> = (0..connections)
            .map(|_| {
                tokio::spawn(connection(
                    addr.to_owned(),
                    auth.clone(),
                    warmup_until,
                    stop_at,
                ))
            })
            .collect();
        let mut load = Load {
            latencies_us: Vec::new(),
            errors: 0,
            elapsed: duration,
        };
        for t in tasks {
            let (lat, errors) = t.await??;
            load.latencies_us.extend(lat);
            load.errors += errors;
        }
        load.elapsed = duration;
        Ok(load)
    })
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted.get(idx).copied().unwrap_or_default()) / 1000.0
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    println!(
        "tessera bench: {} connections, {:?} after 1 s warm-up, signing alone for {:?}",
        args.connections, args.duration, args.sign_seconds
    );

    // 1. Signing alone, one core.
    let (kid, der) = generate_key(SigningAlgorithm::Es256).map_err(|e| anyhow::anyhow!("{e}"))?;
    let record = SigningKey {
        kid: kid.clone(),
        alg: SigningAlgorithm::Es256,
        state: KeyState::Active,
        private_der: der.clone(),
        created_at: UnixTime::from_secs(0),
        activated_at: None,
        retire_at: None,
    };
    let key = LoadedKey::parse(&record).map_err(|e| anyhow::anyhow!("{e}"))?;
    let c = claims()?;
    let parsed_rate = signing_rate(args.sign_seconds, || {
        sign_with(&key, &c)
            .map(|_| ())
            .map_err(|e| anyhow::anyhow!("{e}"))
    })?;
    let encoding_key = jsonwebtoken::EncodingKey::from_ec_der(der.expose());
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.typ = Some("at+jwt".into());
    header.kid = Some(kid.to_string());
    let payload = serde_json::json!({"iss": "http://127.0.0.1:8080", "sub": "bench", "aud": "http://127.0.0.1:8080", "exp": 1_900_000_000, "iat": 1_899_996_400, "jti": "AAAAAAAAAAAAAAAAAAAAAA", "client_id": "bench", "scope": "read write", "roles": ["ROLE_CLI-1STPARTY"]});
    let encode_rate = signing_rate(args.sign_seconds, || {
        jsonwebtoken::encode(&header, &payload, &encoding_key)
            .map(|_| ())
            .map_err(Into::into)
    })?;

    // 2. The service over HTTP, on SQLite and (asked for) on PostgreSQL.
    let sqlite = http_figures(&args, None)?;
    let postgres = match &args.postgres {
        Some(admin) => {
            let db = tessera_store_diesel::testing::PgTestDatabase::create(admin, "tessera_bench")
                .map_err(|e| anyhow::anyhow!("--db postgres: {e}"))?;
            Some(http_figures(&args, Some(db.url()))?)
        }
        None => None,
    };

    println!();
    println!(
        "signing alone (ES256, parsed key, 1 core):     {parsed_rate:>9.0} tokens/s  ({:.1} µs/token)",
        1e6 / parsed_rate
    );
    println!(
        "jsonwebtoken::encode (re-parses, 1 core):      {encode_rate:>9.0} tokens/s  ({:.1} µs/token)",
        1e6 / encode_rate
    );
    println!(
        "HTTP client_credentials ({} conns, 2 cores):",
        args.connections
    );
    let backends: Vec<(&str, &Figures)> = std::iter::once(("SQLite", &sqlite))
        .chain(postgres.as_ref().map(|f| ("PostgreSQL", f)))
        .collect();
    for (name, f) in &backends {
        println!(
            "  {name:<10} {:>9.0} tokens/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {} requests, {} non-200; peak RSS {}; ratio to signing alone {:.2}",
            f.rate,
            f.p50,
            f.p99,
            f.max,
            f.requests,
            f.errors,
            f.rss_kib
                .map_or_else(|| "n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
            f.rate / parsed_rate
        );
    }
    println!(
        "ratio HTTP / signing alone: {:.2}",
        sqlite.rate / parsed_rate
    );
    if let Some(pg) = &postgres {
        println!(
            "ratio PostgreSQL / SQLite: {:.2} tokens/s, {:.2} p99",
            pg.rate / sqlite.rate,
            pg.p99 / sqlite.p99
        );
    }
    println!(
        "ratio parsed-key signing / jsonwebtoken::encode: {:.2}",
        parsed_rate / encode_rate
    );
    for (name, f) in &backends {
        if f.errors > 0 {
            bail!("{name}: {} requests did not get 200", f.errors);
        }
    }
    Ok(())
}

/// What one HTTP load measured.
struct Figures {
    rate: f64,
    p50: f64,
    p99: f64,
    max: f64,
    requests: usize,
    errors: u64,
    rss_kib: Option<u64>,
}

/// Starts the server (on `database_url`, else SQLite in a temporary data directory), loads it, and
/// stops it.
fn http_figures(args: &Args, database_url: Option<&str>) -> anyhow::Result<Figures> {
    let data = tempfile::tempdir()?;
    let (server, secret) = start_server(&args.tessera, data.path(), database_url)?;
    let load = run_load(&server.addr, &secret, args.connections, args.duration)?;
    let rss_kib = peak_rss_kib(server.child.id());
    drop(server);
    let mut lat = load.latencies_us;
    lat.sort_unstable();
    Ok(Figures {
        rate: lat.len() as f64 / load.elapsed.as_secs_f64(),
        p50: percentile(&lat, 0.50),
        p99: percentile(&lat, 0.99),
        max: percentile(&lat, 1.0),
        requests: lat.len(),
        errors: load.errors,
        rss_kib,
    })
}
