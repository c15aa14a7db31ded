//! Wiring: the system implementations of the clock and blocking-work ports, and the constructors
//! that put adapters behind the domain's ports.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use async_trait::async_trait;
use tessera_domain::UnixTime;
use tessera_domain::ports::{BlockingWork, Clock, RandomSource, ServerSecretRepository};
use tessera_domain::secret::SecretPepper;
use tessera_keys_jwt::{AesGcmSealer, AwsLcRandom, MasterKey};
use tessera_store_diesel::DieselStore;
use tracing_subscriber::EnvFilter;

use crate::settings::{LogFormat, MasterKeySource, Settings};

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        UnixTime::from_secs(i64::try_from(secs).unwrap_or(i64::MAX))
    }
}

/// Runs blocking jobs (argon2id checks of passwords and imported secrets) on a fixed set of
/// threads of their own, one per core, in the order they arrive.
///
/// Each argon2id check allocates 19 MiB for its few milliseconds. On tokio's blocking pool every
/// thread that ever ran one kept that much in its own allocator arena: sixteen concurrent
/// sign-ins took the process from 35 to over 330 MiB, and it stayed there. On a fixed set of
/// threads memory is bounded by the number of cores, and waiting jobs lose nothing: they could
/// not run sooner on the cores there are.
#[derive(Debug, Clone)]
pub struct TokioBlocking {
    jobs: std::sync::mpsc::Sender<BlockingJob>,
}

type BlockingJob = (
    Box<dyn FnOnce() -> bool + Send + 'static>,
    tokio::sync::oneshot::Sender<bool>,
);

impl TokioBlocking {
    /// As many hashing threads as the machine has cores.
    ///
    /// # Errors
    /// When a thread cannot be started.
    pub fn per_core() -> anyhow::Result<Self> {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let (jobs, queue) = std::sync::mpsc::channel::<BlockingJob>();
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for n in 0..cores {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("tessera-hash-{n}"))
                .spawn(move || {
                    loop {
                        // The lock is held only to take the next job, never while it runs.
                        let next = match queue.lock() {
                            Ok(q) => q.recv(),
                            Err(_) => return,
                        };
                        let Ok((job, answer)) = next else { return };
                        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                        let _ = answer.send(result.unwrap_or(false));
                    }
                })
                .context("cannot start a hashing thread")?;
        }
        Ok(Self { jobs })
    }
}

#[async_trait]
impl BlockingWork for TokioBlocking {
    async fn run(&self, job: Box<dyn FnOnce() -> bool + Send + 'static>) -> bool {
        let (answer, answered) = tokio::sync::oneshot::channel();
        if self.jobs.send((job, answer)).is_err() {
            return false;
        }
        answered.await.unwrap_or(false)
    }
}

/// Logs to standard error, filtered by `RUST_LOG` when set, else by `log.filter`.
pub fn init_tracing(settings: &Settings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.log.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let _ = match settings.log.format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// The generated master key's file in the data directory.
pub const MASTER_KEY_FILE: &str = "master.key";

/// The master key that seals secrets at rest. Configured (`master_key`, `TESSERA_MASTER_KEY`) or
/// read from `master_key_file`; otherwise the data directory's `master.key`, generated (0600) when
/// absent — but a server listening beyond loopback (`serving_on`) refuses to start without a
/// configured one.
///
/// # Errors
/// When none may be used, or a file cannot be read or written.
pub fn master_key(
    settings: &Settings,
    serving_on: Option<std::net::SocketAddr>,
) -> anyhow::Result<MasterKey> {
    match &settings.master_key {
        MasterKeySource::Configured(key) => Ok(key.clone()),
        MasterKeySource::File(path) => read_master_key(path),
        MasterKeySource::None => {
            if let Some(addr) = serving_on
                && !addr.ip().is_loopback()
            {
                anyhow::bail!(
                    "refusing to serve on {addr} without a master key: private signing keys and the secret pepper are encrypted at rest with it; set master_key (TESSERA_MASTER_KEY) or master_key_file"
                );
            }
            let path = settings.data_dir.join(MASTER_KEY_FILE);
            if path.exists() {
                return read_master_key(&path);
            }
            let key = MasterKey::generate();
            write_master_key(&path, &key)?;
            tracing::warn!(
                file = %path.display(),
                "generated a master key for secrets at rest; keep it with the database's backups, and configure master_key for production"
            );
            Ok(key)
        }
    }
}

fn read_master_key(path: &std::path::Path) -> anyhow::Result<MasterKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("master key file {}", path.display()))?;
    MasterKey::parse(&text).map_err(|e| anyhow::anyhow!("master key file {}: {e}", path.display()))
}

/// Writes a master key file readable by its owner only, atomically (a temporary file renamed).
pub fn write_master_key(path: &std::path::Path, key: &MasterKey) -> anyhow::Result<()> {
    use std::io::Write as _;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp = path.with_extension("key.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    file.write_all(format!("{}\n", key.to_text()).as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Opens the store (applying migrations), sealing secrets under the master key. `serving_on` is
/// the address `serve` listens on (the master-key rule depends on it).
pub fn open_store_serving(
    settings: &Settings,
    serving_on: Option<std::net::SocketAddr>,
) -> anyhow::Result<DieselStore> {
    let key = master_key(settings, serving_on)?;
    DieselStore::open(
        &settings.store,
        Arc::new(SystemClock),
        Arc::new(AesGcmSealer::new(&key)),
    )
    .context("cannot open the database")
}

/// Opens the store for a command-line command.
pub fn open_store(settings: &Settings) -> anyhow::Result<DieselStore> {
    open_store_serving(settings, None)
}

/// The deployment's pepper: the stored one, or a new random one stored now.
pub async fn pepper(store: &DieselStore) -> anyhow::Result<SecretPepper> {
    let mut candidate = [0u8; 32];
    AwsLcRandom.fill(&mut candidate);
    store
        .pepper_or_insert(SecretPepper::from_bytes(candidate))
        .await
        .context("cannot read the secret pepper")
}

/// The TLS side of every outbound HTTP client (back-channel logout, metadata documents, the
/// command line's `--server`): rustls with the Mozilla root programme's CAs, plus those in
/// `extra_ca_pem` when given.
///
/// # Errors
/// When the extra CAs do not parse (or hold none).
pub fn tls_connector(extra_ca_pem: Option<&[u8]>) -> anyhow::Result<tokio_rustls::TlsConnector> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(pem) = extra_ca_pem {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            roots.add(cert?)?;
            added += 1;
        }
        anyhow::ensure!(added > 0, "no certificate in the CA file");
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(std::sync::Arc::new(
        config,
    )))
}
