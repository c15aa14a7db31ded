//! What the token endpoint issues: the claims of an access token (RFC 9068 §2.2) and the result.

use std::fmt;

use crate::client::{ClientId, Role};
use crate::policy::Issuer;
use crate::scope::ScopeSet;
use crate::time::UnixTime;

/// The claims of a JWT access token per RFC 9068 §2.2, built by the domain and serialised by the
/// signing adapter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessTokenClaims {
    /// `iss`.
    pub iss: Issuer,
    /// `sub`: the client itself for client_credentials (RFC 9068 §2.2).
    pub sub: String,
    /// `aud`: the requested resources (RFC 8707 §2.2), else the client's audience; a string
    /// when one, an array when several.
    pub aud: crate::resource::Audiences,
    /// `exp`.
    pub exp: UnixTime,
    /// `iat`.
    pub iat: UnixTime,
    /// `jti`: unique per token, 128 random bits.
    pub jti: String,
    /// `client_id`.
    pub client_id: ClientId,
    /// `scope`: omitted from the token when empty.
    pub scope: ScopeSet,
    /// `roles` (RFC 9068 §2.2.3.1 / RFC 7643): omitted when the client has none.
    pub roles: Vec<Role>,
    /// The user the token is about, for user tokens (AuthMe `USER`, `REMEMBER_ME`).
    pub user: Option<UserClaims>,
    /// `cnf.x5t#S256`: the certificate the token is bound to (RFC 8705 §3.1).
    pub cnf: Option<crate::cert::CertThumbprint>,
    /// `cid`: the client id again, for APIs whose tokens carry it (Banco Semear).
    pub cid: Option<ClientId>,
}

/// The OpenID Connect standard claims of a user that a set of scopes releases (Core §5.1, §5.4):
/// `profile` releases the name claims, `email` the e-mail address, `phone` the telephone number
/// and `address` the postal address, each when the user has it. The ID token and the userinfo
/// endpoint both carry it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserInfo {
    /// `sub`.
    pub sub: String,
    /// `name` (profile).
    pub name: Option<String>,
    /// `given_name` (profile).
    pub given_name: Option<String>,
    /// `family_name` (profile).
    pub family_name: Option<String>,
    /// `preferred_username` (profile): the logon.
    pub preferred_username: Option<String>,
    /// `locale` (profile).
    pub locale: Option<String>,
    /// `updated_at` (profile).
    pub updated_at: Option<UnixTime>,
    /// `email` (email).
    pub email: Option<String>,
    /// `email_verified` (email).
    pub email_verified: Option<bool>,
    /// `phone_number` (phone).
    pub phone_number: Option<String>,
    /// `phone_number_verified` (phone, with a number).
    pub phone_number_verified: Option<bool>,
    /// `address` (address).
    pub address: Option<crate::user::PostalAddress>,
}

impl UserInfo {
    /// The claims `scope` releases about `user`.
    #[must_use]
    pub fn of(user: &crate::user::User, scope: &ScopeSet) -> Self {
        let mut info = Self {
            sub: user.id.as_str().to_owned(),
            ..Self::default()
        };
        if scope.contains("profile") {
            let text = |v: &Option<crate::client::ClientName>| v.as_ref().map(ToString::to_string);
            info.name = Some(user.name.to_string());
            info.given_name = text(&user.profile.given_name);
            info.family_name = text(&user.profile.family_name);
            info.locale = text(&user.profile.locale);
            info.preferred_username = Some(user.logon.to_string());
            info.updated_at = Some(user.updated_at);
        }
        if scope.contains("email") {
            info.email = Some(user.email.to_string());
            info.email_verified = Some(user.profile.email_verified);
        }
        if scope.contains("phone")
            && let Some(number) = &user.profile.phone_number
        {
            info.phone_number = Some(number.to_string());
            info.phone_number_verified = Some(user.profile.phone_number_verified);
        }
        if scope.contains("address") {
            info.address.clone_from(&user.profile.address);
        }
        info
    }
}

/// The claims of an OpenID Connect ID token (Core §2, §3.1.3.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdTokenClaims {
    /// `iss`.
    pub iss: Issuer,
    /// `aud` (and `azp`): the client.
    pub aud: ClientId,
    /// `exp`.
    pub exp: UnixTime,
    /// `iat`.
    pub iat: UnixTime,
    /// `auth_time`: when the user signed in.
    pub auth_time: UnixTime,
    /// `nonce`, from the authorization request.
    pub nonce: Option<crate::authorize::Nonce>,
    /// `acr`: the assurance level of the sign-in.
    pub acr: crate::assurance::AssuranceLevel,
    /// `amr` (RFC 8176): how the user signed in, e.g. `pwd`.
    pub amr: Vec<&'static str>,
    /// `at_hash`: binds the access token issued with it.
    pub at_hash: String,
    /// `sid`: the browser session it came from (Back-Channel Logout 1.0 §2.1).
    pub sid: Option<String>,
    /// `sub` and the claims the scopes release.
    pub user: UserInfo,
}

/// `at_hash` (OpenID Connect Core §3.1.3.6): the left half of the hash of the access token's
/// ASCII, base64url, with the hash of the ID token's algorithm (SHA-256 for ES256, RS256, PS256;
/// SHA-512 for Ed25519's EdDSA).
#[must_use]
pub fn at_hash(alg: crate::client::SigningAlgorithm, access_token: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let digest: Vec<u8> = match alg {
        crate::client::SigningAlgorithm::EdDsa => sha2::Sha512::digest(access_token).to_vec(),
        _ => sha2::Sha256::digest(access_token).to_vec(),
    };
    let half = digest.get(..digest.len() / 2).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(half)
}

