//! The token endpoint's use case (RFC 6749 §4.4 client_credentials; §2.3 client authentication).

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::cache::ClientCache;
use crate::client::{Client, ClientAuthMethod, ClientId, GrantType};
use crate::error::TokenError;
use crate::policy::{TokenPolicy, resolve_scope};
use crate::ports::{BlockingWork, RandomSource, SignError, TokenSigner};
use crate::scope::ScopeSet;
use crate::secret::{PlainSecret, SecretPepper, SecretVerifier, verify_any};
use crate::time::UnixTime;
use crate::token::{AccessTokenClaims, Issued};

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
    /// Only a `client_id`: a public client (`none`).
    None {
        /// The client id.
        client_id: ClientId,
    },
    /// Nothing at all.
    Absent,
}

impl ClientAuthentication {
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

/// The grant being asked for, parsed from the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GrantRequest {
    /// RFC 6749 §4.4.
    ClientCredentials {
        /// The requested scope; `None` when the request had no `scope`.
        scope: Option<ScopeSet>,
    },
}

impl GrantRequest {
    /// Parses the grant from its `grant_type` and `scope` parameters (RFC 6749 §4.4.2).
    ///
    /// # Errors
    /// `invalid_request` when `grant_type` is missing, `unsupported_grant_type` when it is not one
    /// this server implements, `invalid_scope` when `scope` is malformed (RFC 6749 §5.2).
    pub fn parse(grant_type: Option<&str>, scope: Option<&str>) -> Result<Self, TokenError> {
        let grant_type = grant_type
            .filter(|g| !g.is_empty())
            .ok_or_else(|| TokenError::InvalidRequest("missing grant_type".into()))?;
        let known = GrantType::parse(grant_type)
            .map_err(|_| TokenError::UnsupportedGrantType(printable(grant_type)))?;
        match known {
            GrantType::ClientCredentials => {
                let scope = scope
                    .map(ScopeSet::parse)
                    .transpose()
                    .map_err(|e| TokenError::InvalidScope(e.reason))?;
                Ok(Self::ClientCredentials { scope })
            }
            GrantType::AuthorizationCode | GrantType::RefreshToken => {
                Err(TokenError::UnsupportedGrantType(known.as_str().to_owned()))
            }
        }
    }

    /// The grant type of this request.
    #[must_use]
    pub const fn grant_type(&self) -> GrantType {
        match self {
            Self::ClientCredentials { .. } => GrantType::ClientCredentials,
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
}

/// Issues tokens.
pub struct TokenService {
    clients: Arc<ClientCache>,
    signer: Arc<dyn TokenSigner>,
    random: Arc<dyn RandomSource>,
    blocking: Arc<dyn BlockingWork>,
    pepper: SecretPepper,
    policy: TokenPolicy,
}

impl TokenService {
    /// A service over the given ports, with the deployment's policy and secret pepper.
    #[must_use]
    pub fn new(
        clients: Arc<ClientCache>,
        signer: Arc<dyn TokenSigner>,
        random: Arc<dyn RandomSource>,
        blocking: Arc<dyn BlockingWork>,
        pepper: SecretPepper,
        policy: TokenPolicy,
    ) -> Self {
        Self {
            clients,
            signer,
            random,
            blocking,
            pepper,
            policy,
        }
    }

    /// The deployment's token policy.
    #[must_use]
    pub fn policy(&self) -> &TokenPolicy {
        &self.policy
    }

    /// Authenticates the client, checks the grant, resolves the scope and lifetime, builds the
    /// claims and signs them. Writes nothing.
    ///
    /// # Errors
    /// The [`TokenError`] the request deserves (RFC 6749 §5.2).
    pub async fn issue(&self, request: TokenRequest, now: UnixTime) -> Result<Issued, TokenError> {
        let client = self.authenticate(request.auth, now).await?;
        if !client.grant_types().contains(&request.grant.grant_type()) {
            return Err(TokenError::UnauthorizedClient);
        }
        match request.grant {
            GrantRequest::ClientCredentials { scope } => {
                let scope = resolve_scope(scope.as_ref(), &client)?;
                self.sign_for(&client, scope, now)
            }
        }
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
            ClientAuthentication::Absent => return Err(TokenError::InvalidClient),
        };
        let store_error = |e: crate::error::StoreError| {
            tracing::error!(error = %e, "client lookup failed");
            TokenError::from_store(&e)
        };
        let mut client = self.clients.get(&client_id).await.map_err(store_error)?;
        let mut verified = match &secret {
            Some(secret) => self.verify_secret(client.as_deref(), secret, now).await,
            // A public client proves nothing; it is accepted only if it is registered as public.
            None => client.is_some(),
        };
        if let (Some(secret), Some(cached), false) = (&secret, &client, verified) {
            // The cached copy may predate a secret rotation: check once against the store's.
            let fresh = self.clients.reload(&client_id).await.map_err(store_error)?;
            if fresh.as_deref().is_some_and(|f| f != cached.as_ref()) {
                verified = self.verify_secret(fresh.as_deref(), secret, now).await;
                client = fresh;
            }
        }
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
        let verifiers: Vec<SecretVerifier> = client
            .map(|c| {
                c.secrets()
                    .iter()
                    .filter(|s| s.is_live(now))
                    .map(|s| s.verifier.clone())
                    .collect()
            })
            .unwrap_or_default();
        if !verifiers.iter().any(SecretVerifier::is_slow) {
            return verify_any(&verifiers, &self.pepper, secret);
        }
        let (pepper, secret) = (self.pepper.clone(), secret.clone());
        self.blocking
            .run(Box::new(move || verify_any(&verifiers, &pepper, &secret)))
            .await
    }

    fn sign_for(
        &self,
        client: &Client,
        scope: ScopeSet,
        now: UnixTime,
    ) -> Result<Issued, TokenError> {
        let ttl = self.policy.ttl_for(client);
        let alg = self.policy.alg_for(client);
        let mut jti = [0u8; 16];
        self.random.fill(&mut jti);
        let jti = URL_SAFE_NO_PAD.encode(jti);
        let claims = AccessTokenClaims {
            iss: self.policy.issuer.clone(),
            sub: client.id().as_str().to_owned(),
            aud: self.policy.audience_for(client).clone(),
            exp: now.plus_secs(i64::from(ttl.as_secs())),
            iat: now,
            jti: jti.clone(),
            client_id: client.id().clone(),
            scope: scope.clone(),
            roles: client.roles().iter().cloned().collect(),
        };
        let access_token = self.signer.sign(alg, &claims).map_err(|e| {
            match &e {
                SignError::NoActiveKey(_) | SignError::BadKey(_) => {
                    tracing::error!(error = %e, client_id = %client.id(), "signing failed");
                }
            }
            TokenError::ServerError
        })?;
        Ok(Issued {
            access_token,
            expires_in: ttl.as_secs(),
            scope,
            alg,
            jti,
        })
    }
}
