//! The configuration as it is read, before any check: one struct per section, unknown keys
//! refused, and the built-in defaults.

use std::path::PathBuf;

use serde::Deserialize;

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    pub(super) data_dir: PathBuf,
    pub(super) database_url: Option<String>,
    pub(super) master_key: Option<String>,
    pub(super) master_key_file: Option<PathBuf>,
    pub(super) server: RawServer,
    pub(super) storage: RawStorage,
    pub(super) tokens: RawTokens,
    pub(super) keys: RawKeys,
    pub(super) cache: RawCache,
    pub(super) log: RawLog,
    pub(super) dialects: RawDialects,
    pub(super) oidc: RawOidc,
    pub(super) users: RawUsers,
    pub(super) limits: RawLimits,
    pub(super) audit: RawAudit,
    #[serde(default)]
    pub(super) admin: RawAdmin,
    pub(super) registration: RawRegistration,
}

/// `[registration]`: dynamic client registration (RFC 7591).
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRegistration {
    pub(super) policy: String,
    pub(super) scope_ceiling: String,
    pub(super) resources: String,
    pub(super) metadata_documents: bool,
    pub(super) metadata_document_allow: String,
    pub(super) metadata_document_ca_file: Option<PathBuf>,
    pub(super) metadata_document_timeout_ms: u64,
    pub(super) metadata_document_max_bytes: usize,
}

/// `[admin]`: off unless `bind` is set.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAdmin {
    #[serde(default)]
    pub(super) bind: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAudit {
    pub(super) retention_days: u32,
    pub(super) token_events: bool,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    pub(super) client_requests_per_second: f64,
    pub(super) client_burst: u32,
    pub(super) address_requests_per_second: f64,
    pub(super) address_burst: u32,
    pub(super) max_failed_authentications: u32,
    pub(super) failed_authentication_window_seconds: u64,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOidc {
    pub(super) id_token_algorithm: Option<String>,
    pub(super) require_pkce: bool,
    pub(super) code_ttl_seconds: u32,
    pub(super) session_ttl_seconds: u32,
    pub(super) backchannel_timeout_ms: u64,
    pub(super) backchannel_give_up_seconds: u32,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUsers {
    pub(super) max_failed_sign_ins: u32,
    pub(super) lockout_seconds: u32,
    pub(super) max_failed_sign_ins_per_address: u32,
    pub(super) address_window_seconds: u32,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDialects {
    pub(super) serproid: RawDialect,
    pub(super) screening_eagle: RawDialect,
    pub(super) authme: RawAuthMe,
    pub(super) semear: RawSemear,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSemear {
    pub(super) enabled: bool,
    pub(super) path: String,
    pub(super) trust_client_cert_header: bool,
    pub(super) default_ttl_seconds: Option<u64>,
    pub(super) algorithm: String,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAuthMe {
    pub(super) enabled: bool,
    pub(super) path_prefix: String,
    pub(super) required_roles: String,
    pub(super) access_ttl_seconds: u64,
    pub(super) remember_me_ttl_seconds: u64,
    pub(super) param_ttl_seconds: u32,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDialect {
    pub(super) enabled: bool,
    pub(super) path: String,
    pub(super) default_ttl_seconds: Option<u64>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    pub(super) bind: String,
    pub(super) issuer: Option<String>,
    pub(super) workers: usize,
    pub(super) header_timeout_ms: u64,
    pub(super) body_timeout_ms: u64,
    pub(super) max_connections: usize,
    pub(super) tls: Option<RawTls>,
    pub(super) client_ca_file: Option<PathBuf>,
    pub(super) trusted_proxies: Vec<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTls {
    pub(super) bind: String,
    pub(super) cert_file: PathBuf,
    pub(super) key_file: PathBuf,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStorage {
    pub(super) max_connections: u32,
    pub(super) busy_timeout_ms: u64,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTokens {
    pub(super) default_ttl_seconds: u64,
    pub(super) default_algorithm: String,
    pub(super) default_audience: Option<String>,
    pub(super) refresh_ttl_seconds: u64,
    pub(super) refresh_reuse_grace_seconds: u64,
    pub(super) introspection_role: String,
    pub(super) purge_interval_seconds: u64,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKeys {
    pub(super) algorithms: Vec<String>,
    pub(super) jwks_max_age_seconds: u32,
    pub(super) publish_lead_seconds: Option<u32>,
    pub(super) rotation_period_seconds: u32,
    pub(super) retire_after_seconds: u32,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCache {
    pub(super) refresh_interval_ms: u64,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLog {
    pub(super) filter: String,
    pub(super) format: String,
}

pub(super) fn defaults(
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
        .set_default("registration.policy", "closed")?
        .set_default(
            "registration.scope_ceiling",
            "openid profile email offline_access",
        )?
        .set_default("registration.resources", "")?
        .set_default("registration.metadata_documents", false)?
        .set_default("registration.metadata_document_allow", "")?
        .set_default("registration.metadata_document_timeout_ms", 3000)?
        .set_default("registration.metadata_document_max_bytes", 5 * 1024)?
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
