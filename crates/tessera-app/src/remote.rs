//! The command line against a running server: with `--server URL --token-file F`, the `client`,
//! `user`, `keys`, `registration` and `audit` commands call the admin API instead of opening the
//! database (the same use cases run there). Output is the admin API's JSON.

use std::path::Path;

use anyhow::{Context as _, anyhow, bail};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, Uri, header};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpStream;

use crate::cli::{
    AuditCommand, ClientCommand, Command, CreateArgs, KeysCommand, RegistrationCommand, UpdateArgs,
    UserCommand,
};

/// A connection to an admin API.
pub struct Remote {
    base: Uri,
    token: String,
    tls: tokio_rustls::TlsConnector,
}

/// An answer: status, `ETag`, JSON body (`null` when empty).
struct Answer {
    status: u16,
    etag: Option<String>,
    body: Value,
}

impl Remote {
    /// The admin API at `server`, with the token in `token_file`.
    ///
    /// # Errors
    /// When the URL is not `http(s)://HOST[:PORT]` or the token file cannot be read.
    pub fn new(server: &str, token_file: Option<&Path>) -> anyhow::Result<Self> {
        let base: Uri = server
            .trim_end_matches('/')
            .parse()
            .with_context(|| format!("--server: {server:?} is not a URL"))?;
        if !matches!(base.scheme_str(), Some("http" | "https")) || base.host().is_none() {
            bail!("--server: {server:?} is not an http(s)://HOST[:PORT] URL");
        }
        let file = token_file.ok_or_else(|| anyhow!("--server needs --token-file"))?;
        let token = std::fs::read_to_string(file)
            .with_context(|| format!("--token-file: cannot read {}", file.display()))?
            .trim()
            .to_owned();
        if token.is_empty() {
            bail!("--token-file: {} is empty", file.display());
        }
        Ok(Self {
            base,
            token,
            tls: crate::wiring::tls_connector(None)?,
        })
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> anyhow::Result<Answer> {
        let host = self
            .base
            .host()
            .unwrap_or_default()
            .trim_matches(['[', ']']);
        let https = self.base.scheme_str() == Some("https");
        let port = self.base.port_u16().unwrap_or(if https { 443 } else { 80 });
        let authority = self
            .base
            .authority()
            .map_or_else(|| host.to_owned(), ToString::to_string);
        let payload = body.map(Value::to_string).unwrap_or_default();
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, authority)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::ACCEPT, "application/json");
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        if let Some(tag) = if_match {
            request = request.header(header::IF_MATCH, tag);
        }
        let request = request.body(Full::new(Bytes::from(payload)))?;
        let tcp = TcpStream::connect((host, port))
            .await
            .with_context(|| format!("cannot reach {}", self.base))?;
        let response = if https {
            let name = rustls::pki_types::ServerName::try_from(host.to_owned())?;
            send(TokioIo::new(self.tls.connect(name, tcp).await?), request).await?
        } else {
            send(TokioIo::new(tcp), request).await?
        };
        Ok(response)
    }

    /// `call`, failing on anything but a 2xx with the problem's detail.
    async fn ok(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> anyhow::Result<Answer> {
        let answer = self.call(method, path, body, if_match).await?;
        if !(200..300).contains(&answer.status) {
            let detail = at(&answer.body, "detail")
                .as_str()
                .or_else(|| at(&answer.body, "title").as_str())
                .unwrap_or("no detail");
            bail!("the server answered {}: {detail}", answer.status);
        }
        Ok(answer)
    }

    /// Every item of a paginated list (`items` under `key`, `next` the cursor).
    async fn all(&self, path: &str, key: &str) -> anyhow::Result<Value> {
        let mut items = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page_path = match &after {
                Some(a) => format!("{path}?limit=1000&after={a}"),
                None => format!("{path}?limit=1000"),
            };
            let page = self.ok(Method::GET, &page_path, None, None).await?.body;
            items.extend(at(&page, key).as_array().cloned().unwrap_or_default());
            match at(&page, "next").as_str() {
                Some(next) => after = Some(next.to_owned()),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    /// A `PATCH` of `body` over the resource as it is now (its `ETag`), so that a concurrent
    /// change is refused (412), never overwritten.
    async fn patch(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let current = self.ok(Method::GET, path, None, None).await?;
        let tag = current.etag.unwrap_or_default();
        Ok(self
            .ok(Method::PATCH, path, Some(body), Some(&tag))
            .await?
            .body)
    }
}

async fn send<T>(io: T, request: Request<Full<Bytes>>) -> anyhow::Result<Answer>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await?;
    let driver = tokio::spawn(connection);
    let response = sender.send_request(request).await;
    let result = async {
        let response = response?;
        let status = response.status().as_u16();
        let etag = response
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response.into_body().collect().await?.to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        anyhow::Ok(Answer { status, etag, body })
    }
    .await;
    driver.abort();
    result
}

/// The field `key` of `v` (`null` when absent).
fn at<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key).unwrap_or(&Value::Null)
}

