//! What a token request is once a dialect has parsed it: the client's credentials, the grant,
//! the API's profile. Every field that holds a credential (refresh token, code, PKCE verifier,
//! AuthMe param, client secret) prints as `<redacted>`, so a `Debug` of a request never writes a
//! secret to a log.

use std::fmt;

use crate::assurance::{AssuranceLevel, RoleRequirement};
use crate::cert::PresentedCertificate;
use crate::client::{
    AccessTokenFormat, ClientAuthMethod, ClientId, GrantType, SigningAlgorithm, TokenTtl,
};
use crate::error::TokenError;
use crate::scope::ScopeSet;
use crate::secret::PlainSecret;
use crate::user::{Logon, UserId};

/// What the caller presented to authenticate itself, as a dialect found it (RFC 6749 §2.3).
#[derive(Clone, Debug)]
pub enum ClientAuthentication {
    /// `Authorization: Basic` with the form-urlencoded id and secret (`client_secret_basic`).
    SecretBasic {
        /// The client id.
        client_id: ClientId,
        /// The secret.
        secret: PlainSecret,
    },
    /// `client_id` and `client_secret` in the body (`client_secret_post`).
    SecretPost {
        /// The client id.
        client_id: ClientId,
        /// The secret.
        secret: PlainSecret,
    },
    /// A `client_id` and a certificate proven over mutual TLS (`tls_client_auth` or
    /// `self_signed_tls_client_auth`, RFC 8705 §2).
    Certificate {
        /// The client id.
        client_id: ClientId,
        /// The certificate the TLS handshake proved.
        certificate: PresentedCertificate,
    },
    /// Only a `client_id`: a public client (`none`).
    None {
        /// The client id.
        client_id: ClientId,
    },
    /// Nothing at all.
    Absent,
}

impl ClientAuthentication {
    /// The client id the caller claims, if any.
    #[must_use]
    pub fn client_id(&self) -> Option<&ClientId> {
        match self {
            Self::SecretBasic { client_id, .. }
            | Self::SecretPost { client_id, .. }
            | Self::Certificate { client_id, .. }
            | Self::None { client_id } => Some(client_id),
            Self::Absent => None,
        }
    }

    /// Parses raw credentials as the dialect extracted them. An id or secret that cannot be valid
    /// is a failed authentication (`invalid_client`), not a malformed request: to the caller it is
    /// indistinguishable from a wrong secret.
    ///
    /// # Errors
    /// `invalid_client` when the id or the secret does not parse.
    pub fn from_raw(
        method: ClientAuthMethod,
        id: &str,
        secret: Option<&str>,
    ) -> Result<Self, TokenError> {
        let client_id = ClientId::parse(id).map_err(|_| TokenError::InvalidClient)?;
        let secret = secret
            .map(PlainSecret::parse)
            .transpose()
            .map_err(|_| TokenError::InvalidClient)?;
        match (method, secret) {
            (ClientAuthMethod::ClientSecretBasic, Some(secret)) => {
                Ok(Self::SecretBasic { client_id, secret })
            }
            (ClientAuthMethod::ClientSecretPost, Some(secret)) => {
                Ok(Self::SecretPost { client_id, secret })
            }
            (ClientAuthMethod::None, None) => Ok(Self::None { client_id }),
            _ => Err(TokenError::InvalidClient),
        }
    }
}

/// The grant being asked for, parsed from the request. Its `Debug` redacts every credential.
#[derive(Clone, PartialEq, Eq)]
pub enum GrantRequest {
    /// RFC 6749 §4.4.
    ClientCredentials {
        /// The requested scope; `None` when the request had no `scope`.
        scope: Option<ScopeSet>,
    },
    /// RFC 6749 §6.
    RefreshToken {
        /// The presented refresh token, as sent.
        refresh_token: String,
        /// The requested (narrower) scope; `None` for the originally granted one.
        scope: Option<ScopeSet>,
    },
    /// RFC 6749 §4.1.3: a code from the authorization endpoint.
    AuthorizationCode {
        /// The code, as sent.
        code: String,
        /// `redirect_uri`, as sent.
        redirect_uri: Option<String>,
        /// `code_verifier` (PKCE), as sent.
        code_verifier: Option<String>,
    },
    /// A first-party user grant (AuthMe `USER`): the user is proven by a one-time param that the
    /// same client obtained for them.
    User {
        /// Which user the caller means, when it says.
        user: UserSelector,
        /// The one-time param, as sent.
        param: String,
        /// How strongly the user signed in.
        level: AssuranceLevel,
        /// Whether to issue a (remember-me) refresh token.
        remember_me: bool,
        /// `deviceId`, to carry in the token.
        device_id: Option<String>,
        /// `defaultClientId`, to carry in the token.
        default_client_id: Option<String>,
    },
}

/// How a request names a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserSelector {
    /// By id.
    Id(UserId),
    /// By logon.
    Logon(Logon),
    /// Not named: whoever the param was made for.
    Any,
}

