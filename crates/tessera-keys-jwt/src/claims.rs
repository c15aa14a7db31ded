//! The wire form of access-token claims (RFC 9068 §2.2). The domain builds the claims; this DTO
//! only names them.

use serde::{Deserialize, Serialize};
use tessera_domain::assurance::AssuranceLevel;
use tessera_domain::cert::CertThumbprint;
use tessera_domain::policy::Issuer;
use tessera_domain::token::{AccessTokenClaims, IdTokenClaims, UserClaims};
use tessera_domain::user::{Logon, UserId};
use tessera_domain::{Audience, ClientId, Role, ScopeSet, UnixTime};

/// `aud` (RFC 7519 §4.1.3): a string for one audience, an array for several (RFC 8707 §2.2).
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum Aud<S> {
    /// One audience.
    One(S),
    /// Several.
    Many(Vec<S>),
}

impl<'a> Aud<&'a str> {
    fn of(auds: &'a tessera_domain::resource::Audiences) -> Self {
        match auds.as_slice() {
            [one] => Self::One(one.as_str()),
            many => Self::Many(many.iter().map(Audience::as_str).collect()),
        }
    }
}

impl Aud<String> {
    fn into_domain(self) -> Option<tessera_domain::resource::Audiences> {
        match self {
            Self::One(a) => Audience::parse(&a)
                .ok()
                .map(tessera_domain::resource::Audiences::one),
            Self::Many(all) => {
                tessera_domain::resource::Audiences::parse_all(all.iter().map(String::as_str)).ok()
            }
        }
    }
}

/// RFC 9068 §2.2 claims, borrowed from the domain's value.
#[derive(Serialize)]
pub(crate) struct JwtClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: Aud<&'a str>,
    exp: i64,
    iat: i64,
    jti: &'a str,
    client_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    roles: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    acr: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authorities: Vec<&'a str>,
    #[serde(rename = "userId", skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logon: Option<&'a str>,
    #[serde(rename = "deviceId", skip_serializing_if = "Option::is_none")]
    device_id: Option<&'a str>,
    #[serde(rename = "defaultClientId", skip_serializing_if = "Option::is_none")]
    default_client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cnf: Option<Cnf<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cid: Option<&'a str>,
}

/// OpenID Connect ID token claims (Core §2, §5.1), borrowed from the domain's value.
#[derive(Serialize)]
pub(crate) struct IdClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    azp: &'a str,
    exp: i64,
    iat: i64,
    auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    acr: &'a str,
    amr: &'a [&'static str],
    at_hash: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    given_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    family_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    preferred_username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locale: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<Address<'a>>,
}

/// The `address` claim (OpenID Connect Core §5.1.1).
#[derive(Serialize)]
pub(crate) struct Address<'a> {
    formatted: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    street_address: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locality: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    postal_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    country: Option<&'a str>,
}

impl<'a> From<&'a tessera_domain::user::PostalAddress> for Address<'a> {
    fn from(a: &'a tessera_domain::user::PostalAddress) -> Self {
        let text = |v: &'a Option<tessera_domain::ClientName>| v.as_ref().map(|n| n.as_str());
        Self {
            formatted: a.formatted(),
            street_address: text(&a.street_address),
            locality: text(&a.locality),
            region: text(&a.region),
            postal_code: text(&a.postal_code),
            country: text(&a.country),
        }
    }
}

impl<'a> From<&'a IdTokenClaims> for IdClaims<'a> {
    fn from(c: &'a IdTokenClaims) -> Self {
        let u = &c.user;
        Self {
            iss: c.iss.as_str(),
            sub: &u.sub,
            aud: c.aud.as_str(),
            azp: c.aud.as_str(),
            exp: c.exp.as_secs(),
            iat: c.iat.as_secs(),
            auth_time: c.auth_time.as_secs(),
            nonce: c.nonce.as_ref().map(|n| n.as_str()),
            acr: c.acr.as_str(),
            amr: &c.amr,
            at_hash: &c.at_hash,
            sid: c.sid.as_deref(),
            name: u.name.as_deref(),
            given_name: u.given_name.as_deref(),
            family_name: u.family_name.as_deref(),
            preferred_username: u.preferred_username.as_deref(),
            locale: u.locale.as_deref(),
            updated_at: u.updated_at.map(UnixTime::as_secs),
            email: u.email.as_deref(),
            email_verified: u.email_verified,
            phone_number: u.phone_number.as_deref(),
            phone_number_verified: u.phone_number_verified,
            address: u.address.as_ref().map(Address::from),
        }
    }
}

/// RFC 8705 §3.1 confirmation claim.
#[derive(Serialize, Deserialize)]
pub(crate) struct Cnf<T> {
    #[serde(rename = "x5t#S256")]
    x5t_s256: T,
}

