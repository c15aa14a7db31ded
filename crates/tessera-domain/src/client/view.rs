//! A client as an operator sees it, in plain values named as RFC 7591 §2 names client metadata
//! (plus Tessera's own fields): what the admin API and the command line render. Never a secret
//! or a verifier.

use super::Client;

/// A client's registration, rendered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientView {
    /// `client_id`.
    pub client_id: String,
    /// `client_name`.
    pub client_name: String,
    /// `client_id_issued_at`, seconds since the epoch.
    pub client_id_issued_at: i64,
    /// `redirect_uris`.
    pub redirect_uris: Vec<String>,
    /// `post_logout_redirect_uris`.
    pub post_logout_redirect_uris: Vec<String>,
    /// `grant_types`.
    pub grant_types: Vec<String>,
    /// Every authentication method it may use (RFC 7591 has one, `token_endpoint_auth_method`:
    /// the first of these).
    pub token_endpoint_auth_methods: Vec<String>,
    /// `scope`: what it may be granted.
    pub scope: String,
    /// `backchannel_logout_uri`.
    pub backchannel_logout_uri: Option<String>,
    /// `id_token_signed_response_alg`.
    pub id_token_signed_response_alg: Option<String>,
    /// What it gets when it asks for no scope.
    pub default_scope: String,
    /// Its roles.
    pub roles: Vec<String>,
    /// The resources it may ask tokens for (RFC 8707).
    pub resources: Vec<String>,
    /// The `aud` of its tokens, when not the deployment's.
    pub audience: Option<String>,
    /// Its access-token lifetime, when not the deployment's.
    pub access_token_ttl: Option<u32>,
    /// `jwt` or `opaque`.
    pub access_token_format: String,
    /// Its signing algorithm, when not the deployment's.
    pub access_token_signed_response_alg: Option<String>,
    /// Whether it may obtain tokens.
    pub enabled: bool,
    /// The thumbprints (`x5t#S256`) of its certificates (RFC 8705 §2.2).
    pub cert_thumbprints: Vec<String>,
    /// `tls_client_auth_subject_dn` (RFC 8705 §2.1.2).
    pub tls_client_auth_subject_dn: Option<String>,
    /// The strongest assurance level it may put in a user token.
    pub max_assurance: Option<String>,
}

impl ClientView {
    /// The view of `c`.
    #[must_use]
    pub fn of(c: &Client) -> Self {
        let strings = |v: &mut dyn Iterator<Item = &str>| v.map(str::to_owned).collect();
        Self {
            client_id: c.id().to_string(),
            client_name: c.name().to_string(),
            client_id_issued_at: c.created_at().as_secs(),
            redirect_uris: strings(&mut c.redirect_uris().iter().map(|r| r.as_str())),
            post_logout_redirect_uris: strings(
                &mut c
                    .options()
                    .post_logout_redirect_uris
                    .iter()
                    .map(|r| r.as_str()),
            ),
            grant_types: strings(&mut c.grant_types().iter().map(|g| g.as_str())),
            token_endpoint_auth_methods: strings(&mut c.auth_methods().iter().map(|m| m.as_str())),
            scope: c.allowed_scopes().to_string(),
            backchannel_logout_uri: c
                .options()
                .backchannel_logout_uri
                .as_ref()
                .map(ToString::to_string),
            id_token_signed_response_alg: c.options().id_token_alg.map(|a| a.as_str().to_owned()),
            default_scope: c.default_scopes().to_string(),
            roles: strings(&mut c.roles().iter().map(|r| r.as_str())),
            resources: strings(&mut c.options().resources.iter().map(|r| r.as_str())),
            audience: c.audience().map(ToString::to_string),
            access_token_ttl: c.access_token_ttl().map(|t| t.as_secs()),
            access_token_format: c.access_token_format().as_str().to_owned(),
            access_token_signed_response_alg: c.signing_alg().map(|a| a.as_str().to_owned()),
            enabled: c.is_enabled(),
            cert_thumbprints: strings(&mut c.cert_thumbprints().iter().map(|t| t.as_str())),
            tls_client_auth_subject_dn: c.tls_subject_dn().map(ToString::to_string),
            max_assurance: c.max_assurance().map(|l| l.as_str().to_owned()),
        }
    }
}
