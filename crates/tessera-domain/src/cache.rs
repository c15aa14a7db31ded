//! A cache of clients in front of [`ClientRepository`], so issuing a token needs no database round
//! trip. [`ClientCache::refresh`] loads every client whenever the repository's version number has
//! moved; whoever owns the cache calls it periodically (the app does so every `refresh_interval`),
//! so any change made by any process sharing the store is seen within that interval.
//!
//! Once loaded the cache is *complete*: an id it does not hold is unknown without asking the
//! store, so an unknown client costs exactly what a known one with a wrong secret costs (no
//! timing difference, and a flood of made-up ids never reaches the database). Before the first
//! load it reads through, remembering unknown ids in a bounded table.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::client::{Client, ClientId};
use crate::error::StoreError;
use crate::ports::ClientRepository;

/// How many unknown ids are remembered before the table is emptied.
const MAX_NEGATIVE: usize = 10_000;

#[derive(Default)]
struct Entries {
    known: HashMap<ClientId, Arc<Client>>,
    /// Every scope some known client may have.
    scopes: std::collections::HashSet<String>,
    unknown: HashMap<ClientId, ()>,
    /// `known` holds every client of the store (as of `version`).
    complete: bool,
}

/// The cache. Cheap to share behind an `Arc`.
pub struct ClientCache {
    repo: Arc<dyn ClientRepository>,
    entries: RwLock<Entries>,
    /// The repository version the entries were read at; `u64::MAX` before the first refresh.
    version: AtomicU64,
    /// Bumped on every invalidation, so a read that raced an invalidation does not repopulate the
    /// cache with what it read before.
    generation: AtomicU64,
    /// Clients that name themselves by a metadata-document URL, when that is on.
    documents: Option<Arc<crate::metadata_document::DocumentClients>>,
}

impl ClientCache {
    /// A cache over `repo`, empty.
    #[must_use]
    pub fn new(repo: Arc<dyn ClientRepository>) -> Self {
        Self {
            repo,
            entries: RwLock::new(Entries::default()),
            version: AtomicU64::new(u64::MAX),
            generation: AtomicU64::new(0),
            documents: None,
        }
    }

    /// Also resolves a `client_id` that is a metadata-document URL (one no stored client has)
    /// through `documents`.
    #[must_use]
    pub fn with_documents(
        mut self,
        documents: Arc<crate::metadata_document::DocumentClients>,
    ) -> Self {
        self.documents = Some(documents);
        self
    }

    /// Asks the store for its client change counter: a cheap round trip that tells whether the
    /// store answers at all (readiness).
    ///
    /// # Errors
    /// When the store does not answer.
    pub async fn store_version(&self) -> Result<u64, StoreError> {
        self.repo.version().await
    }

    /// The client with this id, from memory when possible.
    ///
    /// # Errors
    /// What the repository returns when it has to be asked.
    pub async fn get(&self, id: &ClientId) -> Result<Option<Arc<Client>>, StoreError> {
        let document = self.documents.as_ref().and_then(|d| {
            crate::metadata_document::DocumentUrl::recognise(id.as_str()).map(|url| (d, url))
        });
        if let Ok(entries) = self.entries.read() {
            if let Some(client) = entries.known.get(id) {
                return Ok(Some(Arc::clone(client)));
            }
            if document.is_none() && (entries.complete || entries.unknown.contains_key(id)) {
                return Ok(None);
            }
        }
        if let Some((documents, url)) = document {
            return Ok(documents.resolve(&url).await);
        }
        let generation = self.generation.load(Ordering::Acquire);
        let found = self.repo.find(id).await?.map(Arc::new);
        if let Ok(mut entries) = self.entries.write()
            && self.generation.load(Ordering::Acquire) == generation
        {
            match &found {
                Some(client) => {
                    entries.scopes.extend(
                        client
                            .allowed_scopes()
                            .iter()
                            .map(|s| s.as_str().to_owned()),
                    );
                    entries.known.insert(id.clone(), Arc::clone(client));
                }
                None => {
                    if entries.unknown.len() >= MAX_NEGATIVE {
                        entries.unknown.clear();
                    }
                    entries.unknown.insert(id.clone(), ());
                }
            }
        }
        Ok(found)
    }

    /// Whether `scope` is known to this server: some client may have it. Before the first
    /// complete load every scope counts as known (so nothing is ignored that should be refused).
    #[must_use]
    pub fn knows_scope(&self, scope: &str) -> bool {
        self.entries
            .read()
            .map_or(true, |e| !e.complete || e.scopes.contains(scope))
    }

