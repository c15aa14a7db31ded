//! `tessera-bench`: the benchmark behind `cargo xtask bench`.
//!
//! In one run, side by side on the same machine:
//! 1. signing alone: ES256 access tokens per second from the signing adapter on one core (parsed
//!    key, as the server signs), and `jsonwebtoken::encode` (which re-parses the key) for scale;
//! 2. the reference handler (`reference.rs`): `client_credentials` with nothing but the work
//!    itself, so the server's figure reads as a ratio to it;
//! 3. the real release binary on SQLite, and each workload over keep-alive HTTP/1.1 connections
//!    for a fixed time (`load.rs`): `client_credentials`, refresh rotation (chains of refreshes,
//!    each using the previous answer), JWT introspection, opaque introspection, the code flow of
//!    a signed-in user (authorize + code exchange), AuthMe `generate-token` (`CLIENT`):
//!    requests/s, p50/p99 latency, the server's peak RSS, each beside `client_credentials` as a
//!    ratio;
//! 4. with `--db postgres`, the same loads on the same binary over a fresh PostgreSQL database,
//!    and with `--nodes 2` again on two processes sharing one database, the connections split
//!    between them.
//!
//! The figures are printed as one table and written to `target/bench/latest.json`.

#![allow(clippy::expect_used)]

mod load;
mod reference;
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
    /// On PostgreSQL, also run on this many nodes sharing one database (when above 1).
    nodes: usize,
    /// Run only the workloads whose name contains this (for profiling one of them).
    only: Option<String>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        tessera: PathBuf::from("target/release/tessera"),
        duration: Duration::from_secs(10),
        connections: 64,
        chains: 16,
        sign_seconds: Duration::from_secs(3),
        postgres: None,
        nodes: 1,
        only: None,
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
            "--nodes" => args.nodes = value()?.parse()?,
            "--only" => args.only = Some(value()?),
            "--help" | "-h" => {
                println!(
                    "tessera-bench [--tessera PATH] [--duration SECS=10] [--connections N=64] [--chains N=16] [--sign-seconds SECS=3] [--db sqlite|postgres] [--postgres-url URL] [--nodes N=1] [--only WORKLOAD]"
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
        aud: tessera_domain::resource::Audiences::one(
            Audience::parse("http://127.0.0.1:8080").map_err(p)?,
        ),
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
    if std::env::args().nth(1).as_deref() == Some("--serve-reference") {
        return reference::serve();
    }
    let args = parse_args()?;
    println!(
        "tessera bench: {} connections ({} refresh and code-flow chains), {:?} after 1 s warm-up, signing alone for {:?}",
        args.connections, args.chains, args.duration, args.sign_seconds
    );
    let (parsed_rate, encode_rate) = signing(&args)?;

    // The service over HTTP, on SQLite and (asked for) on PostgreSQL, on one node and on several.
    let mut runs = vec![("SQLite".to_owned(), http_figures(&args, None, 1)?)];
    let mut databases = Vec::new();
    if let Some(admin) = &args.postgres {
        let mut node_counts = vec![1];
        if args.nodes > 1 {
            node_counts.push(args.nodes);
        }
        for nodes in node_counts {
            let name = format!("tessera_bench_{nodes}");
            let db = tessera_store_diesel::testing::PgTestDatabase::create(admin, &name)
                .map_err(|e| anyhow::anyhow!("--db postgres: {e}"))?;
            let label = if nodes == 1 {
                "PostgreSQL".to_owned()
            } else {
                format!("PostgreSQL, {nodes} nodes")
            };
            runs.push((label, http_figures(&args, Some(db.url()), nodes)?));
            databases.push(db);
        }
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
    let json_rows = print_table(&runs);
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
                    f.label,
                    f.errors
                );
            }
        }
    }
    Ok(())
}

/// Signing alone on this thread: (parsed key, `jsonwebtoken::encode`) tokens per second.
fn signing(args: &Args) -> anyhow::Result<(f64, f64)> {
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
    Ok((parsed_rate, encode_rate))
}