impl<'a> From<&'a AccessTokenClaims> for JwtClaims<'a> {
    fn from(c: &'a AccessTokenClaims) -> Self {
        Self {
            iss: c.iss.as_str(),
            sub: &c.sub,
            aud: Aud::of(&c.aud),
            exp: c.exp.as_secs(),
            iat: c.iat.as_secs(),
            jti: &c.jti,
            client_id: c.client_id.as_str(),
            scope: (!c.scope.is_empty()).then(|| c.scope.to_string()),
            roles: c.roles.iter().map(|r| r.as_str()).collect(),
            acr: c.user.as_ref().map(|u| u.acr.as_str()),
            authorities: c
                .user
                .as_ref()
                .map(|u| u.acr.implied().map(AssuranceLevel::as_str).collect())
                .unwrap_or_default(),
            user_id: c.user.as_ref().map(|u| u.user_id.as_str()),
            logon: c
                .user
                .as_ref()
                .and_then(|u| u.logon.as_ref())
                .map(Logon::as_str),
            device_id: c.user.as_ref().and_then(|u| u.device_id.as_deref()),
            default_client_id: c.user.as_ref().and_then(|u| u.default_client_id.as_deref()),
            cnf: c.cnf.as_ref().map(|t| Cnf {
                x5t_s256: t.as_str(),
            }),
            cid: c.cid.as_ref().map(ClientId::as_str),
        }
    }
}

/// The claims of a presented token, as read back for verification.
#[derive(Deserialize)]
pub(crate) struct OwnedClaims {
    iss: String,
    sub: String,
    aud: Aud<String>,
    exp: i64,
    iat: i64,
    jti: String,
    client_id: String,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    acr: Option<String>,
    #[serde(default, rename = "userId")]
    user_id: Option<String>,
    #[serde(default)]
    logon: Option<String>,
    #[serde(default, rename = "deviceId")]
    device_id: Option<String>,
    #[serde(default, rename = "defaultClientId")]
    default_client_id: Option<String>,
    #[serde(default)]
    cnf: Option<Cnf<String>>,
    #[serde(default)]
    cid: Option<String>,
}

impl OwnedClaims {
    /// The domain's claims, when every value parses.
    pub(crate) fn into_domain(self) -> Option<AccessTokenClaims> {
        Some(AccessTokenClaims {
            iss: Issuer::parse(&self.iss).ok()?,
            sub: self.sub,
            aud: self.aud.into_domain()?,
            exp: UnixTime::from_secs(self.exp),
            iat: UnixTime::from_secs(self.iat),
            jti: self.jti,
            client_id: ClientId::parse(&self.client_id).ok()?,
            scope: ScopeSet::parse(self.scope.as_deref().unwrap_or_default()).ok()?,
            roles: self
                .roles
                .iter()
                .map(|r| Role::parse(r).ok())
                .collect::<Option<_>>()?,
            user: match (self.acr, self.user_id) {
                (Some(acr), Some(user_id)) => Some(UserClaims {
                    acr: AssuranceLevel::parse(&acr).ok()?,
                    user_id: UserId::parse(&user_id).ok()?,
                    logon: self.logon.map(|l| Logon::parse(&l)).transpose().ok()?,
                    device_id: self.device_id,
                    default_client_id: self.default_client_id,
                }),
                _ => None,
            },
            cnf: self
                .cnf
                .map(|c| CertThumbprint::parse(&c.x5t_s256))
                .transpose()
                .ok()?,
            cid: self.cid.map(|c| ClientId::parse(&c)).transpose().ok()?,
        })
    }
}

/// The claims of a presented ID token that a hint needs (Core §3.1.2.1, RP-Initiated Logout §2).
#[derive(Deserialize)]
pub(crate) struct HintClaims {
    iss: String,
    sub: String,
    aud: String,
    #[serde(default)]
    sid: Option<String>,
}

impl HintClaims {
    /// The domain's hint, when every value parses.
    pub(crate) fn into_domain(self) -> Option<tessera_domain::interaction::IdTokenHint> {
        Some(tessera_domain::interaction::IdTokenHint {
            iss: Issuer::parse(&self.iss).ok()?,
            sub: self.sub,
            aud: ClientId::parse(&self.aud).ok()?,
            sid: self.sid,
        })
    }
}

/// Back-Channel Logout 1.0 §2.4 logout token claims, borrowed from the domain's value: no
/// `nonce`, an `events` member with the back-channel logout event.
#[derive(Serialize)]
pub(crate) struct LogoutClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
    jti: &'a str,
    sub: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<&'a str>,
    events: Events,
}

/// `{"http://schemas.openid.net/event/backchannel-logout": {}}`.
#[derive(Serialize)]
pub(crate) struct Events {
    #[serde(rename = "http://schemas.openid.net/event/backchannel-logout")]
    backchannel_logout: Empty,
}

/// `{}`.
#[derive(Serialize)]
pub(crate) struct Empty {}

impl<'a> From<&'a tessera_domain::backchannel::LogoutTokenClaims> for LogoutClaims<'a> {
    fn from(c: &'a tessera_domain::backchannel::LogoutTokenClaims) -> Self {
        Self {
            iss: c.iss.as_str(),
            aud: c.aud.as_str(),
            iat: c.iat.as_secs(),
            exp: c.exp.as_secs(),
            jti: &c.jti,
            sub: &c.sub,
            sid: c.sid.as_deref(),
            events: Events {
                backchannel_logout: Empty {},
            },
        }
    }
}
