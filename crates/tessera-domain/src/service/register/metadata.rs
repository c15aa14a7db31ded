//! RFC 7591 §2 client metadata as a client presents it — registering, updating its registration
//! (RFC 7592 §2.2), or naming itself in a client ID metadata document — parsed, checked against
//! the deployment's registration policy, and turned into a registration.

use std::collections::BTreeSet;
use std::fmt;

use crate::authorize::RedirectUri;
use crate::client::{ClientAuthMethod, ClientName, GrantType, RoleSet, SigningAlgorithm};
use crate::error::ParseError;
use crate::registration::{BackchannelUri, ClientOptions};
use crate::resource::Resource;
use crate::scope::ScopeSet;
use crate::service::{ClientChanges, NewClient, SecretSource};

/// The metadata as sent, field by field (RFC 7591 §2 names; `resources` is Tessera's, for
/// RFC 8707). Fields the server does not understand never get here: RFC 7591 §2 says it MUST
/// ignore them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawMetadata {
    /// `redirect_uris`.
    pub redirect_uris: Option<Vec<String>>,
    /// `grant_types`.
    pub grant_types: Option<Vec<String>>,
    /// `response_types`.
    pub response_types: Option<Vec<String>>,
    /// `token_endpoint_auth_method`.
    pub token_endpoint_auth_method: Option<String>,
    /// `scope`, space-separated.
    pub scope: Option<String>,
    /// `client_name`.
    pub client_name: Option<String>,
    /// `post_logout_redirect_uris` (RP-Initiated Logout 1.0 §3.1).
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// `backchannel_logout_uri` (Back-Channel Logout 1.0 §2.2).
    pub backchannel_logout_uri: Option<String>,
    /// `id_token_signed_response_alg` (OpenID Connect Registration §2).
    pub id_token_signed_response_alg: Option<String>,
    /// The RFC 8707 resources it will ask tokens for.
    pub resources: Option<Vec<String>>,
}

/// Why metadata was refused: the two RFC 7591 §3.2.2 error codes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// `invalid_redirect_uri`: a redirect URI is not one this server accepts.
    #[error("{0}")]
    InvalidRedirectUri(String),
    /// `invalid_client_metadata`: any other field, or the fields together.
    #[error("{0}")]
    InvalidClientMetadata(String),
}

fn invalid(detail: impl Into<String>) -> MetadataError {
    MetadataError::InvalidClientMetadata(detail.into())
}

/// Metadata that parsed, with RFC 7591 §2's defaults applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientMetadata {
    /// `redirect_uris`.
    pub redirect_uris: Vec<RedirectUri>,
    /// `grant_types` (default `authorization_code`).
    pub grant_types: BTreeSet<GrantType>,
    /// `token_endpoint_auth_method` (default `client_secret_basic`).
    pub auth_method: ClientAuthMethod,
    /// `scope`, when it asked for one.
    pub scope: Option<ScopeSet>,
    /// `client_name`.
    pub client_name: Option<ClientName>,
    /// `post_logout_redirect_uris`.
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    /// `backchannel_logout_uri`.
    pub backchannel_logout_uri: Option<BackchannelUri>,
    /// `id_token_signed_response_alg`.
    pub id_token_alg: Option<SigningAlgorithm>,
    /// The resources it will ask tokens for.
    pub resources: Vec<Resource>,
}

fn text<T>(
    value: Option<String>,
    parse: impl Fn(&str) -> Result<T, ParseError>,
) -> Result<Option<T>, MetadataError> {
    value
        .as_deref()
        .map(parse)
        .transpose()
        .map_err(|e| invalid(e.to_string()))
}

fn each<T>(
    values: Option<Vec<String>>,
    parse: impl Fn(&str) -> Result<T, crate::ParseError>,
    error: impl Fn(String) -> MetadataError,
) -> Result<Vec<T>, MetadataError> {
    values
        .unwrap_or_default()
        .iter()
        .map(|v| parse(v).map_err(|e| error(e.to_string())))
        .collect()
}