    /// Asks the repository for its version and, when it moved, loads every client. Returns
    /// whether the cache was reloaded.
    ///
    /// # Errors
    /// What the repository returns; the cache is then left as it was (and the next call tries
    /// again).
    pub async fn refresh(&self) -> Result<bool, StoreError> {
        let current = self.repo.version().await?;
        if self.version.load(Ordering::Acquire) == current {
            return Ok(false);
        }
        // Reads that raced this reload must not put back what they read before it.
        self.generation.fetch_add(1, Ordering::AcqRel);
        let all = self.repo.list().await?;
        if let Ok(mut entries) = self.entries.write() {
            entries.scopes = all
                .iter()
                .flat_map(|c| c.allowed_scopes().iter().map(|s| s.as_str().to_owned()))
                .collect();
            entries.known = all
                .into_iter()
                .map(|c| (c.id().clone(), Arc::new(c)))
                .collect();
            entries.unknown.clear();
            entries.complete = true;
        }
        // Recorded only once loaded: a write after the version was read moves it again, and the
        // next call reloads.
        self.version.store(current, Ordering::Release);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{ClientName, ClientSpec};
    use crate::ports::MockClientRepository;

    use crate::secret::SecretVerifier;
    use crate::time::UnixTime;

    fn id(s: &str) -> ClientId {
        ClientId::parse(s).unwrap_or_else(|_| unreachable!())
    }

    fn client(s: &str) -> Client {
        Client::new(ClientSpec::new(
            id(s),
            ClientName::parse(s).unwrap_or_else(|_| unreachable!()),
            vec![SecretVerifier::HmacSha256([0; 32]).into()],
            UnixTime::from_secs(0),
        ))
        .unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[tokio::test]
    async fn a_loaded_cache_answers_hits_and_misses_from_memory_until_the_version_moves() {
        let mut repo = MockClientRepository::new();
        // Every client is loaded once per version; no id is ever looked up on its own.
        repo.expect_find().never();
        repo.expect_list()
            .times(2)
            .returning(|| Ok(vec![client("known")]));
        let mut versions = vec![1_u64, 1, 2].into_iter();
        repo.expect_version()
            .times(3)
            .returning(move || Ok(versions.next().unwrap_or(2)));
        let cache = ClientCache::new(Arc::new(repo));

        assert_eq!(cache.refresh().await, Ok(true), "the first refresh loads");
        for _ in 0..3 {
            assert!(matches!(cache.get(&id("known")).await, Ok(Some(_))));
            assert!(matches!(cache.get(&id("ghost")).await, Ok(None)));
            assert!(matches!(cache.get(&id("ghost-2")).await, Ok(None)));
        }
        assert_eq!(
            cache.refresh().await,
            Ok(false),
            "same version: nothing read"
        );
        assert_eq!(cache.refresh().await, Ok(true), "a new version reloads");
        assert!(matches!(cache.get(&id("known")).await, Ok(Some(_))));
    }

    #[tokio::test]
    async fn before_loading_it_reads_through_and_a_failed_load_is_retried() {
        let mut repo = MockClientRepository::new();
        repo.expect_find()
            .withf(|i| i.as_str() == "ghost")
            .times(1)
            .returning(|_| Ok(None));
        repo.expect_version().returning(|| Ok(7));
        let mut lists = 0;
        repo.expect_list().times(2).returning(move || {
            lists += 1;
            if lists == 1 {
                Err(StoreError::Unavailable("locked".into()))
            } else {
                Ok(vec![])
            }
        });
        let cache = ClientCache::new(Arc::new(repo));
        assert!(matches!(cache.get(&id("ghost")).await, Ok(None)));
        assert!(
            matches!(cache.get(&id("ghost")).await, Ok(None)),
            "remembered"
        );
        assert!(cache.refresh().await.is_err());
        assert_eq!(
            cache.refresh().await,
            Ok(true),
            "the version was not recorded"
        );
    }

    #[tokio::test]
    async fn store_errors_are_passed_on_and_not_cached() {
        let mut repo = MockClientRepository::new();
        repo.expect_find()
            .times(2)
            .returning(|_| Err(StoreError::Unavailable("locked".into())));
        let cache = ClientCache::new(Arc::new(repo));
        for _ in 0..2 {
            assert_eq!(
                cache.get(&id("x")).await,
                Err(StoreError::Unavailable("locked".into()))
            );
        }
    }
}
