//! Registering and managing clients: the use cases behind `tessera client …`.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::audit::{AuditEvent, AuditKind, NoAudit};
use crate::client::{
    AccessTokenFormat, Audience, Client, ClientAuthMethod, ClientId, ClientName, ClientSpec,
    GrantType, RoleSet, SigningAlgorithm, TokenTtl,
};
use crate::error::{ParseError, StoreError};
use crate::ports::{AuditLog, ClientRepository, RandomSource};
use crate::scope::ScopeSet;
use crate::secret::{ClientSecret, PlainSecret, SecretPepper, SecretVerifier};
use crate::time::UnixTime;

/// Where a new client's secret comes from.
#[derive(Clone, Debug)]
pub enum SecretSource {
    /// The server generates one (256 bits, `tsec_` prefix, checksum); stored as HMAC-SHA-256.
    Generate,
    /// A secret imported from another provider; stored as argon2id.
    Import(PlainSecret),
    /// No secret: a public client.
    None,
}

impl SecretSource {
    /// The secret a new client with these authentication methods gets: generated, unless every
    /// method it may use needs none (a public client, `none`; a certificate-only client,
    /// `tls_client_auth`). No methods means the default secret methods.
    #[must_use]
    pub fn for_methods(methods: &BTreeSet<ClientAuthMethod>) -> Self {
        let uses_secret = methods.is_empty()
            || methods.iter().any(|m| {
                matches!(
                    m,
                    ClientAuthMethod::ClientSecretBasic | ClientAuthMethod::ClientSecretPost
                )
            });
        if uses_secret {
            Self::Generate
        } else {
            Self::None
        }
    }
}

/// What an operator asks for when registering a client. Unset fields take sensible defaults.
#[derive(Clone, Debug)]
pub struct NewClient {
    /// The id; generated when absent.
    pub id: Option<ClientId>,
    /// The display name.
    pub name: ClientName,
    /// The scopes it may have.
    pub allowed_scopes: ScopeSet,
    /// The scopes it gets when it asks for none; all allowed scopes when absent.
    pub default_scopes: Option<ScopeSet>,
    /// Its roles.
    pub roles: RoleSet,
    /// Its grants; `client_credentials` when empty.
    pub grant_types: BTreeSet<GrantType>,
    /// Its authentication methods; `client_secret_basic` and `client_secret_post` when empty
    /// (or `none` for a public client).
    pub auth_methods: BTreeSet<ClientAuthMethod>,
    /// Its audience.
    pub audience: Option<Audience>,
    /// Its access-token lifetime.
    pub access_token_ttl: Option<TokenTtl>,
    /// Its signing algorithm.
    pub signing_alg: Option<SigningAlgorithm>,
    /// JWT or opaque access tokens.
    pub access_token_format: AccessTokenFormat,
    /// The strongest assurance level it may put in a user token.
    pub max_assurance: Option<crate::assurance::AssuranceLevel>,
    /// Thumbprints of its certificates (RFC 8705).
    pub cert_thumbprints: Vec<crate::cert::CertThumbprint>,
    /// The subject DN of its CA-issued certificates (`tls_client_auth`).
    pub tls_subject_dn: Option<crate::cert::SubjectDn>,
    /// Its redirect URIs (authorization code grant).
    pub redirect_uris: Vec<crate::authorize::RedirectUri>,
    /// Its optional registration metadata (logout URIs, ID-token algorithm, …).
    pub options: crate::registration::ClientOptions,
    /// Its secret.
    pub secret: SecretSource,
}

/// Why an administrative operation failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// The request does not describe a valid client.
    #[error(transparent)]
    Invalid(#[from] ParseError),
    /// No client has this id.
    #[error("no client with id {0}")]
    NotFound(ClientId),
    /// A client with this id exists already.
    #[error("a client with id {0} already exists")]
    Conflict(ClientId),
    /// The client changed since the revision an update named (optimistic concurrency).
    #[error("the client {0} has changed since it was read")]
    Stale(ClientId),
    /// The store failed.
    #[error("store error: {0}")]
    Store(StoreError),
}

/// The longest an old secret keeps working after a rotation: 30 days.
pub const MAX_GRACE_SECS: u32 = 30 * 86_400;

/// What a deployment can serve a client: the algorithms it signs with, and the longest token
/// lifetime its keys outlive (`keys.retire_after_seconds`).
#[derive(Clone, Debug)]
pub struct DeploymentLimits {
    /// The algorithms with keys.
    pub algorithms: Vec<SigningAlgorithm>,
    /// The longest access-token lifetime, in seconds.
    pub max_ttl_secs: u32,
}