/// Prints the table, each row beside its backend's `client_credentials`; returns the JSON rows.
fn print_table(runs: &[(String, Vec<Figures>)]) -> Vec<serde_json::Value> {
    println!(
        "| backend | workload | conns | req/s | × client_credentials | p50 ms | p99 ms | max ms | non-200 | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut json_rows = Vec::new();
    for (backend, figures) in runs {
        let cc = figures
            .iter()
            .find(|f| f.label == load::Workload::ClientCredentials.name())
            .map_or(1.0, |f| f.rate);
        for f in figures {
            println!(
                "| {backend} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} |",
                f.label,
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
                "workload": f.label,
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
        if let Some(reference) = figures.iter().find(|f| f.label == REFERENCE) {
            println!(
                "| {backend} | **client_credentials / reference handler** | | **{:.2}** | | | | | | |",
                cc / reference.rate
            );
        }
    }
    json_rows
}

/// The label of the reference handler's row.
const REFERENCE: &str = "reference handler (client_credentials)";

/// What one HTTP load measured.
struct Figures {
    label: &'static str,
    connections: usize,
    rate: f64,
    p50: f64,
    p99: f64,
    max: f64,
    errors: u64,
    rss_kib: Option<u64>,
}

impl Figures {
    fn of(label: &'static str, connections: usize, run: load::Load, rss_kib: Option<u64>) -> Self {
        let mut lat = run.latencies_us;
        lat.sort_unstable();
        Self {
            label,
            connections,
            rate: lat.len() as f64 / run.elapsed.as_secs_f64(),
            p50: load::percentile(&lat, 0.50),
            p99: load::percentile(&lat, 0.99),
            max: load::percentile(&lat, 1.0),
            errors: run.errors,
            rss_kib,
        }
    }
}

/// Prepares the deployment (on `database_url`, else SQLite in a temporary data directory), starts
/// `nodes` servers on it, runs the reference handler then every workload one after the other
/// with the connections split between the nodes, and stops them. The peak RSS is the largest
/// node's.
fn http_figures(
    args: &Args,
    database_url: Option<&str>,
    nodes: usize,
) -> anyhow::Result<Vec<Figures>> {
    use load::Workload;
    let data = tempfile::tempdir()?;
    let deployment = server::Deployment {
        tessera: &args.tessera,
        data: data.path(),
        database_url,
    };
    let secrets = deployment.prepare()?;
    let servers = (0..nodes.max(1))
        .map(|_| deployment.serve())
        .collect::<anyhow::Result<Vec<_>>>()?;
    let addrs: Vec<String> = servers.iter().map(|s| s.addr.clone()).collect();
    let rss = || {
        servers
            .iter()
            .filter_map(|s| server::peak_rss_kib(s.child.id()))
            .max()
    };
    let mut out = Vec::new();
    // The reference handler, just before the server's own client_credentials.
    let reference = server::serve_reference(&secrets.plain)?;
    let run = load::run_load(
        std::slice::from_ref(&reference.addr),
        "bench",
        &secrets.plain,
        Workload::ClientCredentials,
        args.connections,
        args.duration,
    )?;
    let reference_rss = server::peak_rss_kib(reference.child.id());
    drop(reference);
    out.push(Figures::of(REFERENCE, args.connections, run, reference_rss));
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
        (
            Workload::IntrospectOpaque,
            "bench-opaque",
            &secrets.opaque,
            args.connections,
        ),
        (
            Workload::CodeExchange,
            "bench-web",
            &secrets.web,
            args.chains,
        ),
        (
            Workload::AuthmeClient,
            "bench-authme",
            &secrets.authme,
            args.connections,
        ),
    ] {
        if args
            .only
            .as_deref()
            .is_some_and(|o| !workload.name().contains(o))
        {
            continue;
        }
        let run = load::run_load(&addrs, client, secret, workload, connections, args.duration)?;
        out.push(Figures::of(workload.name(), connections, run, rss()));
    }
    drop(servers);
    Ok(out)
}
