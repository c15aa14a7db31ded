//! Keeping signing keys: make sure every algorithm in use has an active key, and keep the
//! in-memory signer in step with the store.

use std::sync::Arc;

use crate::audit::{AuditEvent, AuditKind, NoAudit};
use crate::client::SigningAlgorithm;
use crate::error::StoreError;
use crate::keys::{KeyChange, KeyId, KeyPolicy, KeyState, SigningKey, plan_key_changes};
use crate::ports::{AuditLog, KeyGenerator, KeyRepository, LeaseStore, SignError, TokenSigner};
use crate::time::UnixTime;

/// Why key maintenance failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key store failed.
    #[error("key store: {0}")]
    Store(#[from] StoreError),
    /// A key could not be generated or parsed.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// No key has this id.
    #[error("no key with kid {0}")]
    NotFound(KeyId),
    /// The operation would break a token in flight or leave an algorithm without a signer.
    #[error("{0}")]
    Refused(String),
    /// Another process holds the key lease and has not yet made the keys this one needs: ask
    /// again in a moment.
    #[error("another process holds the signing-key lease and has not made the keys yet")]
    LeaseHeldElsewhere,
}

/// The lease under which one process at a time changes signing keys.
pub const KEY_LEASE: &str = "signing-key-lifecycle";

/// How long the key lease lasts for a holder that renews it every `renew_every`: three renewals
/// (one or two may be late), and at least five seconds. A holder that stops is replaced by another
/// process within this time.
#[must_use]
pub fn key_lease_secs(renew_every: std::time::Duration) -> u32 {
    u32::try_from(renew_every.as_millis().saturating_mul(3).div_ceil(1000))
        .unwrap_or(u32::MAX)
        .max(5)
}

/// The key lease a process takes before changing keys.
#[derive(Clone)]
struct Lease {
    store: Arc<dyn LeaseStore>,
    holder: String,
    secs: u32,
}

