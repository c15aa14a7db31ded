//! In-memory implementations of the ports, with the same observable behaviour as the real ones.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use async_trait::async_trait;
use tessera_domain::keys::{KeyState, SigningKey};
use tessera_domain::ports::{
    BlockingWork, ClientRepository, Clock, KeyRepository, RandomSource, ServerSecretRepository,
};
use tessera_domain::secret::SecretPepper;
use tessera_domain::{Client, ClientId, StoreError, UnixTime};

/// A clock that says what it is told.
#[derive(Debug)]
pub struct FixedClock(AtomicI64);

impl FixedClock {
    /// A clock stopped at `secs`.
    #[must_use]
    pub fn at(secs: i64) -> Self {
        Self(AtomicI64::new(secs))
    }

    /// Moves the clock forward.
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_secs(self.0.load(Ordering::SeqCst))
    }
}

/// Deterministic "randomness": every call fills with a new counter value, so outputs differ.
#[derive(Debug, Default)]
pub struct CountingRandom(AtomicU64);

impl RandomSource for CountingRandom {
    fn fill(&self, buf: &mut [u8]) {
        let n = self.0.fetch_add(1, Ordering::SeqCst).to_le_bytes();
        for (i, b) in buf.iter_mut().enumerate() {
            *b = n[i % 8] ^ (i as u8);
        }
    }
}

/// Runs blocking jobs inline.
#[derive(Debug, Default)]
pub struct InlineBlocking;

#[async_trait]
impl BlockingWork for InlineBlocking {
    async fn run(&self, job: Box<dyn FnOnce() -> bool + Send + 'static>) -> bool {
        job()
    }
}

/// Clients in a map.
#[derive(Debug, Default)]
pub struct InMemoryClients {
    clients: Mutex<BTreeMap<ClientId, Client>>,
    version: AtomicU64,
}

#[async_trait]
impl ClientRepository for InMemoryClients {
    async fn find(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        Ok(self.clients.lock().unwrap().get(id).cloned())
    }

    async fn insert(&self, client: &Client) -> Result<(), StoreError> {
        let mut map = self.clients.lock().unwrap();
        if map.contains_key(client.id()) {
            return Err(StoreError::Conflict);
        }
        map.insert(client.id().clone(), client.clone());
        self.version.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn update(&self, client: &Client) -> Result<(), StoreError> {
        let mut map = self.clients.lock().unwrap();
        let slot = map.get_mut(client.id()).ok_or(StoreError::NotFound)?;
        *slot = client.clone();
        self.version.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn delete(&self, id: &ClientId) -> Result<(), StoreError> {
        self.clients
            .lock()
            .unwrap()
            .remove(id)
            .ok_or(StoreError::NotFound)?;
        self.version.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn list(&self) -> Result<Vec<Client>, StoreError> {
        Ok(self.clients.lock().unwrap().values().cloned().collect())
    }

    async fn version(&self) -> Result<u64, StoreError> {
        Ok(self.version.load(Ordering::SeqCst))
    }
}

/// Keys in a list.
#[derive(Debug, Default)]
pub struct InMemoryKeys {
    keys: Mutex<Vec<SigningKey>>,
    version: AtomicU64,
}

#[async_trait]
impl KeyRepository for InMemoryKeys {
    async fn live_keys(&self) -> Result<Vec<SigningKey>, StoreError> {
        let mut keys: Vec<_> = self
            .keys
            .lock()
            .unwrap()
            .iter()
            .filter(|k| k.state != KeyState::Retired)
            .cloned()
            .collect();
        keys.sort_by(|a, b| (a.created_at, &a.kid).cmp(&(b.created_at, &b.kid)));
        Ok(keys)
    }

    async fn insert(&self, key: &SigningKey) -> Result<(), StoreError> {
        let mut keys = self.keys.lock().unwrap();
        if keys.iter().any(|k| k.kid == key.kid) {
            return Err(StoreError::Conflict);
        }
        keys.push(key.clone());
        self.version.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn version(&self) -> Result<u64, StoreError> {
        Ok(self.version.load(Ordering::SeqCst))
    }
}

/// Server secrets in memory.
#[derive(Debug, Default)]
pub struct InMemorySecrets {
    pepper: Mutex<Option<SecretPepper>>,
}

#[async_trait]
impl ServerSecretRepository for InMemorySecrets {
    async fn pepper_or_insert(&self, candidate: SecretPepper) -> Result<SecretPepper, StoreError> {
        Ok(self.pepper.lock().unwrap().get_or_insert(candidate).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract;

    #[tokio::test]
    async fn the_fakes_keep_the_port_contracts() {
        contract::clients(&InMemoryClients::default()).await;
        contract::keys(&InMemoryKeys::default()).await;
        contract::server_secrets(&InMemorySecrets::default()).await;
    }
}

/// A signer that does no cryptography: tokens are `stub.<alg>.<jti>` and the last claims signed are
/// kept for inspection. Publishes one fixed EC key.
#[derive(Debug, Default)]
pub struct StubSigner {
    last: Mutex<Option<tessera_domain::token::AccessTokenClaims>>,
    /// When set, every signature fails with this error.
    pub fail: Mutex<Option<tessera_domain::ports::SignError>>,
}

impl StubSigner {
    /// The claims of the last token signed.
    #[must_use]
    pub fn last_claims(&self) -> Option<tessera_domain::token::AccessTokenClaims> {
        self.last.lock().unwrap().clone()
    }
}

impl tessera_domain::ports::TokenSigner for StubSigner {
    fn sign(
        &self,
        alg: tessera_domain::SigningAlgorithm,
        claims: &tessera_domain::token::AccessTokenClaims,
    ) -> Result<tessera_domain::token::AccessToken, tessera_domain::ports::SignError> {
        if let Some(e) = self.fail.lock().unwrap().clone() {
            return Err(e);
        }
        *self.last.lock().unwrap() = Some(claims.clone());
        Ok(tessera_domain::token::AccessToken::new(format!(
            "stub.{alg}.{}",
            claims.jti
        )))
    }

    fn install(&self, _keys: &[SigningKey]) -> Result<(), tessera_domain::ports::SignError> {
        Ok(())
    }

    fn published(&self) -> Vec<tessera_domain::keys::PublicJwk> {
        vec![tessera_domain::keys::PublicJwk {
            kid: tessera_domain::keys::KeyId::parse("stub-kid").unwrap(),
            alg: tessera_domain::SigningAlgorithm::Es256,
            params: tessera_domain::keys::PublicKeyParams::Ec {
                crv: "P-256",
                x: "eA".into(),
                y: "eQ".into(),
            },
        }]
    }
}