impl ClientMetadata {
    /// Parses `raw`, applying RFC 7591 §2's defaults (`grant_types` `authorization_code`,
    /// `response_types` `code`, `token_endpoint_auth_method` `client_secret_basic`) and its §2.1
    /// rule that `response_types` and `grant_types` agree.
    ///
    /// # Errors
    /// `InvalidRedirectUri` for a redirect URI that does not parse (or a code client without
    /// one), `InvalidClientMetadata` for anything else.
    pub fn parse(raw: RawMetadata) -> Result<Self, MetadataError> {
        let redirect_uris = each(raw.redirect_uris, RedirectUri::parse, |e| {
            MetadataError::InvalidRedirectUri(e)
        })?;
        let grant_types: BTreeSet<GrantType> = match raw.grant_types {
            None => [GrantType::AuthorizationCode].into(),
            Some(g) if g.is_empty() => [GrantType::AuthorizationCode].into(),
            g => each(g, GrantType::parse, invalid)?.into_iter().collect(),
        };
        let response_types = raw.response_types.unwrap_or_else(|| vec!["code".into()]);
        if let Some(other) = response_types.iter().find(|r| *r != "code") {
            return Err(invalid(format!(
                "response_types: {other:?} is not supported (only \"code\")"
            )));
        }
        // RFC 7591 §2.1: `code` goes with `authorization_code`, and the other way round.
        let code = grant_types.contains(&GrantType::AuthorizationCode);
        if code != response_types.iter().any(|r| r == "code") {
            return Err(invalid(
                "response_types \"code\" and grant_types \"authorization_code\" go together",
            ));
        }
        if code && redirect_uris.is_empty() {
            return Err(MetadataError::InvalidRedirectUri(
                "redirect_uris: the authorization_code grant needs at least one".into(),
            ));
        }
        let auth_method = raw
            .token_endpoint_auth_method
            .as_deref()
            .map(ClientAuthMethod::parse)
            .transpose()
            .map_err(|e| invalid(e.to_string()))?
            .unwrap_or(ClientAuthMethod::ClientSecretBasic);
        Ok(Self {
            redirect_uris,
            grant_types,
            auth_method,
            scope: text(raw.scope, ScopeSet::parse)?,
            client_name: text(raw.client_name, ClientName::parse)?,
            post_logout_redirect_uris: each(
                raw.post_logout_redirect_uris,
                RedirectUri::parse,
                invalid,
            )?,
            backchannel_logout_uri: text(raw.backchannel_logout_uri, BackchannelUri::parse)?,
            id_token_alg: text(raw.id_token_signed_response_alg, SigningAlgorithm::parse)?,
            resources: each(raw.resources, Resource::parse, invalid)?,
        })
    }
}

crate::client::vocabulary!(
    /// Who may register clients (`[registration] policy`).
    RegistrationMode, "registration policy" {
        /// Nobody: the endpoint refuses every request and discovery does not publish it.
        Closed => "closed",
        /// Anyone (rate-limited per address).
        Open => "open",
        /// Whoever presents an initial access token an operator issued (RFC 7591 §3).
        InitialAccessToken => "initial_access_token",
    }
);

/// What a self-registered client may be: the deployment's `[registration]` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrationPolicy {
    /// Who may register.
    pub mode: RegistrationMode,
    /// The most a registered client may be granted; what it gets when it asks for no scope.
    pub scope_ceiling: ScopeSet,
    /// The RFC 8707 resources a registered client may name.
    pub resources: Vec<Resource>,
}

impl Default for RegistrationPolicy {
    fn default() -> Self {
        Self {
            mode: RegistrationMode::Closed,
            scope_ceiling: ScopeSet::parse("openid profile email offline_access")
                .unwrap_or_default(),
            resources: Vec::new(),
        }
    }
}

/// The grants a client may register itself for.
const REGISTRABLE_GRANTS: [GrantType; 3] = [
    GrantType::AuthorizationCode,
    GrantType::RefreshToken,
    GrantType::ClientCredentials,
];

/// The methods a client may register itself with: a secret the server generates, or none (a
/// public client). Certificate methods need an operator to register the certificate.
const REGISTRABLE_METHODS: [ClientAuthMethod; 3] = [
    ClientAuthMethod::ClientSecretBasic,
    ClientAuthMethod::ClientSecretPost,
    ClientAuthMethod::None,
];

