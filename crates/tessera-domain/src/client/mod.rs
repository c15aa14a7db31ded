//! Clients and the values that describe them: identifiers, roles, grants, authentication methods,
//! audiences, lifetimes and signing algorithms.

use std::collections::BTreeSet;
use std::fmt;

use crate::error::ParseError;
use crate::scope::ScopeSet;
use crate::secret::ClientSecret;
use crate::time::UnixTime;

/// Defines a string newtype whose only way in is `parse` with the given character rule.
#[macro_export]
#[doc(hidden)]
macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident, $what:literal, $max:expr, $allowed:expr, $rule:literal) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            #[doc = concat!("Parses a ", $what, ": ", $rule, ".")]
            ///
            /// # Errors
            /// When the value is empty, too long, or has a character outside that rule.
            pub fn parse(s: &str) -> Result<Self, ParseError> {
                if s.is_empty() {
                    return Err(ParseError::new($what, "may not be empty"));
                }
                if s.len() > $max {
                    return Err(ParseError::new($what, format!("longer than {} bytes", $max)));
                }
                let allowed: fn(char) -> bool = $allowed;
                if let Some(c) = s.chars().find(|&c| !allowed(c)) {
                    return Err(ParseError::new(
                        $what,
                        format!("character {c:?} is not allowed ({})", $rule),
                    ));
                }
                Ok(Self(s.to_owned()))
            }

            /// The value as text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_newtype!(
    /// A client identifier (RFC 6749 §2.2): visible ASCII, no spaces, at most 128 bytes.
    ClientId,
    "client_id",
    128,
    |c| matches!(c, '\x21'..='\x7E'),
    "visible ASCII characters, no spaces"
);

string_newtype!(
    /// A role held by a client, such as `ROLE_CLI-1STPARTY`: letters, digits, `_ - . :`.
    Role,
    "role",
    64,
    |c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'),
    "ASCII letters, digits and _ - . :"
);

string_newtype!(
    /// An audience (`aud`, RFC 7519 §4.1.3): a resource server's identifier, usually a URI.
    Audience,
    "audience",
    512,
    |c| matches!(c, '\x21'..='\x7E'),
    "visible ASCII characters, no spaces"
);

/// A client's display name: 1 to 200 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientName(String);

impl ClientName {
    /// Parses a display name.
    ///
    /// # Errors
    /// When the name is blank, longer than 200 characters, or holds a control character.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        if s.trim().is_empty() {
            return Err(ParseError::new("name", "may not be blank"));
        }
        if s.chars().count() > 200 {
            return Err(ParseError::new("name", "longer than 200 characters"));
        }
        if s.chars().any(char::is_control) {
            return Err(ParseError::new("name", "may not hold control characters"));
        }
        Ok(Self(s.to_owned()))
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A set of roles, sorted and without duplicates.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RoleSet(BTreeSet<Role>);

impl RoleSet {
    /// A set built from roles that already parsed.
    pub fn from_roles(roles: impl IntoIterator<Item = Role>) -> Self {
        Self(roles.into_iter().collect())
    }

    /// Whether the set holds the role named `role`.
    #[must_use]
    pub fn contains(&self, role: &str) -> bool {
        self.0.iter().any(|r| r.as_str() == role)
    }

    /// Whether the set has no role.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The roles, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Role> {
        self.0.iter()
    }
}