/// What a user token says about its user and how they signed in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserClaims {
    /// `acr`: the assurance level of the sign-in; `authorities` lists it and every weaker one.
    pub acr: crate::assurance::AssuranceLevel,
    /// `userId`.
    pub user_id: crate::user::UserId,
    /// `logon`.
    pub logon: Option<crate::user::Logon>,
    /// `deviceId`, when the client named one.
    pub device_id: Option<String>,
    /// `defaultClientId`, when the client named one.
    pub default_client_id: Option<String>,
}

/// A signed access token, as sent to the client. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    /// Wraps the compact serialisation.
    #[must_use]
    pub const fn new(compact: String) -> Self {
        Self(compact)
    }

    /// The token, to send to its client only.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

/// A successful token response, before a dialect renders it (RFC 6749 §5.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issued {
    /// The access token.
    pub access_token: AccessToken,
    /// Seconds until it expires.
    pub expires_in: u32,
    /// The scope granted.
    pub scope: ScopeSet,
    /// Its `jti`.
    pub jti: String,
    /// A refresh token, when the client may use the refresh_token grant.
    pub refresh_token: Option<crate::issued::ReferenceToken>,
    /// An OpenID Connect ID token, when `openid` was granted in the code flow.
    pub id_token: Option<AccessToken>,
}

/// What a token is, for introspection (RFC 7662 §2.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    /// What kind of token it is (introspection's `token_type`).
    pub token_type: TokenType,
    /// `client_id`.
    pub client_id: ClientId,
    /// `sub`.
    pub sub: String,
    /// `scope`.
    pub scope: ScopeSet,
    /// `iss`.
    pub iss: Issuer,
    /// `aud`, for access tokens (RFC 8707 §2.2: the resources it is for).
    pub aud: Option<crate::resource::Audiences>,
    /// `jti`, for access tokens.
    pub jti: Option<String>,
    /// `iat`.
    pub iat: UnixTime,
    /// `exp`.
    pub exp: UnixTime,
    /// `cnf.x5t#S256`, for certificate-bound tokens.
    pub cnf: Option<crate::cert::CertThumbprint>,
}

/// The answer of introspection: an active token and what it is, or inactive (which also covers
/// unknown tokens and tokens the caller may not see).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Introspection {
    /// `{"active": true, …}`.
    Active(TokenInfo),
    /// `{"active": false}`.
    Inactive,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::SigningAlgorithm;

    #[test]
    fn at_hash_uses_the_left_half_of_the_algorithms_hash() {
        // Computed independently: base64url(SHA-256(token)[..16]).
        assert_eq!(
            at_hash(
                SigningAlgorithm::Rs256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNmQN6CN1WIa-FqhUHKk"
            ),
            "3Ia0i4f3F0HC6UKdiEhYCA"
        );
        assert_eq!(at_hash(SigningAlgorithm::Es256, "x").len(), 22);
        assert_eq!(
            at_hash(SigningAlgorithm::EdDsa, "x").len(),
            43,
            "SHA-512 for Ed25519"
        );
    }

    #[test]
    fn scopes_release_their_claims_and_nothing_else() {
        use crate::user::{PhoneNumber, PostalAddress, Profile, User, UserId, UserStatus};
        let name = |s: &str| crate::client::ClientName::parse(s).unwrap_or_else(|e| panic!("{e}"));
        let user = User {
            id: UserId::parse("usr_1").unwrap_or_else(|e| panic!("{e}")),
            logon: crate::user::Logon::parse("ana").unwrap_or_else(|e| panic!("{e}")),
            email: crate::user::Email::parse("ana@example.com").unwrap_or_else(|e| panic!("{e}")),
            name: name("Ana"),
            status: UserStatus::Active,
            password: None,
            profile: Profile {
                phone_number: Some(
                    PhoneNumber::parse("+55 11 5555-0000").unwrap_or_else(|e| panic!("{e}")),
                ),
                phone_number_verified: true,
                address: Some(PostalAddress {
                    locality: Some(name("Recife")),
                    ..PostalAddress::default()
                }),
                ..Profile::default()
            },
            failed_sign_ins: 0,
            locked_until: None,
            created_at: UnixTime::from_secs(1),
            updated_at: UnixTime::from_secs(2),
        };
        let of = |scope: &str| UserInfo::of(&user, &ScopeSet::parse(scope).unwrap_or_default());
        let openid = of("openid");
        assert_eq!(
            openid,
            UserInfo {
                sub: "usr_1".into(),
                ..UserInfo::default()
            }
        );
        let phone = of("openid phone");
        assert_eq!(phone.phone_number.as_deref(), Some("+55 11 5555-0000"));
        assert_eq!(phone.phone_number_verified, Some(true));
        assert_eq!(phone.address, None);
        let address = of("openid address");
        assert_eq!(
            address.address.map(|a| a.formatted()).as_deref(),
            Some("Recife")
        );
        assert_eq!(address.phone_number, None);
        // No number: no phone claims at all, not a false "verified".
        let mut without = user.clone();
        without.profile.phone_number = None;
        let none = UserInfo::of(
            &without,
            &ScopeSet::parse("openid phone").unwrap_or_default(),
        );
        assert_eq!(none.phone_number_verified, None);
    }
}

/// The kind of token introspection reports (RFC 7662 §2.2 `token_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenType {
    /// An access token (RFC 6750).
    Bearer,
    /// A refresh token.
    RefreshToken,
}

impl TokenType {
    /// The wire value: `Bearer` or `refresh_token`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Bearer => "Bearer",
            Self::RefreshToken => "refresh_token",
        }
    }
}
