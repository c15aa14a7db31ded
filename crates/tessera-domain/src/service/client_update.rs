//! Changing a registered client: what an operator may change (`tessera client update`, the admin
//! API's `PATCH`), applied through the same invariants as registration, and the revision that
//! optimistic concurrency compares.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};

use super::admin::{AdminError, ClientAdmin};
use crate::audit::AuditKind;
use crate::authorize::RedirectUri;
use crate::client::{
    AccessTokenFormat, Audience, Client, ClientAuthMethod, ClientId, ClientName, ClientSpec,
    GrantType, RoleSet, SigningAlgorithm, TokenTtl,
};
use crate::error::StoreError;
use crate::resource::Resource;
use crate::scope::ScopeSet;
use crate::time::UnixTime;

/// What to change on a client; `None` leaves a field as it is. For the optional settings,
/// `Some(None)` returns to the deployment's default.
#[derive(Clone, Debug, Default)]
pub struct ClientChanges {
    /// The display name.
    pub name: Option<ClientName>,
    /// The scopes it may be granted.
    pub allowed_scopes: Option<ScopeSet>,
    /// The scopes it gets when it asks for none.
    pub default_scopes: Option<ScopeSet>,
    /// Its roles.
    pub roles: Option<RoleSet>,
    /// Its grant types.
    pub grant_types: Option<BTreeSet<GrantType>>,
    /// Its token endpoint authentication methods.
    pub auth_methods: Option<BTreeSet<ClientAuthMethod>>,
    /// Its redirect URIs (the whole list).
    pub redirect_uris: Option<Vec<RedirectUri>>,
    /// Its post-logout redirect URIs (the whole list).
    pub post_logout_redirect_uris: Option<Vec<RedirectUri>>,
    /// The resources it may ask tokens for (RFC 8707; the whole list).
    pub resources: Option<Vec<Resource>>,
    /// Its access-token lifetime.
    pub access_token_ttl: Option<Option<TokenTtl>>,
    /// Its signing algorithm.
    pub signing_alg: Option<Option<SigningAlgorithm>>,
    /// JWT or opaque access tokens.
    pub access_token_format: Option<AccessTokenFormat>,
    /// The `aud` of its tokens.
    pub audience: Option<Option<Audience>>,
    /// Whether it may obtain tokens.
    pub enabled: Option<bool>,
    /// The thumbprints of its certificates (RFC 8705 `self_signed_tls_client_auth`; the whole
    /// list).
    pub cert_thumbprints: Option<Vec<crate::cert::CertThumbprint>>,
    /// The subject DN of its CA-issued certificate (RFC 8705 `tls_client_auth`).
    pub tls_subject_dn: Option<Option<crate::cert::SubjectDn>>,
    /// The strongest assurance level it may put in a user token.
    pub max_assurance: Option<Option<crate::assurance::AssuranceLevel>>,
    /// `backchannel_logout_uri` (Back-Channel Logout 1.0 §2.2).
    pub backchannel_logout_uri: Option<Option<crate::registration::BackchannelUri>>,
    /// `id_token_signed_response_alg` (Registration §2).
    pub id_token_alg: Option<Option<SigningAlgorithm>>,
}

impl ClientChanges {
    /// Whether nothing would change.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        let Self {
            name,
            allowed_scopes,
            default_scopes,
            roles,
            grant_types,
            auth_methods,
            redirect_uris,
            post_logout_redirect_uris,
            resources,
            access_token_ttl,
            signing_alg,
            access_token_format,
            audience,
            enabled,
            cert_thumbprints,
            tls_subject_dn,
            max_assurance,
            backchannel_logout_uri,
            id_token_alg,
        } = self;
        name.is_none()
            && allowed_scopes.is_none()
            && default_scopes.is_none()
            && roles.is_none()
            && grant_types.is_none()
            && auth_methods.is_none()
            && redirect_uris.is_none()
            && post_logout_redirect_uris.is_none()
            && resources.is_none()
            && access_token_ttl.is_none()
            && signing_alg.is_none()
            && access_token_format.is_none()
            && audience.is_none()
            && enabled.is_none()
            && cert_thumbprints.is_none()
            && tls_subject_dn.is_none()
            && max_assurance.is_none()
            && backchannel_logout_uri.is_none()
            && id_token_alg.is_none()
    }

    /// `spec` with these changes.
    #[must_use]
    pub fn apply(self, mut spec: ClientSpec) -> ClientSpec {
        if let Some(v) = self.name {
            spec.name = v;
        }
        if let Some(v) = self.allowed_scopes {
            spec.allowed_scopes = v;
        }
        if let Some(v) = self.default_scopes {
            spec.default_scopes = v;
        }
        if let Some(v) = self.roles {
            spec.roles = v;
        }
        if let Some(v) = self.grant_types {
            spec.grant_types = v;
        }
        if let Some(v) = self.auth_methods {
            spec.auth_methods = v;
        }
        if let Some(v) = self.redirect_uris {
            spec.redirect_uris = v;
        }
        if let Some(v) = self.post_logout_redirect_uris {
            spec.options.post_logout_redirect_uris = v;
        }
        if let Some(v) = self.resources {
            spec.options.resources = v;
        }
        if let Some(v) = self.access_token_ttl {
            spec.access_token_ttl = v;
        }
        if let Some(v) = self.signing_alg {
            spec.signing_alg = v;
        }
        if let Some(v) = self.access_token_format {
            spec.access_token_format = v;
        }
        if let Some(v) = self.audience {
            spec.audience = v;
        }
        if let Some(v) = self.enabled {
            spec.enabled = v;
        }
        if let Some(v) = self.cert_thumbprints {
            spec.cert_thumbprints = v;
        }
        if let Some(v) = self.tls_subject_dn {
            spec.tls_subject_dn = v;
        }
        if let Some(v) = self.max_assurance {
            spec.max_assurance = v;
        }
        if let Some(v) = self.backchannel_logout_uri {
            spec.options.backchannel_logout_uri = v;
        }
        if let Some(v) = self.id_token_alg {
            spec.options.id_token_alg = v;
        }
        spec
    }
}

