//! `tessera-bench`: the benchmark behind `cargo xtask bench`.
//!
//! In one run, side by side on the same machine:
//! 1. signing alone: ES256 access tokens per second from the signing adapter on one core (parsed
//!    key, as the server signs), and `jsonwebtoken::encode` (which re-parses the key) for scale;
//! 2. the real release binary on SQLite, and each workload over keep-alive HTTP/1.1 connections
//!    for a fixed time (`load.rs`): `client_credentials`, refresh rotation (chains of refreshes,
//!    each using the previous answer), JWT introspection: requests/s, p50/p99 latency, the
//!    server's peak RSS, each beside `client_credentials` as a ratio;
//! 3. with `--db postgres`, the same loads on the same binary over a fresh PostgreSQL database.
//!
//! The figures are printed as one table and written to `target/bench/latest.json`.

#![allow(clippy::expect_used)]

mod load;
mod server;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tessera_domain::keys::{KeyState, SigningKey};
use tessera_domain::policy::Issuer;
use tessera_domain::token::AccessTokenClaims;
use tessera_domain::{Audience, ClientId, Role, ScopeSet, SigningAlgorithm, UnixTime};
use tessera_keys_jwt::{LoadedKey, generate_key, sign_with};

struct Args {
    tessera: PathBuf,
    duration: Duration,
    connections: usize,
    /// Connections of the refresh workload, each its own chain.
    chains: usize,
    sign_seconds: Duration,
    /// Also run on PostgreSQL, from this server URL (a database the user may create databases from).
    postgres: Option<String>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        tessera: PathBuf::from("target/release/tessera"),
        duration: Duration::from_secs(10),
        connections: 64,
        chains: 16,
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
            "--chains" => args.chains = value()?.parse()?,
            "--sign-seconds" => args.sign_seconds = Duration::from_secs(value()?.parse()?),
            "--db" => match value()?.as_str() {
                "sqlite" => args.postgres = None,
                "postgres" => args.postgres = Some(default_pg()),
                other => bail!("--db sqlite|postgres, not {other}"),
            },
            "--postgres-url" => args.postgres = Some(value()?),
            "--help" | "-h" => {
                println!(
                    "tessera-bench [--tessera PATH] [--duration SECS=10] [--connections N=64] [--chains N=16] [--sign-seconds SECS=3] [--db sqlite|postgres] [--postgres-url URL]"
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

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    println!(
        "tessera bench: {} connections ({} refresh chains), {:?} after 1 s warm-up, signing alone for {:?}",
        args.connections, args.chains, args.duration, args.sign_seconds
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
    let mut runs = vec![("SQLite", http_figures(&args, None)?)];
    if let Some(admin) = &args.postgres {
        let db = tessera_store_diesel::testing::PgTestDatabase::create(admin, "tessera_bench")
            .map_err(|e| anyhow::anyhow!("--db postgres: {e}"))?;
        runs.push(("PostgreSQL", http_figures(&args, Some(db.url()))?));
    }

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
        "ratio parsed-key signing / jsonwebtoken::encode: {:.2}",
        parsed_rate / encode_rate
    );
    println!();
    println!(
        "| backend | workload | conns | req/s | × client_credentials | p50 ms | p99 ms | max ms | non-200 | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut json_rows = Vec::new();
    for (backend, figures) in &runs {
        let cc = figures
            .iter()
            .find(|f| f.workload == load::Workload::ClientCredentials)
            .map_or(1.0, |f| f.rate);
        for f in figures {
            println!(
                "| {backend} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} |",
                f.workload.name(),
                f.connections,
                f.rate,
                f.rate / cc,
                f.p50,
                f.p99,
                f.max,
                f.errors,
                f.rss_kib
                    .map_or_else(|| "n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
            );
            json_rows.push(serde_json::json!({
                "backend": backend,
                "workload": f.workload.name(),
                "connections": f.connections,
                "requests_per_second": f.rate.round(),
                "ratio_to_client_credentials": (f.rate / cc * 100.0).round() / 100.0,
                "p50_ms": f.p50,
                "p99_ms": f.p99,
                "max_ms": f.max,
                "non_200": f.errors,
                "peak_rss_kib": f.rss_kib,
            }));
        }
    }
    let report = serde_json::json!({
        "binary": args.tessera.display().to_string(),
        "duration_seconds": args.duration.as_secs(),
        "signing_alone_per_second": parsed_rate.round(),
        "jsonwebtoken_encode_per_second": encode_rate.round(),
        "runs": json_rows,
    });
    let dir = PathBuf::from("target/bench");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("latest.json"), serde_json::to_vec_pretty(&report)?)?;
    println!("\nwritten to target/bench/latest.json");
    for (backend, figures) in &runs {
        for f in figures {
            if f.errors > 0 {
                bail!(
                    "{backend} {}: {} requests did not succeed",
                    f.workload.name(),
                    f.errors
                );
            }
        }
    }
    Ok(())
}

/// What one HTTP load measured.
struct Figures {
    workload: load::Workload,
    connections: usize,
    rate: f64,
    p50: f64,
    p99: f64,
    max: f64,
    errors: u64,
    rss_kib: Option<u64>,
}

/// Starts the server (on `database_url`, else SQLite in a temporary data directory), runs every
/// workload on it one after the other, and stops it.
fn http_figures(args: &Args, database_url: Option<&str>) -> anyhow::Result<Vec<Figures>> {
    use load::Workload;
    let data = tempfile::tempdir()?;
    let (server, secrets) = server::start_server(&args.tessera, data.path(), database_url)?;
    let mut out = Vec::new();
    for (workload, client, secret, connections) in [
        (
            Workload::ClientCredentials,
            "bench",
            &secrets.plain,
            args.connections,
        ),
        (
            Workload::Refresh,
            "bench-refresh",
            &secrets.refreshing,
            args.chains,
        ),
        (
            Workload::Introspect,
            "bench",
            &secrets.plain,
            args.connections,
        ),
    ] {
        let run = load::run_load(
            &server.addr,
            client,
            secret,
            workload,
            connections,
            args.duration,
        )?;
        let mut lat = run.latencies_us;
        lat.sort_unstable();
        out.push(Figures {
            workload,
            connections,
            rate: lat.len() as f64 / run.elapsed.as_secs_f64(),
            p50: load::percentile(&lat, 0.50),
            p99: load::percentile(&lat, 0.99),
            max: load::percentile(&lat, 1.0),
            errors: run.errors,
            rss_kib: server::peak_rss_kib(server.child.id()),
        });
    }
    drop(server);
    Ok(out)
}