fn opt<T: serde::Serialize>(map: &mut serde_json::Map<String, Value>, key: &str, v: Option<T>) {
    if let Some(v) = v {
        map.insert(key.into(), json!(v));
    }
}

fn list(map: &mut serde_json::Map<String, Value>, key: &str, v: &[String]) {
    if !v.is_empty() {
        map.insert(key.into(), json!(v));
    }
}

/// A new client as the admin API takes it.
fn create_body(args: &CreateArgs) -> anyhow::Result<Value> {
    if args.secret_stdin || args.refresh_with_client_credentials {
        bail!(
            "--secret-stdin and --refresh-with-client-credentials are local only (without --server)"
        );
    }
    let mut m = serde_json::Map::new();
    m.insert("client_name".into(), json!(args.name));
    opt(&mut m, "client_id", args.id.as_ref());
    m.insert("scope".into(), json!(args.scope));
    opt(&mut m, "default_scope", args.default_scope.as_ref());
    list(&mut m, "roles", &args.roles);
    list(&mut m, "grant_types", &args.grants);
    list(&mut m, "token_endpoint_auth_methods", &args.auth_methods);
    opt(&mut m, "access_token_ttl", args.ttl);
    opt(
        &mut m,
        "access_token_signed_response_alg",
        args.alg.as_ref(),
    );
    opt(&mut m, "max_assurance", args.max_assurance.as_ref());
    let thumbprints = args
        .certs
        .iter()
        .map(|path| {
            let pem = std::fs::read_to_string(path)
                .with_context(|| format!("cert: cannot read {}", path.display()))?;
            let der = tessera_http_actix::dialect::semear::certificate_from_header(&pem)
                .ok_or_else(|| anyhow!("cert: {} is not a PEM certificate", path.display()))?;
            Ok(tessera_domain::cert::CertThumbprint::of_der(&der).to_string())
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    list(&mut m, "cert_thumbprints", &thumbprints);
    opt(
        &mut m,
        "tls_client_auth_subject_dn",
        args.subject_dn.as_ref(),
    );
    list(&mut m, "redirect_uris", &args.redirect_uris);
    list(
        &mut m,
        "post_logout_redirect_uris",
        &args.post_logout_redirect_uris,
    );
    opt(
        &mut m,
        "backchannel_logout_uri",
        args.backchannel_logout_uri.as_ref(),
    );
    opt(
        &mut m,
        "id_token_signed_response_alg",
        args.id_token_alg.as_ref(),
    );
    list(&mut m, "resources", &args.resources);
    m.insert(
        "access_token_format".into(),
        json!(args.access_token_format),
    );
    opt(&mut m, "audience", args.audience.as_ref());
    Ok(Value::Object(m))
}

/// The `PATCH` body of `tessera client update` (adding and removing redirect URIs start from
/// `current`'s list).
fn update_body(args: &UpdateArgs, current: &Value) -> anyhow::Result<Value> {
    let mut m = serde_json::Map::new();
    opt(&mut m, "client_name", args.name.as_ref());
    opt(&mut m, "scope", args.scope.as_ref());
    opt(&mut m, "default_scope", args.default_scope.as_ref());
    if args.no_roles {
        m.insert("roles".into(), json!([]));
    } else {
        list(&mut m, "roles", &args.roles);
    }
    list(&mut m, "grant_types", &args.grants);
    list(&mut m, "token_endpoint_auth_methods", &args.auth_methods);
    list(&mut m, "redirect_uris", &args.redirect_uris);
    if !args.add_redirect_uris.is_empty() || !args.remove_redirect_uris.is_empty() {
        let mut uris: Vec<String> = at(current, "redirect_uris")
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|u| u.as_str().map(str::to_owned))
            .collect();
        for add in &args.add_redirect_uris {
            if !uris.contains(add) {
                uris.push(add.clone());
            }
        }
        uris.retain(|u| !args.remove_redirect_uris.contains(u));
        m.insert("redirect_uris".into(), json!(uris));
    }
    list(
        &mut m,
        "post_logout_redirect_uris",
        &args.post_logout_redirect_uris,
    );
    list(&mut m, "resources", &args.resources);
    opt(&mut m, "access_token_ttl", args.ttl);
    opt(
        &mut m,
        "access_token_signed_response_alg",
        args.alg.as_ref(),
    );
    opt(
        &mut m,
        "access_token_format",
        args.access_token_format.as_ref(),
    );
    opt(&mut m, "audience", args.audience.as_ref());
    if args.enable || args.disable {
        m.insert("enabled".into(), json!(args.enable));
    }
    list(&mut m, "cert_thumbprints", &args.cert_thumbprints);
    opt(
        &mut m,
        "tls_client_auth_subject_dn",
        args.tls_subject_dn.as_ref(),
    );
    opt(&mut m, "max_assurance", args.max_assurance.as_ref());
    opt(
        &mut m,
        "backchannel_logout_uri",
        args.backchannel_logout_uri.as_ref(),
    );
    opt(
        &mut m,
        "id_token_signed_response_alg",
        args.id_token_alg.as_ref(),
    );
    if m.is_empty() {
        bail!("nothing to change: name at least one option (see --help)");
    }
    Ok(Value::Object(m))
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Runs `command` against the admin API.
///
/// # Errors
/// A command that exists only locally, a refused call (with the server's detail), or a
/// connection failure.
pub async fn run(remote: &Remote, command: Command) -> anyhow::Result<()> {
    use Method as M;
    let out = match command {
        Command::Client { command } => client(remote, command).await?,
        Command::User { command } => user(remote, command).await?,
        Command::Keys { command } => match command {
            KeysCommand::List => {
                let page = remote.ok(M::GET, "/admin/v1/keys", None, None).await?;
                at(&page.body, "keys").clone()
            }
            KeysCommand::Rotate { alg } => {
                let alg = alg.ok_or_else(|| anyhow!("--server: name the algorithm (--alg)"))?;
                remote
                    .ok(M::POST, "/admin/v1/keys", Some(&json!({"alg": alg})), None)
                    .await?
                    .body
            }
            KeysCommand::Retire { kid } => {
                let path = format!("/admin/v1/keys/{}/retire", enc(&kid));
                remote.ok(M::POST, &path, None, None).await?.body
            }
            KeysCommand::Rewrap { .. } => {
                bail!("keys rewrap needs the master key: run it where the database is")
            }
        },
        Command::Registration { command } => match command {
            RegistrationCommand::IssueToken {
                uses,
                expires_in,
                note,
            } => {
                let body = json!({"uses": (uses > 0).then_some(uses), "expires_in": expires_in, "note": note});
                remote
                    .ok(M::POST, "/admin/v1/registration/tokens", Some(&body), None)
                    .await?
                    .body
            }
            RegistrationCommand::ListTokens => {
                let page = remote
                    .ok(M::GET, "/admin/v1/registration/tokens", None, None)
                    .await?;
                at(&page.body, "tokens").clone()
            }
            RegistrationCommand::RevokeToken { id } => {
                let path = format!("/admin/v1/registration/tokens/{}", enc(&id));
                remote.ok(M::DELETE, &path, None, None).await?;
                json!({"id": id, "revoked": true})
            }
        },
        Command::Audit {
            command: AuditCommand::Tail { lines },
        } => {
            let page = remote
                .ok(
                    M::GET,
                    &format!("/admin/v1/audit?limit={lines}"),
                    None,
                    None,
                )
                .await?
                .body;
            for e in at(&page, "events").as_array().into_iter().flatten() {
                println!("{e}");
            }
            return Ok(());
        }
        Command::Serve(_) | Command::Migrate => {
            bail!("serve and migrate run where the database is, not with --server")
        }
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

async fn client(remote: &Remote, command: ClientCommand) -> anyhow::Result<Value> {
    use Method as M;
    let path = |id: &str| format!("/admin/v1/clients/{}", enc(id));
    Ok(match command {
        ClientCommand::List => remote.all("/admin/v1/clients", "clients").await?,
        ClientCommand::Show { id } => remote.ok(M::GET, &path(&id), None, None).await?.body,
        ClientCommand::Create(args) => {
            let body = create_body(&args)?;
            remote
                .ok(M::POST, "/admin/v1/clients", Some(&body), None)
                .await?
                .body
        }
        ClientCommand::Update(args) => {
            let current = remote.ok(M::GET, &path(&args.id), None, None).await?;
            let body = update_body(&args, &current.body)?;
            let tag = current.etag.unwrap_or_default();
            remote
                .ok(M::PATCH, &path(&args.id), Some(&body), Some(&tag))
                .await?
                .body
        }
        ClientCommand::Disable { id } => {
            remote.patch(&path(&id), &json!({"enabled": false})).await?
        }
        ClientCommand::RotateSecret { id, grace } => {
            let body = json!({"grace_seconds": grace.as_secs()});
            remote
                .ok(M::POST, &format!("{}/secret", path(&id)), Some(&body), None)
                .await?
                .body
        }
        ClientCommand::Delete { id } => {
            remote.ok(M::DELETE, &path(&id), None, None).await?;
            json!({"client_id": id, "deleted": true})
        }
    })
}

async fn user(remote: &Remote, command: UserCommand) -> anyhow::Result<Value> {
    use Method as M;
    let path = |id: &str| format!("/admin/v1/users/{}", enc(id));
    let action = |id: &str, what: &str| format!("{}/{what}", path(id));
    Ok(match command {
        UserCommand::List => remote.all("/admin/v1/users", "users").await?,
        UserCommand::Create {
            logon,
            email,
            name,
            id,
            profile,
            password_stdin,
        } => {
            let mut m = serde_json::Map::new();
            m.insert("logon".into(), json!(logon));
            m.insert("email".into(), json!(email));
            m.insert("name".into(), json!(name));
            opt(&mut m, "id", id);
            if password_stdin {
                m.insert(
                    "password".into(),
                    json!(crate::user_cmd::read_stdin_password()?),
                );
            }
            opt(&mut m, "given_name", profile.given_name);
            opt(&mut m, "family_name", profile.family_name);
            opt(&mut m, "locale", profile.locale);
            if profile.email_verified {
                m.insert("email_verified".into(), json!(true));
            }
            opt(&mut m, "phone_number", profile.phone_number);
            if profile.phone_number_verified {
                m.insert("phone_number_verified".into(), json!(true));
            }
            let address = json!({
                "street_address": profile.street_address,
                "locality": profile.locality,
                "region": profile.region,
                "postal_code": profile.postal_code,
                "country": profile.country,
            });
            if address
                .as_object()
                .is_some_and(|a| a.values().any(|v| !v.is_null()))
            {
                m.insert("address".into(), address);
            }
            remote
                .ok(M::POST, "/admin/v1/users", Some(&Value::Object(m)), None)
                .await?
                .body
        }
        UserCommand::SetPassword { id } => {
            let body = json!({"password": crate::user_cmd::read_stdin_password()?});
            remote
                .ok(M::PUT, &action(&id, "password"), Some(&body), None)
                .await?
                .body
        }
        UserCommand::SignOut { id } => {
            remote
                .ok(M::POST, &action(&id, "sign-out"), None, None)
                .await?
                .body
        }
        UserCommand::Lock { id } => {
            remote
                .ok(M::POST, &action(&id, "lock"), None, None)
                .await?
                .body
        }
        UserCommand::Unlock { id } => {
            remote
                .ok(M::POST, &action(&id, "unlock"), None, None)
                .await?
                .body
        }
        UserCommand::Disable { id } => {
            remote
                .ok(M::POST, &action(&id, "disable"), None, None)
                .await?
                .body
        }
    })
}