impl DeploymentLimits {
    /// Whether `client` fits: its algorithm is one the deployment signs with, its lifetime one
    /// its keys outlive.
    ///
    /// # Errors
    /// Naming the setting that does not fit.
    pub fn check(&self, client: &Client) -> Result<(), ParseError> {
        if let Some(alg) = client.signing_alg()
            && !self.algorithms.contains(&alg)
        {
            return Err(ParseError::new(
                "alg",
                format!("{alg} is not enabled on this deployment (keys.algorithms)"),
            ));
        }
        if let Some(ttl) = client.access_token_ttl()
            && ttl.as_secs() > self.max_ttl_secs
        {
            return Err(ParseError::new(
                "ttl",
                format!(
                    "at most keys.retire_after_seconds ({}), or its tokens would outlive their key",
                    self.max_ttl_secs
                ),
            ));
        }
        Ok(())
    }
}

/// The client administration use cases.
#[derive(Clone)]
pub struct ClientAdmin {
    repo: Arc<dyn ClientRepository>,
    random: Arc<dyn RandomSource>,
    pepper: SecretPepper,
    audit: Arc<dyn AuditLog>,
    /// Who is acting, named in every audit event (`admin client ops`, `dynamic registration`;
    /// none for the command line).
    actor: Option<String>,
    /// What the deployment can serve; unchecked when absent.
    limits: Option<DeploymentLimits>,
}

impl ClientAdmin {
    /// A service over the client store.
    #[must_use]
    pub fn new(
        repo: Arc<dyn ClientRepository>,
        random: Arc<dyn RandomSource>,
        pepper: SecretPepper,
    ) -> Self {
        Self {
            repo,
            random,
            pepper,
            audit: Arc::new(NoAudit),
            actor: None,
            limits: None,
        }
    }

    /// Refuses clients the deployment cannot serve (at registration and on every change).
    #[must_use]
    pub fn with_limits(mut self, limits: DeploymentLimits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// Whether `client` fits the deployment (for the use cases beside this file).
    pub(super) fn fits(&self, client: &Client) -> Result<(), AdminError> {
        match &self.limits {
            Some(limits) => limits.check(client).map_err(AdminError::Invalid),
            None => Ok(()),
        }
    }

    /// The same use cases, acting for the admin client `actor`: its id is in every audit event.
    #[must_use]
    pub fn acting_as(&self, actor: &ClientId) -> Self {
        Self {
            actor: Some(format!("admin client {actor}")),
            ..self.clone()
        }
    }

    /// The same use cases, acting for a client registering itself (RFC 7591) from `source`.
    #[must_use]
    pub fn registering(&self, source: Option<&str>) -> Self {
        Self {
            actor: Some(match source {
                Some(address) => format!("dynamic registration from {address}"),
                None => "dynamic registration".to_owned(),
            }),
            ..self.clone()
        }
    }

    /// Records every change in `audit`.
    #[must_use]
    pub fn with_audit(mut self, audit: Arc<dyn AuditLog>) -> Self {
        self.audit = audit;
        self
    }

    /// The client store (for the use cases beside this file).
    pub(super) fn repo(&self) -> &dyn ClientRepository {
        self.repo.as_ref()
    }

    /// Records an audit event about client `id` (for the use cases beside this file).
    pub(super) fn audited(&self, kind: AuditKind, id: &ClientId, now: UnixTime, detail: &str) {
        self.record(kind, id, now, detail);
    }

    fn record(&self, kind: AuditKind, id: &ClientId, now: UnixTime, detail: &str) {
        let detail = match &self.actor {
            Some(actor) => format!("{detail} by {actor}"),
            None => detail.to_owned(),
        };
        self.audit
            .record(AuditEvent::new(kind, now, detail).client(id.as_str()));
    }

    /// Registers a client. Returns it with the generated secret, which is shown once and never
    /// stored in the clear.
    ///
    /// # Errors
    /// `Invalid` when the request breaks a client invariant, `Conflict` when the id is taken.
    pub async fn create(
        &self,
        req: NewClient,
        now: UnixTime,
    ) -> Result<(Client, Option<PlainSecret>), AdminError> {
        let id = match req.id {
            Some(id) => id,
            None => self.generate_id()?,
        };
        let (secrets, shown) = match req.secret {
            SecretSource::Generate => {
                let mut raw = [0u8; 32];
                self.random.fill(&mut raw);
                let secret = PlainSecret::generate(raw);
                (
                    vec![SecretVerifier::hmac(&self.pepper, &secret).into()],
                    Some(secret),
                )
            }
            SecretSource::Import(secret) => {
                let mut salt = [0u8; 16];
                self.random.fill(&mut salt);
                (vec![SecretVerifier::argon2id(&secret, salt)?.into()], None)
            }
            SecretSource::None => (Vec::new(), None),
        };
        let auth_methods = if !req.auth_methods.is_empty() {
            req.auth_methods
        } else if secrets.is_empty() {
            [ClientAuthMethod::None].into()
        } else {
            [
                ClientAuthMethod::ClientSecretBasic,
                ClientAuthMethod::ClientSecretPost,
            ]
            .into()
        };
        let grant_types = if req.grant_types.is_empty() {
            [GrantType::ClientCredentials].into()
        } else {
            req.grant_types
        };
        let client = Client::new(ClientSpec {
            id: id.clone(),
            name: req.name,
            secrets,
            auth_methods,
            grant_types,
            default_scopes: req
                .default_scopes
                .unwrap_or_else(|| req.allowed_scopes.clone()),
            allowed_scopes: req.allowed_scopes,
            roles: req.roles,
            audience: req.audience,
            access_token_ttl: req.access_token_ttl,
            signing_alg: req.signing_alg,
            access_token_format: req.access_token_format,
            max_assurance: req.max_assurance,
            cert_thumbprints: req.cert_thumbprints,
            tls_subject_dn: req.tls_subject_dn,
            redirect_uris: req.redirect_uris,
            options: req.options,
            enabled: true,
            created_at: now,
        })?;
        self.fits(&client)?;
        self.repo.insert(&client).await.map_err(|e| match e {
            StoreError::Conflict => AdminError::Conflict(id),
            other => AdminError::Store(other),
        })?;
        self.record(AuditKind::ClientCreated, client.id(), now, "created");
        Ok((client, shown))
    }

    /// The client with this id.
    ///
    /// # Errors
    /// `NotFound` when there is none.
    pub async fn show(&self, id: &ClientId) -> Result<Client, AdminError> {
        self.repo
            .find(id)
            .await
            .map_err(AdminError::Store)?
            .ok_or_else(|| AdminError::NotFound(id.clone()))
    }

    /// Every client, by id.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn list(&self) -> Result<Vec<Client>, AdminError> {
        self.repo.list().await.map_err(AdminError::Store)
    }