/// Declares a closed vocabulary: an enum, its wire names and a parser for them.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The registered name of this value.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire),+
                }
            }

            /// Parses a registered name (exact, case-sensitive).
            ///
            /// # Errors
            /// When `s` is not one of the registered names.
            pub fn parse(s: &str) -> Result<Self, ParseError> {
                match s {
                    $($wire => Ok(Self::$variant),)+
                    other => Err(ParseError::new(
                        $what,
                        format!(
                            "{other:?} is not one of: {}",
                            [$($wire),+].join(", ")
                        ),
                    )),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use vocabulary;

vocabulary!(
    /// An OAuth 2.0 grant type (RFC 6749 §4, §6), by its registered `grant_type` value.
    GrantType, "grant_type" {
        /// RFC 6749 §4.4.
        ClientCredentials => "client_credentials",
        /// RFC 6749 §4.1.
        AuthorizationCode => "authorization_code",
        /// RFC 6749 §6.
        RefreshToken => "refresh_token",
    }
);

vocabulary!(
    /// How a client authenticates at the token endpoint (RFC 7591 §2 `token_endpoint_auth_method`).
    ClientAuthMethod, "auth_method" {
        /// HTTP Basic with the form-urlencoded id and secret (RFC 6749 §2.3.1).
        ClientSecretBasic => "client_secret_basic",
        /// `client_id` and `client_secret` in the form body (RFC 6749 §2.3.1).
        ClientSecretPost => "client_secret_post",
        /// A public client: no secret (RFC 6749 §2.1).
        None => "none",
        /// A registered (possibly self-signed) certificate presented over mutual TLS
        /// (RFC 8705 §2.2).
        SelfSignedTlsClientAuth => "self_signed_tls_client_auth",
        /// A certificate issued by a CA the deployment trusts, matched by its subject DN
        /// (RFC 8705 §2.1).
        TlsClientAuth => "tls_client_auth",
    }
);

vocabulary!(
    /// A JWS signing algorithm (RFC 7518 §3, RFC 8037 for EdDSA).
    SigningAlgorithm, "alg" {
        /// ECDSA P-256 with SHA-256: the default.
        Es256 => "ES256",
        /// RSASSA-PKCS1-v1_5 with SHA-256.
        Rs256 => "RS256",
        /// RSASSA-PSS with SHA-256.
        Ps256 => "PS256",
        /// Ed25519.
        EdDsa => "EdDSA",
    }
);

vocabulary!(
    /// What an access token looks like on the wire.
    AccessTokenFormat, "access_token_format" {
        /// A signed JWT (RFC 9068), verifiable offline against the JWKS.
        Jwt => "jwt",
        /// A random reference (`tat_…`), validated by introspection.
        Opaque => "opaque",
    }
);

/// The lifetime of an issued access token: 1 second to 30 days (the Screening Eagle API issues
/// 7-day tokens; longer-lived access tokens are a liability).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenTtl(u32);

impl TokenTtl {
    /// The longest lifetime accepted: 30 days.
    pub const MAX_SECS: u32 = 30 * 86_400;

    /// A lifetime of `secs` seconds.
    ///
    /// # Errors
    /// When `secs` is zero or more than one day.
    pub fn from_secs(secs: u64) -> Result<Self, ParseError> {
        match u32::try_from(secs) {
            Ok(s) if (1..=Self::MAX_SECS).contains(&s) => Ok(Self(s)),
            _ => Err(ParseError::new(
                "ttl",
                format!("must be between 1 and {} seconds", Self::MAX_SECS),
            )),
        }
    }

    /// The lifetime in seconds.
    #[must_use]
    pub const fn as_secs(self) -> u32 {
        self.0
    }
}

mod access;
mod view;
pub use view::ClientView;

/// The role of first-party clients (AuthMe's `ROLE_CLI-1STPARTY`): the deployment's own
/// applications, whose users are not asked for consent.
pub const FIRST_PARTY_ROLE: &str = "ROLE_CLI-1STPARTY";

/// A registered client: everything the token endpoint needs to decide what it may have.
///
/// Built only through [`Client::new`] (or by the store from rows that go through the same
/// constructors), so a `Client` value always satisfies its invariants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    id: ClientId,
    name: ClientName,
    secrets: Vec<ClientSecret>,
    auth_methods: BTreeSet<ClientAuthMethod>,
    grant_types: BTreeSet<GrantType>,
    allowed_scopes: ScopeSet,
    default_scopes: ScopeSet,
    roles: RoleSet,
    audience: Option<Audience>,
    access_token_ttl: Option<TokenTtl>,
    signing_alg: Option<SigningAlgorithm>,
    access_token_format: AccessTokenFormat,
    max_assurance: Option<crate::assurance::AssuranceLevel>,
    cert_thumbprints: Vec<crate::cert::CertThumbprint>,
    tls_subject_dn: Option<crate::cert::SubjectDn>,
    redirect_uris: Vec<crate::authorize::RedirectUri>,
    options: crate::registration::ClientOptions,
    enabled: bool,
    created_at: UnixTime,
}

/// Everything that describes a client, before it is checked into a [`Client`].
#[derive(Clone, Debug)]
pub struct ClientSpec {
    /// The identifier.
    pub id: ClientId,
    /// The display name.
    pub name: ClientName,
    /// Verifiers of the secrets the client may present; empty for a public client.
    pub secrets: Vec<ClientSecret>,
    /// The authentication methods it may use at the token endpoint.
    pub auth_methods: BTreeSet<ClientAuthMethod>,
    /// The grant types it may use.
    pub grant_types: BTreeSet<GrantType>,
    /// The scopes it may be granted.
    pub allowed_scopes: ScopeSet,
    /// The scopes it gets when it asks for none.
    pub default_scopes: ScopeSet,
    /// Its roles.
    pub roles: RoleSet,
    /// The `aud` of its tokens; the deployment's default when absent.
    pub audience: Option<Audience>,
    /// The lifetime of its access tokens; the deployment's default when absent.
    pub access_token_ttl: Option<TokenTtl>,
    /// The algorithm its tokens are signed with; the deployment's default when absent.
    pub signing_alg: Option<SigningAlgorithm>,
    /// JWT or opaque access tokens.
    pub access_token_format: AccessTokenFormat,
    /// The strongest assurance level it may put in a user token; no limit when absent.
    pub max_assurance: Option<crate::assurance::AssuranceLevel>,
    /// Thumbprints of its registered certificates (several during a rollover); when any are
    /// registered, it must present one of them and its tokens are bound to it (RFC 8705).
    pub cert_thumbprints: Vec<crate::cert::CertThumbprint>,
    /// `tls_client_auth_subject_dn` (RFC 8705 §2.1.2): a certificate from a trusted CA with this
    /// subject is the client's; like a registered thumbprint, it also binds its tokens.
    pub tls_subject_dn: Option<crate::cert::SubjectDn>,
    /// Its registered redirect URIs (authorization code grant), matched exactly.
    pub redirect_uris: Vec<crate::authorize::RedirectUri>,
    /// Its optional registration metadata (logout URIs, ID-token algorithm, …).
    pub options: crate::registration::ClientOptions,
    /// Whether it may obtain tokens at all.
    pub enabled: bool,
    /// When it was registered.
    pub created_at: UnixTime,
}

impl ClientSpec {
    /// The plainest client: `client_credentials` with `client_secret_basic` and these secrets,
    /// no scopes, no roles, the deployment's defaults for everything else, enabled, registered
    /// at `created_at`. Set any field with struct update syntax.
    #[must_use]
    pub fn new(
        id: ClientId,
        name: ClientName,
        secrets: Vec<ClientSecret>,
        created_at: UnixTime,
    ) -> Self {
        Self {
            id,
            name,
            secrets,
            auth_methods: [ClientAuthMethod::ClientSecretBasic].into(),
            grant_types: [GrantType::ClientCredentials].into(),
            allowed_scopes: ScopeSet::default(),
            default_scopes: ScopeSet::default(),
            roles: RoleSet::default(),
            audience: None,
            access_token_ttl: None,
            signing_alg: None,
            access_token_format: AccessTokenFormat::Jwt,
            max_assurance: None,
            cert_thumbprints: Vec::new(),
            tls_subject_dn: None,
            redirect_uris: Vec::new(),
            options: crate::registration::ClientOptions::default(),
            enabled: true,
            created_at,
        }
    }
}

impl Client {
    // Longer than most: the one list of a client's invariants, each a few lines.
    /// Checks a specification into a client.
    ///
    /// # Errors
    /// When the default scopes are not all allowed, when it may use no grant type or no
    /// authentication method, when a secret-based method is allowed without any secret, or when a
    /// public client (`none`) also holds secrets or may use `client_credentials`.
    pub fn new(spec: ClientSpec) -> Result<Self, ParseError> {
        if !spec.default_scopes.is_subset(&spec.allowed_scopes) {
            let extra: Vec<_> = spec
                .default_scopes
                .difference(&spec.allowed_scopes)
                .map(|s| s.as_str().to_owned())
                .collect();
            return Err(ParseError::new(
                "scope",
                format!("default scopes {} are not allowed scopes", extra.join(" ")),
            ));
        }
        if spec.grant_types.is_empty() {
            return Err(ParseError::new(
                "grant",
                "a client needs at least one grant type",
            ));
        }
        if spec.auth_methods.is_empty() {
            return Err(ParseError::new(
                "auth_method",
                "a client needs at least one method",
            ));
        }
        let public = spec.auth_methods.contains(&ClientAuthMethod::None);
        let confidential = spec
            .auth_methods
            .iter()
            .any(|m| *m != ClientAuthMethod::None);
        if public && confidential {
            return Err(ParseError::new(
                "auth_method",
                "\"none\" (a public client) cannot be combined with secret-based methods",
            ));
        }
        let secret_based = spec.auth_methods.iter().any(|m| {
            matches!(
                m,
                ClientAuthMethod::ClientSecretBasic | ClientAuthMethod::ClientSecretPost
            )
        });
        if spec
            .auth_methods
            .contains(&ClientAuthMethod::SelfSignedTlsClientAuth)
            && spec.cert_thumbprints.is_empty()
        {
            return Err(ParseError::new(
                "auth_method",
                "self_signed_tls_client_auth needs a registered certificate (--cert)",
            ));
        }
        if spec.auth_methods.contains(&ClientAuthMethod::TlsClientAuth)
            && spec.tls_subject_dn.is_none()
        {
            return Err(ParseError::new(
                "auth_method",
                "tls_client_auth needs the certificate's subject DN (--subject-dn)",
            ));
        }
        if spec.grant_types.contains(&GrantType::AuthorizationCode) && spec.redirect_uris.is_empty()
        {
            return Err(ParseError::new(
                "redirect_uri",
                "the authorization_code grant needs at least one redirect URI (--redirect-uri)",
            ));
        }
        if secret_based && spec.secrets.is_empty() {
            return Err(ParseError::new(
                "secret",
                "a confidential client needs a secret",
            ));
        }
        if public && !spec.secrets.is_empty() {
            return Err(ParseError::new("secret", "a public client has no secret"));
        }
        if public && spec.grant_types.contains(&GrantType::ClientCredentials) {
            return Err(ParseError::new(
                "grant",
                "a public client cannot use client_credentials (RFC 6749 §4.4)",
            ));
        }
        Ok(Self {
            id: spec.id,
            name: spec.name,
            secrets: spec.secrets,
            auth_methods: spec.auth_methods,
            grant_types: spec.grant_types,
            allowed_scopes: spec.allowed_scopes,
            default_scopes: spec.default_scopes,
            roles: spec.roles,
            audience: spec.audience,
            access_token_ttl: spec.access_token_ttl,
            signing_alg: spec.signing_alg,
            access_token_format: spec.access_token_format,
            max_assurance: spec.max_assurance,
            cert_thumbprints: spec.cert_thumbprints,
            tls_subject_dn: spec.tls_subject_dn,
            redirect_uris: spec.redirect_uris,
            options: spec.options,
            enabled: spec.enabled,
            created_at: spec.created_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SecretVerifier;

    #[test]
    fn client_ids_are_visible_ascii_without_spaces() {
        assert!(ClientId::parse("svc-billing_01").is_ok());
        assert!(ClientId::parse("a:b@c").is_ok());
        for bad in ["", "a b", "é", "a\u{0}b", &"x".repeat(129)] {
            assert!(ClientId::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn roles_take_the_seed_shapes() {
        for good in [
            "ROLE_CLI-1STPARTY",
            "ROLE_CLI-AUTH-BASIC",
            "ROLE_CLI-INTROSPECT",
        ] {
            assert_eq!(
                Role::parse(good).map(|r| r.to_string()),
                Ok(good.to_owned())
            );
        }
        for bad in ["", "ROLE X", "ROLE/1"] {
            assert!(Role::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn vocabularies_round_trip_and_refuse_unknown_names() {
        for g in GrantType::ALL {
            assert_eq!(GrantType::parse(g.as_str()), Ok(*g));
        }
        for a in SigningAlgorithm::ALL {
            assert_eq!(SigningAlgorithm::parse(a.as_str()), Ok(*a));
        }
        let err = GrantType::parse("password").map_err(|e| e.reason);
        assert_eq!(
            err,
            Err(
                "\"password\" is not one of: client_credentials, authorization_code, refresh_token"
                    .to_owned()
            )
        );
        assert!(SigningAlgorithm::parse("es256").is_err());
    }

    #[test]
    fn ttl_is_bounded() {
        assert!(TokenTtl::from_secs(0).is_err());
        assert_eq!(TokenTtl::from_secs(300).map(TokenTtl::as_secs), Ok(300));
        assert!(TokenTtl::from_secs(604_800).is_ok());
        assert!(TokenTtl::from_secs(30 * 86_400 + 1).is_err());
        assert!(TokenTtl::from_secs(u64::MAX).is_err());
    }

    fn spec() -> ClientSpec {
        ClientSpec {
            allowed_scopes: ScopeSet::parse("a b").unwrap_or_default(),
            default_scopes: ScopeSet::parse("a").unwrap_or_default(),
            ..ClientSpec::new(
                ClientId::parse("c").unwrap_or_else(|_| unreachable!()),
                ClientName::parse("C").unwrap_or_else(|_| unreachable!()),
                vec![SecretVerifier::HmacSha256([7; 32]).into()],
                UnixTime::from_secs(0),
            )
        }
    }

    #[test]
    fn client_invariants_are_checked_at_construction() {
        assert!(Client::new(spec()).is_ok());

        let mut s = spec();
        s.default_scopes = ScopeSet::parse("c").unwrap_or_default();
        assert!(Client::new(s).is_err(), "default scope outside allowed");

        let mut s = spec();
        s.secrets.clear();
        assert!(Client::new(s).is_err(), "confidential without secret");

        let mut s = spec();
        s.auth_methods = [ClientAuthMethod::None].into();
        assert!(Client::new(s).is_err(), "public with secret");

        let mut s = spec();
        s.auth_methods = [ClientAuthMethod::None].into();
        s.secrets.clear();
        assert!(Client::new(s).is_err(), "public with client_credentials");

        let mut s = spec();
        s.grant_types.clear();
        assert!(Client::new(s).is_err(), "no grant");

        let mut s = spec();
        s.auth_methods = [ClientAuthMethod::TlsClientAuth].into();
        s.secrets.clear();
        assert!(Client::new(s).is_err(), "tls_client_auth without a subject");
    }

    #[test]
    fn certificates_are_accepted_by_thumbprint_or_by_trusted_subject() {
        use crate::cert::{CertThumbprint, PresentedCertificate, SubjectDn};
        let dn = |s: &str| SubjectDn::parse(s).unwrap_or_else(|e| panic!("{e}"));
        let registered = CertThumbprint::of_der(b"registered");
        let mut s = spec();
        s.auth_methods = [ClientAuthMethod::TlsClientAuth].into();
        s.secrets.clear();
        s.tls_subject_dn = Some(dn("CN=pix.example,O=Example"));
        s.cert_thumbprints = vec![registered.clone()];
        let client = Client::new(s).unwrap_or_else(|e| panic!("{e}"));
        assert!(client.requires_certificate());

        let by_ca = PresentedCertificate {
            thumbprint: CertThumbprint::of_der(b"renewed"),
            trusted_subject: Some(dn("cn=PIX.example, o=Example")),
        };
        assert!(client.accepts_certificate(&by_ca));
        assert!(client.authenticates_with(&by_ca));
        // The same subject in a certificate no trusted CA issued proves nothing.
        let forged = PresentedCertificate::self_signed(CertThumbprint::of_der(b"forged"));
        assert!(!client.accepts_certificate(&forged));
        assert!(!client.authenticates_with(&forged));
        let other = PresentedCertificate {
            thumbprint: CertThumbprint::of_der(b"other"),
            trusted_subject: Some(dn("CN=other.example,O=Example")),
        };
        assert!(!client.accepts_certificate(&other));
        // A registered thumbprint binds, but authenticates alone only under
        // self_signed_tls_client_auth.
        let pinned = PresentedCertificate::self_signed(registered);
        assert!(client.accepts_certificate(&pinned));
        assert!(!client.authenticates_with(&pinned));
    }
}