impl GrantRequest {
    /// Parses the grant from its `grant_type`, `scope` and `refresh_token` parameters.
    ///
    /// # Errors
    /// `invalid_request` when `grant_type` (or a refresh grant's `refresh_token`) is missing,
    /// `unsupported_grant_type` when it is not one this server implements, `invalid_scope` when
    /// `scope` is malformed (RFC 6749 §5.2).
    pub fn parse(
        grant_type: Option<&str>,
        scope: Option<&str>,
        refresh_token: Option<&str>,
    ) -> Result<Self, TokenError> {
        Self::parse_with_code(grant_type, scope, refresh_token, None)
    }

    /// As [`GrantRequest::parse`], for an endpoint that also serves the authorization code grant:
    /// `code` is the request's (`code`, `redirect_uri`, `code_verifier`).
    ///
    /// # Errors
    /// As for `parse`; `invalid_request` when an authorization code grant has no `code`.
    pub fn parse_with_code(
        grant_type: Option<&str>,
        scope: Option<&str>,
        refresh_token: Option<&str>,
        code: Option<(Option<&str>, Option<&str>, Option<&str>)>,
    ) -> Result<Self, TokenError> {
        let grant_type = grant_type
            .filter(|g| !g.is_empty())
            .ok_or_else(|| TokenError::InvalidRequest("missing grant_type".into()))?;
        let known = GrantType::parse(grant_type)
            .map_err(|_| TokenError::UnsupportedGrantType(printable(grant_type)))?;
        let scope = scope
            .map(ScopeSet::parse)
            .transpose()
            .map_err(|e| TokenError::InvalidScope(e.reason))?;
        match known {
            GrantType::ClientCredentials => Ok(Self::ClientCredentials { scope }),
            GrantType::RefreshToken => {
                let refresh_token = refresh_token
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| TokenError::InvalidRequest("missing refresh_token".into()))?;
                Ok(Self::RefreshToken {
                    refresh_token: refresh_token.to_owned(),
                    scope,
                })
            }
            GrantType::AuthorizationCode => match code {
                None => Err(TokenError::UnsupportedGrantType(known.as_str().to_owned())),
                Some((code, redirect_uri, code_verifier)) => Ok(Self::AuthorizationCode {
                    code: code
                        .filter(|c| !c.is_empty())
                        .ok_or_else(|| TokenError::InvalidRequest("missing code".into()))?
                        .to_owned(),
                    redirect_uri: redirect_uri.map(str::to_owned),
                    code_verifier: code_verifier.map(str::to_owned),
                }),
            },
        }
    }

    /// A name for this grant in logs, metrics and the audit trail: its registered grant type, or
    /// `user` for the first-party user grant.
    #[must_use]
    pub const fn label(&self) -> &'static str {
        match self.grant_type() {
            Some(g) => g.as_str(),
            None => "user",
        }
    }

    /// The registered grant type of this request; `None` for the first-party user grant, which
    /// the API's role requirement authorises instead.
    #[must_use]
    pub const fn grant_type(&self) -> Option<GrantType> {
        match self {
            Self::ClientCredentials { .. } => Some(GrantType::ClientCredentials),
            Self::RefreshToken { .. } => Some(GrantType::RefreshToken),
            Self::AuthorizationCode { .. } => Some(GrantType::AuthorizationCode),
            Self::User { .. } => None,
        }
    }
}

/// Echoes untrusted input safely into an error description: at most 64 visible ASCII characters.
fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| matches!(c, '\x20'..='\x7E'))
        .take(64)
        .collect()
}

/// A token request: who is asking, and for what.
#[derive(Clone, Debug)]
pub struct TokenRequest {
    /// The client's credentials.
    pub auth: ClientAuthentication,
    /// The grant.
    pub grant: GrantRequest,
    /// What the API this request came through adds: its configuration, not a decision.
    pub profile: ApiProfile,
    /// The client certificate presented (by mutual TLS, or a trusted gateway).
    pub certificate: Option<PresentedCertificate>,
    /// The address the request came from, for per-address limits.
    pub source: Option<String>,
    /// A token the API's gateway presents for itself (Banco Semear's `access_token` header),
    /// checked when the profile asks for one.
    pub gateway_token: Option<Credential>,
    /// Every `resource` asked for (RFC 8707 §2), each once.
    pub resources: Vec<crate::resource::Resource>,
}

impl TokenRequest {
    /// The credentials, the source address, and what the request asks to be issued.
    #[must_use]
    pub fn split(self) -> (ClientAuthentication, Option<String>, IssueRequest) {
        (
            self.auth,
            self.source,
            IssueRequest {
                grant: self.grant,
                profile: self.profile,
                certificate: self.certificate,
                gateway_token: self.gateway_token,
                resources: self.resources,
            },
        )
    }
}

/// What an admitted client asks to be issued: a token request without its credentials, which
/// [`Admitted`](super::Admitted) stands for.
#[derive(Clone, Debug)]
pub struct IssueRequest {
    /// The grant.
    pub grant: GrantRequest,
    /// What the API this request came through adds.
    pub profile: ApiProfile,
    /// The client certificate presented (by mutual TLS, or a trusted gateway).
    pub certificate: Option<PresentedCertificate>,
    /// The gateway's own token, when the profile asks for one.
    pub gateway_token: Option<Credential>,
    /// Every `resource` asked for (RFC 8707 §2), each once.
    pub resources: Vec<crate::resource::Resource>,
}

