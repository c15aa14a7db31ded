//! Configuration: defaults, then `tessera.toml` (or `--config`), then `TESSERA_…` environment
//! variables (`__` separates sections: `TESSERA_SERVER__BIND`), then command-line flags. Read once
//! at start-up and checked into domain values there, so a bad setting fails at boot with a message
//! that names its key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use config::{Config, Environment, File, FileFormat};
use serde::Deserialize;
use tessera_domain::keys::KeyPolicy;
use tessera_domain::policy::Issuer;
use tessera_domain::{Audience, Role, SigningAlgorithm, TokenTtl};
use tessera_http_actix::{AuthMeRoute, DialectRoute, Dialects, SemearRoute};
use tessera_store_diesel::{DatabaseUrl, StoreConfig};

use crate::cli::{GlobalArgs, ServeArgs};

/// Where the master key comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MasterKeySource {
    /// `master_key` (or `TESSERA_MASTER_KEY`): the key itself, base64.
    Configured(tessera_keys_jwt::MasterKey),
    /// `master_key_file`: a file holding it.
    File(PathBuf),
    /// Not configured: on a loopback address, the data directory's `master.key` (generated when
    /// absent); elsewhere `serve` refuses to start.
    None,
}

/// The file read when `--config` and `TESSERA_CONFIG` are both absent, if it exists.
const DEFAULT_FILE: &str = "tessera.toml";

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Raw {
    data_dir: PathBuf,
    database_url: Option<String>,
    master_key: Option<String>,
    master_key_file: Option<PathBuf>,
    server: RawServer,
    storage: RawStorage,
    tokens: RawTokens,
    keys: RawKeys,
    cache: RawCache,
    log: RawLog,
    dialects: RawDialects,
    oidc: RawOidc,
    users: RawUsers,
    limits: RawLimits,
    audit: RawAudit,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    retention_days: u32,
    token_events: bool,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    client_requests_per_second: f64,
    client_burst: u32,
    address_requests_per_second: f64,
    address_burst: u32,
    max_failed_authentications: u32,
    failed_authentication_window_seconds: u64,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct RawOidc {
    id_token_algorithm: Option<String>,
    require_pkce: bool,
    code_ttl_seconds: u32,
    session_ttl_seconds: u32,
    backchannel_timeout_ms: u64,
    backchannel_give_up_seconds: u32,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct RawUsers {
    max_failed_sign_ins: u32,
    lockout_seconds: u32,
    max_failed_sign_ins_per_address: u32,
    address_window_seconds: u32,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct RawDialects {
    serproid: RawDialect,
    screening_eagle: RawDialect,
    authme: RawAuthMe,
    semear: RawSemear,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct RawSemear {
    enabled: bool,
    path: String,
    trust_client_cert_header: bool,
    default_ttl_seconds: Option<u64>,
    algorithm: String,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct RawAuthMe {
    enabled: bool,
    path_prefix: String,
    required_roles: String,
    access_ttl_seconds: u64,
    remember_me_ttl_seconds: u64,
    param_ttl_seconds: u32,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct RawDialect {
    enabled: bool,
    path: String,
    default_ttl_seconds: Option<u64>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct RawServer {
    bind: String,
    issuer: Option<String>,
    workers: usize,
    header_timeout_ms: u64,
    body_timeout_ms: u64,
    max_connections: usize,
    tls: Option<RawTls>,
    client_ca_file: Option<PathBuf>,
    trusted_proxies: Vec<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct RawTls {
    bind: String,
    cert_file: PathBuf,
    key_file: PathBuf,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    max_connections: u32,
    busy_timeout_ms: u64,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct RawTokens {
    default_ttl_seconds: u64,
    default_algorithm: String,
    default_audience: Option<String>,
    refresh_ttl_seconds: u64,
    refresh_reuse_grace_seconds: u64,
    introspection_role: String,
    purge_interval_seconds: u64,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct RawKeys {
    algorithms: Vec<String>,
    jwks_max_age_seconds: u32,
    publish_lead_seconds: Option<u32>,
    rotation_period_seconds: u32,
    retire_after_seconds: u32,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct RawCache {
    refresh_interval_ms: u64,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct RawLog {
    filter: String,
    format: String,
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// The checked configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Where the database is, and how to pool it.
    pub store: StoreConfig,
    /// The data directory (the generated master key lives there on loopback deployments).
    pub data_dir: PathBuf,
    /// Where the master key that seals secrets at rest comes from.
    pub master_key: MasterKeySource,
    /// Where to listen.
    pub bind: SocketAddr,
    /// The issuer, when configured; otherwise derived from the bound address.
    pub issuer: Option<Issuer>,
    /// HTTP worker threads (0: one per core).
    pub workers: usize,
    /// How long a client may take to send its request head, its body, and how many connections
    /// each worker holds at most (slow clients cannot exhaust the server).
    pub http_limits: (Duration, Duration, usize),
    /// The optional mutual-TLS listener: address, certificate chain file, key file.
    pub tls: Option<(SocketAddr, PathBuf, PathBuf)>,
    /// The PEM bundle of CAs trusted to issue `tls_client_auth` certificates (RFC 8705 §2.1),
    /// whether they arrive over mutual TLS or from a trusted gateway's header.
    pub client_ca_file: Option<PathBuf>,
    /// Load balancers and proxies whose `X-Forwarded-For` names the client (addresses or CIDR
    /// networks); the per-address limits and the audit trail then see clients, not the proxy.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Default access-token lifetime.
    pub default_ttl: TokenTtl,
    /// Default signing algorithm.
    pub default_alg: SigningAlgorithm,
    /// The algorithm of ID tokens.
    pub id_token_alg: SigningAlgorithm,
    /// The authorization endpoint's policy.
    pub authorize: tessera_domain::service::AuthorizePolicy,
    /// Back-channel logout: how long one delivery may take, and after how long (seconds) an
    /// undelivered notice is abandoned.
    pub backchannel: (Duration, u32),
    /// How failed sign-ins are answered.
    pub lockout: tessera_domain::user::LockoutPolicy,
    /// Request-rate and failed-authentication limits.
    pub limits: crate::limits::Limits,
    /// How long audit events are kept, in days.
    pub audit_retention_days: u32,
    /// Whether every token issued or refreshed is an audit event (the other events always are).
    pub audit_token_events: bool,
    /// Default audience; the issuer when absent.
    pub default_audience: Option<Audience>,
    /// Absolute lifetime of refresh-token families, in seconds.
    pub refresh_ttl_secs: u32,
    /// Grace window for a retried refresh, in seconds.
    pub refresh_grace_secs: u32,
    /// The role that lets a client introspect other clients' tokens.
    pub introspection_role: Role,
    /// How often expired tokens and denylist entries are purged.
    pub purge_interval: Duration,
    /// Algorithms that have signing keys.
    pub algorithms: Vec<SigningAlgorithm>,
    /// JWKS `max-age`.
    pub jwks_max_age: u32,
    /// How keys publish, activate, retire and rotate.
    pub key_policy: KeyPolicy,
    /// The vendor dialects that are on, and where.
    pub dialects: Dialects,
    /// How often caches compare their version with the store's.
    pub cache_refresh: Duration,
    /// Log filter (`tracing` env-filter syntax).
    pub log_filter: String,
    /// Log format.
    pub log_format: LogFormat,
}

fn defaults(
    builder: config::ConfigBuilder<config::builder::DefaultState>,
) -> Result<config::ConfigBuilder<config::builder::DefaultState>, config::ConfigError> {
    builder
        .set_default("data_dir", "./tessera-data")?
        .set_default("server.bind", "127.0.0.1:8080")?
        .set_default("server.workers", 0)?
        .set_default("server.header_timeout_ms", 5000)?
        .set_default("server.body_timeout_ms", 10_000)?
        .set_default("server.max_connections", 25_000)?
        .set_default("server.trusted_proxies", Vec::<String>::new())?
        .set_default("storage.max_connections", 8)?
        .set_default("storage.busy_timeout_ms", 5000)?
        .set_default("tokens.default_ttl_seconds", 3600)?
        .set_default("tokens.default_algorithm", "ES256")?
        .set_default("tokens.refresh_ttl_seconds", 30 * 86_400)?
        .set_default("tokens.refresh_reuse_grace_seconds", 5)?
        .set_default("tokens.introspection_role", "ROLE_CLI-INTROSPECT")?
        .set_default("tokens.purge_interval_seconds", 300)?
        .set_default("keys.algorithms", vec!["ES256", "RS256", "PS256", "EdDSA"])?
        .set_default("keys.jwks_max_age_seconds", 300)?
        .set_default("keys.rotation_period_seconds", 90 * 86_400)?
        .set_default("keys.retire_after_seconds", 8 * 86_400)?
        .set_default("oidc.require_pkce", true)?
        .set_default("oidc.code_ttl_seconds", 60)?
        .set_default("oidc.session_ttl_seconds", 8 * 3600)?
        .set_default("oidc.backchannel_timeout_ms", 5000)?
        .set_default("oidc.backchannel_give_up_seconds", 3600)?
        .set_default("audit.retention_days", 90)?
        .set_default("audit.token_events", true)?
        .set_default("limits.client_requests_per_second", 100.0)?
        .set_default("limits.client_burst", 200)?
        .set_default("limits.address_requests_per_second", 200.0)?
        .set_default("limits.address_burst", 400)?
        .set_default("limits.max_failed_authentications", 20)?
        .set_default("limits.failed_authentication_window_seconds", 60)?
        .set_default("users.max_failed_sign_ins", 5)?
        .set_default("users.lockout_seconds", 900)?
        .set_default("users.max_failed_sign_ins_per_address", 20)?
        .set_default("users.address_window_seconds", 900)?
        .set_default("dialects.serproid.enabled", true)?
        .set_default("dialects.serproid.path", "/oauth/v0/oauth/client_token")?
        .set_default("dialects.serproid.default_ttl_seconds", 3600)?
        .set_default("dialects.screening_eagle.enabled", true)?
        .set_default("dialects.screening_eagle.path", "/api/id/v1/auth/token")?
        .set_default("dialects.screening_eagle.default_ttl_seconds", 7 * 86_400)?
        .set_default("dialects.semear.enabled", true)?
        .set_default("dialects.semear.path", "/oauth-apipix/oauth/token")?
        .set_default("dialects.semear.trust_client_cert_header", false)?
        .set_default("dialects.semear.default_ttl_seconds", 3600)?
        .set_default("dialects.semear.algorithm", "RS256")?
        .set_default("dialects.authme.enabled", true)?
        .set_default("dialects.authme.path_prefix", "/security/iam/v1")?
        .set_default(
            "dialects.authme.required_roles",
            "ROLE_CLI-1STPARTY+ROLE_CLI-AUTH-BASIC",
        )?
        .set_default("dialects.authme.access_ttl_seconds", 1800)?
        .set_default("dialects.authme.remember_me_ttl_seconds", 600)?
        .set_default("dialects.authme.param_ttl_seconds", 300)?
        .set_default("cache.refresh_interval_ms", 1000)?
        .set_default("log.filter", "info")?
        .set_default("log.format", "pretty")
}

/// Checks AuthMe's settings; `None` when it is switched off.
fn authme(raw: &RawAuthMe) -> anyhow::Result<Option<AuthMeRoute>> {
    if !raw.enabled {
        return Ok(None);
    }
    let prefix = raw.path_prefix.trim_end_matches('/');
    if !prefix.starts_with('/')
        || prefix.len() < 2
        || prefix.contains(['?', '#', ' ', '{', '}'])
        || prefix.starts_with("/oauth2")
    {
        bail!(
            "dialects.authme.path_prefix: {:?} must be an absolute path of its own",
            raw.path_prefix
        );
    }
    let required_roles = tessera_domain::assurance::RoleRequirement::parse(&raw.required_roles)
        .map_err(|e| anyhow!("dialects.authme.required_roles: {e}"))?;
    let client_ttl = TokenTtl::from_secs(raw.access_ttl_seconds)
        .map_err(|e| anyhow!("dialects.authme.access_ttl_seconds: {e}"))?;
    let remember_me_ttl = TokenTtl::from_secs(raw.remember_me_ttl_seconds)
        .map_err(|e| anyhow!("dialects.authme.remember_me_ttl_seconds: {e}"))?;
    let policy = tessera_domain::first_party::FirstPartyPolicy::new(
        required_roles,
        Some(client_ttl),
        remember_me_ttl,
        raw.param_ttl_seconds,
    )
    .map_err(|e| anyhow!("dialects.authme.{e}"))?;
    Ok(Some(AuthMeRoute {
        prefix: prefix.to_owned(),
        policy,
    }))
}

/// Checks one dialect's settings; `None` when it is switched off.
fn dialect(name: &str, raw: &RawDialect) -> anyhow::Result<Option<DialectRoute>> {
    if !raw.enabled {
        return Ok(None);
    }
    if !raw.path.starts_with('/') || raw.path.contains(['?', '#', ' ', '{', '}']) {
        bail!(
            "dialects.{name}.path: {:?} must be an absolute path without query or pattern",
            raw.path
        );
    }
    let default_ttl = raw
        .default_ttl_seconds
        .map(TokenTtl::from_secs)
        .transpose()
        .map_err(|e| anyhow!("dialects.{name}.default_ttl_seconds: {e}"))?;
    Ok(Some(DialectRoute {
        path: raw.path.clone(),
        default_ttl,
    }))
}

/// A configuration error, with the environment variable that caused it named: `unknown field
/// `bin`` means little when it came from a stray `TESSERA_BIN`.
fn explain(error: &str, env_names: &[String]) -> String {
    let field = error
        .split("unknown field `")
        .nth(1)
        .and_then(|rest| rest.split('`').next());
    let culprit = env_names.iter().find(|name| {
        let path = name
            .strip_prefix("TESSERA_")
            .unwrap_or(name)
            .to_ascii_lowercase();
        let key = path.rsplit("__").next().unwrap_or(&path);
        field.is_some_and(|f| f == key) || error.contains(&format!("`{}`", path.replace("__", ".")))
    });
    match culprit {
        Some(name) => format!(
            "{error} (from the environment variable {name}; Tessera reads TESSERA_SECTION__KEY, e.g. TESSERA_SERVER__BIND: remove or rename it)"
        ),
        None => error.to_owned(),
    }
}

impl Settings {
    /// Loads and checks the configuration.
    ///
    /// # Errors
    /// When the file cannot be read or parsed, a key is unknown, or a value is invalid; the message
    /// names the key.
    pub fn load(global: &GlobalArgs, serve: Option<&ServeArgs>) -> anyhow::Result<Self> {
        let env: std::collections::HashMap<String, String> = std::env::vars().collect();
        Self::load_from(global, serve, &env)
    }

    /// [`Settings::load`] with an explicit environment, for tests.
    pub(crate) fn load_from(
        global: &GlobalArgs,
        serve: Option<&ServeArgs>,
        env: &std::collections::HashMap<String, String>,
    ) -> anyhow::Result<Self> {
        let mut builder = defaults(Config::builder()).context("built-in defaults")?;
        let file = global
            .config
            .clone()
            .or_else(|| env.get("TESSERA_CONFIG").map(PathBuf::from));
        match &file {
            Some(path) => {
                if !path.is_file() {
                    bail!("configuration file {} does not exist", path.display());
                }
                builder = builder.add_source(File::from(path.as_path()).format(FileFormat::Toml));
            }
            None if Path::new(DEFAULT_FILE).is_file() => {
                builder = builder.add_source(File::new(DEFAULT_FILE, FileFormat::Toml));
            }
            None => {}
        }
        let tessera_env: config::Map<String, String> = env
            .iter()
            .filter(|(k, _)| k.starts_with("TESSERA_") && k.as_str() != "TESSERA_CONFIG")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let env_names: Vec<String> = tessera_env.keys().cloned().collect();
        builder = builder.add_source(
            Environment::with_prefix("TESSERA")
                .prefix_separator("_")
                .separator("__")
                .list_separator(",")
                .with_list_parse_key("keys.algorithms")
                .with_list_parse_key("server.trusted_proxies")
                .try_parsing(true)
                .source(Some(tessera_env)),
        );
        let flag = |b: config::ConfigBuilder<_>, key: &str, v: Option<String>| {
            b.set_override_option(key, v)
        };
        builder = flag(
            builder,
            "data_dir",
            global.data_dir.as_ref().map(|p| p.display().to_string()),
        )?;
        builder = flag(builder, "database_url", global.database_url.clone())?;
        if let Some(serve) = serve {
            builder = flag(builder, "server.bind", serve.bind.clone())?;
            builder = flag(builder, "server.issuer", serve.issuer.clone())?;
        }
        let raw: Raw = builder
            .build()
            .and_then(Config::try_deserialize)
            .map_err(|e| anyhow!("configuration: {}", explain(&e.to_string(), &env_names)))?;
        Self::check(raw)
    }

    fn check(raw: Raw) -> anyhow::Result<Self> {
        let url = match raw.database_url.as_deref().filter(|u| !u.is_empty()) {
            Some(url) => DatabaseUrl::parse(url).map_err(|e| anyhow!("database_url: {e}"))?,
            None => DatabaseUrl::in_data_dir(&raw.data_dir),
        };
        let mut store = StoreConfig::new(url);
        store.max_connections = raw.storage.max_connections;
        store.busy_timeout = Duration::from_millis(raw.storage.busy_timeout_ms);
        if store.max_connections == 0 {
            bail!("storage.max_connections: must be at least 1");
        }
        let bind: SocketAddr =
            raw.server.bind.parse().map_err(|_| {
                anyhow!("server.bind: {:?} is not an ADDRESS:PORT", raw.server.bind)
            })?;
        let tls = match &raw.server.tls {
            Some(t) => {
                let addr: SocketAddr = t
                    .bind
                    .parse()
                    .map_err(|_| anyhow!("server.tls.bind: {:?} is not an ADDRESS:PORT", t.bind))?;
                for (key, file) in [
                    ("server.tls.cert_file", &t.cert_file),
                    ("server.tls.key_file", &t.key_file),
                ] {
                    if !file.is_file() {
                        bail!("{key}: {} does not exist", file.display());
                    }
                }
                Some((addr, t.cert_file.clone(), t.key_file.clone()))
            }
            None => None,
        };
        let mut trusted_proxies = Vec::new();
        for p in raw
            .server
            .trusted_proxies
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
        {
            let net = p
                .parse::<ipnet::IpNet>()
                .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    anyhow!("server.trusted_proxies: {p:?} is not an IP address or CIDR network")
                })?;
            trusted_proxies.push(net);
        }
        let client_ca_file = raw
            .server
            .client_ca_file
            .clone()
            .filter(|f| !f.as_os_str().is_empty());
        if let Some(file) = &client_ca_file
            && !file.is_file()
        {
            bail!("server.client_ca_file: {} does not exist", file.display());
        }
        let issuer = raw
            .server
            .issuer
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(Issuer::parse)
            .transpose()
            .map_err(|e| anyhow!("server.issuer: {e}"))?;
        let default_ttl = TokenTtl::from_secs(raw.tokens.default_ttl_seconds)
            .map_err(|e| anyhow!("tokens.default_ttl_seconds: {e}"))?;
        let default_alg = SigningAlgorithm::parse(&raw.tokens.default_algorithm)
            .map_err(|e| anyhow!("tokens.default_algorithm: {e}"))?;
        let default_audience = raw
            .tokens
            .default_audience
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(Audience::parse)
            .transpose()
            .map_err(|e| anyhow!("tokens.default_audience: {e}"))?;
        let mut algorithms = Vec::new();
        for a in &raw.keys.algorithms {
            let alg =
                SigningAlgorithm::parse(a.trim()).map_err(|e| anyhow!("keys.algorithms: {e}"))?;
            if !algorithms.contains(&alg) {
                algorithms.push(alg);
            }
        }
        if !algorithms.contains(&default_alg) {
            bail!("keys.algorithms: must include tokens.default_algorithm ({default_alg})");
        }
        // OpenID Connect Discovery 1.0 §3: id_token_signing_alg_values_supported MUST include
        // RS256, so an RS256 key always exists (access tokens use it only when asked to).
        if !algorithms.contains(&SigningAlgorithm::Rs256) {
            algorithms.push(SigningAlgorithm::Rs256);
        }
        let refresh_ttl_secs = u32::try_from(raw.tokens.refresh_ttl_seconds)
            .ok()
            .filter(|s| (60..=366 * 86_400).contains(s))
            .ok_or_else(|| {
                anyhow!("tokens.refresh_ttl_seconds: must be between 60 seconds and 366 days")
            })?;
        let refresh_grace_secs = u32::try_from(raw.tokens.refresh_reuse_grace_seconds)
            .ok()
            .filter(|s| *s <= 60)
            .ok_or_else(|| anyhow!("tokens.refresh_reuse_grace_seconds: must be at most 60"))?;
        let introspection_role = Role::parse(&raw.tokens.introspection_role)
            .map_err(|e| anyhow!("tokens.introspection_role: {e}"))?;
        let publish_lead_secs = raw
            .keys
            .publish_lead_seconds
            .unwrap_or(raw.keys.jwks_max_age_seconds);
        if publish_lead_secs < raw.keys.jwks_max_age_seconds {
            bail!(
                "keys.publish_lead_seconds: must be at least keys.jwks_max_age_seconds ({}), or a resource server could meet a kid it has not fetched",
                raw.keys.jwks_max_age_seconds
            );
        }
        let dialects = Dialects {
            serproid: dialect("serproid", &raw.dialects.serproid)?,
            screening_eagle: dialect("screening_eagle", &raw.dialects.screening_eagle)?,
            authme: authme(&raw.dialects.authme)?,
            semear: match dialect(
                "semear",
                &RawDialect {
                    enabled: raw.dialects.semear.enabled,
                    path: raw.dialects.semear.path.clone(),
                    default_ttl_seconds: raw.dialects.semear.default_ttl_seconds,
                },
            )? {
                Some(route) => {
                    let algorithm = SigningAlgorithm::parse(&raw.dialects.semear.algorithm)
                        .map_err(|e| anyhow!("dialects.semear.algorithm: {e}"))?;
                    if !algorithms.contains(&algorithm) {
                        bail!(
                            "dialects.semear.algorithm: {algorithm} is not in keys.algorithms (enable it, or switch the dialect off with dialects.semear.enabled = false)"
                        );
                    }
                    Some(SemearRoute {
                        path: route.path,
                        trust_cert_header: raw.dialects.semear.trust_client_cert_header,
                        default_ttl: route.default_ttl,
                        algorithm,
                    })
                }
                None => None,
            },
        };
        if let Err((path, why)) = tessera_http_actix::check_routes(&dialects) {
            // Name the setting that put a dialect there.
            let key = [
                ("serproid.path", dialects.serproid.as_ref().map(|d| &d.path)),
                (
                    "screening_eagle.path",
                    dialects.screening_eagle.as_ref().map(|d| &d.path),
                ),
                ("semear.path", dialects.semear.as_ref().map(|d| &d.path)),
            ]
            .into_iter()
            .find(|(_, p)| p.is_some_and(|p| *p == path))
            .map_or("authme.path_prefix", |(key, _)| key);
            bail!("dialects.{key}: {path:?} {why}");
        }
        let semear_route = dialects.semear.as_ref().map(|s| DialectRoute {
            path: s.path.clone(),
            default_ttl: s.default_ttl,
        });
        let longest = [
            dialects.serproid.as_ref(),
            dialects.screening_eagle.as_ref(),
            semear_route.as_ref(),
        ]
        .into_iter()
        .flatten()
        .filter_map(|d| d.default_ttl)
        .map(TokenTtl::as_secs)
        .fold(default_ttl.as_secs(), u32::max);
        if raw.keys.retire_after_seconds < longest {
            bail!(
                "keys.retire_after_seconds: must be at least the longest default access-token lifetime ({longest} s), or tokens would outlive their key"
            );
        }
        let key_policy = KeyPolicy {
            publish_lead_secs,
            rotation_period_secs: (raw.keys.rotation_period_seconds > 0)
                .then_some(raw.keys.rotation_period_seconds),
            retire_after_secs: raw.keys.retire_after_seconds,
        };
        let id_token_alg = match raw
            .oidc
            .id_token_algorithm
            .as_deref()
            .filter(|a| !a.is_empty())
        {
            Some(a) => {
                let alg = SigningAlgorithm::parse(a)
                    .map_err(|e| anyhow!("oidc.id_token_algorithm: {e}"))?;
                if !algorithms.contains(&alg) {
                    bail!("oidc.id_token_algorithm: {alg} is not in keys.algorithms");
                }
                alg
            }
            // OpenID Connect's default (Core §3.1.3.7) when it has a key; else the default.
            None if algorithms.contains(&SigningAlgorithm::Rs256) => SigningAlgorithm::Rs256,
            None => default_alg,
        };
        if raw.oidc.code_ttl_seconds == 0
            || raw.oidc.code_ttl_seconds > tessera_domain::authorize::MAX_CODE_TTL_SECS
        {
            bail!(
                "oidc.code_ttl_seconds: must be 1 to {}",
                tessera_domain::authorize::MAX_CODE_TTL_SECS
            );
        }
        if raw.oidc.session_ttl_seconds == 0 {
            bail!("oidc.session_ttl_seconds: must be at least 1");
        }
        if !(100..=60_000).contains(&raw.oidc.backchannel_timeout_ms) {
            bail!("oidc.backchannel_timeout_ms: must be 100 to 60000");
        }
        if raw.oidc.backchannel_give_up_seconds == 0 {
            bail!("oidc.backchannel_give_up_seconds: must be at least 1");
        }
        let backchannel = (
            Duration::from_millis(raw.oidc.backchannel_timeout_ms),
            raw.oidc.backchannel_give_up_seconds,
        );
        let authorize = tessera_domain::service::AuthorizePolicy {
            require_pkce: raw.oidc.require_pkce,
            code_ttl_secs: raw.oidc.code_ttl_seconds,
            session_ttl_secs: raw.oidc.session_ttl_seconds,
        };
        for (key, v) in [
            ("users.max_failed_sign_ins", raw.users.max_failed_sign_ins),
            ("users.lockout_seconds", raw.users.lockout_seconds),
            (
                "users.max_failed_sign_ins_per_address",
                raw.users.max_failed_sign_ins_per_address,
            ),
            (
                "users.address_window_seconds",
                raw.users.address_window_seconds,
            ),
        ] {
            if v == 0 {
                bail!("{key}: must be at least 1");
            }
        }
        let lockout = tessera_domain::user::LockoutPolicy {
            max_user_failures: raw.users.max_failed_sign_ins,
            lock_seconds: raw.users.lockout_seconds,
            max_address_failures: raw.users.max_failed_sign_ins_per_address,
            address_window_seconds: raw.users.address_window_seconds,
        };
        let l = &raw.limits;
        for (key, rate) in [
            (
                "limits.client_requests_per_second",
                l.client_requests_per_second,
            ),
            (
                "limits.address_requests_per_second",
                l.address_requests_per_second,
            ),
        ] {
            if !(rate.is_finite() && rate > 0.0) {
                bail!("{key}: must be a positive number");
            }
        }
        if l.client_burst == 0 || l.address_burst == 0 || l.max_failed_authentications == 0 {
            bail!("limits: bursts and max_failed_authentications must be at least 1");
        }
        if l.failed_authentication_window_seconds == 0 {
            bail!("limits.failed_authentication_window_seconds: must be at least 1");
        }
        let limits = crate::limits::Limits {
            client: crate::limits::Rate {
                per_second: l.client_requests_per_second,
                burst: l.client_burst,
            },
            address: crate::limits::Rate {
                per_second: l.address_requests_per_second,
                burst: l.address_burst,
            },
            max_failures: l.max_failed_authentications,
            failure_window: Duration::from_secs(l.failed_authentication_window_seconds),
        };
        if raw.tokens.purge_interval_seconds == 0 {
            bail!("tokens.purge_interval_seconds: must be at least 1");
        }
        let log_format = match raw.log.format.as_str() {
            "pretty" => LogFormat::Pretty,
            "json" => LogFormat::Json,
            other => bail!("log.format: {other:?} is not one of: pretty, json"),
        };
        if raw.cache.refresh_interval_ms == 0 {
            bail!("cache.refresh_interval_ms: must be at least 1");
        }
        let master_key = match (
            raw.master_key.as_deref().filter(|k| !k.trim().is_empty()),
            raw.master_key_file
                .clone()
                .filter(|f| !f.as_os_str().is_empty()),
        ) {
            (Some(_), Some(_)) => bail!("master_key and master_key_file: set one, not both"),
            (Some(text), None) => MasterKeySource::Configured(
                tessera_keys_jwt::MasterKey::parse(text).map_err(|e| anyhow!("master_key: {e}"))?,
            ),
            (None, Some(file)) => MasterKeySource::File(file),
            (None, None) => MasterKeySource::None,
        };
        Ok(Self {
            store,
            data_dir: raw.data_dir.clone(),
            master_key,
            bind,
            issuer,
            workers: raw.server.workers,
            http_limits: (
                Duration::from_millis(raw.server.header_timeout_ms.max(1)),
                Duration::from_millis(raw.server.body_timeout_ms.max(1)),
                raw.server.max_connections.max(1),
            ),
            tls,
            client_ca_file,
            trusted_proxies,
            default_ttl,
            default_alg,
            id_token_alg,
            authorize,
            backchannel,
            lockout,
            limits,
            audit_retention_days: raw.audit.retention_days.max(1),
            audit_token_events: raw.audit.token_events,
            default_audience,
            refresh_ttl_secs,
            refresh_grace_secs,
            introspection_role,
            purge_interval: Duration::from_secs(raw.tokens.purge_interval_seconds),
            algorithms,
            jwks_max_age: raw.keys.jwks_max_age_seconds,
            key_policy,
            dialects,
            cache_refresh: Duration::from_millis(raw.cache.refresh_interval_ms),
            log_filter: raw.log.filter,
            log_format,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn sqlite_path(s: &Settings) -> PathBuf {
        match &s.store.url {
            DatabaseUrl::Sqlite(p) => p.clone(),
            DatabaseUrl::Postgres(_) => panic!("not SQLite"),
        }
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let s = Settings::load_from(&GlobalArgs::default(), None, &env(&[])).unwrap();
        assert_eq!(s.bind, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(
            sqlite_path(&s),
            PathBuf::from("./tessera-data/tessera.sqlite")
        );
        assert_eq!(s.default_alg, SigningAlgorithm::Es256);
        assert_eq!(s.algorithms.len(), 4);
        assert_eq!(s.default_ttl.as_secs(), 3600);
        assert!(s.issuer.is_none());
    }

    #[test]
    fn flag_beats_environment_beats_file_beats_default() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.toml");
        std::fs::write(&file, "data_dir = \"from-file\"\n[server]\nbind = \"127.0.0.1:1111\"\nissuer = \"https://file.example\"\n[tokens]\ndefault_ttl_seconds = 60\n").unwrap();
        let global = GlobalArgs {
            config: Some(file.clone()),
            ..GlobalArgs::default()
        };

        let s = Settings::load_from(&global, None, &env(&[])).unwrap();
        assert_eq!(sqlite_path(&s), PathBuf::from("from-file/tessera.sqlite"));
        assert_eq!(s.bind.port(), 1111);
        assert_eq!(s.default_ttl.as_secs(), 60);

        let e = env(&[
            ("TESSERA_DATA_DIR", "from-env"),
            ("TESSERA_SERVER__BIND", "127.0.0.1:2222"),
        ]);
        let s = Settings::load_from(&global, None, &e).unwrap();
        assert_eq!(sqlite_path(&s), PathBuf::from("from-env/tessera.sqlite"));
        assert_eq!(s.bind.port(), 2222);
        assert_eq!(s.issuer.unwrap().as_str(), "https://file.example");

        let flags = GlobalArgs {
            config: Some(file),
            data_dir: Some("from-flag".into()),
            database_url: None,
        };
        let serve = ServeArgs {
            bind: Some("127.0.0.1:3333".into()),
            issuer: None,
        };
        let s = Settings::load_from(&flags, Some(&serve), &e).unwrap();
        assert_eq!(sqlite_path(&s), PathBuf::from("from-flag/tessera.sqlite"));
        assert_eq!(s.bind.port(), 3333);

        let url = GlobalArgs {
            database_url: Some("sqlite://elsewhere.db".into()),
            ..flags
        };
        let s = Settings::load_from(&url, None, &e).unwrap();
        assert_eq!(
            sqlite_path(&s),
            PathBuf::from("elsewhere.db"),
            "the URL overrides the data directory"
        );
        let pg = GlobalArgs {
            database_url: Some("postgres://tessera@db:5432/tessera".into()),
            ..GlobalArgs::default()
        };
        let s = Settings::load_from(&pg, None, &e).unwrap();
        assert!(s.trusted_proxies.is_empty());
        let behind = env(&[("TESSERA_SERVER__TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7")]);
        let p = Settings::load_from(&GlobalArgs::default(), None, &behind).unwrap();
        assert_eq!(
            p.trusted_proxies,
            vec![
                "10.0.0.0/8".parse::<ipnet::IpNet>().unwrap(),
                "192.0.2.7/32".parse().unwrap()
            ]
        );
        let bad = env(&[("TESSERA_SERVER__TRUSTED_PROXIES", "10.0.0.0/33")]);
        let err = Settings::load_from(&GlobalArgs::default(), None, &bad).unwrap_err();
        assert!(err.to_string().contains("server.trusted_proxies"), "{err}");
        assert_eq!(
            s.store.url,
            DatabaseUrl::Postgres("postgres://tessera@db:5432/tessera".into())
        );
    }

    #[test]
    fn the_config_file_can_come_from_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.toml");
        std::fs::write(
            &file,
            "[keys]\nalgorithms = [\"ES256\"]\n[dialects.semear]\nenabled = false\n",
        )
        .unwrap();
        let s = Settings::load_from(
            &GlobalArgs::default(),
            None,
            &env(&[("TESSERA_CONFIG", file.to_str().unwrap())]),
        )
        .unwrap();
        assert_eq!(
            s.algorithms,
            vec![SigningAlgorithm::Es256, SigningAlgorithm::Rs256],
            "RS256 is always kept for ID tokens (Discovery §3)"
        );
        let s = Settings::load_from(
            &GlobalArgs::default(),
            None,
            &env(&[
                ("TESSERA_KEYS__ALGORITHMS", "ES256,EdDSA"),
                ("TESSERA_DIALECTS__SEMEAR__ENABLED", "false"),
            ]),
        )
        .unwrap();
        assert_eq!(
            s.algorithms,
            vec![
                SigningAlgorithm::Es256,
                SigningAlgorithm::EdDsa,
                SigningAlgorithm::Rs256
            ]
        );
    }

    #[test]
    fn a_stray_environment_variable_is_named() {
        let e = Settings::load_from(&GlobalArgs::default(), None, &env(&[("TESSERA_BIN", "x")]))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("TESSERA_BIN"), "{e}");
        assert!(e.contains("unknown field"), "{e}");
    }

    #[test]
    fn bad_settings_fail_naming_their_key() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("TESSERA_SERVER__BIND", "nowhere")], "server.bind"),
            (&[("TESSERA_SERVER__ISSUER", "ftp://x")], "server.issuer"),
            (
                &[("TESSERA_TOKENS__DEFAULT_TTL_SECONDS", "0")],
                "tokens.default_ttl_seconds",
            ),
            (
                &[("TESSERA_TOKENS__DEFAULT_ALGORITHM", "HS256")],
                "tokens.default_algorithm",
            ),
            (&[("TESSERA_KEYS__ALGORITHMS", "RS256")], "keys.algorithms"),
            (&[("TESSERA_DATABASE_URL", "mysql://x")], "database_url"),
            (&[("TESSERA_LOG__FORMAT", "xml")], "log.format"),
            (&[("TESSERA_SERVER__BINDD", "x")], "bindd"),
            (
                &[("TESSERA_DIALECTS__SERPROID__PATH", "/oauth2/token")],
                "dialects.serproid.path",
            ),
            (
                &[("TESSERA_DIALECTS__SERPROID__PATH", "/metrics")],
                "dialects.serproid.path",
            ),
            (
                &[("TESSERA_DIALECTS__SEMEAR__PATH", "/.well-known/pix")],
                "dialects.semear.path",
            ),
            (
                &[(
                    "TESSERA_DIALECTS__SCREENING_EAGLE__PATH",
                    "/security/iam/v1/generate-token",
                )],
                "dialects.screening_eagle.path",
            ),
            (
                &[("TESSERA_DIALECTS__SCREENING_EAGLE__PATH", "relative")],
                "dialects.screening_eagle.path",
            ),
            (
                &[("TESSERA_KEYS__RETIRE_AFTER_SECONDS", "86400")],
                "keys.retire_after_seconds",
            ),
        ];
        for (vars, key) in cases {
            let err = Settings::load_from(&GlobalArgs::default(), None, &env(vars)).unwrap_err();
            assert!(
                format!("{err:#}").contains(key),
                "{err:#} should name {key}"
            );
        }
        let missing = GlobalArgs {
            config: Some("/nonexistent/t.toml".into()),
            ..GlobalArgs::default()
        };
        assert!(Settings::load_from(&missing, None, &env(&[])).is_err());
    }
}
