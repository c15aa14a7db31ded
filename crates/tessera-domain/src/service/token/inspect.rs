//! Revocation (RFC 7009) and introspection (RFC 7662): what a presented token is, and whether its
//! caller may know or end it.

use super::*;

impl TokenService {
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
        let caller = self.authenticate_client(auth, source, now).await?;
        self.revoke_for(&caller, raw, now).await
    }

    /// [`Self::revoke`] for a client already authenticated; an empty `raw` (no `token`
    /// parameter) is `invalid_request` (RFC 7009 §2.1: `token` is REQUIRED).
    ///
    /// # Errors
    /// `invalid_request`, `unauthorized_client` (another client's token), `temporarily_unavailable`.
    pub async fn revoke_for(
        &self,
        caller: &Admitted,
        raw: &str,
        now: UnixTime,
    ) -> Result<(), TokenError> {
        if raw.is_empty() {
            return Err(TokenError::InvalidRequest("missing token".into()));
        }
        let client = caller.client();
        self.ports.audit.record(
            AuditEvent::new(AuditKind::TokenRevoked, now, "revocation request")
                .client(client.id().as_str())
                .source(caller.source()),
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
        let caller = self.authenticate_client(auth, source, now).await?;
        self.introspect_for(&caller, raw, now).await
    }

    /// [`Self::introspect`] for a client already authenticated; an empty `raw` (no `token`
    /// parameter) is `invalid_request` (RFC 7662 §2.1: `token` is REQUIRED).
    ///
    /// # Errors
    /// `invalid_request`, `temporarily_unavailable`.
    pub async fn introspect_for(
        &self,
        caller: &Admitted,
        raw: &str,
        now: UnixTime,
    ) -> Result<Introspection, TokenError> {
        if raw.is_empty() {
            return Err(TokenError::InvalidRequest("missing token".into()));
        }
        let caller = caller.client();
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
            .is_some_and(|info| info.token_type == TokenType::Bearer))
    }

    // Longer than most: one match over the three kinds of token (refresh, opaque, JWT), each arm
    // a lookup and its activity check.
    /// The active token `raw`, if it is one.
    pub(super) async fn lookup(
        &self,
        raw: &str,
        now: UnixTime,
    ) -> Result<Option<TokenInfo>, TokenError> {
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
                    token_type: TokenType::RefreshToken,
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
                    token_type: TokenType::Bearer,
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
            token_type: TokenType::Bearer,
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
}
