//! Dynamic client registration (RFC 7591) and its management protocol (RFC 7592): who may
//! register (the policy), the registration itself through the same client use cases as the
//! admin API, the registration access token that lets a client read, update and delete its own
//! registration (rotated on every update), and the initial access tokens operators issue.

mod metadata;

use std::sync::Arc;

pub use metadata::{
    ClientMetadata, MetadataError, RawMetadata, RegistrationMode, RegistrationPolicy,
};

use crate::client::{Client, ClientAuthMethod, ClientId};
use crate::error::StoreError;
use crate::issued::ReferenceToken;
use crate::ports::{InitialAccessToken, RandomSource, RateKind, RateLimiter, RegistrationStore};
use crate::secret::PlainSecret;
use crate::service::{AdminError, ClientAdmin};
use crate::time::UnixTime;

/// The prefix of registration access tokens.
pub const REGISTRATION_TOKEN_PREFIX: &str = "trat_";
/// The prefix of initial access tokens.
pub const INITIAL_TOKEN_PREFIX: &str = "tiat_";

/// Why a registration request was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationError {
    /// The deployment does not accept registrations.
    #[error("dynamic client registration is closed")]
    Closed,
    /// The initial access token or the registration access token is missing, unknown, used up
    /// or expired, or names another client (RFC 7591 §3, RFC 7592 §2: RFC 6750 `invalid_token`).
    #[error("the access token is not valid for this registration")]
    InvalidToken,
    /// The metadata was refused (RFC 7591 §3.2.2).
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// Too many requests from this address: try again after this many seconds.
    #[error("too many registrations from this address; retry in {0}s")]
    SlowDown(u32),
    /// The store failed.
    #[error("store error: {0}")]
    Store(StoreError),
}

impl From<AdminError> for RegistrationError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Invalid(p) => MetadataError::InvalidClientMetadata(p.to_string()).into(),
            // A generated id that is taken, or a client gone since it was read.
            AdminError::Conflict(_) | AdminError::NotFound(_) | AdminError::Stale(_) => {
                Self::InvalidToken
            }
            AdminError::Store(s) => Self::Store(s),
        }
    }
}

/// A registration as the client sees it: the client, its secret (shown once), and the token
/// that manages the registration.
#[derive(Debug)]
pub struct Registered {
    /// The registered client.
    pub client: Client,
    /// Its secret: at registration, for a confidential client; never again.
    pub secret: Option<PlainSecret>,
    /// The registration access token (RFC 7591 §3.2.1), new on every update.
    pub registration_access_token: ReferenceToken,
}

/// The registration use cases.
pub struct DynamicRegistration {
    clients: ClientAdmin,
    store: Arc<dyn RegistrationStore>,
    random: Arc<dyn RandomSource>,
    limiter: Arc<dyn RateLimiter>,
    policy: RegistrationPolicy,
    cache: Option<Arc<crate::cache::ClientCache>>,
}

impl DynamicRegistration {
    /// The use cases over the client use cases `clients` (whose deployment limits and audit
    /// apply), under `policy`.
    #[must_use]
    pub fn new(
        clients: ClientAdmin,
        store: Arc<dyn RegistrationStore>,
        random: Arc<dyn RandomSource>,
        limiter: Arc<dyn RateLimiter>,
        policy: RegistrationPolicy,
    ) -> Self {
        Self {
            clients,
            store,
            random,
            limiter,
            policy,
            cache: None,
        }
    }

