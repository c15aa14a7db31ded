//! The HTTP load: keep-alive HTTP/1.1 connections, each running one workload for a fixed time
//! after a warm-up, with per-request latencies.

use std::time::{Duration, Instant};

use base64::Engine as _;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;

/// What each connection asks, over and over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// `client_credentials` for a JWT (no database write but the batched audit).
    ClientCredentials,
    /// A refresh chain: every request rotates the refresh token the previous answer gave (one
    /// write transaction each).
    Refresh,
    /// RFC 7662 introspection of an active JWT (signature, claims, the denylist).
    Introspect,
}

impl Workload {
    /// Its name in the table and in `latest.json`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::ClientCredentials => "client_credentials",
            Self::Refresh => "refresh rotation",
            Self::Introspect => "JWT introspection",
        }
    }
}

pub struct Load {
    pub latencies_us: Vec<u32>,
    pub errors: u64,
    pub elapsed: Duration,
}

struct Conn {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    addr: String,
    auth: String,
}

impl Conn {
    async fn open(addr: &str, auth: &str) -> anyhow::Result<Self> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        Ok(Self {
            sender,
            addr: addr.to_owned(),
            auth: auth.to_owned(),
        })
    }

    /// POSTs a form; returns the status and the body.
    async fn post(&mut self, path: &str, body: Bytes) -> anyhow::Result<(u16, Bytes)> {
        let req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("host", &self.addr)
            .header("authorization", &self.auth)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(body))?;
        self.sender.ready().await?;
        let res = self.sender.send_request(req).await?;
        let status = res.status().as_u16();
        Ok((status, res.into_body().collect().await?.to_bytes()))
    }
}

/// The `field` of a JSON answer.
fn field(body: &[u8], name: &str) -> anyhow::Result<String> {
    let v: serde_json::Value = serde_json::from_slice(body)?;
    v.get(name)
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no {name} in {}", String::from_utf8_lossy(body)))
}

async fn connection(
    addr: String,
    auth: String,
    workload: Workload,
    warmup_until: Instant,
    stop_at: Instant,
) -> anyhow::Result<(Vec<u32>, u64)> {
    let mut conn = Conn::open(&addr, &auth).await?;
    let cc = Bytes::from_static(b"grant_type=client_credentials");
    // The state a chain carries: the refresh token to rotate, or the token to introspect.
    let mut carried = match workload {
        Workload::ClientCredentials => String::new(),
        Workload::Refresh | Workload::Introspect => {
            let (status, body) = conn.post("/oauth2/token", cc.clone()).await?;
            anyhow::ensure!(status == 200, "the seed token: {status}");
            let name = if workload == Workload::Refresh {
                "refresh_token"
            } else {
                "access_token"
            };
            field(&body, name)?
        }
    };
    let mut latencies = Vec::with_capacity(64 * 1024);
    let mut errors = 0;
    loop {
        let now = Instant::now();
        if now >= stop_at {
            break;
        }
        let ok = match workload {
            Workload::ClientCredentials => conn.post("/oauth2/token", cc.clone()).await?.0 == 200,
            Workload::Refresh => {
                let body = format!("grant_type=refresh_token&refresh_token={carried}");
                let (status, answer) = conn.post("/oauth2/token", Bytes::from(body)).await?;
                if status == 200 {
                    carried = field(&answer, "refresh_token")?;
                }
                status == 200
            }
            Workload::Introspect => {
                let body = Bytes::from(format!("token={carried}"));
                let (status, answer) = conn.post("/oauth2/introspect", body).await?;
                status == 200 && answer.starts_with(b"{\"active\":true")
            }
        };
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

/// Runs `workload` on `connections` connections for `duration` after a 1 s warm-up, as client
/// `client_id`.
pub fn run_load(
    addr: &str,
    client_id: &str,
    secret: &str,
    workload: Workload,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<Load> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"))
    );
    rt.block_on(async {
        let warmup_until = Instant::now() + Duration::from_secs(1);
        let stop_at = warmup_until + duration;
        let tasks: Vec<_> = (0..connections)
            .map(|_| {
                tokio::spawn(connection(
                    addr.to_owned(),
                    auth.clone(),
                    workload,
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
        Ok(load)
    })
}

pub fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted.get(idx).copied().unwrap_or_default()) / 1000.0
}
