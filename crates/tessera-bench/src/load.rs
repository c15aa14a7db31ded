//! The HTTP load: keep-alive HTTP/1.1 connections, each preparing its workload (a seed token, a
//! signed-in session), then, together after a warm-up, running it for a fixed time with
//! per-request latencies. Connections are spread over the given server addresses in turn.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use sha2::Digest as _;

/// The redirect URI of the bench's web client.
pub const REDIRECT: &str = "http://127.0.0.1:9/callback";
/// The bench user's password.
pub const PASSWORD: &str = "bench horse battery staple";

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
    /// RFC 7662 introspection of an active opaque access token (one indexed read).
    IntrospectOpaque,
    /// One code flow of a signed-in user: `GET /oauth2/authorize` (the session answers with a
    /// code) then the code exchange with PKCE; two requests per iteration, latency of both.
    CodeExchange,
    /// AuthMe `generate-token` with `tokenRequestType: CLIENT`.
    AuthmeClient,
}

impl Workload {
    /// Its name in the table and in `latest.json`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::ClientCredentials => "client_credentials",
            Self::Refresh => "refresh rotation",
            Self::Introspect => "JWT introspection",
            Self::IntrospectOpaque => "opaque introspection",
            Self::CodeExchange => "authorize + code exchange",
            Self::AuthmeClient => "AuthMe generate-token CLIENT",
        }
    }
}

pub struct Load {
    pub latencies_us: Vec<u32>,
    pub errors: u64,
    pub elapsed: Duration,
}

/// One answer: status, `Location`, the `Set-Cookie` pairs, body.
struct Answer {
    status: u16,
    location: Option<String>,
    cookies: Vec<String>,
    body: Bytes,
}

struct Conn {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    addr: String,
    auth: String,
    cookie: String,
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
            cookie: String::new(),
        })
    }

    async fn send(
        &mut self,
        method: Method,
        path: &str,
        content_type: &str,
        body: Bytes,
        with_auth: bool,
    ) -> anyhow::Result<Answer> {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.addr);
        if with_auth {
            req = req.header("authorization", &self.auth);
        }
        if !content_type.is_empty() {
            req = req.header("content-type", content_type);
        }
        if !self.cookie.is_empty() {
            req = req.header("cookie", &self.cookie);
        }
        let req = req.body(Full::new(body))?;
        self.sender.ready().await?;
        let res = self.sender.send_request(req).await?;
        let header = |name| {
            res.headers()
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        let location = header("location").into_iter().next();
        let cookies = header("set-cookie")
            .into_iter()
            .filter_map(|c| c.split(';').next().map(str::to_owned))
            .collect();
        let status = res.status().as_u16();
        Ok(Answer {
            status,
            location,
            cookies,
            body: res.into_body().collect().await?.to_bytes(),
        })
    }

    /// POSTs a form with the connection's client credentials; returns the status and the body.
    async fn post(&mut self, path: &str, body: Bytes) -> anyhow::Result<(u16, Bytes)> {
        let form = "application/x-www-form-urlencoded";
        let a = self.send(Method::POST, path, form, body, true).await?;
        Ok((a.status, a.body))
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

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The hidden `name="…" value="…"` fields of a page's form.
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let attr = |input: &str, name: &str| -> Option<String> {
        let start = input.find(&format!("{name}=\""))? + name.len() + 2;
        let end = input.get(start..)?.find('"')? + start;
        Some(input.get(start..end)?.replace("&amp;", "&"))
    };
    html.split("<input")
        .skip(1)
        .filter(|i| attr(i, "type").as_deref() == Some("hidden"))
        .filter_map(|i| Some((attr(i, "name")?, attr(i, "value").unwrap_or_default())))
        .collect()
}

/// What a connection carries from one request to the next.
enum Carried {
    Nothing,
    Token(String),
    /// The authorize path (with the PKCE challenge) and the verifier.
    Flow {
        authorize: String,
        verifier: String,
    },
}