/// A client's revision: changes whenever anything about it does (its secrets included, by their
/// redacted form). The admin API's `ETag`; an update that names a revision applies only to it.
#[must_use]
pub fn revision(client: &Client) -> String {
    let digest = Sha256::digest(format!("{client:?}").as_bytes());
    digest.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

impl ClientAdmin {
    /// Changes a client, through the same invariants as registration (a grant that needs a
    /// redirect URI, a public client without secrets, …). With `if_revision`, only when the
    /// client is still at that revision; the check and the write are one atomic step.
    ///
    /// # Errors
    /// `Invalid` when the result breaks an invariant, `NotFound`, `Stale` when the client is no
    /// longer at `if_revision` (or changed between the read and the write).
    pub async fn update(
        &self,
        id: &ClientId,
        changes: ClientChanges,
        if_revision: Option<&str>,
        now: UnixTime,
    ) -> Result<Client, AdminError> {
        let current = self.show(id).await?;
        if if_revision.is_some_and(|r| r != revision(&current)) {
            return Err(AdminError::Stale(id.clone()));
        }
        let changed = Client::new(changes.apply(current.to_spec()))?;
        self.fits(&changed)?;
        self.repo()
            .replace(&changed, &current)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => AdminError::NotFound(id.clone()),
                StoreError::Conflict => AdminError::Stale(id.clone()),
                other => AdminError::Store(other),
            })?;
        self.audited(AuditKind::ClientChanged, id, now, "updated");
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use super::*;
    use crate::client::ClientSpec;
    use crate::secret::SecretPepper;
    use crate::service::tests::{Counter, Writable as InMemoryRepo};

    fn admin(repo: Arc<InMemoryRepo>) -> ClientAdmin {
        ClientAdmin::new(
            repo,
            Arc::new(Counter::default()),
            SecretPepper::from_bytes([1; 32]),
        )
    }

    async fn seeded() -> (Arc<InMemoryRepo>, ClientId) {
        let repo = Arc::new(InMemoryRepo::default());
        let id = ClientId::parse("web").unwrap();
        let spec = ClientSpec {
            grant_types: [GrantType::AuthorizationCode].into(),
            redirect_uris: vec![RedirectUri::parse("https://app.example/cb").unwrap()],
            ..ClientSpec::new(
                id.clone(),
                ClientName::parse("Web").unwrap(),
                vec![crate::secret::SecretVerifier::HmacSha256([3; 32]).into()],
                UnixTime::from_secs(1),
            )
        };
        crate::ports::ClientRepository::insert(repo.as_ref(), &Client::new(spec).unwrap())
            .await
            .unwrap();
        (repo, id)
    }

    #[tokio::test]
    async fn an_update_changes_only_what_it_names_and_keeps_the_invariants() {
        let (repo, id) = seeded().await;
        let a = admin(repo);
        let before = a.show(&id).await.unwrap();
        let uris = vec![
            RedirectUri::parse("https://app.example/cb").unwrap(),
            RedirectUri::parse("https://app.example/cb2").unwrap(),
        ];
        let changes = ClientChanges {
            redirect_uris: Some(uris.clone()),
            ..ClientChanges::default()
        };
        let after = a
            .update(&id, changes, None, UnixTime::from_secs(2))
            .await
            .unwrap();
        assert_eq!(after.redirect_uris(), uris.as_slice());
        assert_eq!(after.name(), before.name());
        assert_eq!(after.secrets(), before.secrets(), "secrets untouched");
        assert_ne!(revision(&after), revision(&before));
        // The code grant without a redirect URI breaks an invariant: refused, nothing changed.
        let broken = ClientChanges {
            redirect_uris: Some(Vec::new()),
            ..ClientChanges::default()
        };
        assert!(matches!(
            a.update(&id, broken, None, UnixTime::from_secs(3)).await,
            Err(AdminError::Invalid(_))
        ));
        assert_eq!(a.show(&id).await.unwrap(), after);
    }

    #[tokio::test]
    async fn an_update_at_a_stale_revision_changes_nothing() {
        let (repo, id) = seeded().await;
        let a = admin(repo);
        let seen = revision(&a.show(&id).await.unwrap());
        let rename = |n: &str| ClientChanges {
            name: Some(ClientName::parse(n).unwrap()),
            ..ClientChanges::default()
        };
        let first = a
            .update(&id, rename("First"), Some(&seen), UnixTime::from_secs(2))
            .await
            .unwrap();
        assert!(matches!(
            a.update(&id, rename("Second"), Some(&seen), UnixTime::from_secs(3))
                .await,
            Err(AdminError::Stale(_))
        ));
        assert_eq!(a.show(&id).await.unwrap(), first);
        let missing = ClientId::parse("nobody").unwrap();
        assert!(matches!(
            a.update(&missing, rename("X"), None, UnixTime::from_secs(4))
                .await,
            Err(AdminError::NotFound(_))
        ));
    }
}
