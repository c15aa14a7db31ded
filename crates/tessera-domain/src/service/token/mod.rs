//! The token endpoint's use cases: the service, its ports and `issue`, which admits the client and
//! dispatches the grant. The rest is in the files beside this one, one thing each: `request.rs`
//! (what a parsed request is), `authenticate.rs` (client authentication, RFC 6749 §2.3),
//! `code.rs` (the authorization code grant), `refresh.rs` (rotation and reuse detection, §6),
//! `user.rs` (AuthMe's user grant), `inspect.rs` (revocation, RFC 7009, and
//! introspection, RFC 7662), `userinfo.rs` (OpenID Connect Core §5.3), `mint.rs` (minting tokens
//! and refresh families). client_credentials (§4.4) is here, in `issue_inner`.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::assurance::AssuranceLevel;
use crate::audit::{AuditEvent, AuditKind};
use crate::authorize::{CODE_PREFIX, CodeIssue, CodeVerifier, Redemption};
use crate::cache::ClientCache;
use crate::cert::CertThumbprint;
use crate::client::SigningAlgorithm;
use crate::client::{AccessTokenFormat, Client, ClientAuthMethod, ClientId, GrantType, TokenTtl};
use crate::error::{GrantFailure, StoreError, TokenError};
use crate::issued::{
    OPAQUE_PREFIX, OpaqueTokenRecord, REFRESH_PREFIX, ReferenceToken, RefreshFamily,
    RefreshTokenRecord, RotateOutcome, recognise_param,
};
use crate::policy::{TokenPolicy, resolve_scope};
use crate::ports::{
    AuditLog, AuthorizationCodeStore, BlockingWork, OpaqueTokenStore, ParamStore, RandomSource,
    RateKind, RateLimiter, RefreshTokenStore, RevocationList, SignError, TokenSigner,
    UserRepository,
};
use crate::scope::ScopeSet;
use crate::secret::{PlainSecret, SecretPepper, SecretVerifier, verify_any};
use crate::time::UnixTime;
use crate::token::{
    AccessToken, AccessTokenClaims, IdTokenClaims, Introspection, Issued, TokenInfo, TokenType,
    UserClaims, UserInfo, at_hash,
};
use crate::user::{User, UserId, UserStatus};

/// What `/readyz` reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Readiness {
    /// The store answered.
    pub database: bool,
    /// Algorithms without an active signing key.
    pub missing_keys: Vec<SigningAlgorithm>,
}

impl Readiness {
    /// Ready to issue tokens.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.database && self.missing_keys.is_empty()
    }
}

/// The assurance level of a password sign-in (AuthMe's `AUTH_BASIC`: something the user knows).
pub const PASSWORD_LEVEL: AssuranceLevel = AssuranceLevel::Basic;

mod admin_access;
mod authenticate;
mod code;
mod inspect;
mod mint;
mod refresh;
mod request;
mod user;
mod userinfo;
pub use admin_access::{
    ADMIN_READ_SCOPE, ADMIN_ROLE, ADMIN_SCOPE, AdminAccess, AdminDenied, admin_allows,
};
pub use authenticate::Admitted;
pub use request::{
    ApiProfile, ClientAuthentication, Credential, GrantRequest, IssueRequest, TokenRequest,
    UserSelector,
};
pub use userinfo::UserInfoError;

/// The ports the token service works through.
#[derive(Clone)]
pub struct TokenPorts {
    /// Clients, cached.
    pub clients: Arc<ClientCache>,
    /// Signing and verification.
    pub signer: Arc<dyn TokenSigner>,
    /// Randomness.
    pub random: Arc<dyn RandomSource>,
    /// Where slow secret checks run.
    pub blocking: Arc<dyn BlockingWork>,
    /// Refresh-token families.
    pub refresh: Arc<dyn RefreshTokenStore>,
    /// Opaque access tokens.
    pub opaque: Arc<dyn OpaqueTokenStore>,
    /// The JWT denylist.
    pub revoked: Arc<dyn RevocationList>,
    /// The user directory.
    pub users: Arc<dyn UserRepository>,
    /// One-time sign-in params.
    pub params: Arc<dyn ParamStore>,
    /// Authorization codes.
    pub codes: Arc<dyn AuthorizationCodeStore>,
    /// Request rates and failed authentications.
    pub limiter: Arc<dyn RateLimiter>,
    /// The audit trail.
    pub audit: Arc<dyn AuditLog>,
}

/// Whom an access token is about, and what it grants.
struct Grantee {
    subject: String,
    scope: ScopeSet,
    user: Option<UserClaims>,
    /// The resources the token is for (RFC 8707 §2.2); none for the client's audience.
    resources: Vec<crate::resource::Resource>,
}

