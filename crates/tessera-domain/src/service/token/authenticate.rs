//! Client authentication (RFC 6749 §2.3, RFC 8705) behind the rate limits and the failed-
//! authentication back-off.

use super::*;

/// A client that passed authentication (and, for issuing, the rate limits) for one request.
/// Only the token service makes one, so holding one proves the check ran; a dialect admits the
/// client before it reads the rest of the request, so that failed authentication is always its
/// 401 whatever else is wrong.
#[derive(Clone, Debug)]
pub struct Admitted {
    client: Arc<Client>,
    source: Option<String>,
}

impl Admitted {
    /// The authenticated client's id.
    #[must_use]
    pub fn client_id(&self) -> &ClientId {
        self.client.id()
    }

    /// The address the request came from.
    #[must_use]
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }

    pub(crate) fn client(&self) -> &Arc<Client> {
        &self.client
    }
}

impl TokenService {
    /// Admits a client to issue: [`Self::admit`] with the result as proof.
    ///
    /// # Errors
    /// `too_many_requests` or `invalid_client`.
    pub async fn admit_client(
        &self,
        auth: ClientAuthentication,
        source: Option<&str>,
        now: UnixTime,
    ) -> Result<Admitted, TokenError> {
        let client = self.admit(auth, source, now).await?;
        Ok(Admitted {
            client,
            source: source.map(str::to_owned),
        })
    }

    /// Authenticates a client for revocation or introspection (behind the failed-authentication
    /// back-off, not the request rate).
    ///
    /// # Errors
    /// `too_many_requests` while backed off, `invalid_client`.
    pub async fn authenticate_client(
        &self,
        auth: ClientAuthentication,
        source: Option<&str>,
        now: UnixTime,
    ) -> Result<Admitted, TokenError> {
        let client = self.authenticate_limited(auth, source, now).await?;
        Ok(Admitted {
            client,
            source: source.map(str::to_owned),
        })
    }

    /// What every issuing request passes first: the address's rate, the backoffs after failed
    /// authentications, authentication itself (a failure counts against the client id and the
    /// address), then the client's rate.
    pub(super) async fn admit(
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
    pub(super) async fn authenticate_limited(
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
    pub(super) async fn authenticate(
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

    pub(super) async fn verify_secret(
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
}
