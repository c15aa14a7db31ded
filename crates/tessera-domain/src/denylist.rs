//! The JWT denylist in memory: a [`RevocationList`] in front of the store's that answers
//! `is_revoked` without a database read once loaded, and reloads whenever the store's revocation
//! counter moves. A revocation made on this node is denied here at once; one made on another node
//! within one [`Denylist::refresh`] period (the app polls every [`REFRESH_EVERY_MS`]). Opaque and
//! refresh tokens are not in it: their own rows say whether they are revoked.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;

use crate::error::StoreError;
use crate::ports::RevocationList;
use crate::time::UnixTime;

/// How often the app asks [`Denylist::refresh`] to follow other nodes' revocations: the bound on
/// how long a token revoked on one node stays active on another.
pub const REFRESH_EVERY_MS: u64 = 100;

#[derive(Default)]
struct Loaded {
    version: Option<u64>,
    jtis: HashSet<String>,
}

/// The denylist, kept in memory.
pub struct Denylist {
    store: Arc<dyn RevocationList>,
    loaded: RwLock<Loaded>,
}

impl Denylist {
    /// A denylist over the store's; nothing is loaded until the first [`Self::refresh`], and until
    /// then every check reads the store.
    #[must_use]
    pub fn new(store: Arc<dyn RevocationList>) -> Self {
        Self {
            store,
            loaded: RwLock::new(Loaded::default()),
        }
    }

    /// Reloads the denied `jti`s when the store's counter moved. Returns whether it reloaded.
    ///
    /// # Errors
    /// `Unavailable` when the store does not answer; the copy in memory stays as it was.
    pub async fn refresh(&self, now: UnixTime) -> Result<bool, StoreError> {
        let version = self.store.version().await?;
        if self.read().version == Some(version) {
            return Ok(false);
        }
        let jtis: HashSet<String> = self.store.live(now).await?.into_iter().collect();
        // A revocation made here while the list was being read may be missing from it; the
        // counter it moved brings it back at the next refresh.
        *self.write() = Loaded {
            version: Some(version),
            jtis,
        };
        Ok(true)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Loaded> {
        self.loaded
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Loaded> {
        self.loaded
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl RevocationList for Denylist {
    async fn revoke(&self, jti: &str, expires_at: UnixTime) -> Result<(), StoreError> {
        self.store.revoke(jti, expires_at).await?;
        self.write().jtis.insert(jti.to_owned());
        Ok(())
    }

    async fn is_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        {
            let loaded = self.read();
            if loaded.version.is_some() {
                return Ok(loaded.jtis.contains(jti));
            }
        }
        self.store.is_revoked(jti).await
    }

    async fn purge(&self, now: UnixTime) -> Result<u64, StoreError> {
        self.store.purge(now).await
    }

    async fn version(&self) -> Result<u64, StoreError> {
        self.store.version().await
    }

    async fn live(&self, now: UnixTime) -> Result<Vec<String>, StoreError> {
        self.store.live(now).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::ports::MockRevocationList;

    #[tokio::test]
    async fn once_loaded_it_answers_from_memory_and_follows_the_counter() {
        let mut store = MockRevocationList::new();
        let version = Arc::new(std::sync::atomic::AtomicU64::new(1));
        let v = version.clone();
        store
            .expect_version()
            .returning(move || Ok(v.load(std::sync::atomic::Ordering::SeqCst)));
        let mut seq = mockall::Sequence::new();
        store
            .expect_live()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Ok(vec!["a".into()]));
        store
            .expect_live()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Ok(vec!["a".into(), "b".into(), "c".into()]));
        // Before the first load, a check reads the store.
        store.expect_is_revoked().times(1).returning(|_| Ok(true));
        store.expect_revoke().times(1).returning(|_, _| Ok(()));
        let list = Denylist::new(Arc::new(store));
        assert!(list.is_revoked("x").await.unwrap());

        let now = UnixTime::from_secs(10);
        assert!(list.refresh(now).await.unwrap());
        assert!(
            !list.refresh(now).await.unwrap(),
            "the counter did not move"
        );
        assert!(list.is_revoked("a").await.unwrap());
        assert!(!list.is_revoked("b").await.unwrap());
        // Revoked here: denied at once, before any reload.
        list.revoke("c", UnixTime::from_secs(100)).await.unwrap();
        assert!(list.is_revoked("c").await.unwrap());
        // Revoked on another node: denied after the counter moved and the list reloaded.
        version.store(2, std::sync::atomic::Ordering::SeqCst);
        assert!(list.refresh(now).await.unwrap());
        assert!(list.is_revoked("b").await.unwrap());
        assert!(list.is_revoked("c").await.unwrap());
    }
}
