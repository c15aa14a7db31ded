//! Configuration: defaults, then `tessera.toml` (or `--config`), then `TESSERA_…` environment
//! variables (`__` separates sections: `TESSERA_SERVER__BIND`), then command-line flags. Read once
//! at start-up and checked into domain values there, so a bad setting fails at boot with a message
//! that names its key. The raw sections are in `raw.rs`, their checks in `sections.rs`; this file
//! loads the layers and assembles the checked `Settings`.

use std::path::{Path, PathBuf};
use std::time::Duration;

mod raw;
mod sections;

use anyhow::{Context as _, anyhow, bail};
use config::{Config, Environment, File, FileFormat};
use tessera_http_actix::Dialects;
use tessera_store_diesel::{DatabaseUrl, StoreConfig};

use self::raw::{Raw, defaults};
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

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// The checked configuration, one field per section.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Where the database is, and how to pool it (`database_url`, `[storage]`).
    pub store: StoreConfig,
    /// The data directory (the generated master key lives there on loopback deployments).
    pub data_dir: PathBuf,
    /// Where the master key that seals secrets at rest comes from.
    pub master_key: MasterKeySource,
    /// `[server]`: listeners, issuer, HTTP limits, proxies.
    pub server: sections::ServerSettings,
    /// `[tokens]`: default lifetime, algorithm and audience, refresh lifetimes, introspection.
    pub tokens: sections::TokenSettings,
    /// `[keys]`: the algorithms with keys, the JWKS max-age and the key lifecycle.
    pub keys: sections::KeySettings,
    /// `[oidc]`: the authorization endpoint and logout.
    pub oidc: sections::OidcSettings,
    /// `[users]`: how failed sign-ins are answered.
    pub users: tessera_domain::user::LockoutPolicy,
    /// `[limits]`: request-rate and failed-authentication limits.
    pub limits: crate::limits::Limits,
    /// `[audit]`: retention and token events.
    pub audit: sections::AuditSettings,
    /// `[admin] bind`: where the admin API listens; off when absent.
    pub admin_bind: Option<std::net::SocketAddr>,
    /// `[registration]`: who may register clients dynamically, and the most they may hold.
    pub registration: tessera_domain::service::RegistrationPolicy,
    /// `[registration] metadata_document…`: whether and how URL client ids are resolved.
    pub documents: tessera_domain::metadata_document::DocumentPolicy,
    /// `[registration] metadata_document_ca_file`: CAs trusted for documents beside the public
    /// ones.
    pub document_ca_file: Option<std::path::PathBuf>,
    /// `[dialects]`: the vendor dialects that are on, and where.
    pub dialects: Dialects,
    /// `[cache] refresh_interval_ms`: how often caches compare their version with the store's.
    pub cache_refresh: Duration,
    /// `[log]`: filter and format.
    pub log: sections::LogSettings,
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

    /// Checks each section, then assembles them.
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
        let server = sections::server(&raw.server)?;
        let admin_bind = sections::admin_bind(&raw.admin, server.bind)?;
        let tokens = sections::tokens(&raw.tokens)?;
        let algorithms = sections::algorithms(&raw.keys, tokens.default_alg)?;
        let dialects = sections::dialects(&raw.dialects, &algorithms)?;
        let longest = sections::longest_default_ttl(&dialects, tokens.default_ttl);
        let keys = sections::keys(&raw.keys, algorithms, longest)?;
        let oidc = sections::oidc(&raw.oidc, &keys.algorithms, tokens.default_alg)?;
        if raw.cache.refresh_interval_ms == 0 {
            bail!("cache.refresh_interval_ms: must be at least 1");
        }
        Ok(Self {
            store,
            data_dir: raw.data_dir.clone(),
            master_key: sections::master_key(raw.master_key.as_deref(), raw.master_key_file)?,
            server,
            tokens,
            keys,
            oidc,
            users: sections::lockout(&raw.users)?,
            limits: sections::limits(&raw.limits)?,
            audit: sections::AuditSettings {
                retention_days: raw.audit.retention_days.max(1),
                token_events: raw.audit.token_events,
            },
            admin_bind,
            registration: sections::registration(&raw.registration)?,
            documents: sections::documents(&raw.registration)?,
            document_ca_file: raw.registration.metadata_document_ca_file.clone(),
            dialects,
            cache_refresh: Duration::from_millis(raw.cache.refresh_interval_ms),
            log: sections::log(raw.log)?,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use std::collections::HashMap;

    use super::*;
    use tessera_domain::SigningAlgorithm;

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
        assert_eq!(s.server.bind, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(
            sqlite_path(&s),
            PathBuf::from("./tessera-data/tessera.sqlite")
        );
        assert_eq!(s.tokens.default_alg, SigningAlgorithm::Es256);
        assert_eq!(s.keys.algorithms.len(), 4);
        assert_eq!(s.tokens.default_ttl.as_secs(), 3600);
        assert!(s.server.issuer.is_none());
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
        assert_eq!(s.server.bind.port(), 1111);
        assert_eq!(s.tokens.default_ttl.as_secs(), 60);

        let e = env(&[
            ("TESSERA_DATA_DIR", "from-env"),
            ("TESSERA_SERVER__BIND", "127.0.0.1:2222"),
        ]);
        let s = Settings::load_from(&global, None, &e).unwrap();
        assert_eq!(sqlite_path(&s), PathBuf::from("from-env/tessera.sqlite"));
        assert_eq!(s.server.bind.port(), 2222);
        assert_eq!(s.server.issuer.unwrap().as_str(), "https://file.example");

        let flags = GlobalArgs {
            config: Some(file),
            data_dir: Some("from-flag".into()),
            ..GlobalArgs::default()
        };
        let serve = ServeArgs {
            bind: Some("127.0.0.1:3333".into()),
            issuer: None,
        };
        let s = Settings::load_from(&flags, Some(&serve), &e).unwrap();
        assert_eq!(sqlite_path(&s), PathBuf::from("from-flag/tessera.sqlite"));
        assert_eq!(s.server.bind.port(), 3333);

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
        assert!(s.server.trusted_proxies.is_empty());
        let behind = env(&[("TESSERA_SERVER__TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7")]);
        let p = Settings::load_from(&GlobalArgs::default(), None, &behind).unwrap();
        assert_eq!(
            p.server.trusted_proxies,
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
            s.keys.algorithms,
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
            s.keys.algorithms,
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