    /// Refreshes `cache` after every change, so that this node serves a new or changed client at
    /// once (the others within their refresh interval).
    #[must_use]
    pub fn with_cache(mut self, cache: Arc<crate::cache::ClientCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    async fn changed(&self) {
        if let Some(cache) = &self.cache {
            // A failed refresh is retried by the node's periodic one.
            let _ = cache.refresh().await;
        }
    }

    /// Whether registration is open to anyone or to initial-access-token holders (what
    /// discovery publishes as `registration_endpoint`).
    #[must_use]
    pub fn is_offered(&self) -> bool {
        self.policy.mode != RegistrationMode::Closed
    }

    fn new_token(&self, prefix: &str) -> ReferenceToken {
        let mut raw = [0u8; 32];
        self.random.fill(&mut raw);
        ReferenceToken::generate(prefix, raw)
    }

    fn store_error(e: StoreError) -> RegistrationError {
        RegistrationError::Store(e)
    }

    /// Registers a client (RFC 7591 §3.1) for a request from `source` carrying `initial` (the
    /// Bearer token, if any).
    ///
    /// # Errors
    /// `Closed`; `SlowDown` when `source` is over its rate; `InvalidToken` when the policy needs
    /// an initial access token and `initial` is not a live one; `Metadata` when the policy or
    /// the client invariants refuse the metadata.
    pub async fn register(
        &self,
        initial: Option<&str>,
        metadata: ClientMetadata,
        source: Option<&str>,
        now: UnixTime,
    ) -> Result<Registered, RegistrationError> {
        if self.policy.mode == RegistrationMode::Closed {
            return Err(RegistrationError::Closed);
        }
        if let Some(wait) = self
            .limiter
            .admit(RateKind::Address, source.unwrap_or("unknown"))
        {
            return Err(RegistrationError::SlowDown(wait));
        }
        self.policy.admit(&metadata)?;
        if self.policy.mode == RegistrationMode::InitialAccessToken {
            let token = initial
                .and_then(|t| ReferenceToken::recognise(INITIAL_TOKEN_PREFIX, t))
                .ok_or(RegistrationError::InvalidToken)?;
            if !self
                .store
                .use_initial_token(&token.hash(), now)
                .await
                .map_err(Self::store_error)?
            {
                return Err(RegistrationError::InvalidToken);
            }
        }
        let (client, secret) = self
            .clients
            .registering(source)
            .create(self.policy.new_client(&metadata), now)
            .await?;
        let token = self.new_token(REGISTRATION_TOKEN_PREFIX);
        self.store
            .set_registration_token(client.id(), &token.hash(), now)
            .await
            .map_err(Self::store_error)?;
        self.changed().await;
        Ok(Registered {
            client,
            secret,
            registration_access_token: token,
        })
    }

    /// The client `raw_id` names, when `presented` is its registration access token.
    async fn authorized(
        &self,
        raw_id: &str,
        presented: Option<&str>,
    ) -> Result<ClientId, RegistrationError> {
        let id = ClientId::parse(raw_id).map_err(|_| RegistrationError::InvalidToken)?;
        let token = presented
            .and_then(|t| ReferenceToken::recognise(REGISTRATION_TOKEN_PREFIX, t))
            .ok_or(RegistrationError::InvalidToken)?;
        match self
            .store
            .registration_token(&id)
            .await
            .map_err(Self::store_error)?
        {
            Some(stored) if stored == token.hash() => Ok(id),
            _ => Err(RegistrationError::InvalidToken),
        }
    }

    /// Reads a registration (RFC 7592 §2.1).
    ///
    /// # Errors
    /// `InvalidToken` when `presented` is not the client's registration access token (also when
    /// there is no such client: RFC 7592 §2.1 says 401, not 404).
    pub async fn read(
        &self,
        raw_id: &str,
        presented: Option<&str>,
    ) -> Result<Client, RegistrationError> {
        let id = self.authorized(raw_id, presented).await?;
        Ok(self.clients.show(&id).await?)
    }

    /// Replaces a registration's metadata (RFC 7592 §2.2) and rotates its registration access
    /// token. A client may not switch between public and confidential.
    ///
    /// # Errors
    /// As for `read`; `Metadata` when the policy or the invariants refuse the metadata.
    pub async fn update(
        &self,
        raw_id: &str,
        presented: Option<&str>,
        metadata: ClientMetadata,
        source: Option<&str>,
        now: UnixTime,
    ) -> Result<(Client, ReferenceToken), RegistrationError> {
        let id = self.authorized(raw_id, presented).await?;
        self.policy.admit(&metadata)?;
        let current = self.clients.show(&id).await?;
        let public = |m: &ClientAuthMethod| *m == ClientAuthMethod::None;
        if current.auth_methods().iter().any(public) != public(&metadata.auth_method) {
            return Err(MetadataError::InvalidClientMetadata(
                "token_endpoint_auth_method cannot switch between a public and a confidential \
                 client"
                    .into(),
            )
            .into());
        }
        let revision = crate::service::revision(&current);
        let client = self
            .clients
            .registering(source)
            .update(&id, self.policy.changes(&metadata), Some(&revision), now)
            .await?;
        let token = self.new_token(REGISTRATION_TOKEN_PREFIX);
        self.store
            .set_registration_token(&id, &token.hash(), now)
            .await
            .map_err(Self::store_error)?;
        self.changed().await;
        Ok((client, token))
    }

    /// Deletes a registration (RFC 7592 §2.3): the client and its registration access token.
    ///
    /// # Errors
    /// As for `read`.
    pub async fn delete(
        &self,
        raw_id: &str,
        presented: Option<&str>,
        source: Option<&str>,
        now: UnixTime,
    ) -> Result<(), RegistrationError> {
        let id = self.authorized(raw_id, presented).await?;
        self.clients.registering(source).delete(&id, now).await?;
        self.store
            .delete_registration_token(&id)
            .await
            .map_err(Self::store_error)?;
        self.changed().await;
        Ok(())
    }
}

/// The longest an initial access token may live: 90 days.
pub const MAX_INITIAL_TOKEN_SECS: u32 = 90 * 86_400;

/// Issuing and revoking initial access tokens (the admin API's and the command line's).
pub struct InitialTokens {
    store: Arc<dyn RegistrationStore>,
    random: Arc<dyn RandomSource>,
    audit: Arc<dyn crate::ports::AuditLog>,
    actor: Option<ClientId>,
}

impl InitialTokens {
    /// The use cases over `store`.
    #[must_use]
    pub fn new(store: Arc<dyn RegistrationStore>, random: Arc<dyn RandomSource>) -> Self {
        Self {
            store,
            random,
            audit: Arc::new(crate::audit::NoAudit),
            actor: None,
        }
    }

