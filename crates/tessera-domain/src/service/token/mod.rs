//! The token endpoint's use cases: client authentication (RFC 6749 §2.3), client_credentials
//! (§4.4), refresh with rotation and reuse detection (§6, RFC 9700 §4.14), revocation (RFC 7009)
//! and introspection (RFC 7662).

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
use crate::error::{StoreError, TokenError};
use crate::issued::{
    OPAQUE_PREFIX, OpaqueTokenRecord, PARAM_LEN, ParamRecord, REFRESH_PREFIX, ReferenceToken,
    RefreshFamily, RefreshTokenRecord, RotateOutcome, generate_param, recognise_param,
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
    AccessToken, AccessTokenClaims, IdTokenClaims, Introspection, Issued, TokenInfo, UserClaims,
    UserInfo, at_hash,
};
use crate::user::{UserId, UserStatus};

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

mod request;
pub use request::{ApiProfile, ClientAuthentication, GrantRequest, TokenRequest, UserSelector};

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
}

/// How the API and the connection shape every token of a request.
#[derive(Clone)]
struct Shape {
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

/// The `invalid_grant` description of a user grant whose user may not sign in: APIs that answer
/// this case with a code of its own (AuthMe's `22`) compare against it.
pub const USER_NOT_ACTIVE: &str = "the user is not active";

fn invalid_grant() -> TokenError {
    TokenError::InvalidGrant("the refresh token is invalid, expired or revoked".into())
}

fn store_error(e: StoreError) -> TokenError {
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

    /// Authenticates the client, checks the grant, resolves the scope and lifetime, builds the
    /// claims and issues the tokens. A JWT access token writes nothing; an opaque one or a refresh
    /// token is stored (hashed).
    ///
    /// # Errors
    /// The [`TokenError`] the request deserves (RFC 6749 §5.2).
    pub async fn issue(&self, request: TokenRequest, now: UnixTime) -> Result<Issued, TokenError> {
        let kind = match request.grant {
            GrantRequest::RefreshToken { .. } => AuditKind::TokenRefreshed,
            _ => AuditKind::TokenIssued,
        };
        let grant = request.grant.label();
        let client = request.auth.client_id().map(|c| c.as_str().to_owned());
        let source = request.source.clone();
        let result = self.issue_inner(request, now).await;
        if let (Ok(issued), Some(client)) = (&result, client) {
            self.ports.audit.record(
                AuditEvent::new(kind, now, format!("grant={grant} jti={}", issued.jti))
                    .client(client)
                    .source(source.as_deref()),
            );
        }
        result
    }

    async fn issue_inner(
        &self,
        request: TokenRequest,
        now: UnixTime,
    ) -> Result<Issued, TokenError> {
        let client = self
            .admit(request.auth, request.source.as_deref(), now)
            .await?;
        if !request.profile.required_roles.is_met_by(client.roles()) {
            tracing::info!(client_id = %client.id(), required = %request.profile.required_roles, "client lacks the roles this API requires");
            return Err(TokenError::UnauthorizedClient);
        }
        let ttl = request
            .profile
            .fixed_ttl
            .unwrap_or_else(|| self.policy.ttl_for(&client, request.profile.default_ttl));
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
        let shape = Shape {
            ttl,
            format,
            alg: request
                .profile
                .alg
                .unwrap_or_else(|| self.policy.alg_for(&client)),
            cnf,
            cid: request.profile.cid_claim,
        };
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
                let scope = resolve_scope(scope.as_ref(), &client)?;
                let subject = client.id().as_str().to_owned();
                let mut issued = self
                    .access_for(
                        &client,
                        Grantee {
                            subject: subject.clone(),
                            scope: scope.clone(),
                            user: None,
                        },
                        shape.clone(),
                        None,
                        now,
                    )
                    .await?;
                // RFC 6749 §4.4.3: no refresh token unless the client opted in.
                if client.options().refresh_with_client_credentials
                    && client.grant_types().contains(&GrantType::RefreshToken)
                {
                    issued.refresh_token =
                        Some(self.new_family(&client, subject, scope, None, now).await?);
                }
                Ok(issued)
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
                    &client,
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
                self.refresh(&client, &refresh_token, scope, shape, now)
                    .await
            }
            GrantRequest::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => {
                self.code_grant(
                    &client,
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

    /// RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.6) and OpenID Connect (Core §3.1.3): redeems a
    /// code once. The ids of what the redemption will issue are chosen first and stored with the
    /// redemption, so that a second redemption revokes them (RFC 6749 §4.1.2).
    async fn code_grant(
        &self,
        client: &Client,
        code: &str,
        redirect_uri: Option<&str>,
        code_verifier: Option<&str>,
        shape: Shape,
        now: UnixTime,
    ) -> Result<Issued, TokenError> {
        let invalid = |d: &str| TokenError::InvalidGrant(d.to_owned());
        let presented = ReferenceToken::recognise(CODE_PREFIX, code)
            .ok_or_else(|| invalid("the code is invalid, expired or already used"))?;
        let issue = CodeIssue {
            family_id: Some(self.new_id()),
            jti: self.new_id(),
            expires_at: now.plus_secs(i64::from(shape.ttl.as_secs())),
        };
        let record = match self
            .ports
            .codes
            .redeem(&presented.hash(), &issue, now)
            .await
            .map_err(store_error)?
        {
            Redemption::Fresh(record) => record,
            Redemption::Reused(record) => {
                tracing::warn!(client_id = %client.id(), "an authorization code was redeemed twice; revoking what it issued");
                self.ports.audit.record(
                    AuditEvent::new(
                        AuditKind::TokenRevoked,
                        now,
                        "authorization code redeemed twice: its tokens revoked",
                    )
                    .client(client.id().as_str())
                    .subject(record.user_id.as_str()),
                );
                if let Some(first) = &record.issued {
                    if let Some(family) = &first.family_id {
                        self.ports
                            .refresh
                            .revoke_family(family, now)
                            .await
                            .map_err(store_error)?;
                    }
                    self.ports
                        .revoked
                        .revoke(&first.jti, first.expires_at)
                        .await
                        .map_err(store_error)?;
                }
                return Err(invalid(
                    "the code was already used; the tokens issued for it are revoked",
                ));
            }
            Redemption::Invalid => {
                return Err(invalid("the code is invalid, expired or already used"));
            }
        };
        if record.client_id != *client.id() {
            return Err(invalid("the code was issued to another client"));
        }
        match (redirect_uri, record.redirect_uri_explicit) {
            (Some(given), _) if given != record.redirect_uri.as_str() => {
                return Err(invalid(
                    "redirect_uri differs from the authorization request's",
                ));
            }
            (None, true) => {
                return Err(invalid(
                    "redirect_uri is required: the authorization request had one",
                ));
            }
            _ => {}
        }
        let verifier = code_verifier
            .map(CodeVerifier::parse)
            .transpose()
            .map_err(|e| invalid(&e.to_string()))?;
        match (&record.challenge, &verifier) {
            (Some(challenge), Some(verifier)) if challenge.is_met_by(verifier) => {}
            (Some(_), Some(_)) => return Err(invalid("PKCE verification failed")),
            (Some(_), None) => return Err(invalid("code_verifier is required (PKCE)")),
            (None, Some(_)) => {
                return Err(invalid(
                    "code_verifier given but the authorization request had no code_challenge",
                ));
            }
            (None, None) => {}
        }
        let user = self
            .ports
            .users
            .find(&record.user_id)
            .await
            .map_err(store_error)?
            .filter(|u| u.status == UserStatus::Active)
            .ok_or_else(|| invalid(USER_NOT_ACTIVE))?;
        let claims = UserClaims {
            acr: PASSWORD_LEVEL,
            user_id: user.id.clone(),
            logon: Some(user.logon.clone()),
            device_id: None,
            default_client_id: None,
        };
        let subject = user.id.as_str().to_owned();
        let scope = record.scope.clone();
        let mut issued = self
            .access_for(
                client,
                Grantee {
                    subject: subject.clone(),
                    scope: scope.clone(),
                    user: Some(claims.clone()),
                },
                shape,
                Some(issue.jti),
                now,
            )
            .await?;
        let offline = scope.contains("offline_access") || scope.contains("offline");
        if offline && client.grant_types().contains(&GrantType::RefreshToken) {
            let family = issue.family_id.unwrap_or_else(|| self.new_id());
            issued.refresh_token = Some(
                self.new_family_with_id(client, family, subject, scope.clone(), Some(claims), now)
                    .await?,
            );
        }
        if scope.contains("openid") {
            let alg = client
                .options()
                .id_token_alg
                .unwrap_or(self.policy.id_token_alg);
            let id_claims = IdTokenClaims {
                iss: self.policy.issuer.clone(),
                aud: client.id().clone(),
                exp: now.plus_secs(i64::from(issued.expires_in)),
                iat: now,
                auth_time: record.auth_time,
                nonce: record.nonce,
                acr: PASSWORD_LEVEL,
                amr: vec!["pwd"],
                at_hash: at_hash(alg, issued.access_token.expose()),
                sid: record.sid,
                user: UserInfo::of(&user, &scope),
            };
            issued.id_token = Some(self.ports.signer.sign_id_token(alg, &id_claims).map_err(
                |e| {
                    tracing::error!(error = %e, "signing an ID token failed");
                    TokenError::ServerError
                },
            )?);
        }
        Ok(issued)
    }

    /// The OpenID Connect userinfo of the user an access token is about (Core §5.3): the token
    /// must be active, about a user, and carry `openid`.
    ///
    /// # Errors
    /// `InvalidGrant` (rendered as `invalid_token` by the adapter) when it is not; `Forbidden`
    /// when it lacks `openid`; `temporarily_unavailable` when the store fails.
    pub async fn userinfo(&self, raw: &str, now: UnixTime) -> Result<UserInfo, TokenError> {
        let info = self
            .lookup(raw, now)
            .await?
            .filter(|i| i.token_type == "Bearer")
            .ok_or_else(|| TokenError::InvalidGrant("the access token is not active".into()))?;
        if !info.scope.contains("openid") {
            return Err(TokenError::InvalidScope(
                "the access token does not carry the openid scope".into(),
            ));
        }
        let not_a_user = || TokenError::InvalidGrant("the access token is not about a user".into());
        let id = UserId::parse(&info.sub).map_err(|_| not_a_user())?;
        let user = self
            .ports
            .users
            .find(&id)
            .await
            .map_err(store_error)?
            .filter(|u| u.status == UserStatus::Active)
            .ok_or_else(not_a_user)?;
        Ok(UserInfo::of(&user, &info.scope))
    }

    /// RFC 6749 §6 with rotation: every use replaces the token; a reused token revokes its family,
    /// except for a retry of the immediate predecessor within the grace window, which gets the same
    /// successor back.
    async fn refresh(
        &self,
        client: &Client,
        raw: &str,
        requested: Option<ScopeSet>,
        shape: Shape,
        now: UnixTime,
    ) -> Result<Issued, TokenError> {
        let presented = ReferenceToken::recognise(REFRESH_PREFIX, raw).ok_or_else(invalid_grant)?;
        let hash = presented.hash();
        let (_, family) = self
            .ports
            .refresh
            .find(&hash)
            .await
            .map_err(store_error)?
            .ok_or_else(invalid_grant)?;
        // Another client's token is indistinguishable from an unknown one, and changes nothing.
        if family.client_id != *client.id() || !family.is_live(now) {
            return Err(invalid_grant());
        }
        let scope = match requested.filter(|s| !s.is_empty()) {
            // RFC 6749 §6: never wider than originally granted, nor than the client may now have.
            Some(req) if req.is_subset(&family.scope) && req.is_subset(client.allowed_scopes()) => {
                req
            }
            Some(req) => {
                let refused: Vec<&str> = req
                    .difference(&family.scope)
                    .chain(req.difference(client.allowed_scopes()))
                    .map(|s| s.as_str())
                    .collect();
                return Err(TokenError::InvalidScope(format!(
                    "beyond the originally granted scope: {}",
                    refused.join(" ")
                )));
            }
            None => ScopeSet::from_scopes(
                family
                    .scope
                    .iter()
                    .filter(|s| client.allowed_scopes().contains(s.as_str()))
                    .cloned(),
            ),
        };
        // A user grant lives only as long as its user may sign in.
        if let Some(user) = &family.user {
            let found = self
                .ports
                .users
                .find(&user.user_id)
                .await
                .map_err(store_error)?;
            if !found.is_some_and(|u| u.status == UserStatus::Active) {
                return Err(invalid_grant());
            }
        }
        let successor = presented.successor(&self.pepper);
        let record = RefreshTokenRecord {
            hash: successor.hash(),
            family_id: family.id.clone(),
            issued_at: now,
            rotated_at: None,
            successor: None,
        };
        match self
            .ports
            .refresh
            .rotate(&hash, &record, now, self.policy.refresh_grace_secs)
            .await
            .map_err(store_error)?
        {
            RotateOutcome::Rotated | RotateOutcome::Replayed => {
                let mut issued = self
                    .access_for(
                        client,
                        Grantee {
                            subject: family.subject.clone(),
                            scope,
                            user: family.user.clone(),
                        },
                        shape.clone(),
                        None,
                        now,
                    )
                    .await?;
                issued.refresh_token = Some(successor);
                Ok(issued)
            }
            RotateOutcome::Reused => {
                tracing::warn!(family = %family.id, client_id = %client.id(), "refresh token reuse: family revoked");
                Err(invalid_grant())
            }
            RotateOutcome::Dead | RotateOutcome::NotFound => Err(invalid_grant()),
        }
    }

    /// RFC 7009: revokes a token the caller owns. A refresh token takes its whole family with it;
    /// an opaque access token is marked revoked; a JWT access token's `jti` is denied until its
    /// `exp`. Unknown tokens, and tokens of other clients, are answered the same: nothing happens.
    ///
    /// # Errors
    /// `invalid_client` when authentication fails; `temporarily_unavailable` when the store does.
    pub async fn revoke(
        &self,
        auth: ClientAuthentication,
        source: Option<&str>,
        raw: &str,
        now: UnixTime,
    ) -> Result<(), TokenError> {
        let client = self.authenticate_limited(auth, source, now).await?;
        self.ports.audit.record(
            AuditEvent::new(AuditKind::TokenRevoked, now, "revocation request")
                .client(client.id().as_str())
                .source(source),
        );
        // RFC 7009 §2.1: a token issued to another client is refused and stays valid; an unknown
        // or malformed one is answered like a revoked one (§2.2).
        let theirs = |owner: &ClientId| {
            if owner == client.id() {
                Ok(())
            } else {
                tracing::info!(client_id = %client.id(), "refused to revoke another client's token");
                Err(TokenError::UnauthorizedClient)
            }
        };
        if let Some(token) = ReferenceToken::recognise(REFRESH_PREFIX, raw) {
            if let Some((_, family)) = self
                .ports
                .refresh
                .find(&token.hash())
                .await
                .map_err(store_error)?
            {
                theirs(&family.client_id)?;
                self.ports
                    .refresh
                    .revoke_family(&family.id, now)
                    .await
                    .map_err(store_error)?;
            }
        } else if let Some(token) = ReferenceToken::recognise(OPAQUE_PREFIX, raw) {
            let hash = token.hash();
            if let Some(record) = self.ports.opaque.find(&hash).await.map_err(store_error)? {
                theirs(&record.client_id)?;
                self.ports
                    .opaque
                    .revoke(&hash, now)
                    .await
                    .map_err(store_error)?;
            }
        } else if let Ok(claims) = self.ports.signer.verify(raw)
            && now < claims.exp
        {
            theirs(&claims.client_id)?;
            self.ports
                .revoked
                .revoke(&claims.jti, claims.exp)
                .await
                .map_err(store_error)?;
        }
        Ok(())
    }

    /// RFC 7662: what `raw` is, if it is active and the caller may know. A client may introspect
    /// its own tokens; one holding the deployment's introspection role may introspect any.
    ///
    /// # Errors
    /// `invalid_client` when authentication fails; `temporarily_unavailable` when the store does.
    pub async fn introspect(
        &self,
        auth: ClientAuthentication,
        source: Option<&str>,
        raw: &str,
        now: UnixTime,
    ) -> Result<Introspection, TokenError> {
        let caller = self.authenticate_limited(auth, source, now).await?;
        let privileged = caller
            .roles()
            .contains(self.policy.introspection_role.as_str());
        let info = self.lookup(raw, now).await?;
        Ok(match info {
            Some(info) if privileged || info.client_id == *caller.id() => {
                Introspection::Active(info)
            }
            _ => Introspection::Inactive,
        })
    }

    /// Whether `raw` is an active access token (not a refresh token) issued by this server: what
    /// an API that trusts a gateway's token checks.
    ///
    /// # Errors
    /// `temporarily_unavailable` when the store fails.
    pub async fn is_active_access_token(
        &self,
        raw: &str,
        now: UnixTime,
    ) -> Result<bool, TokenError> {
        Ok(self
            .lookup(raw, now)
            .await?
            .is_some_and(|info| info.token_type == "Bearer"))
    }

    /// The active token `raw`, if it is one.
    async fn lookup(&self, raw: &str, now: UnixTime) -> Result<Option<TokenInfo>, TokenError> {
        if let Some(token) = ReferenceToken::recognise(REFRESH_PREFIX, raw) {
            let found = self
                .ports
                .refresh
                .find(&token.hash())
                .await
                .map_err(store_error)?;
            return Ok(found
                .filter(|(t, f)| f.is_live(now) && t.rotated_at.is_none())
                .map(|(t, f)| TokenInfo {
                    token_type: "refresh_token",
                    client_id: f.client_id,
                    sub: f.subject,
                    scope: f.scope,
                    iss: self.policy.issuer.clone(),
                    aud: None,
                    jti: None,
                    iat: t.issued_at,
                    exp: f.expires_at,
                    cnf: None,
                }));
        }
        if let Some(token) = ReferenceToken::recognise(OPAQUE_PREFIX, raw) {
            let found = self
                .ports
                .opaque
                .find(&token.hash())
                .await
                .map_err(store_error)?;
            let found = match found {
                // A code redeemed twice revokes its access token by `jti`, whatever its format.
                Some(r)
                    if self
                        .ports
                        .revoked
                        .is_revoked(&r.jti)
                        .await
                        .map_err(store_error)? =>
                {
                    None
                }
                other => other,
            };
            return Ok(found
                .filter(|r| r.revoked_at.is_none() && now < r.exp)
                .map(|r| TokenInfo {
                    token_type: "Bearer",
                    client_id: r.client_id,
                    sub: r.sub,
                    scope: r.scope,
                    iss: r.iss,
                    aud: Some(r.aud),
                    jti: Some(r.jti),
                    iat: r.iat,
                    exp: r.exp,
                    cnf: r.cnf,
                }));
        }
        let Ok(claims) = self.ports.signer.verify(raw) else {
            return Ok(None);
        };
        if now >= claims.exp
            || self
                .ports
                .revoked
                .is_revoked(&claims.jti)
                .await
                .map_err(store_error)?
        {
            return Ok(None);
        }
        Ok(Some(TokenInfo {
            token_type: "Bearer",
            client_id: claims.client_id,
            sub: claims.sub,
            scope: claims.scope,
            iss: claims.iss,
            aud: Some(claims.aud),
            jti: Some(claims.jti),
            iat: claims.iat,
            exp: claims.exp,
            cnf: claims.cnf,
        }))
    }

    /// What every issuing request passes first: the address's rate, the backoffs after failed
    /// authentications, authentication itself (a failure counts against the client id and the
    /// address), then the client's rate.
    async fn admit(
        &self,
        auth: ClientAuthentication,
        source: Option<&str>,
        now: UnixTime,
    ) -> Result<Arc<Client>, TokenError> {
        if let Some(address) = source
            && let Some(wait) = self.ports.limiter.admit(RateKind::Address, address)
        {
            return Err(TokenError::TooManyRequests(wait));
        }
        let client = self.authenticate_limited(auth, source, now).await?;
        if let Some(wait) = self
            .ports
            .limiter
            .admit(RateKind::Client, client.id().as_str())
        {
            tracing::info!(client_id = %client.id(), "client over its request rate");
            return Err(TokenError::TooManyRequests(wait));
        }
        Ok(client)
    }

    /// Authentication behind the failed-authentication backoff: while the client id or the
    /// address is backed off the credentials are not even checked.
    async fn authenticate_limited(
        &self,
        auth: ClientAuthentication,
        source: Option<&str>,
        now: UnixTime,
    ) -> Result<Arc<Client>, TokenError> {
        let limiter = &self.ports.limiter;
        let id = auth.client_id().map(|c| c.as_str().to_owned());
        let backed_off = source
            .and_then(|a| limiter.backed_off(RateKind::Address, a))
            .or_else(|| {
                id.as_deref()
                    .and_then(|c| limiter.backed_off(RateKind::Client, c))
            });
        if let Some(wait) = backed_off {
            return Err(TokenError::TooManyRequests(wait));
        }
        let result = self.authenticate(auth, now).await;
        if matches!(result, Err(TokenError::InvalidClient)) {
            let mut event =
                AuditEvent::new(AuditKind::AuthenticationFailed, now, "").source(source);
            event.client_id.clone_from(&id);
            self.ports.audit.record(event);
            if let Some(address) = source {
                limiter.record_failure(RateKind::Address, address);
            }
            if let Some(c) = &id {
                limiter.record_failure(RateKind::Client, c);
            }
        }
        result
    }

    /// RFC 6749 §2.3: checks the presented credentials. Every failure is the same
    /// `invalid_client`, and the secret is checked before anything else is looked at, so neither
    /// the answer nor its timing tells an unknown client from a wrong secret, a disabled client or
    /// a method the client may not use.
    async fn authenticate(
        &self,
        auth: ClientAuthentication,
        now: UnixTime,
    ) -> Result<Arc<Client>, TokenError> {
        let (client_id, secret, method) = match auth {
            ClientAuthentication::SecretBasic { client_id, secret } => {
                (client_id, Some(secret), ClientAuthMethod::ClientSecretBasic)
            }
            ClientAuthentication::SecretPost { client_id, secret } => {
                (client_id, Some(secret), ClientAuthMethod::ClientSecretPost)
            }
            ClientAuthentication::None { client_id } => (client_id, None, ClientAuthMethod::None),
            ClientAuthentication::Certificate {
                client_id,
                certificate,
            } => {
                // RFC 8705 §2.2: the certificate is the credential.
                let client = self
                    .ports
                    .clients
                    .get(&client_id)
                    .await
                    .map_err(store_error)?;
                return match client {
                    Some(c) if c.is_enabled() && c.authenticates_with(&certificate) => Ok(c),
                    _ => Err(TokenError::InvalidClient),
                };
            }
            ClientAuthentication::Absent => return Err(TokenError::InvalidClient),
        };
        let client = self
            .ports
            .clients
            .get(&client_id)
            .await
            .map_err(store_error)?;
        let verified = match &secret {
            Some(secret) => self.verify_secret(client.as_deref(), secret, now).await,
            // A public client proves nothing; it is accepted only if it is registered as public.
            None => client.is_some(),
        };
        // No second look at the store on failure: the cache is complete and follows the store
        // within `cache.refresh_interval_ms`, so an unknown client and a wrong secret cost the
        // same (a read on failure would tell them apart by its timing).
        match client {
            Some(client)
                if verified && client.is_enabled() && client.auth_methods().contains(&method) =>
            {
                Ok(client)
            }
            _ => Err(TokenError::InvalidClient),
        }
    }

    async fn verify_secret(
        &self,
        client: Option<&Client>,
        secret: &PlainSecret,
        now: UnixTime,
    ) -> bool {
        let live = client
            .map(Client::secrets)
            .unwrap_or_default()
            .iter()
            .filter(move |s| s.is_live(now))
            .map(|s| &s.verifier);
        if !live.clone().any(SecretVerifier::is_slow) {
            // The hot path: HMAC checks, no allocation, no thread hop.
            return verify_any(live, &self.pepper, secret);
        }
        let verifiers: Vec<SecretVerifier> = live.cloned().collect();
        let (pepper, secret) = (self.pepper.clone(), secret.clone());
        self.ports
            .blocking
            .run(Box::new(move || verify_any(&verifiers, &pepper, &secret)))
            .await
    }

    /// The first-party user grant: the param proves the user to this client, once.
    #[allow(clippy::too_many_arguments)]
    async fn user_grant(
        &self,
        client: &Client,
        selector: UserSelector,
        param: &str,
        level: AssuranceLevel,
        remember_me: bool,
        device_id: Option<String>,
        default_client_id: Option<String>,
        shape: Shape,
        now: UnixTime,
    ) -> Result<Issued, TokenError> {
        if client.max_assurance().is_some_and(|max| level > max) {
            return Err(TokenError::UnauthorizedClient);
        }
        let invalid_param =
            || TokenError::InvalidGrant("the param is invalid, expired or already used".into());
        let presented = recognise_param(param).ok_or_else(invalid_param)?;
        let record = self
            .ports
            .params
            .consume(&presented.hash(), client.id(), now)
            .await
            .map_err(store_error)?
            .ok_or_else(invalid_param)?;
        let user = self
            .ports
            .users
            .find(&record.user_id)
            .await
            .map_err(store_error)?
            .ok_or_else(invalid_param)?;
        let named_other = match &selector {
            UserSelector::Id(id) => *id != user.id,
            UserSelector::Logon(logon) => *logon != user.logon,
            UserSelector::Any => false,
        };
        if named_other {
            return Err(invalid_param());
        }
        if user.status != UserStatus::Active {
            return Err(TokenError::InvalidGrant("the user is not active".into()));
        }
        let claims = UserClaims {
            acr: level,
            user_id: user.id.clone(),
            logon: Some(user.logon.clone()),
            device_id,
            default_client_id,
        };
        let subject = user.id.as_str().to_owned();
        let scope = client.default_scopes().clone();
        let mut issued = self
            .access_for(
                client,
                Grantee {
                    subject: subject.clone(),
                    scope: scope.clone(),
                    user: Some(claims.clone()),
                },
                Shape {
                    format: AccessTokenFormat::Jwt,
                    ..shape.clone()
                },
                None,
                now,
            )
            .await?;
        if remember_me {
            issued.refresh_token = Some(
                self.new_family(client, subject, scope, Some(claims), now)
                    .await?,
            );
        }
        Ok(issued)
    }

    /// Issues a one-time sign-in param for a user, usable by the calling client only, for
    /// `ttl_secs`. Returns it with its lifetime.
    ///
    /// # Errors
    /// `invalid_client`, `unauthorized_client` (roles), `invalid_grant` when the user does not
    /// exist or is not active, `invalid_request` when no user is named.
    pub async fn generate_param(
        &self,
        auth: ClientAuthentication,
        source: Option<&str>,
        selector: UserSelector,
        profile: &ApiProfile,
        ttl_secs: u32,
        now: UnixTime,
    ) -> Result<(ReferenceToken, u32), TokenError> {
        let client = self.admit(auth, source, now).await?;
        if !profile.required_roles.is_met_by(client.roles()) {
            return Err(TokenError::UnauthorizedClient);
        }
        let user = match &selector {
            UserSelector::Id(id) => self.ports.users.find(id).await,
            UserSelector::Logon(logon) => self.ports.users.find_by_logon(logon).await,
            UserSelector::Any => {
                return Err(TokenError::InvalidRequest(
                    "name the user by userId or logon".into(),
                ));
            }
        }
        .map_err(store_error)?
        .filter(|u| u.status == UserStatus::Active)
        .ok_or_else(|| TokenError::InvalidGrant("no active user by that name".into()))?;
        let mut raw = [0u8; PARAM_LEN];
        self.ports.random.fill(&mut raw);
        let param = generate_param(raw);
        let record = ParamRecord {
            hash: param.hash(),
            client_id: client.id().clone(),
            user_id: user.id,
            expires_at: now.plus_secs(i64::from(ttl_secs)),
        };
        self.ports
            .params
            .insert(&record)
            .await
            .map_err(store_error)?;
        Ok((param, ttl_secs))
    }

    fn random_32(&self) -> [u8; 32] {
        let mut raw = [0u8; 32];
        self.ports.random.fill(&mut raw);
        raw
    }

    /// Starts a refresh-token family for a grant just made.
    async fn new_family(
        &self,
        client: &Client,
        subject: String,
        scope: ScopeSet,
        user: Option<UserClaims>,
        now: UnixTime,
    ) -> Result<ReferenceToken, TokenError> {
        let id = self.new_id();
        self.new_family_with_id(client, id, subject, scope, user, now)
            .await
    }

    /// 128 random bits, base64url: a `jti` or a family id.
    fn new_id(&self) -> String {
        let mut id = [0u8; 16];
        self.ports.random.fill(&mut id);
        URL_SAFE_NO_PAD.encode(id)
    }

    async fn new_family_with_id(
        &self,
        client: &Client,
        id: String,
        subject: String,
        scope: ScopeSet,
        user: Option<UserClaims>,
        now: UnixTime,
    ) -> Result<ReferenceToken, TokenError> {
        let token = ReferenceToken::generate(REFRESH_PREFIX, self.random_32());
        let family = RefreshFamily {
            id,
            client_id: client.id().clone(),
            subject,
            scope,
            created_at: now,
            expires_at: now.plus_secs(i64::from(self.policy.refresh_ttl_secs)),
            revoked_at: None,
            user,
        };
        let first = RefreshTokenRecord {
            hash: token.hash(),
            family_id: family.id.clone(),
            issued_at: now,
            rotated_at: None,
            successor: None,
        };
        self.ports
            .refresh
            .create_family(&family, &first)
            .await
            .map_err(store_error)?;
        Ok(token)
    }

    /// An access token for `client` about `subject`, in the client's format.
    async fn access_for(
        &self,
        client: &Client,
        grantee: Grantee,
        shape: Shape,
        jti: Option<String>,
        now: UnixTime,
    ) -> Result<Issued, TokenError> {
        let Grantee {
            subject,
            scope,
            user,
        } = grantee;
        let Shape {
            ttl,
            format,
            alg,
            cnf,
            cid,
        } = shape;
        let jti = jti.unwrap_or_else(|| self.new_id());
        let claims = AccessTokenClaims {
            iss: self.policy.issuer.clone(),
            sub: subject,
            aud: self.policy.audience_for(client).clone(),
            exp: now.plus_secs(i64::from(ttl.as_secs())),
            iat: now,
            jti: jti.clone(),
            client_id: client.id().clone(),
            scope: scope.clone(),
            roles: client.roles().iter().cloned().collect(),
            user,
            cnf,
            cid: cid.then(|| client.id().clone()),
        };
        let access_token = match format {
            AccessTokenFormat::Jwt => self.ports.signer.sign(alg, &claims).map_err(|e| {
                match &e {
                    SignError::NoActiveKey(_) | SignError::BadKey(_) | SignError::Invalid => {
                        tracing::error!(error = %e, client_id = %client.id(), "signing failed");
                    }
                }
                TokenError::ServerError
            })?,
            AccessTokenFormat::Opaque => {
                let token = ReferenceToken::generate(OPAQUE_PREFIX, self.random_32());
                let record = OpaqueTokenRecord {
                    hash: token.hash(),
                    iss: claims.iss,
                    sub: claims.sub,
                    aud: claims.aud,
                    client_id: claims.client_id,
                    scope: claims.scope,
                    roles: claims.roles,
                    jti: claims.jti,
                    iat: claims.iat,
                    exp: claims.exp,
                    revoked_at: None,
                    cnf: claims.cnf,
                };
                self.ports
                    .opaque
                    .insert(&record)
                    .await
                    .map_err(store_error)?;
                AccessToken::new(token.expose().to_owned())
            }
        };
        Ok(Issued {
            access_token,
            expires_in: ttl.as_secs(),
            scope,
            jti,
            refresh_token: None,
            id_token: None,
        })
    }
}
