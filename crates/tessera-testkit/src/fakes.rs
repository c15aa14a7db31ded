//! In-memory implementations of the ports, with the same observable behaviour as the real ones.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use async_trait::async_trait;
use tessera_domain::keys::{KeyState, SigningKey};
use tessera_domain::ports::{
    BlockingWork, ClientRepository, Clock, KeyRepository, RandomSource, ServerSecretRepository,
};
use tessera_domain::secret::SecretPepper;
use tessera_domain::{Client, ClientId, StoreError, UnixTime};

/// A clock that says what it is told.
#[derive(Debug)]
pub struct FixedClock(AtomicI64);

impl FixedClock {
    /// A clock stopped at `secs`.
    #[must_use]
    pub fn at(secs: i64) -> Self {
        Self(AtomicI64::new(secs))
    }

    /// Moves the clock forward.
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_secs(self.0.load(Ordering::SeqCst))
    }
}

/// Deterministic "randomness": every call fills with a new counter value, so outputs differ.
#[derive(Debug, Default)]
pub struct CountingRandom(AtomicU64);

impl RandomSource for CountingRandom {
    fn fill(&self, buf: &mut [u8]) {
        let n = self.0.fetch_add(1, Ordering::SeqCst).to_le_bytes();
        for (i, b) in buf.iter_mut().enumerate() {
            *b = n[i % 8] ^ (i as u8);
        }
    }
}

/// Runs blocking jobs inline.
#[derive(Debug, Default)]
pub struct InlineBlocking;

#[async_trait]
impl BlockingWork for InlineBlocking {
    async fn run(&self, job: Box<dyn FnOnce() -> bool + Send + 'static>) -> bool {
        job()
    }
}

/// Clients in a map.
#[derive(Debug, Default)]
pub struct InMemoryClients {
    clients: Mutex<BTreeMap<ClientId, Client>>,
    version: AtomicU64,
}

#[async_trait]
impl ClientRepository for InMemoryClients {
    async fn find(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        Ok(self.clients.lock().unwrap().get(id).cloned())
    }

