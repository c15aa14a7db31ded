//! Keeping signing keys: make sure every algorithm in use has an active key, and keep the
//! in-memory signer in step with the store.

use std::sync::Arc;

use crate::client::SigningAlgorithm;
use crate::error::StoreError;
use crate::keys::{KeyState, SigningKey};
use crate::ports::{KeyGenerator, KeyRepository, SignError, TokenSigner};
use crate::time::UnixTime;

/// Why key maintenance failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key store failed.
    #[error("key store: {0}")]
    Store(#[from] StoreError),
    /// A key could not be generated or parsed.
    #[error("{0}")]
    Sign(#[from] SignError),
}

/// The key-keeping use cases.
pub struct KeyService {
    repo: Arc<dyn KeyRepository>,
    generator: Arc<dyn KeyGenerator>,
    signer: Arc<dyn TokenSigner>,
}

impl KeyService {
    /// A service over the key store, the generator and the signer it feeds.
    #[must_use]
    pub fn new(
        repo: Arc<dyn KeyRepository>,
        generator: Arc<dyn KeyGenerator>,
        signer: Arc<dyn TokenSigner>,
    ) -> Self {
        Self {
            repo,
            generator,
            signer,
        }
    }

    /// Makes sure each of `algs` has an active key, generating and storing one where it has none,
    /// then installs the live keys in the signer. Returns the kids it generated.
    ///
    /// # Errors
    /// When the store or the generator fails; nothing is installed then.
    pub async fn ensure_active(
        &self,
        algs: &[SigningAlgorithm],
        now: UnixTime,
    ) -> Result<Vec<String>, KeyError> {
        let live = self.repo.live_keys().await?;
        let mut made = Vec::new();
        for &alg in algs {
            if live
                .iter()
                .any(|k| k.alg == alg && k.state == KeyState::Active)
            {
                continue;
            }
            let (kid, private_der) = self.generator.generate(alg)?;
            let key = SigningKey {
                kid: kid.clone(),
                alg,
                state: KeyState::Active,
                private_der,
                created_at: now,
                activated_at: Some(now),
            };
            match self.repo.insert(&key).await {
                // Another node made the same key at the same instant: impossible for random keys,
                // but harmless.
                Ok(()) | Err(StoreError::Conflict) => made.push(kid.as_str().to_owned()),
                Err(e) => return Err(e.into()),
            }
        }
        self.reload().await?;
        Ok(made)
    }

    /// Installs the store's live keys in the signer. Returns the store's key version read before
    /// the keys, so a caller polling the version never misses a change.
    ///
    /// # Errors
    /// When the store fails or a stored key does not parse; the signer keeps its keys then.
    pub async fn reload(&self) -> Result<u64, KeyError> {
        let version = self.repo.version().await?;
        let live = self.repo.live_keys().await?;
        self.signer.install(&live)?;
        Ok(version)
    }

    /// The key store's current version.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn version(&self) -> Result<u64, KeyError> {
        Ok(self.repo.version().await?)
    }
}