impl IssueRequest {
    /// This request, asking for the resources `values` name (RFC 8707 §2; each once).
    ///
    /// # Errors
    /// `InvalidTarget` when one is not an absolute URI without a fragment.
    pub fn with_resources<'a>(
        mut self,
        values: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, TokenError> {
        self.resources = crate::resource::parse_resources(values)
            .map_err(|e| TokenError::InvalidTarget(e.to_string()))?;
        Ok(self)
    }
}

/// A bearer credential presented with a request; its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential(String);

impl Credential {
    /// Wraps a presented credential.
    #[must_use]
    pub fn new(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    /// The credential itself, to check it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// What an API (a dialect) asks of every request that comes through it, from its configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiProfile {
    /// The access-token lifetime when the client has none of its own.
    pub default_ttl: Option<TokenTtl>,
    /// The roles a client needs to use this API (AuthMe: `ROLE_CLI-1STPARTY+ROLE_CLI-AUTH-BASIC`).
    pub required_roles: RoleRequirement,
    /// An access-token format this API always issues (AuthMe's product tokens are opaque).
    pub format: Option<AccessTokenFormat>,
    /// A lifetime this API always gives (AuthMe: 30 minutes, 10 with remember-me), over the
    /// client's own.
    pub fixed_ttl: Option<TokenTtl>,
    /// The API authorises user and refresh grants through its role requirement rather than the
    /// client's grant list (AuthMe's first-party clients).
    pub first_party: bool,
    /// Every client of this API must present a registered certificate (Banco Semear).
    pub require_certificate: bool,
    /// A signing algorithm this API always uses (Banco Semear's tokens are RS256).
    pub alg: Option<SigningAlgorithm>,
    /// Repeat the client id as a `cid` claim (Banco Semear).
    pub cid_claim: bool,
    /// The request must carry an active access token of this server for the gateway it came
    /// through (Banco Semear), checked after the client is authenticated.
    pub require_gateway_token: bool,
}

/// Stands in for a credential in `Debug` output.
const REDACTED: &str = "<redacted>";

impl fmt::Debug for GrantRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClientCredentials { scope } => f
                .debug_struct("ClientCredentials")
                .field("scope", scope)
                .finish(),
            Self::RefreshToken { scope, .. } => f
                .debug_struct("RefreshToken")
                .field("refresh_token", &REDACTED)
                .field("scope", scope)
                .finish(),
            Self::AuthorizationCode {
                redirect_uri,
                code_verifier,
                ..
            } => f
                .debug_struct("AuthorizationCode")
                .field("code", &REDACTED)
                .field("redirect_uri", redirect_uri)
                .field("code_verifier", &code_verifier.as_ref().map(|_| REDACTED))
                .finish(),
            Self::User {
                user,
                level,
                remember_me,
                device_id,
                default_client_id,
                ..
            } => f
                .debug_struct("User")
                .field("user", user)
                .field("param", &REDACTED)
                .field("level", level)
                .field("remember_me", remember_me)
                .field("device_id", device_id)
                .field("default_client_id", default_client_id)
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_request_prints_a_credential() {
        const SECRETS: [&str; 6] = [
            "trt_s3cr3t-refresh",
            "tac_s3cr3t-code",
            "verifier-s3cr3t-verifier-s3cr3t-verifier-s3cr3t",
            "param-s3cr3t",
            "client-s3cr3t-secret",
            "gateway-s3cr3t-token",
        ];
        let grants = [
            GrantRequest::ClientCredentials { scope: None },
            GrantRequest::RefreshToken {
                refresh_token: SECRETS[0].into(),
                scope: None,
            },
            GrantRequest::AuthorizationCode {
                code: SECRETS[1].into(),
                redirect_uri: Some("https://app.example/cb".into()),
                code_verifier: Some(SECRETS[2].into()),
            },
            GrantRequest::User {
                user: UserSelector::Any,
                param: SECRETS[3].into(),
                level: AssuranceLevel::Basic,
                remember_me: true,
                device_id: Some("device-1".into()),
                default_client_id: None,
            },
        ];
        let auth = ClientAuthentication::from_raw(
            ClientAuthMethod::ClientSecretBasic,
            "web",
            Some(SECRETS[4]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        for grant in grants {
            let request = TokenRequest {
                gateway_token: Some(Credential::new(SECRETS[5])),
                auth: auth.clone(),
                grant,
                profile: ApiProfile::default(),
                certificate: None,
                source: Some("10.0.0.1".into()),
                resources: Vec::new(),
            };
            let printed = format!("{request:?} {request:#?}");
            for secret in SECRETS {
                assert!(!printed.contains(secret), "{secret} in {printed}");
            }
            assert!(
                printed.contains("10.0.0.1"),
                "the rest still prints: {printed}"
            );
        }
    }
}