    async fn insert(&self, client: &Client) -> Result<(), StoreError> {
        let mut map = self.clients.lock().unwrap();
        if map.contains_key(client.id()) {
            return Err(StoreError::Conflict);
        }
        map.insert(client.id().clone(), client.clone());
        self.version.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn update(&self, client: &Client) -> Result<(), StoreError> {
        let mut map = self.clients.lock().unwrap();
        let slot = map.get_mut(client.id()).ok_or(StoreError::NotFound)?;
        *slot = client.clone();
        self.version.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn replace(&self, client: &Client, expected: &Client) -> Result<(), StoreError> {
        let mut map = self.clients.lock().unwrap();
        let slot = map.get_mut(client.id()).ok_or(StoreError::NotFound)?;
        if slot != expected {
            return Err(StoreError::Conflict);
        }
        *slot = client.clone();
        self.version.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn delete(&self, id: &ClientId) -> Result<(), StoreError> {
        self.clients
            .lock()
            .unwrap()
            .remove(id)
            .ok_or(StoreError::NotFound)?;
        self.version.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn list(&self) -> Result<Vec<Client>, StoreError> {
        Ok(self.clients.lock().unwrap().values().cloned().collect())
    }

    async fn version(&self) -> Result<u64, StoreError> {
        Ok(self.version.load(Ordering::SeqCst))
    }
}

/// Keys in a list.
#[derive(Debug, Default)]
pub struct InMemoryKeys {
    keys: Mutex<Vec<SigningKey>>,
    version: AtomicU64,
}

#[async_trait]
impl KeyRepository for InMemoryKeys {
    async fn live_keys(&self) -> Result<Vec<SigningKey>, StoreError> {
        let mut keys: Vec<_> = self
            .keys
            .lock()
            .unwrap()
            .iter()
            .filter(|k| k.state != KeyState::Retired)
            .cloned()
            .collect();
        keys.sort_by(|a, b| (a.created_at, &a.kid).cmp(&(b.created_at, &b.kid)));
        Ok(keys)
    }

    async fn insert(&self, key: &SigningKey) -> Result<(), StoreError> {
        let mut keys = self.keys.lock().unwrap();
        if keys.iter().any(|k| k.kid == key.kid) {
            return Err(StoreError::Conflict);
        }
        keys.push(key.clone());
        self.version.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn all_keys(&self) -> Result<Vec<SigningKey>, StoreError> {
        let mut keys = self.keys.lock().unwrap().clone();
        keys.sort_by(|a, b| (a.created_at, &a.kid).cmp(&(b.created_at, &b.kid)));
        Ok(keys)
    }

    async fn update(&self, key: &SigningKey) -> Result<(), StoreError> {
        let mut keys = self.keys.lock().unwrap();
        let slot = keys
            .iter_mut()
            .find(|k| k.kid == key.kid)
            .ok_or(StoreError::NotFound)?;
        slot.state = key.state;
        slot.activated_at = key.activated_at;
        slot.retire_at = key.retire_at;
        self.version.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn version(&self) -> Result<u64, StoreError> {
        Ok(self.version.load(Ordering::SeqCst))
    }
}

/// Server secrets in memory.
#[derive(Debug, Default)]
pub struct InMemorySecrets {
    pepper: Mutex<Option<SecretPepper>>,
}

#[async_trait]
impl ServerSecretRepository for InMemorySecrets {
    async fn pepper_or_insert(&self, candidate: SecretPepper) -> Result<SecretPepper, StoreError> {
        Ok(self.pepper.lock().unwrap().get_or_insert(candidate).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract;

    #[tokio::test]
    async fn the_fakes_keep_the_port_contracts() {
        contract::clients(&InMemoryClients::default()).await;
        contract::keys(&InMemoryKeys::default()).await;
        contract::server_secrets(&InMemorySecrets::default()).await;
        contract::refresh_tokens(&InMemoryTokens::default()).await;
        contract::opaque_tokens(&InMemoryTokens::default()).await;
        contract::revocation_list(&InMemoryTokens::default()).await;
        contract::users(&InMemoryUsers::default()).await;
        contract::registrations(&InMemoryRegistrations::default()).await;
        contract::sign_in_throttle(&InMemoryThrottle::default()).await;
        contract::params(&InMemoryParams::default()).await;
        contract::authorization_codes(&InMemoryAuthz::default()).await;
        contract::sessions(&InMemoryAuthz::default()).await;
        contract::consents(&InMemoryAuthz::default()).await;
    }
}

/// A signer that does no cryptography: tokens are `stub.<alg>.<jti>`, ID tokens
/// `stub-id!<alg>!<iss>|<sub>|<aud>|<sid>!<at_hash>` (which it accepts back as hints), and the
/// last claims signed are kept for inspection. Publishes one fixed EC key.
#[derive(Debug, Default)]
pub struct StubSigner {
    last: Mutex<Option<tessera_domain::token::AccessTokenClaims>>,
    /// When set, every signature fails with this error.
    pub fail: Mutex<Option<tessera_domain::ports::SignError>>,
}

impl StubSigner {
    /// The claims of the last token signed.
    #[must_use]
    pub fn last_claims(&self) -> Option<tessera_domain::token::AccessTokenClaims> {
        self.last.lock().unwrap().clone()
    }
}

impl tessera_domain::ports::TokenSigner for StubSigner {
    fn sign(
        &self,
        alg: tessera_domain::SigningAlgorithm,
        claims: &tessera_domain::token::AccessTokenClaims,
    ) -> Result<tessera_domain::token::AccessToken, tessera_domain::ports::SignError> {
        if let Some(e) = self.fail.lock().unwrap().clone() {
            return Err(e);
        }
        *self.last.lock().unwrap() = Some(claims.clone());
        Ok(tessera_domain::token::AccessToken::new(format!(
            "stub.{alg}.{}",
            claims.jti
        )))
    }

    fn sign_id_token(
        &self,
        alg: tessera_domain::SigningAlgorithm,
        claims: &tessera_domain::token::IdTokenClaims,
    ) -> Result<tessera_domain::token::AccessToken, tessera_domain::ports::SignError> {
        if let Some(e) = self.fail.lock().unwrap().clone() {
            return Err(e);
        }
        Ok(tessera_domain::token::AccessToken::new(format!(
            "stub-id!{alg}!{}|{}|{}|{}!{}",
            claims.iss.as_str(),
            claims.user.sub,
            claims.aud,
            claims.sid.as_deref().unwrap_or_default(),
            claims.at_hash
        )))
    }

    fn sign_logout_token(
        &self,
        alg: tessera_domain::SigningAlgorithm,
        claims: &tessera_domain::backchannel::LogoutTokenClaims,
    ) -> Result<tessera_domain::token::AccessToken, tessera_domain::ports::SignError> {
        if let Some(e) = self.fail.lock().unwrap().clone() {
            return Err(e);
        }
        Ok(tessera_domain::token::AccessToken::new(format!(
            "stub-logout!{alg}!{}!{}",
            claims.aud, claims.jti
        )))
    }

    fn verify_id_token(
        &self,
        token: &str,
    ) -> Result<tessera_domain::interaction::IdTokenHint, tessera_domain::ports::SignError> {
        let invalid = tessera_domain::ports::SignError::Invalid;
        let mut parts = token.split('!');
        let (Some("stub-id"), Some(_alg), Some(claims)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid);
        };
        let fields: Vec<&str> = claims.split('|').collect();
        let [iss, sub, aud, sid] = fields.as_slice() else {
            return Err(invalid);
        };
        Ok(tessera_domain::interaction::IdTokenHint {
            iss: tessera_domain::policy::Issuer::parse(iss).map_err(|_| invalid.clone())?,
            sub: (*sub).to_owned(),
            aud: tessera_domain::ClientId::parse(aud).map_err(|_| invalid.clone())?,
            sid: (!sid.is_empty()).then(|| (*sid).to_owned()),
        })
    }

    fn can_sign(&self, _alg: tessera_domain::SigningAlgorithm) -> bool {
        self.fail.lock().unwrap().is_none()
    }

    fn install(&self, _keys: &[SigningKey]) -> Result<(), tessera_domain::ports::SignError> {
        Ok(())
    }

    fn verify(
        &self,
        _token: &str,
    ) -> Result<tessera_domain::token::AccessTokenClaims, tessera_domain::ports::SignError> {
        Err(tessera_domain::ports::SignError::Invalid)
    }

    fn published(&self) -> Vec<tessera_domain::keys::PublicJwk> {
        vec![tessera_domain::keys::PublicJwk {
            kid: tessera_domain::keys::KeyId::parse("stub-kid").unwrap(),
            alg: tessera_domain::SigningAlgorithm::Es256,
            params: tessera_domain::keys::PublicKeyParams::Ec {
                crv: "P-256",
                x: "eA".into(),
                y: "eQ".into(),
            },
        }]
    }
}

/// Refresh families, opaque tokens and the JWT denylist, in memory, with the stores' semantics.
#[derive(Debug, Default)]
pub struct InMemoryTokens {
    families: Mutex<BTreeMap<String, tessera_domain::issued::RefreshFamily>>,
    refresh: Mutex<Vec<tessera_domain::issued::RefreshTokenRecord>>,
    opaque: Mutex<Vec<tessera_domain::issued::OpaqueTokenRecord>>,
    denied: Mutex<BTreeMap<String, UnixTime>>,
}

#[async_trait]
impl tessera_domain::ports::RefreshTokenStore for InMemoryTokens {
    async fn create_family(
        &self,
        family: &tessera_domain::issued::RefreshFamily,
        first: &tessera_domain::issued::RefreshTokenRecord,
    ) -> Result<(), StoreError> {
        let mut families = self.families.lock().unwrap();
        let mut tokens = self.refresh.lock().unwrap();
        if families.contains_key(&family.id) || tokens.iter().any(|t| t.hash == first.hash) {
            return Err(StoreError::Conflict);
        }
        families.insert(family.id.clone(), family.clone());
        tokens.push(first.clone());
        Ok(())
    }

    async fn find(
        &self,
        hash: &tessera_domain::issued::TokenHash,
    ) -> Result<
        Option<(
            tessera_domain::issued::RefreshTokenRecord,
            tessera_domain::issued::RefreshFamily,
        )>,
        StoreError,
    > {
        let families = self.families.lock().unwrap();
        let tokens = self.refresh.lock().unwrap();
        Ok(tokens
            .iter()
            .find(|t| t.hash == *hash)
            .and_then(|t| families.get(&t.family_id).map(|f| (t.clone(), f.clone()))))
    }

    async fn rotate(
        &self,
        presented: &tessera_domain::issued::TokenHash,
        client: &ClientId,
        successor: &tessera_domain::issued::TokenHash,
        now: UnixTime,
        grace_secs: u32,
    ) -> Result<tessera_domain::issued::RotateOutcome, StoreError> {
        use tessera_domain::issued::RotateOutcome;
        let mut families = self.families.lock().unwrap();
        let mut tokens = self.refresh.lock().unwrap();
        let Some(i) = tokens.iter().position(|t| t.hash == *presented) else {
            return Ok(RotateOutcome::NotFound);
        };
        let token = tokens[i].clone();
        let Some(family) = families.get_mut(&token.family_id) else {
            return Ok(RotateOutcome::NotFound);
        };
        if family.client_id != *client {
            return Ok(RotateOutcome::NotFound);
        }
        if !family.is_live(now) {
            return Ok(RotateOutcome::Dead);
        }
        if token.rotated_at.is_none() {
            tokens[i].rotated_at = Some(now);
            tokens[i].successor = Some(*successor);
            tokens.push(tessera_domain::issued::RefreshTokenRecord {
                hash: *successor,
                family_id: token.family_id.clone(),
                issued_at: now,
                rotated_at: None,
                successor: None,
            });
            return Ok(RotateOutcome::Rotated(family.clone()));
        }
        let within = token
            .rotated_at
            .is_some_and(|at| now.as_secs() - at.as_secs() <= i64::from(grace_secs));
        let unused = token.successor == Some(*successor)
            && tokens
                .iter()
                .any(|t| t.hash == *successor && t.rotated_at.is_none());
        if within && unused {
            return Ok(RotateOutcome::Replayed(family.clone()));
        }
        family.revoked_at = Some(now);
        Ok(RotateOutcome::Reused)
    }

    async fn revoke_family(&self, family_id: &str, now: UnixTime) -> Result<(), StoreError> {
        if let Some(f) = self.families.lock().unwrap().get_mut(family_id) {
            f.revoked_at.get_or_insert(now);
        }
        Ok(())
    }

    async fn purge(&self, now: UnixTime) -> Result<u64, StoreError> {
        let mut families = self.families.lock().unwrap();
        let dead: Vec<String> = families
            .values()
            .filter(|f| f.expires_at <= now)
            .map(|f| f.id.clone())
            .collect();
        for id in &dead {
            families.remove(id);
        }
        self.refresh
            .lock()
            .unwrap()
            .retain(|t| !dead.contains(&t.family_id));
        Ok(dead.len() as u64)
    }
}

#[async_trait]
impl tessera_domain::ports::OpaqueTokenStore for InMemoryTokens {
    async fn insert(
        &self,
        record: &tessera_domain::issued::OpaqueTokenRecord,
    ) -> Result<(), StoreError> {
        let mut all = self.opaque.lock().unwrap();
        if all.iter().any(|r| r.hash == record.hash) {
            return Err(StoreError::Conflict);
        }
        all.push(record.clone());
        Ok(())
    }

    async fn find(
        &self,
        hash: &tessera_domain::issued::TokenHash,
    ) -> Result<Option<tessera_domain::issued::OpaqueTokenRecord>, StoreError> {
        Ok(self
            .opaque
            .lock()
            .unwrap()
            .iter()
            .find(|r| r.hash == *hash)
            .cloned())
    }

    async fn revoke(
        &self,
        hash: &tessera_domain::issued::TokenHash,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        if let Some(r) = self
            .opaque
            .lock()
            .unwrap()
            .iter_mut()
            .find(|r| r.hash == *hash)
        {
            r.revoked_at.get_or_insert(now);
        }
        Ok(())
    }

    async fn purge(&self, now: UnixTime) -> Result<u64, StoreError> {
        let mut all = self.opaque.lock().unwrap();
        let before = all.len();
        all.retain(|r| r.exp > now);
        Ok((before - all.len()) as u64)
    }
}

#[async_trait]
impl tessera_domain::ports::RevocationList for InMemoryTokens {
    async fn revoke(&self, jti: &str, expires_at: UnixTime) -> Result<(), StoreError> {
        self.denied
            .lock()
            .unwrap()
            .entry(jti.to_owned())
            .or_insert(expires_at);
        Ok(())
    }

    async fn is_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        Ok(self.denied.lock().unwrap().contains_key(jti))
    }

    async fn purge(&self, now: UnixTime) -> Result<u64, StoreError> {
        let mut denied = self.denied.lock().unwrap();
        let before = denied.len();
        denied.retain(|_, exp| *exp > now);
        Ok((before - denied.len()) as u64)
    }

    async fn version(&self) -> Result<u64, StoreError> {
        Ok(self.denied.lock().unwrap().len() as u64)
    }

    async fn live(&self, now: UnixTime) -> Result<Vec<String>, StoreError> {
        Ok(self
            .denied
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, exp)| **exp > now)
            .map(|(jti, _)| jti.clone())
            .collect())
    }
}

/// Registration access tokens and initial access tokens in memory.
#[derive(Debug, Default)]
pub struct InMemoryRegistrations {
    tokens: Mutex<BTreeMap<String, tessera_domain::issued::TokenHash>>,
    initial: Mutex<Vec<tessera_domain::ports::InitialAccessToken>>,
}

#[async_trait]
impl tessera_domain::ports::RegistrationStore for InMemoryRegistrations {
    async fn set_registration_token(
        &self,
        client: &ClientId,
        hash: &tessera_domain::issued::TokenHash,
        _: UnixTime,
    ) -> Result<(), StoreError> {
        self.tokens
            .lock()
            .unwrap()
            .insert(client.to_string(), *hash);
        Ok(())
    }

    async fn registration_token(
        &self,
        client: &ClientId,
    ) -> Result<Option<tessera_domain::issued::TokenHash>, StoreError> {
        Ok(self.tokens.lock().unwrap().get(client.as_str()).copied())
    }

    async fn delete_registration_token(&self, client: &ClientId) -> Result<(), StoreError> {
        self.tokens.lock().unwrap().remove(client.as_str());
        Ok(())
    }

    async fn insert_initial_token(
        &self,
        token: &tessera_domain::ports::InitialAccessToken,
    ) -> Result<(), StoreError> {
        let mut all = self.initial.lock().unwrap();
        if all.iter().any(|t| t.id == token.id || t.hash == token.hash) {
            return Err(StoreError::Conflict);
        }
        all.push(token.clone());
        Ok(())
    }

    async fn use_initial_token(
        &self,
        hash: &tessera_domain::issued::TokenHash,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let mut all = self.initial.lock().unwrap();
        let Some(t) = all
            .iter_mut()
            .find(|t| t.hash == *hash && t.expires_at > now && t.uses_left != Some(0))
        else {
            return Ok(false);
        };
        if let Some(n) = &mut t.uses_left {
            *n -= 1;
        }
        Ok(true)
    }

    async fn initial_tokens(
        &self,
    ) -> Result<Vec<tessera_domain::ports::InitialAccessToken>, StoreError> {
        let mut all = self.initial.lock().unwrap().clone();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(all)
    }

    async fn delete_initial_token(&self, id: &str) -> Result<bool, StoreError> {
        let mut all = self.initial.lock().unwrap();
        let n = all.len();
        all.retain(|t| t.id != id);
        Ok(all.len() < n)
    }
}

/// The audit trail in memory: what is recorded (as an [`AuditLog`]) or appended is what a query
/// reads, with ids from 1.
///
/// [`AuditLog`]: tessera_domain::ports::AuditLog
#[derive(Debug, Default)]
pub struct InMemoryAudit(Mutex<Vec<tessera_domain::audit::Recorded>>);

impl tessera_domain::ports::AuditLog for InMemoryAudit {
    fn record(&self, event: tessera_domain::audit::AuditEvent) {
        let mut all = self.0.lock().unwrap();
        let id = all.len() as u64 + 1;
        all.push(tessera_domain::audit::Recorded { id, event });
    }
}

#[async_trait]
impl tessera_domain::ports::AuditStore for InMemoryAudit {
    async fn append(&self, events: &[tessera_domain::audit::AuditEvent]) -> Result<(), StoreError> {
        for e in events {
            tessera_domain::ports::AuditLog::record(self, e.clone());
        }
        Ok(())
    }

    async fn query(
        &self,
        query: &tessera_domain::audit::AuditQuery,
    ) -> Result<Vec<tessera_domain::audit::Recorded>, StoreError> {
        Ok(query.clone().bounded().select(&self.0.lock().unwrap()))
    }

    async fn purge(&self, before: UnixTime) -> Result<u64, StoreError> {
        let mut all = self.0.lock().unwrap();
        let n = all.len();
        all.retain(|r| r.event.at >= before);
        Ok((n - all.len()) as u64)
    }
}

/// Users in memory.
#[derive(Debug, Default)]
pub struct InMemoryUsers(Mutex<Vec<tessera_domain::user::User>>);

#[async_trait]
impl tessera_domain::ports::UserRepository for InMemoryUsers {
    async fn find(
        &self,
        id: &tessera_domain::user::UserId,
    ) -> Result<Option<tessera_domain::user::User>, StoreError> {
        Ok(self.0.lock().unwrap().iter().find(|u| u.id == *id).cloned())
    }

    async fn find_by_logon(
        &self,
        logon: &tessera_domain::user::Logon,
    ) -> Result<Option<tessera_domain::user::User>, StoreError> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .iter()
            .find(|u| u.logon == *logon)
            .cloned())
    }

    async fn insert(&self, user: &tessera_domain::user::User) -> Result<(), StoreError> {
        let mut all = self.0.lock().unwrap();
        if all.iter().any(|u| u.id == user.id || u.logon == user.logon) {
            return Err(StoreError::Conflict);
        }
        all.push(user.clone());
        Ok(())
    }

    async fn update(&self, user: &tessera_domain::user::User) -> Result<(), StoreError> {
        let mut all = self.0.lock().unwrap();
        if all.iter().any(|u| u.id != user.id && u.logon == user.logon) {
            return Err(StoreError::Conflict);
        }
        let slot = all
            .iter_mut()
            .find(|u| u.id == user.id)
            .ok_or(StoreError::NotFound)?;
        let (failed, locked) = (slot.failed_sign_ins, slot.locked_until);
        *slot = user.clone();
        (slot.failed_sign_ins, slot.locked_until) = (failed, locked);
        Ok(())
    }

    async fn replace(
        &self,
        user: &tessera_domain::user::User,
        expected: &tessera_domain::user::User,
    ) -> Result<bool, StoreError> {
        let current = self.find(&user.id).await?.ok_or(StoreError::NotFound)?;
        if tessera_domain::service::user_revision(&current)
            != tessera_domain::service::user_revision(expected)
        {
            return Ok(false);
        }
        self.update(user).await.map(|()| true)
    }

    async fn record_failed_sign_in(
        &self,
        id: &tessera_domain::user::UserId,
    ) -> Result<u32, StoreError> {
        let mut all = self.0.lock().unwrap();
        let user = all
            .iter_mut()
            .find(|u| u.id == *id)
            .ok_or(StoreError::NotFound)?;
        user.failed_sign_ins += 1;
        Ok(user.failed_sign_ins)
    }

    async fn set_sign_in_lock(
        &self,
        id: &tessera_domain::user::UserId,
        locked_until: Option<UnixTime>,
    ) -> Result<(), StoreError> {
        let mut all = self.0.lock().unwrap();
        let user = all
            .iter_mut()
            .find(|u| u.id == *id)
            .ok_or(StoreError::NotFound)?;
        (user.failed_sign_ins, user.locked_until) = (0, locked_until);
        Ok(())
    }

    async fn list(&self) -> Result<Vec<tessera_domain::user::User>, StoreError> {
        let mut all = self.0.lock().unwrap().clone();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(all)
    }
}

/// A sealer without cryptography, for tests: `fake` ‖ key byte ‖ context checksum ‖ bytes XOR
/// key. It keeps the port's contract (another key or context does not open, plaintext is
/// `NotSealed`) without hiding anything.
#[derive(Debug, Clone, Copy)]
pub struct TestSealer(pub u8);

impl TestSealer {
    fn checksum(context: &str) -> [u8; 8] {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in context.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        h.to_le_bytes()
    }
}

impl tessera_domain::ports::Sealer for TestSealer {
    fn seal(
        &self,
        context: &str,
        plain: &[u8],
    ) -> Result<Vec<u8>, tessera_domain::ports::SealError> {
        let mut out = b"fake".to_vec();
        out.push(self.0);
        out.extend_from_slice(&Self::checksum(context));
        out.extend(plain.iter().map(|b| b ^ self.0));
        Ok(out)
    }

    fn open(
        &self,
        context: &str,
        sealed: &[u8],
    ) -> Result<Vec<u8>, tessera_domain::ports::SealError> {
        use tessera_domain::ports::SealError;
        let rest = sealed.strip_prefix(b"fake").ok_or(SealError::NotSealed)?;
        let (key, rest) = rest.split_first().ok_or(SealError::WrongKey)?;
        if *key != self.0 || rest.len() < 8 || rest[..8] != Self::checksum(context) {
            return Err(SealError::WrongKey);
        }
        Ok(rest[8..].iter().map(|b| b ^ self.0).collect())
    }
}

/// A rate limiter that never limits.
#[derive(Debug, Default)]
pub struct Unlimited;

impl tessera_domain::ports::RateLimiter for Unlimited {
    fn admit(&self, _kind: tessera_domain::ports::RateKind, _key: &str) -> Option<u32> {
        None
    }
    fn record_failure(&self, _kind: tessera_domain::ports::RateKind, _key: &str) {}
    fn backed_off(&self, _kind: tessera_domain::ports::RateKind, _key: &str) -> Option<u32> {
        None
    }
}

/// Failed sign-ins per address in memory: address → (failures, window end).
#[derive(Debug, Default)]
pub struct InMemoryThrottle(Mutex<std::collections::HashMap<String, (u32, UnixTime)>>);

#[async_trait]
impl tessera_domain::ports::SignInThrottle for InMemoryThrottle {
    async fn failures(&self, address: &str, now: UnixTime) -> Result<u32, StoreError> {
        Ok(match self.0.lock().unwrap().get(address) {
            Some((n, ends)) if *ends > now => *n,
            _ => 0,
        })
    }

    async fn record_failure(
        &self,
        address: &str,
        now: UnixTime,
        window_seconds: u32,
    ) -> Result<u32, StoreError> {
        let mut all = self.0.lock().unwrap();
        let entry = all
            .entry(address.to_owned())
            .or_insert((0, UnixTime::from_secs(0)));
        if entry.1 <= now {
            *entry = (0, now.plus_secs(i64::from(window_seconds)));
        }
        entry.0 += 1;
        Ok(entry.0)
    }

    async fn purge(&self, now: UnixTime) -> Result<u64, StoreError> {
        let mut all = self.0.lock().unwrap();
        let before = all.len();
        all.retain(|_, (_, ends)| *ends > now);
        Ok((before - all.len()) as u64)
    }
}

/// Authorization codes, sessions and consents in memory.
#[derive(Debug, Default)]
pub struct InMemoryAuthz {
    codes: Mutex<Vec<tessera_domain::authorize::CodeRecord>>,
    sessions: Mutex<Vec<tessera_domain::authorize::Session>>,
    consents: Mutex<BTreeMap<(String, String), tessera_domain::ScopeSet>>,
}

#[async_trait]
impl tessera_domain::ports::AuthorizationCodeStore for InMemoryAuthz {
    async fn insert(&self, code: &tessera_domain::authorize::CodeRecord) -> Result<(), StoreError> {
        let mut all = self.codes.lock().unwrap();
        if all.iter().any(|c| c.hash == code.hash) {
            return Err(StoreError::Conflict);
        }
        all.push(code.clone());
        Ok(())
    }

    async fn redeem(
        &self,
        hash: &tessera_domain::issued::TokenHash,
        issue: &tessera_domain::authorize::CodeIssue,
        now: UnixTime,
    ) -> Result<tessera_domain::authorize::Redemption, StoreError> {
        use tessera_domain::authorize::Redemption;
        let mut all = self.codes.lock().unwrap();
        Ok(match all.iter_mut().find(|c| c.hash == *hash) {
            Some(c) if c.issued.is_some() => Redemption::Reused(c.clone()),
            Some(c) if now < c.expires_at => {
                c.issued = Some(issue.clone());
                Redemption::Fresh(c.clone())
            }
            _ => Redemption::Invalid,
        })
    }

    async fn purge(&self, now: UnixTime) -> Result<u64, StoreError> {
        let mut all = self.codes.lock().unwrap();
        let before = all.len();
        all.retain(|c| c.expires_at.plus_secs(86_400) >= now);
        Ok((before - all.len()) as u64)
    }
}

#[async_trait]
impl tessera_domain::ports::SessionStore for InMemoryAuthz {
    async fn insert(&self, session: &tessera_domain::authorize::Session) -> Result<(), StoreError> {
        let mut all = self.sessions.lock().unwrap();
        if all.iter().any(|s| s.hash == session.hash) {
            return Err(StoreError::Conflict);
        }
        all.push(session.clone());
        Ok(())
    }

    async fn find(
        &self,
        hash: &tessera_domain::issued::TokenHash,
        now: UnixTime,
    ) -> Result<Option<tessera_domain::authorize::Session>, StoreError> {
        Ok(self
            .sessions
            .lock()
            .unwrap()
            .iter()
            .find(|s| s.hash == *hash && now < s.expires_at)
            .cloned())
    }

    async fn delete(
        &self,
        hash: &tessera_domain::issued::TokenHash,
    ) -> Result<Option<tessera_domain::authorize::Session>, StoreError> {
        let mut all = self.sessions.lock().unwrap();
        let found = all.iter().find(|s| s.hash == *hash).cloned();
        all.retain(|s| s.hash != *hash);
        Ok(found)
    }

    async fn for_user(
        &self,
        user: &tessera_domain::user::UserId,
    ) -> Result<Vec<tessera_domain::authorize::Session>, StoreError> {
        Ok(self
            .sessions
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.user_id == *user)
            .cloned()
            .collect())
    }

    async fn purge(&self, now: UnixTime) -> Result<u64, StoreError> {
        let mut all = self.sessions.lock().unwrap();
        let before = all.len();
        all.retain(|s| now < s.expires_at);
        Ok((before - all.len()) as u64)
    }
}

#[async_trait]
impl tessera_domain::ports::ConsentStore for InMemoryAuthz {
    async fn granted(
        &self,
        user: &tessera_domain::user::UserId,
        client: &ClientId,
    ) -> Result<tessera_domain::ScopeSet, StoreError> {
        Ok(self
            .consents
            .lock()
            .unwrap()
            .get(&(user.to_string(), client.to_string()))
            .cloned()
            .unwrap_or_default())
    }