    /// Records every issue and revocation in `audit`.
    #[must_use]
    pub fn with_audit(mut self, audit: Arc<dyn crate::ports::AuditLog>) -> Self {
        self.audit = audit;
        self
    }

    /// The same use cases, acting for the admin client `actor` (named in the audit trail).
    #[must_use]
    pub fn acting_as(&self, actor: &ClientId) -> Self {
        Self {
            store: Arc::clone(&self.store),
            random: Arc::clone(&self.random),
            audit: Arc::clone(&self.audit),
            actor: Some(actor.clone()),
        }
    }

    fn record(&self, now: UnixTime, detail: String) {
        let detail = match &self.actor {
            Some(actor) => format!("{detail} by admin client {actor}"),
            None => detail,
        };
        self.audit.record(crate::audit::AuditEvent::new(
            crate::audit::AuditKind::InitialTokenChanged,
            now,
            detail,
        ));
    }

    /// Issues a token for `uses` registrations (`None`: any number) during `ttl_secs`. Returns
    /// it with the token, shown this once.
    ///
    /// # Errors
    /// `Invalid` for no uses or a lifetime of zero or beyond [`MAX_INITIAL_TOKEN_SECS`].
    pub async fn issue(
        &self,
        uses: Option<u32>,
        ttl_secs: u32,
        note: &str,
        now: UnixTime,
    ) -> Result<(InitialAccessToken, ReferenceToken), AdminError> {
        if uses == Some(0) {
            return Err(crate::ParseError::new("uses", "at least 1 (or unlimited)").into());
        }
        if ttl_secs == 0 || ttl_secs > MAX_INITIAL_TOKEN_SECS {
            return Err(
                crate::ParseError::new("expires_in", "between 1 second and 90 days").into(),
            );
        }
        if note.chars().count() > 200 || note.chars().any(char::is_control) {
            return Err(crate::ParseError::new("note", "at most 200 printable characters").into());
        }
        let mut raw = [0u8; 32];
        self.random.fill(&mut raw);
        let token = ReferenceToken::generate(INITIAL_TOKEN_PREFIX, raw);
        let mut id = [0u8; 8];
        self.random.fill(&mut id);
        let record = InitialAccessToken {
            id: format!(
                "iat_{}",
                id.iter().map(|b| format!("{b:02x}")).collect::<String>()
            ),
            hash: token.hash(),
            uses_left: uses,
            expires_at: now.plus_secs(i64::from(ttl_secs)),
            created_at: now,
            note: note.to_owned(),
        };
        self.store
            .insert_initial_token(&record)
            .await
            .map_err(AdminError::Store)?;
        self.record(now, format!("initial access token {} issued", record.id));
        Ok((record, token))
    }

    /// Every initial access token (spent and expired ones too, until revoked).
    ///
    /// # Errors
    /// When the store fails.
    pub async fn list(&self) -> Result<Vec<InitialAccessToken>, AdminError> {
        self.store.initial_tokens().await.map_err(AdminError::Store)
    }

    /// Revokes the token `id`; `false` when there was none.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn revoke(&self, id: &str, now: UnixTime) -> Result<bool, AdminError> {
        let gone = self
            .store
            .delete_initial_token(id)
            .await
            .map_err(AdminError::Store)?;
        if gone {
            self.record(now, format!("initial access token {id} revoked"));
        }
        Ok(gone)
    }
}

#[cfg(test)]
mod tests;
