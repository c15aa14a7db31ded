//! One check per configuration section: each reads its raw section and returns domain values
//! (or the adapters' own), with an error that names the key. Rules that tie settings together
//! are the domain's constructors (`KeyPolicy::new`, `policy::refresh_lifetimes`,
//! `LockoutPolicy::new`, `FirstPartyPolicy::new`); the route table refuses paths served twice.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail};
use tessera_domain::keys::KeyPolicy;
use tessera_domain::policy::Issuer;
use tessera_domain::{Audience, Role, SigningAlgorithm, TokenTtl};
use tessera_http_actix::{AuthMeRoute, DialectRoute, Dialects, SemearRoute};

use super::raw::{
    RawAuthMe, RawDialect, RawDialects, RawKeys, RawLimits, RawLog, RawOidc, RawServer, RawTokens,
    RawUsers,
};
use super::{LogFormat, MasterKeySource};

/// `[server]`, checked.
#[derive(Clone, Debug)]
pub struct ServerSettings {
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
}

/// Checks `[server]`.
pub(super) fn server(raw: &RawServer) -> anyhow::Result<ServerSettings> {
    let bind: SocketAddr = raw
        .bind
        .parse()
        .map_err(|_| anyhow!("server.bind: {:?} is not an ADDRESS:PORT", raw.bind))?;
    let tls = match &raw.tls {
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
        .client_ca_file
        .clone()
        .filter(|f| !f.as_os_str().is_empty());
    if let Some(file) = &client_ca_file
        && !file.is_file()
    {
        bail!("server.client_ca_file: {} does not exist", file.display());
    }
    let issuer = raw
        .issuer
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(Issuer::parse)
        .transpose()
        .map_err(|e| anyhow!("server.issuer: {e}"))?;
    Ok(ServerSettings {
        bind,
        issuer,
        workers: raw.workers,
        tls,
        client_ca_file,
        trusted_proxies,
        http_limits: (
            Duration::from_millis(raw.header_timeout_ms.max(1)),
            Duration::from_millis(raw.body_timeout_ms.max(1)),
            raw.max_connections.max(1),
        ),
    })
}

/// Checks `[keys] algorithms`: the default algorithm must be among them, and RS256 always is
/// (OpenID Connect Discovery 1.0 §3: `id_token_signing_alg_values_supported` MUST include it;
/// access tokens use it only when asked to).
pub(super) fn algorithms(
    raw: &RawKeys,
    default_alg: SigningAlgorithm,
) -> anyhow::Result<Vec<SigningAlgorithm>> {
    let mut algorithms = Vec::new();
    for a in &raw.algorithms {
        let alg = SigningAlgorithm::parse(a.trim()).map_err(|e| anyhow!("keys.algorithms: {e}"))?;
        if !algorithms.contains(&alg) {
            algorithms.push(alg);
        }
    }
    if !algorithms.contains(&default_alg) {
        bail!("keys.algorithms: must include tokens.default_algorithm ({default_alg})");
    }
    if !algorithms.contains(&SigningAlgorithm::Rs256) {
        algorithms.push(SigningAlgorithm::Rs256);
    }
    Ok(algorithms)
}

/// `[keys]`, checked.
#[derive(Clone, Debug)]
pub struct KeySettings {
    /// Algorithms that have signing keys (RS256 always among them).
    pub algorithms: Vec<SigningAlgorithm>,
    /// JWKS `max-age`, in seconds.
    pub jwks_max_age: u32,
    /// How keys publish, activate, retire and rotate.
    pub policy: KeyPolicy,
}

/// Checks `[keys]`' lifecycle against the longest access-token lifetime any API gives.
pub(super) fn keys(
    raw: &RawKeys,
    algorithms: Vec<SigningAlgorithm>,
    longest_token_secs: u32,
) -> anyhow::Result<KeySettings> {
    let policy = KeyPolicy::new(
        raw.publish_lead_seconds.unwrap_or(raw.jwks_max_age_seconds),
        (raw.rotation_period_seconds > 0).then_some(raw.rotation_period_seconds),
        raw.retire_after_seconds,
        raw.jwks_max_age_seconds,
        longest_token_secs,
    )
    .map_err(|e| anyhow!("keys.{e}"))?;
    Ok(KeySettings {
        algorithms,
        jwks_max_age: raw.jwks_max_age_seconds,
        policy,
    })
}

/// `[tokens]`, checked.
#[derive(Clone, Debug)]
pub struct TokenSettings {
    /// Default access-token lifetime.
    pub default_ttl: TokenTtl,
    /// Default signing algorithm.
    pub default_alg: SigningAlgorithm,
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
}

/// Checks `[tokens]`.
pub(super) fn tokens(raw: &RawTokens) -> anyhow::Result<TokenSettings> {
    let default_ttl = TokenTtl::from_secs(raw.default_ttl_seconds)
        .map_err(|e| anyhow!("tokens.default_ttl_seconds: {e}"))?;
    let default_alg = SigningAlgorithm::parse(&raw.default_algorithm)
        .map_err(|e| anyhow!("tokens.default_algorithm: {e}"))?;
    let default_audience = raw
        .default_audience
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(Audience::parse)
        .transpose()
        .map_err(|e| anyhow!("tokens.default_audience: {e}"))?;
    let (refresh_ttl_secs, refresh_grace_secs) = tessera_domain::policy::refresh_lifetimes(
        raw.refresh_ttl_seconds,
        raw.refresh_reuse_grace_seconds,
    )
    .map_err(|e| anyhow!("tokens.{e}"))?;
    let introspection_role = Role::parse(&raw.introspection_role)
        .map_err(|e| anyhow!("tokens.introspection_role: {e}"))?;
    if raw.purge_interval_seconds == 0 {
        bail!("tokens.purge_interval_seconds: must be at least 1");
    }
    Ok(TokenSettings {
        default_ttl,
        default_alg,
        default_audience,
        refresh_ttl_secs,
        refresh_grace_secs,
        introspection_role,
        purge_interval: Duration::from_secs(raw.purge_interval_seconds),
    })
}

/// `[audit]`, checked.
#[derive(Clone, Copy, Debug)]
pub struct AuditSettings {
    /// How long audit events are kept, in days.
    pub retention_days: u32,
    /// Whether every token issued or refreshed is an audit event (the other events always are).
    pub token_events: bool,
}

/// `[log]`, checked.
#[derive(Clone, Debug)]
pub struct LogSettings {
    /// Log filter (`tracing` env-filter syntax).
    pub filter: String,
    /// Log format.
    pub format: LogFormat,
}

/// Checks `[log]`.
pub(super) fn log(raw: RawLog) -> anyhow::Result<LogSettings> {
    let format = match raw.format.as_str() {
        "pretty" => LogFormat::Pretty,
        "json" => LogFormat::Json,
        other => bail!("log.format: {other:?} is not one of: pretty, json"),
    };
    Ok(LogSettings {
        filter: raw.filter,
        format,
    })
}

/// Checks `[dialects]`: each one, then the route table they make with the fixed routes.
pub(super) fn dialects(
    raw: &RawDialects,
    algorithms: &[SigningAlgorithm],
) -> anyhow::Result<Dialects> {
    let semear = match dialect(
        "semear",
        &RawDialect {
            enabled: raw.semear.enabled,
            path: raw.semear.path.clone(),
            default_ttl_seconds: raw.semear.default_ttl_seconds,
        },
    )? {
        Some(route) => {
            let algorithm = SigningAlgorithm::parse(&raw.semear.algorithm)
                .map_err(|e| anyhow!("dialects.semear.algorithm: {e}"))?;
            if !algorithms.contains(&algorithm) {
                bail!(
                    "dialects.semear.algorithm: {algorithm} is not in keys.algorithms (enable it, or switch the dialect off with dialects.semear.enabled = false)"
                );
            }
            Some(SemearRoute {
                path: route.path,
                trust_cert_header: raw.semear.trust_client_cert_header,
                default_ttl: route.default_ttl,
                algorithm,
            })
        }
        None => None,
    };
    let dialects = Dialects {
        serproid: dialect("serproid", &raw.serproid)?,
        screening_eagle: dialect("screening_eagle", &raw.screening_eagle)?,
        authme: authme(&raw.authme)?,
        semear,
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
    Ok(dialects)
}

/// The longest default access-token lifetime of the deployment and its dialects, in seconds.
pub(super) fn longest_default_ttl(dialects: &Dialects, default_ttl: TokenTtl) -> u32 {
    [
        dialects.serproid.as_ref().and_then(|d| d.default_ttl),
        dialects
            .screening_eagle
            .as_ref()
            .and_then(|d| d.default_ttl),
        dialects.semear.as_ref().and_then(|d| d.default_ttl),
    ]
    .into_iter()
    .flatten()
    .map(TokenTtl::as_secs)
    .fold(default_ttl.as_secs(), u32::max)
}

/// `[oidc]`, checked.
#[derive(Clone, Debug)]
pub struct OidcSettings {
    /// The algorithm of ID tokens.
    pub id_token_alg: SigningAlgorithm,
    /// The authorization endpoint's policy.
    pub authorize: tessera_domain::service::AuthorizePolicy,
    /// Back-channel logout: how long one delivery may take, and after how long (seconds) an
    /// undelivered notice is abandoned.
    pub backchannel: (Duration, u32),
}

/// Checks `[oidc]`.
pub(super) fn oidc(
    raw: &RawOidc,
    algorithms: &[SigningAlgorithm],
    default_alg: SigningAlgorithm,
) -> anyhow::Result<OidcSettings> {
    let id_token_alg = match raw.id_token_algorithm.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => {
            let alg =
                SigningAlgorithm::parse(a).map_err(|e| anyhow!("oidc.id_token_algorithm: {e}"))?;
            if !algorithms.contains(&alg) {
                bail!("oidc.id_token_algorithm: {alg} is not in keys.algorithms");
            }
            alg
        }
        // OpenID Connect's default (Core §3.1.3.7) when it has a key; else the default.
        None if algorithms.contains(&SigningAlgorithm::Rs256) => SigningAlgorithm::Rs256,
        None => default_alg,
    };
    if raw.code_ttl_seconds == 0
        || raw.code_ttl_seconds > tessera_domain::authorize::MAX_CODE_TTL_SECS
    {
        bail!(
            "oidc.code_ttl_seconds: must be 1 to {}",
            tessera_domain::authorize::MAX_CODE_TTL_SECS
        );
    }
    if raw.session_ttl_seconds == 0 {
        bail!("oidc.session_ttl_seconds: must be at least 1");
    }
    if !(100..=60_000).contains(&raw.backchannel_timeout_ms) {
        bail!("oidc.backchannel_timeout_ms: must be 100 to 60000");
    }
    if raw.backchannel_give_up_seconds == 0 {
        bail!("oidc.backchannel_give_up_seconds: must be at least 1");
    }
    Ok(OidcSettings {
        id_token_alg,
        authorize: tessera_domain::service::AuthorizePolicy {
            require_pkce: raw.require_pkce,
            code_ttl_secs: raw.code_ttl_seconds,
            session_ttl_secs: raw.session_ttl_seconds,
        },
        backchannel: (
            Duration::from_millis(raw.backchannel_timeout_ms),
            raw.backchannel_give_up_seconds,
        ),
    })
}

/// Checks `[users]`.
pub(super) fn lockout(raw: &RawUsers) -> anyhow::Result<tessera_domain::user::LockoutPolicy> {
    tessera_domain::user::LockoutPolicy::new(
        raw.max_failed_sign_ins,
        raw.lockout_seconds,
        raw.max_failed_sign_ins_per_address,
        raw.address_window_seconds,
    )
    .map_err(|e| anyhow!("users.{e}"))
}

/// Checks `[limits]`.
pub(super) fn limits(l: &RawLimits) -> anyhow::Result<crate::limits::Limits> {
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
    Ok(crate::limits::Limits {
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
    })
}

/// Checks `master_key` and `master_key_file`: one, the other, or neither.
pub(super) fn master_key(
    key: Option<&str>,
    file: Option<PathBuf>,
) -> anyhow::Result<MasterKeySource> {
    Ok(
        match (
            key.filter(|k| !k.trim().is_empty()),
            file.filter(|f| !f.as_os_str().is_empty()),
        ) {
            (Some(_), Some(_)) => bail!("master_key and master_key_file: set one, not both"),
            (Some(text), None) => MasterKeySource::Configured(
                tessera_keys_jwt::MasterKey::parse(text).map_err(|e| anyhow!("master_key: {e}"))?,
            ),
            (None, Some(file)) => MasterKeySource::File(file),
            (None, None) => MasterKeySource::None,
        },
    )
}

/// Checks AuthMe's settings; `None` when it is switched off.
pub(super) fn authme(raw: &RawAuthMe) -> anyhow::Result<Option<AuthMeRoute>> {
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
pub(super) fn dialect(name: &str, raw: &RawDialect) -> anyhow::Result<Option<DialectRoute>> {
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

/// `[admin] bind`, checked: an `ADDRESS:PORT` other than the public listener's (the admin API is
/// never served on the public one).
///
/// # Errors
/// Naming `admin.bind` when it does not parse or is the public address.
pub(super) fn admin_bind(
    raw: &super::raw::RawAdmin,
    public: SocketAddr,
) -> anyhow::Result<Option<SocketAddr>> {
    let Some(text) = raw.bind.as_deref().filter(|b| !b.is_empty()) else {
        return Ok(None);
    };
    let bind: SocketAddr = text
        .parse()
        .map_err(|_| anyhow!("admin.bind: {text:?} is not an ADDRESS:PORT"))?;
    if bind == public && bind.port() != 0 {
        anyhow::bail!("admin.bind: {bind} is the public server.bind; give the admin API its own");
    }
    Ok(Some(bind))
}

/// `[registration]`, checked: who may register clients (RFC 7591) and the most they may hold.
///
/// # Errors
/// Naming the key that does not parse.
pub(super) fn registration(
    raw: &super::raw::RawRegistration,
) -> anyhow::Result<tessera_domain::service::RegistrationPolicy> {
    use tessera_domain::service::{RegistrationMode, RegistrationPolicy};
    let mode = RegistrationMode::parse(raw.policy.trim())
        .map_err(|_| anyhow!("registration.policy: one of closed, open, initial_access_token"))?;
    let scope_ceiling = tessera_domain::ScopeSet::parse(raw.scope_ceiling.trim())
        .map_err(|e| anyhow!("registration.scope_ceiling: {e}"))?;
    let resources = tessera_domain::resource::parse_resources(raw.resources.split_whitespace())
        .map_err(|e| anyhow!("registration.resources: {e}"))?;
    Ok(RegistrationPolicy {
        mode,
        scope_ceiling,
        resources,
    })
}

/// The metadata-document keys of `[registration]`, checked.
///
/// # Errors
/// Naming the key that does not parse.
pub(super) fn documents(
    raw: &super::raw::RawRegistration,
) -> anyhow::Result<tessera_domain::metadata_document::DocumentPolicy> {
    use tessera_domain::metadata_document::DocumentPolicy;
    let allow = raw
        .metadata_document_allow
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    anyhow!("registration.metadata_document_allow: {s:?} is not an address or CIDR range")
                })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if raw.metadata_document_timeout_ms == 0 || raw.metadata_document_timeout_ms > 30_000 {
        bail!("registration.metadata_document_timeout_ms: between 1 and 30000");
    }
    if !(256..=64 * 1024).contains(&raw.metadata_document_max_bytes) {
        bail!("registration.metadata_document_max_bytes: between 256 and 65536");
    }
    Ok(DocumentPolicy {
        enabled: raw.metadata_documents,
        allow,
        max_bytes: raw.metadata_document_max_bytes,
        timeout: Duration::from_millis(raw.metadata_document_timeout_ms),
        ..DocumentPolicy::default()
    })
}