impl RegistrationPolicy {
    /// Whether a client may register (or update its registration) with `m`.
    ///
    /// # Errors
    /// `InvalidClientMetadata` naming what the policy does not allow.
    pub fn admit(&self, m: &ClientMetadata) -> Result<(), MetadataError> {
        if let Some(g) = m
            .grant_types
            .iter()
            .find(|g| !REGISTRABLE_GRANTS.contains(g))
        {
            return Err(invalid(format!("grant_types: {g} cannot be registered")));
        }
        if !REGISTRABLE_METHODS.contains(&m.auth_method) {
            return Err(invalid(format!(
                "token_endpoint_auth_method: {} is not supported for registration",
                m.auth_method
            )));
        }
        if m.auth_method == ClientAuthMethod::None
            && m.grant_types.contains(&GrantType::ClientCredentials)
        {
            return Err(invalid(
                "a public client (token_endpoint_auth_method none) cannot use client_credentials",
            ));
        }
        if let Some(scope) = &m.scope {
            let beyond: Vec<String> = scope
                .difference(&self.scope_ceiling)
                .map(ToString::to_string)
                .collect();
            if !beyond.is_empty() {
                return Err(invalid(format!(
                    "scope: {} may not be registered (allowed: {})",
                    beyond.join(" "),
                    self.scope_ceiling
                )));
            }
        }
        if let Some(r) = m.resources.iter().find(|r| !self.resources.contains(r)) {
            return Err(invalid(format!(
                "resources: {} may not be registered",
                r.as_str()
            )));
        }
        Ok(())
    }

    /// The scope a client registered with `m` may be granted: what it asked for, or the ceiling.
    #[must_use]
    pub fn granted_scope(&self, m: &ClientMetadata) -> ScopeSet {
        m.scope
            .clone()
            .unwrap_or_else(|| self.scope_ceiling.clone())
    }

    /// The registration of a new client with `m` (already admitted): no roles (never first
    /// party), a generated id, a generated secret unless public.
    #[must_use]
    pub fn new_client(&self, m: &ClientMetadata) -> NewClient {
        let auth_methods: BTreeSet<ClientAuthMethod> = [m.auth_method].into();
        NewClient {
            id: None,
            name: m.client_name.clone().unwrap_or_else(default_name),
            allowed_scopes: self.granted_scope(m),
            default_scopes: None,
            roles: RoleSet::default(),
            grant_types: m.grant_types.clone(),
            secret: SecretSource::for_methods(&auth_methods),
            auth_methods,
            audience: None,
            access_token_ttl: None,
            signing_alg: None,
            access_token_format: crate::client::AccessTokenFormat::Jwt,
            max_assurance: None,
            cert_thumbprints: Vec::new(),
            tls_subject_dn: None,
            redirect_uris: m.redirect_uris.clone(),
            options: ClientOptions {
                post_logout_redirect_uris: m.post_logout_redirect_uris.clone(),
                backchannel_logout_uri: m.backchannel_logout_uri.clone(),
                id_token_alg: m.id_token_alg,
                resources: m.resources.clone(),
                refresh_with_client_credentials: false,
            },
        }
    }

    /// What an RFC 7592 §2.2 update with `m` (already admitted) changes: every metadata field,
    /// omitted ones reset ("treated as null or empty"); what an operator set beyond the metadata
    /// (roles, lifetimes, audience, format, enabled) stays.
    #[must_use]
    pub fn changes(&self, m: &ClientMetadata) -> ClientChanges {
        let scope = self.granted_scope(m);
        ClientChanges {
            name: m.client_name.clone(),
            default_scopes: Some(scope.clone()),
            allowed_scopes: Some(scope),
            grant_types: Some(m.grant_types.clone()),
            auth_methods: Some([m.auth_method].into()),
            redirect_uris: Some(m.redirect_uris.clone()),
            post_logout_redirect_uris: Some(m.post_logout_redirect_uris.clone()),
            resources: Some(m.resources.clone()),
            backchannel_logout_uri: Some(m.backchannel_logout_uri.clone()),
            id_token_alg: Some(m.id_token_alg),
            ..ClientChanges::default()
        }
    }
}