    /// Disables a client: it can no longer obtain tokens. Idempotent.
    ///
    /// # Errors
    /// `NotFound` when there is none.
    pub async fn disable(&self, id: &ClientId, now: UnixTime) -> Result<Client, AdminError> {
        let mut spec = self.show(id).await?.to_spec();
        spec.enabled = false;
        let client = Client::new(spec)?;
        self.repo
            .update(&client)
            .await
            .map_err(|e| self.not_found(id, e))?;
        self.record(AuditKind::ClientChanged, id, now, "disabled");
        Ok(client)
    }

    /// Gives a client a new generated secret, which works at once. The secrets it had keep working
    /// for `grace_secs` more seconds (none when zero); secrets already expiring keep the earlier
    /// of their own expiry and that one; expired ones are dropped. Returns the client and the new
    /// secret, shown once.
    ///
    /// # Errors
    /// `NotFound` when there is none; `Invalid` for a public client, which has no secret.
    pub async fn rotate_secret(
        &self,
        id: &ClientId,
        grace_secs: u32,
        now: UnixTime,
    ) -> Result<(Client, PlainSecret), AdminError> {
        if grace_secs > MAX_GRACE_SECS {
            return Err(ParseError::new("grace", "at most 30 days").into());
        }
        let mut spec = self.show(id).await?.to_spec();
        if spec.auth_methods.contains(&ClientAuthMethod::None) {
            return Err(
                ParseError::new("secret", "a public client has no secret to rotate").into(),
            );
        }
        let until = now.plus_secs(i64::from(grace_secs));
        let mut secrets: Vec<ClientSecret> = spec
            .secrets
            .into_iter()
            .filter(|s| grace_secs > 0 && s.is_live(now))
            .map(|s| ClientSecret {
                expires_at: Some(s.expires_at.map_or(until, |at| at.min(until))),
                ..s
            })
            .collect();
        let mut raw = [0u8; 32];
        self.random.fill(&mut raw);
        let secret = PlainSecret::generate(raw);
        secrets.push(SecretVerifier::hmac(&self.pepper, &secret).into());
        spec.secrets = secrets;
        let client = Client::new(spec)?;
        self.repo
            .update(&client)
            .await
            .map_err(|e| self.not_found(id, e))?;
        self.record(
            AuditKind::ClientChanged,
            id,
            now,
            &format!("secret rotated, previous secrets valid {grace_secs} s more"),
        );
        Ok((client, secret))
    }

    /// Deletes a client and its secrets.
    ///
    /// # Errors
    /// `NotFound` when there is none.
    pub async fn delete(&self, id: &ClientId, now: UnixTime) -> Result<(), AdminError> {
        self.repo
            .delete(id)
            .await
            .map_err(|e| self.not_found(id, e))?;
        self.record(AuditKind::ClientDeleted, id, now, "deleted");
        Ok(())
    }

    fn not_found(&self, id: &ClientId, e: StoreError) -> AdminError {
        match e {
            StoreError::NotFound => AdminError::NotFound(id.clone()),
            other => AdminError::Store(other),
        }
    }

    /// `cli_` and 24 hex digits (96 random bits).
    fn generate_id(&self) -> Result<ClientId, AdminError> {
        let mut raw = [0u8; 12];
        self.random.fill(&mut raw);
        let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        Ok(ClientId::parse(&format!("cli_{hex}"))?)
    }
}
