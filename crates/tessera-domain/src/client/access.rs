//! What a registered client is, read back: its accessors, the certificate checks it answers, and
//! the specification it was built from.

use std::collections::BTreeSet;

use super::{
    AccessTokenFormat, Audience, Client, ClientAuthMethod, ClientId, ClientName, ClientSpec,
    FIRST_PARTY_ROLE, GrantType, RoleSet, SigningAlgorithm, TokenTtl,
};
use crate::scope::ScopeSet;
use crate::secret::ClientSecret;
use crate::time::UnixTime;

impl Client {
    /// The identifier.
    #[must_use]
    pub fn id(&self) -> &ClientId {
        &self.id
    }
    /// The display name.
    #[must_use]
    pub fn name(&self) -> &ClientName {
        &self.name
    }
    /// Its secrets (with their verifiers and expiry).
    #[must_use]
    pub fn secrets(&self) -> &[ClientSecret] {
        &self.secrets
    }
    /// The authentication methods it may use.
    #[must_use]
    pub fn auth_methods(&self) -> &BTreeSet<ClientAuthMethod> {
        &self.auth_methods
    }
    /// The grant types it may use.
    #[must_use]
    pub fn grant_types(&self) -> &BTreeSet<GrantType> {
        &self.grant_types
    }
    /// The scopes it may be granted.
    #[must_use]
    pub fn allowed_scopes(&self) -> &ScopeSet {
        &self.allowed_scopes
    }
    /// The scopes it gets when it asks for none.
    #[must_use]
    pub fn default_scopes(&self) -> &ScopeSet {
        &self.default_scopes
    }
    /// Its roles.
    #[must_use]
    pub fn roles(&self) -> &RoleSet {
        &self.roles
    }
    /// The `aud` of its tokens, if it has its own.
    #[must_use]
    pub fn audience(&self) -> Option<&Audience> {
        self.audience.as_ref()
    }
    /// Its own access-token lifetime, if any.
    #[must_use]
    pub fn access_token_ttl(&self) -> Option<TokenTtl> {
        self.access_token_ttl
    }
    /// Its own signing algorithm, if any.
    #[must_use]
    pub fn signing_alg(&self) -> Option<SigningAlgorithm> {
        self.signing_alg
    }
    /// JWT or opaque access tokens.
    #[must_use]
    pub fn access_token_format(&self) -> AccessTokenFormat {
        self.access_token_format
    }
    /// The strongest assurance level it may put in a user token.
    #[must_use]
    pub fn max_assurance(&self) -> Option<crate::assurance::AssuranceLevel> {
        self.max_assurance
    }
    /// Thumbprints of its registered certificates.
    #[must_use]
    pub fn cert_thumbprints(&self) -> &[crate::cert::CertThumbprint] {
        &self.cert_thumbprints
    }
    /// The subject DN its CA-issued certificates carry (`tls_client_auth`).
    #[must_use]
    pub fn tls_subject_dn(&self) -> Option<&crate::cert::SubjectDn> {
        self.tls_subject_dn.as_ref()
    }
    /// Whether it is bound to certificates: it must present one, and its tokens carry it.
    #[must_use]
    pub fn requires_certificate(&self) -> bool {
        !self.cert_thumbprints.is_empty() || self.tls_subject_dn.is_some()
    }
    /// Whether a presented certificate is one of this client's: a registered thumbprint, or a
    /// certificate from a trusted CA with the registered subject.
    #[must_use]
    pub fn accepts_certificate(&self, presented: &crate::cert::PresentedCertificate) -> bool {
        self.cert_thumbprints.contains(&presented.thumbprint)
            || matches!(
                (&self.tls_subject_dn, &presented.trusted_subject),
                (Some(registered), Some(subject)) if registered == subject
            )
    }
    /// Whether it may authenticate with `presented` alone (RFC 8705 §2): by subject under
    /// `tls_client_auth`, by thumbprint under `self_signed_tls_client_auth`.
    #[must_use]
    pub fn authenticates_with(&self, presented: &crate::cert::PresentedCertificate) -> bool {
        let by_subject = self.auth_methods.contains(&ClientAuthMethod::TlsClientAuth)
            && matches!(
                (&self.tls_subject_dn, &presented.trusted_subject),
                (Some(registered), Some(subject)) if registered == subject
            );
        let by_thumbprint = self
            .auth_methods
            .contains(&ClientAuthMethod::SelfSignedTlsClientAuth)
            && self.cert_thumbprints.contains(&presented.thumbprint);
        by_subject || by_thumbprint
    }
    /// Its registered redirect URIs.
    #[must_use]
    pub fn redirect_uris(&self) -> &[crate::authorize::RedirectUri] {
        &self.redirect_uris
    }
    /// Its optional registration metadata.
    #[must_use]
    pub fn options(&self) -> &crate::registration::ClientOptions {
        &self.options
    }
    /// Whether it is a public client (`token_endpoint_auth_method=none`): it holds no secret, so
    /// it must use PKCE.
    #[must_use]
    pub fn is_public(&self) -> bool {
        self.auth_methods.contains(&ClientAuthMethod::None)
    }
    /// Whether it is first-party (`ROLE_CLI-1STPARTY`): its users are not asked for consent.
    #[must_use]
    pub fn is_first_party(&self) -> bool {
        self.roles.contains(FIRST_PARTY_ROLE)
    }
    /// Whether it may obtain tokens.
    #[must_use]
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }
    /// When it was registered.
    #[must_use]
    pub fn created_at(&self) -> UnixTime {
        self.created_at
    }

    /// The specification this client was built from, to derive a changed client.
    #[must_use]
    pub fn to_spec(&self) -> ClientSpec {
        ClientSpec {
            id: self.id.clone(),
            name: self.name.clone(),
            secrets: self.secrets.clone(),
            auth_methods: self.auth_methods.clone(),
            grant_types: self.grant_types.clone(),
            allowed_scopes: self.allowed_scopes.clone(),
            default_scopes: self.default_scopes.clone(),
            roles: self.roles.clone(),
            audience: self.audience.clone(),
            access_token_ttl: self.access_token_ttl,
            signing_alg: self.signing_alg,
            access_token_format: self.access_token_format,
            max_assurance: self.max_assurance,
            cert_thumbprints: self.cert_thumbprints.clone(),
            tls_subject_dn: self.tls_subject_dn.clone(),
            redirect_uris: self.redirect_uris.clone(),
            options: self.options.clone(),
            enabled: self.enabled,
            created_at: self.created_at,
        }
    }
}