/// The name of a client that registered without `client_name`.
fn default_name() -> ClientName {
    ClientName::parse("Registered client").unwrap_or_else(|_| unreachable!("a fixed valid name"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn raw(json: &[(&str, &str)]) -> RawMetadata {
        let mut r = RawMetadata {
            redirect_uris: Some(vec!["https://rp.example/cb".into()]),
            ..RawMetadata::default()
        };
        for (k, v) in json {
            match *k {
                "grant_types" => r.grant_types = Some(v.split(' ').map(str::to_owned).collect()),
                "response_types" => {
                    r.response_types = Some(
                        v.split(' ')
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned)
                            .collect(),
                    );
                }
                "method" => r.token_endpoint_auth_method = Some((*v).into()),
                "scope" => r.scope = Some((*v).into()),
                "redirect_uris" => {
                    r.redirect_uris = Some(
                        v.split(' ')
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned)
                            .collect(),
                    );
                }
                "resources" => r.resources = Some(vec![(*v).into()]),
                _ => unreachable!(),
            }
        }
        r
    }

    fn policy() -> RegistrationPolicy {
        RegistrationPolicy {
            mode: RegistrationMode::Open,
            scope_ceiling: ScopeSet::parse("openid profile").unwrap(),
            resources: vec![Resource::parse("https://api.example/").unwrap()],
        }
    }

    #[test]
    fn rfc_7591_defaults_apply() {
        let m = ClientMetadata::parse(raw(&[])).unwrap();
        assert_eq!(m.grant_types, [GrantType::AuthorizationCode].into());
        assert_eq!(m.auth_method, ClientAuthMethod::ClientSecretBasic);
        let new = policy().new_client(&m);
        assert_eq!(new.allowed_scopes.to_string(), "openid profile");
        assert!(new.roles.is_empty(), "never first party");
        assert!(matches!(new.secret, SecretSource::Generate));
    }

    #[test]
    fn response_types_and_grant_types_must_agree() {
        let e = ClientMetadata::parse(raw(&[("grant_types", "client_credentials")]));
        assert!(
            matches!(e, Err(MetadataError::InvalidClientMetadata(_))),
            "{e:?}"
        );
        let ok = ClientMetadata::parse(raw(&[
            ("grant_types", "client_credentials"),
            ("response_types", ""),
        ]));
        assert!(ok.is_ok(), "{ok:?}");
        let token = ClientMetadata::parse(raw(&[("response_types", "token")]));
        assert!(matches!(
            token,
            Err(MetadataError::InvalidClientMetadata(_))
        ));
    }

    #[test]
    fn redirect_uri_errors_have_their_own_code() {
        for uris in ["", "not-a-uri", "https://rp.example/cb#fragment"] {
            let e = ClientMetadata::parse(raw(&[("redirect_uris", uris)]));
            assert!(
                matches!(e, Err(MetadataError::InvalidRedirectUri(_))),
                "{uris}: {e:?}"
            );
        }
    }

    #[test]
    fn the_policy_caps_scopes_grants_methods_and_resources() {
        let check =
            |fields: &[(&str, &str)]| policy().admit(&ClientMetadata::parse(raw(fields)).unwrap());
        assert!(check(&[("scope", "openid")]).is_ok());
        assert!(check(&[("scope", "openid admin")]).is_err());
        assert!(check(&[("method", "tls_client_auth")]).is_err());
        assert!(check(&[("method", "none")]).is_ok());
        assert!(
            check(&[
                ("method", "none"),
                ("grant_types", "authorization_code client_credentials")
            ])
            .is_err()
        );
        assert!(check(&[("resources", "https://api.example/")]).is_ok());
        assert!(check(&[("resources", "https://other.example/")]).is_err());
    }

    #[test]
    fn an_update_resets_omitted_metadata_and_keeps_what_the_operator_set() {
        let m = ClientMetadata::parse(raw(&[("scope", "openid")])).unwrap();
        let changes = policy().changes(&m);
        assert_eq!(changes.allowed_scopes.unwrap().to_string(), "openid");
        assert_eq!(changes.backchannel_logout_uri, Some(None));
        assert!(changes.roles.is_none() && changes.access_token_ttl.is_none());
        assert!(changes.enabled.is_none() && changes.audience.is_none());
    }
}
