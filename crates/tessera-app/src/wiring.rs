//! Wiring: the system implementations of the clock and blocking-work ports, and the constructors
//! that put adapters behind the domain's ports.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use async_trait::async_trait;
use tessera_domain::UnixTime;
use tessera_domain::ports::{BlockingWork, Clock, RandomSource, ServerSecretRepository};
use tessera_domain::secret::SecretPepper;
use tessera_keys_jwt::AwsLcRandom;
use tessera_store_diesel::DieselStore;
use tracing_subscriber::EnvFilter;

use crate::settings::{LogFormat, Settings};

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

/// Runs blocking jobs on tokio's blocking pool.
#[derive(Debug, Default, Clone, Copy)]
pub struct TokioBlocking;

#[async_trait]
impl BlockingWork for TokioBlocking {
    async fn run(&self, job: Box<dyn FnOnce() -> bool + Send + 'static>) -> bool {
        tokio::task::spawn_blocking(job).await.unwrap_or(false)
    }
}

/// Logs to standard error, filtered by `RUST_LOG` when set, else by `log.filter`.
pub fn init_tracing(settings: &Settings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.log_filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let _ = match settings.log_format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Opens the store (applying migrations).
pub fn open_store(settings: &Settings) -> anyhow::Result<DieselStore> {
    DieselStore::open(&settings.store, Arc::new(SystemClock)).context("cannot open the database")
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