    async fn grant(
        &self,
        user: &tessera_domain::user::UserId,
        client: &ClientId,
        scope: &tessera_domain::ScopeSet,
        _now: UnixTime,
    ) -> Result<(), StoreError> {
        let mut all = self.consents.lock().unwrap();
        let entry = all
            .entry((user.to_string(), client.to_string()))
            .or_default();
        *entry = tessera_domain::ScopeSet::from_scopes(entry.iter().chain(scope.iter()).cloned());
        Ok(())
    }
}

/// One-time params in memory.
#[derive(Debug, Default)]
pub struct InMemoryParams(Mutex<Vec<tessera_domain::issued::ParamRecord>>);

#[async_trait]
impl tessera_domain::ports::ParamStore for InMemoryParams {
    async fn insert(&self, param: &tessera_domain::issued::ParamRecord) -> Result<(), StoreError> {
        let mut all = self.0.lock().unwrap();
        if all.iter().any(|p| p.hash == param.hash) {
            return Err(StoreError::Conflict);
        }
        all.push(param.clone());
        Ok(())
    }

    async fn consume(
        &self,
        hash: &tessera_domain::issued::TokenHash,
        client: &ClientId,
        now: UnixTime,
    ) -> Result<Option<tessera_domain::issued::ParamRecord>, StoreError> {
        let mut all = self.0.lock().unwrap();
        let Some(i) = all
            .iter()
            .position(|p| p.hash == *hash && p.client_id == *client && now < p.expires_at)
        else {
            return Ok(None);
        };
        Ok(Some(all.remove(i)))
    }
}