/// Prepares a connection for its workload: the seed token, or the signed-in session.
async fn seed(conn: &mut Conn, workload: Workload, n: usize) -> anyhow::Result<Carried> {
    let cc = Bytes::from_static(b"grant_type=client_credentials");
    Ok(match workload {
        Workload::ClientCredentials | Workload::AuthmeClient => Carried::Nothing,
        Workload::Refresh | Workload::Introspect | Workload::IntrospectOpaque => {
            let (status, body) = conn.post("/oauth2/token", cc).await?;
            anyhow::ensure!(status == 200, "the seed token: {status}");
            let name = if workload == Workload::Refresh {
                "refresh_token"
            } else {
                "access_token"
            };
            Carried::Token(field(&body, name)?)
        }
        Workload::CodeExchange => {
            let verifier = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(format!("bench-{n}")));
            let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
            let authorize = format!(
                "/oauth2/authorize?response_type=code&client_id=bench-web&redirect_uri={}&scope=openid&state=s&code_challenge={challenge}&code_challenge_method=S256",
                enc(REDIRECT)
            );
            let page = conn
                .send(Method::GET, &authorize, "", Bytes::new(), false)
                .await?;
            anyhow::ensure!(page.status == 200, "the sign-in page: {}", page.status);
            conn.cookie = page.cookies.join("; ");
            let mut form: Vec<_> = hidden_fields(&String::from_utf8_lossy(&page.body));
            form.push(("logon".into(), "bench".into()));
            form.push(("password".into(), PASSWORD.into()));
            form.push(("tessera_action".into(), "login".into()));
            let body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form)
                .finish();
            let form_type = "application/x-www-form-urlencoded";
            let signed = conn
                .send(
                    Method::POST,
                    "/oauth2/authorize",
                    form_type,
                    body.into(),
                    false,
                )
                .await?;
            anyhow::ensure!(
                matches!(signed.status, 302 | 303),
                "sign-in: {} {}",
                signed.status,
                String::from_utf8_lossy(&signed.body)
            );
            let mut jar: Vec<String> = conn.cookie.split("; ").map(str::to_owned).collect();
            for c in signed.cookies {
                let name = c.split('=').next().unwrap_or_default().to_owned();
                jar.retain(|old| !old.starts_with(&format!("{name}=")));
                jar.push(c);
            }
            conn.cookie = jar.join("; ");
            Carried::Flow {
                authorize,
                verifier,
            }
        }
    })
}

/// One iteration of the workload; whether it succeeded.
async fn step(conn: &mut Conn, workload: Workload, carried: &mut Carried) -> anyhow::Result<bool> {
    Ok(match (workload, carried) {
        (Workload::ClientCredentials, _) => {
            let cc = Bytes::from_static(b"grant_type=client_credentials");
            conn.post("/oauth2/token", cc).await?.0 == 200
        }
        (Workload::AuthmeClient, _) => {
            let body = Bytes::from_static(
                br#"{"clientId":"bench-authme","tokenRequestType":"CLIENT","rememberMe":false,"loginGrantedAuthorities":"AUTH-IDENTIFIED"}"#,
            );
            let json = "application/json";
            let path = "/security/iam/v1/generate-token";
            conn.send(Method::POST, path, json, body, true)
                .await?
                .status
                == 201
        }
        (Workload::Refresh, Carried::Token(refresh)) => {
            let body = format!("grant_type=refresh_token&refresh_token={refresh}");
            let (status, answer) = conn.post("/oauth2/token", Bytes::from(body)).await?;
            if status == 200 {
                *refresh = field(&answer, "refresh_token")?;
            }
            status == 200
        }
        (Workload::Introspect | Workload::IntrospectOpaque, Carried::Token(token)) => {
            let body = Bytes::from(format!("token={token}"));
            let (status, answer) = conn.post("/oauth2/introspect", body).await?;
            status == 200 && answer.starts_with(b"{\"active\":true")
        }
        (
            Workload::CodeExchange,
            Carried::Flow {
                authorize,
                verifier,
            },
        ) => {
            let back = conn
                .send(Method::GET, authorize, "", Bytes::new(), false)
                .await?;
            let code = back
                .location
                .as_deref()
                .and_then(|l| l.split_once("code="))
                .and_then(|(_, rest)| rest.split('&').next())
                .map(str::to_owned);
            let Some(code) = code else {
                return Ok(false);
            };
            let body = format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={verifier}",
                enc(REDIRECT)
            );
            conn.post("/oauth2/token", Bytes::from(body)).await?.0 == 200
        }
        _ => anyhow::bail!("{workload:?} was seeded for another workload"),
    })
}

async fn connection(
    n: usize,
    addr: String,
    auth: String,
    workload: Workload,
    duration: Duration,
    ready: Arc<tokio::sync::Barrier>,
) -> anyhow::Result<(Vec<u32>, u64)> {
    // Every connection reaches the barrier, prepared or not, so that one failure cannot hang the
    // others.
    let prepared = async {
        let mut conn = Conn::open(&addr, &auth).await?;
        let carried = seed(&mut conn, workload, n).await?;
        anyhow::Ok((conn, carried))
    }
    .await;
    ready.wait().await;
    let (mut conn, mut carried) = prepared?;
    let warmup_until = Instant::now() + Duration::from_secs(1);
    let stop_at = warmup_until + duration;
    let mut latencies = Vec::with_capacity(64 * 1024);
    let mut errors = 0;
    loop {
        let now = Instant::now();
        if now >= stop_at {
            break;
        }
        let ok = step(&mut conn, workload, &mut carried).await?;
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

/// Runs `workload` on `connections` connections (spread over `addrs`) for `duration` after a
/// 1 s warm-up, as client `client_id`.
pub fn run_load(
    addrs: &[String],
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
    let auth = format!("Basic {}", STANDARD.encode(format!("{client_id}:{secret}")));
    rt.block_on(async {
        let ready = Arc::new(tokio::sync::Barrier::new(connections));
        let tasks: Vec<_> = (0..connections)
            .map(|n| {
                let addr = addrs
                    .get(n % addrs.len().max(1))
                    .cloned()
                    .unwrap_or_default();
                tokio::spawn(connection(
                    n,
                    addr,
                    auth.clone(),
                    workload,
                    duration,
                    Arc::clone(&ready),
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