/// How the API and the connection shape every token of a request.
#[derive(Clone)]
struct Shape {
    /// The resources the request asked for (RFC 8707 §2), before any grant's check.
    resources: Vec<crate::resource::Resource>,
    ttl: TokenTtl,
    format: AccessTokenFormat,
    alg: SigningAlgorithm,
    cnf: Option<CertThumbprint>,
    cid: bool,
}

/// Issues, refreshes, revokes and introspects tokens.
pub struct TokenService {
    ports: TokenPorts,
    pepper: SecretPepper,
    policy: TokenPolicy,
}

fn invalid_grant() -> TokenError {
    TokenError::InvalidGrant(GrantFailure::RefreshToken)
}

/// The user `selector` names, if it exists and may sign in.
pub(crate) async fn active_user(
    users: &dyn UserRepository,
    selector: &UserSelector,
) -> Result<Option<User>, StoreError> {
    let found = match selector {
        UserSelector::Id(id) => users.find(id).await?,
        UserSelector::Logon(logon) => users.find_by_logon(logon).await?,
        UserSelector::Any => None,
    };
    Ok(found.filter(|u| u.status == UserStatus::Active))
}

pub(crate) fn store_error(e: StoreError) -> TokenError {
    tracing::error!(error = %e, "store operation failed");
    TokenError::from_store(&e)
}

impl TokenService {
    /// A service over the given ports, with the deployment's policy and secret pepper.
    #[must_use]
    pub fn new(ports: TokenPorts, pepper: SecretPepper, policy: TokenPolicy) -> Self {
        Self {
            ports,
            pepper,
            policy,
        }
    }

    /// The deployment's token policy.
    #[must_use]
    pub fn policy(&self) -> &TokenPolicy {
        &self.policy
    }