/// The key-keeping use cases.
pub struct KeyService {
    repo: Arc<dyn KeyRepository>,
    generator: Arc<dyn KeyGenerator>,
    signer: Arc<dyn TokenSigner>,
    audit: Arc<dyn AuditLog>,
    lease: Option<Lease>,
    /// The algorithms the deployment signs with; a rotation to another is refused. Any when
    /// absent.
    algorithms: Option<Vec<SigningAlgorithm>>,
    /// The admin client acting, named in every audit event (none for the command line and the
    /// lifecycle).
    actor: Option<crate::ClientId>,
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
            audit: Arc::new(NoAudit),
            lease: None,
            algorithms: None,
            actor: None,
        }
    }

    /// The same use cases, acting for the admin client `actor`: its id is in every audit event.
    #[must_use]
    pub fn acting_as(&self, actor: &crate::ClientId) -> Self {
        Self {
            repo: Arc::clone(&self.repo),
            generator: Arc::clone(&self.generator),
            signer: Arc::clone(&self.signer),
            audit: Arc::clone(&self.audit),
            lease: self.lease.clone(),
            algorithms: self.algorithms.clone(),
            actor: Some(actor.clone()),
        }
    }

    /// Refuses to rotate to an algorithm outside `algorithms` (the deployment's
    /// `keys.algorithms`), for the command line and the admin API alike.
    #[must_use]
    pub fn with_algorithms(mut self, algorithms: Vec<SigningAlgorithm>) -> Self {
        self.algorithms = Some(algorithms);
        self
    }

    /// Changes keys (generating missing ones, the lifecycle of [`Self::tick`]) only while holding
    /// [`KEY_LEASE`] as `holder` in `store`, taken or renewed for `secs` at each step: for
    /// processes sharing one store. Without it this service changes keys whenever asked.
    #[must_use]
    pub fn with_lease(
        mut self,
        store: Arc<dyn LeaseStore>,
        holder: impl Into<String>,
        secs: u32,
    ) -> Self {
        self.lease = Some(Lease {
            store,
            holder: holder.into(),
            secs,
        });
        self
    }

    /// Whether this process may change keys at `now`: it has no lease to respect, or it holds
    /// (or has just taken or renewed) the key lease.
    async fn may_change_keys(&self, now: UnixTime) -> Result<bool, KeyError> {
        match &self.lease {
            None => Ok(true),
            Some(l) => Ok(l
                .store
                .acquire(KEY_LEASE, &l.holder, now, now.plus_secs(i64::from(l.secs)))
                .await?),
        }
    }

    /// Records every key change in `audit`.
    #[must_use]
    pub fn with_audit(mut self, audit: Arc<dyn AuditLog>) -> Self {
        self.audit = audit;
        self
    }

    fn record(&self, now: UnixTime, detail: String) {
        let detail = match &self.actor {
            Some(actor) => format!("{detail} by admin client {actor}"),
            None => detail,
        };
        self.audit
            .record(AuditEvent::new(AuditKind::KeyChanged, now, detail));
    }

    /// Makes sure each of `algs` has an active key, generating and storing one where it has none,
    /// then installs the live keys in the signer. Returns the kids it generated. With a lease,
    /// only its holder generates; another process installs what the holder made.
    ///
    /// # Errors
    /// When the store or the generator fails, nothing is installed. `LeaseHeldElsewhere` when
    /// another process holds the lease and a key is still missing.
    pub async fn ensure_active(
        &self,
        algs: &[SigningAlgorithm],
        now: UnixTime,
    ) -> Result<Vec<String>, KeyError> {
        let may_change = self.may_change_keys(now).await?;
        let live = self.repo.live_keys().await?;
        if !may_change {
            let complete = algs.iter().all(|alg| {
                live.iter()
                    .any(|k| k.alg == *alg && k.state == KeyState::Active)
            });
            if !complete {
                return Err(KeyError::LeaseHeldElsewhere);
            }
            self.reload().await?;
            return Ok(Vec::new());
        }
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
                retire_at: None,
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

    /// Publishes a new key for `alg`. It is in the JWKS at once and starts signing after the
    /// policy's lead time (see [`KeyService::tick`]).
    ///
    /// # Errors
    /// When generation or the store fails.
    pub async fn rotate(
        &self,
        alg: SigningAlgorithm,
        now: UnixTime,
    ) -> Result<SigningKey, KeyError> {
        if self.algorithms.as_ref().is_some_and(|a| !a.contains(&alg)) {
            return Err(KeyError::Refused(format!(
                "alg: {alg} is not enabled on this deployment (keys.algorithms)"
            )));
        }
        let (kid, private_der) = self.generator.generate(alg)?;
        let key = SigningKey {
            kid,
            alg,
            state: KeyState::Published,
            private_der,
            created_at: now,
            activated_at: None,
            retire_at: None,
        };
        self.repo.insert(&key).await?;
        self.record(now, format!("published {} key {}", key.alg, key.kid));
        Ok(key)
    }

    /// Takes a key out of the JWKS now. Refused for the active key (rotate first: retiring the
    /// signer would leave its algorithm unable to sign).
    ///
    /// # Errors
    /// `NotFound`, `Refused`, or a store failure.
    pub async fn retire(&self, kid: &KeyId, now: UnixTime) -> Result<SigningKey, KeyError> {
        let mut key = self
            .repo
            .all_keys()
            .await?
            .into_iter()
            .find(|k| &k.kid == kid)
            .ok_or_else(|| KeyError::NotFound(kid.clone()))?;
        match key.state {
            KeyState::Active => Err(KeyError::Refused(format!(
                "{kid} is the active {} key: rotate first, it retires when its successor activates",
                key.alg
            ))),
            KeyState::Retired => Ok(key),
            KeyState::Published | KeyState::Retiring => {
                key.state = KeyState::Retired;
                key.retire_at = Some(now);
                self.repo.update(&key).await?;
                self.record(now, format!("retired {} key {} by hand", key.alg, key.kid));
                Ok(key)
            }
        }
    }

    /// Every key, retired ones included.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn list(&self) -> Result<Vec<SigningKey>, KeyError> {
        Ok(self.repo.all_keys().await?)
    }

    /// Applies the key policy at `now` (activation after the lead, retirement, removal, automatic
    /// rotation) and reloads the signer when anything changed. Returns what changed. With a
    /// lease, only its holder changes anything (the others follow the store's key version).
    ///
    /// # Errors
    /// When the store or the generator fails; changes applied before the failure stay.
    pub async fn tick(
        &self,
        now: UnixTime,
        policy: &KeyPolicy,
    ) -> Result<Vec<KeyChange>, KeyError> {
        if !self.may_change_keys(now).await? {
            return Ok(Vec::new());
        }
        let live = self.repo.live_keys().await?;
        let plan = plan_key_changes(&live, now, policy);
        for change in &plan {
            let find = |kid: &KeyId| live.iter().find(|k| &k.kid == kid).cloned();
            match change {
                KeyChange::Activate(kid) => {
                    if let Some(mut key) = find(kid) {
                        key.state = KeyState::Active;
                        key.activated_at = Some(now);
                        self.repo.update(&key).await?;
                    }
                }
                KeyChange::Retire { kid, retire_at } => {
                    if let Some(mut key) = find(kid) {
                        key.state = KeyState::Retiring;
                        key.retire_at = Some(*retire_at);
                        self.repo.update(&key).await?;
                    }
                }
                KeyChange::Remove(kid) => {
                    if let Some(mut key) = find(kid) {
                        key.state = KeyState::Retired;
                        self.repo.update(&key).await?;
                    }
                }
                KeyChange::Publish(alg) => {
                    self.rotate(*alg, now).await?;
                }
            }
        }
        for change in &plan {
            if !matches!(change, KeyChange::Publish(_)) {
                self.record(now, format!("{change:?}"));
            }
        }
        if !plan.is_empty() {
            self.reload().await?;
        }
        Ok(plan)
    }

    /// The key store's current version.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn version(&self) -> Result<u64, KeyError> {
        Ok(self.repo.version().await?)
    }
}
