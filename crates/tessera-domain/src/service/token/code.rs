//! The authorization code grant (RFC 6749 §4.1.3, RFC 7636 §4.6, OpenID Connect Core §3.1.3): one
//! redemption per code, PKCE, the ID token.

use super::*;
use crate::authorize::CodeRecord;

impl TokenService {
    /// RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.6) and OpenID Connect (Core §3.1.3): redeems a
    /// code once. The ids of what the redemption will issue are chosen first and stored with the
    /// redemption, so that a second redemption revokes them (RFC 6749 §4.1.2).
    pub(super) async fn code_grant(
        &self,
        client: &Client,
        code: &str,
        redirect_uri: Option<&str>,
        code_verifier: Option<&str>,
        shape: Shape,
        now: UnixTime,
    ) -> Result<Issued, TokenError> {
        let invalid = TokenError::InvalidGrant;
        let presented =
            ReferenceToken::recognise(CODE_PREFIX, code).ok_or(invalid(GrantFailure::Code))?;
        let issue = CodeIssue {
            family_id: Some(self.new_id()),
            jti: self.new_id(),
            expires_at: now.plus_secs(i64::from(shape.ttl.as_secs())),
        };
        let record = self.redeem(client, &presented, &issue, now).await?;
        check_redemption(&record, client, redirect_uri, code_verifier)?;
        let user = self
            .active_user(&record.user_id)
            .await?
            .ok_or(invalid(GrantFailure::UserNotActive))?;
        let claims = UserClaims {
            acr: PASSWORD_LEVEL,
            user_id: user.id.clone(),
            logon: Some(user.logon.clone()),
            device_id: None,
            default_client_id: None,
        };
        let subject = user.id.as_str().to_owned();
        let scope = record.scope.clone();
        // RFC 8707 §2.2: the exchange may narrow the resources the authorization asked for.
        let resources = granted_resources(client, &shape.resources, Some(&record.resources))?;
        let granted = record.resources.clone();
        let mut issued = self
            .access_for(
                client,
                Grantee {
                    subject: subject.clone(),
                    scope: scope.clone(),
                    user: Some(claims.clone()),
                    resources,
                },
                shape,
                Some(issue.jti),
                now,
            )
            .await?;
        let offline = crate::interaction::grants_offline_access(&scope);
        if offline && client.grant_types().contains(&GrantType::RefreshToken) {
            let family = issue.family_id.unwrap_or_else(|| self.new_id());
            issued.refresh_token = Some(
                self.new_family_with_id(
                    client,
                    family,
                    Grantee {
                        subject,
                        scope: scope.clone(),
                        user: Some(claims),
                        resources: granted,
                    },
                    now,
                )
                .await?,
            );
        }
        if scope.contains("openid") {
            issued.id_token = Some(self.id_token(client, record, &user, &scope, &issued, now)?);
        }
        Ok(issued)
    }

    /// The ID token of a code redemption (OpenID Connect Core §3.1.3.6, with `at_hash` and the
    /// session's `sid`).
    fn id_token(
        &self,
        client: &Client,
        record: CodeRecord,
        user: &User,
        scope: &ScopeSet,
        issued: &Issued,
        now: UnixTime,
    ) -> Result<AccessToken, TokenError> {
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
            user: UserInfo::of(user, scope),
        };
        self.ports
            .signer
            .sign_id_token(alg, &id_claims)
            .map_err(|e| {
                tracing::error!(error = %e, "signing an ID token failed");
                TokenError::ServerError
            })
    }

    /// Redeems a code once (RFC 6749 §4.1.2): a second redemption revokes what the first issued.
    async fn redeem(
        &self,
        client: &Client,
        presented: &ReferenceToken,
        issue: &CodeIssue,
        now: UnixTime,
    ) -> Result<CodeRecord, TokenError> {
        let invalid = TokenError::InvalidGrant;
        match self
            .ports
            .codes
            .redeem(&presented.hash(), issue, now)
            .await
            .map_err(store_error)?
        {
            Redemption::Fresh(record) => Ok(record),
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
                Err(invalid(GrantFailure::CodeReused))
            }
            Redemption::Invalid => Err(invalid(GrantFailure::Code)),
        }
    }
}

/// What a redeemed code must match (RFC 6749 §4.1.3, RFC 7636 §4.6): its client, the redirect URI
/// of its authorization request, and the PKCE challenge.
fn check_redemption(
    record: &CodeRecord,
    client: &Client,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
) -> Result<(), TokenError> {
    let invalid = TokenError::InvalidGrant;
    if record.client_id != *client.id() {
        return Err(invalid(GrantFailure::CodeOfAnotherClient));
    }
    match (redirect_uri, record.redirect_uri_explicit) {
        (Some(given), _) if given != record.redirect_uri.as_str() => {
            return Err(invalid(GrantFailure::RedirectUriDiffers));
        }
        (None, true) => {
            return Err(invalid(GrantFailure::RedirectUriRequired));
        }
        _ => {}
    }
    let verifier = code_verifier
        .map(CodeVerifier::parse)
        .transpose()
        .map_err(|e| invalid(GrantFailure::VerifierMalformed(e.to_string())))?;
    match (&record.challenge, &verifier) {
        (Some(challenge), Some(verifier)) if challenge.is_met_by(verifier) => {}
        (Some(_), Some(_)) => return Err(invalid(GrantFailure::PkceFailed)),
        (Some(_), None) => return Err(invalid(GrantFailure::VerifierRequired)),
        (None, Some(_)) => {
            return Err(invalid(GrantFailure::VerifierUnexpected));
        }
        (None, None) => {}
    }
    Ok(())
}