    /// Whether tokens can be issued now: the store answers, and every algorithm in `algorithms`
    /// has an active key.
    pub async fn readiness(&self, algorithms: &[SigningAlgorithm]) -> Readiness {
        let database = match self.ports.clients.store_version().await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(error = %e, "readiness: the store does not answer");
                false
            }
        };
        let missing: Vec<SigningAlgorithm> = algorithms
            .iter()
            .copied()
            .filter(|a| !self.ports.signer.can_sign(*a))
            .collect();
        Readiness {
            database,
            missing_keys: missing,
        }
    }

    /// The user with this id if it exists and may sign in (every grant about a user asks this).
    async fn active_user(&self, id: &UserId) -> Result<Option<User>, TokenError> {
        active_user(self.ports.users.as_ref(), &UserSelector::Id(id.clone()))
            .await
            .map_err(store_error)
    }

    /// Authenticates the client, checks the grant, resolves the scope and lifetime, builds the
    /// claims and issues the tokens. A JWT access token writes nothing; an opaque one or a refresh
    /// token is stored (hashed).
    ///
    /// # Errors
    /// The [`TokenError`] the request deserves (RFC 6749 §5.2).
    pub async fn issue(&self, request: TokenRequest, now: UnixTime) -> Result<Issued, TokenError> {
        let (auth, source, request) = request.split();
        let admitted = self.admit_client(auth, source.as_deref(), now).await?;
        self.issue_admitted(&admitted, request, now).await
    }

    /// [`Self::issue`] for a client [`Self::admit_client`] admitted.
    ///
    /// # Errors
    /// The [`TokenError`] the request deserves (RFC 6749 §5.2).
    pub async fn issue_admitted(
        &self,
        admitted: &Admitted,
        request: IssueRequest,
        now: UnixTime,
    ) -> Result<Issued, TokenError> {
        let kind = match request.grant {
            GrantRequest::RefreshToken { .. } => AuditKind::TokenRefreshed,
            _ => AuditKind::TokenIssued,
        };
        let grant = request.grant.label();
        let result = self.issue_inner(admitted.client(), request, now).await;
        if let Ok(issued) = &result {
            self.ports.audit.record(
                AuditEvent::new(kind, now, format!("grant={grant} jti={}", issued.jti))
                    .client(admitted.client_id().as_str())
                    .source(admitted.source()),
            );
        }
        result
    }

    /// How the API and the connection shape this request's tokens: lifetime, format, algorithm,
    /// the certificate they are bound to (RFC 8705 §3), and the `cid` claim.
    fn shape(&self, client: &Client, request: &IssueRequest) -> Result<Shape, TokenError> {
        let ttl = request
            .profile
            .fixed_ttl
            .unwrap_or_else(|| self.policy.ttl_for(client, request.profile.default_ttl));
        let format = request
            .profile
            .format
            .unwrap_or_else(|| client.access_token_format());
        // RFC 8705 §2: a client with registered certificates must present one of them, and its
        // tokens are bound to it.
        let cnf = if client.requires_certificate() || request.profile.require_certificate {
            match &request.certificate {
                Some(presented) if client.accepts_certificate(presented) => {
                    Some(presented.thumbprint.clone())
                }
                _ => return Err(TokenError::InvalidClient),
            }
        } else {
            None
        };
        Ok(Shape {
            resources: request.resources.clone(),
            ttl,
            format,
            alg: request
                .profile
                .alg
                .unwrap_or_else(|| self.policy.alg_for(client)),
            cnf,
            cid: request.profile.cid_claim,
        })
    }

    /// RFC 6749 §4.4: a token for the client itself, and a refresh token only when the client
    /// opted in (§4.4.3).
    async fn client_credentials(
        &self,
        client: &Client,
        requested: Option<&ScopeSet>,
        shape: Shape,
        now: UnixTime,
    ) -> Result<Issued, TokenError> {
        let scope = resolve_scope(requested, client)?;
        let resources = granted_resources(client, &shape.resources, None)?;
        let subject = client.id().as_str().to_owned();
        let mut issued = self
            .access_for(
                client,
                Grantee {
                    subject: subject.clone(),
                    scope: scope.clone(),
                    user: None,
                    resources: resources.clone(),
                },
                shape,
                None,
                now,
            )
            .await?;
        // RFC 6749 §4.4.3: no refresh token unless the client opted in.
        if client.options().refresh_with_client_credentials
            && client.grant_types().contains(&GrantType::RefreshToken)
        {
            issued.refresh_token = Some(
                self.new_family(
                    client,
                    Grantee {
                        subject,
                        scope,
                        user: None,
                        resources,
                    },
                    now,
                )
                .await?,
            );
        }
        Ok(issued)
    }

    async fn issue_inner(
        &self,
        client: &Arc<Client>,
        request: IssueRequest,
        now: UnixTime,
    ) -> Result<Issued, TokenError> {
        if !request.profile.required_roles.is_met_by(client.roles()) {
            tracing::info!(client_id = %client.id(), required = %request.profile.required_roles, "client lacks the roles this API requires");
            return Err(TokenError::UnauthorizedClient);
        }
        if request.profile.require_gateway_token {
            let presented = match &request.gateway_token {
                Some(token) => self.is_active_access_token(token.expose(), now).await?,
                None => false,
            };
            if !presented {
                tracing::info!(client_id = %client.id(), "no active gateway token");
                return Err(TokenError::InvalidClient);
            }
        }
        let shape = self.shape(client, &request)?;
        let first_party_grant = request.profile.first_party
            && matches!(
                request.grant,
                GrantRequest::User { .. } | GrantRequest::RefreshToken { .. }
            );
        if let Some(grant_type) = request.grant.grant_type()
            && !first_party_grant
            && !client.grant_types().contains(&grant_type)
        {
            return Err(TokenError::UnauthorizedClient);
        }
        match request.grant {
            GrantRequest::ClientCredentials { scope } => {
                self.client_credentials(client, scope.as_ref(), shape, now)
                    .await
            }
            GrantRequest::User {
                user,
                param,
                level,
                remember_me,
                device_id,
                default_client_id,
            } => {
                self.user_grant(
                    client,
                    user,
                    &param,
                    level,
                    remember_me,
                    device_id,
                    default_client_id,
                    shape,
                    now,
                )
                .await
            }
            GrantRequest::RefreshToken {
                refresh_token,
                scope,
            } => {
                self.refresh(client, &refresh_token, scope, shape, now)
                    .await
            }
            GrantRequest::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => {
                self.code_grant(
                    client,
                    &code,
                    redirect_uri.as_deref(),
                    code_verifier.as_deref(),
                    shape,
                    now,
                )
                .await
            }
        }
    }
}

/// The resources a token is for: RFC 8707 §2.2 decided by [`crate::resource::resources_for`]
/// against what the client may now have and, for a refresh or a code, what was granted.
///
/// # Errors
/// `InvalidTarget` naming the refused resource.
fn granted_resources(
    client: &Client,
    requested: &[crate::resource::Resource],
    granted: Option<&[crate::resource::Resource]>,
) -> Result<Vec<crate::resource::Resource>, TokenError> {
    crate::resource::resources_for(requested, &client.options().resources, granted)
        .map_err(|e| TokenError::InvalidTarget(e.to_string()))
}
