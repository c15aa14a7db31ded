//! Minting: access tokens (JWT or opaque), refresh-token families, ids and randomness.

use super::*;

impl TokenService {
    pub(super) fn random_32(&self) -> [u8; 32] {
        let mut raw = [0u8; 32];
        self.ports.random.fill(&mut raw);
        raw
    }

    /// Starts a refresh-token family for a grant just made to `grantee` (its scope and resources
    /// are what later refreshes may narrow).
    pub(super) async fn new_family(
        &self,
        client: &Client,
        grantee: Grantee,
        now: UnixTime,
    ) -> Result<ReferenceToken, TokenError> {
        let id = self.new_id();
        self.new_family_with_id(client, id, grantee, now).await
    }

    /// 128 random bits, base64url: a `jti` or a family id.
    pub(super) fn new_id(&self) -> String {
        let mut id = [0u8; 16];
        self.ports.random.fill(&mut id);
        URL_SAFE_NO_PAD.encode(id)
    }

    pub(super) async fn new_family_with_id(
        &self,
        client: &Client,
        id: String,
        grantee: Grantee,
        now: UnixTime,
    ) -> Result<ReferenceToken, TokenError> {
        let token = ReferenceToken::generate(REFRESH_PREFIX, self.random_32());
        let family = RefreshFamily {
            id,
            client_id: client.id().clone(),
            subject: grantee.subject,
            scope: grantee.scope,
            created_at: now,
            expires_at: now.plus_secs(i64::from(self.policy.refresh_ttl_secs)),
            revoked_at: None,
            user: grantee.user,
            resources: grantee.resources,
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
    pub(super) async fn access_for(
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
            resources,
        } = grantee;
        let Shape {
            ttl,
            format,
            alg,
            cnf,
            cid,
            resources: _,
        } = shape;
        let jti = jti.unwrap_or_else(|| self.new_id());
        let claims = AccessTokenClaims {
            iss: self.policy.issuer.clone(),
            sub: subject,
            // RFC 8707 §2.2: the token is for the resources asked for, else the client's audience.
            aud: crate::resource::Audiences::for_resources(
                &resources,
                self.policy.audience_for(client),
            ),
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
