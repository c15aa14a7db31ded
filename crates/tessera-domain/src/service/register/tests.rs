//! The registration use cases on in-memory fakes and a fixed clock: the three policies, the
//! registration access token (and its rotation), initial access tokens spent and expired, the
//! rate limit and the audit trail.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::*;
use crate::audit::{AuditEvent, AuditKind};
use crate::issued::TokenHash;
use crate::ports::{AuditLog, MockRateLimiter};
use crate::scope::ScopeSet;
use crate::secret::SecretPepper;
use crate::service::tests::{Counter, Writable};

const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);

#[derive(Default)]
struct Registrations {
    tokens: Mutex<BTreeMap<String, TokenHash>>,
    initial: Mutex<Vec<InitialAccessToken>>,
}

#[async_trait]
impl RegistrationStore for Registrations {
    async fn set_registration_token(
        &self,
        client: &ClientId,
        hash: &TokenHash,
        _: UnixTime,
    ) -> Result<(), StoreError> {
        self.tokens
            .lock()
            .unwrap()
            .insert(client.to_string(), *hash);
        Ok(())
    }
    async fn registration_token(&self, client: &ClientId) -> Result<Option<TokenHash>, StoreError> {
        Ok(self.tokens.lock().unwrap().get(client.as_str()).cloned())
    }
    async fn delete_registration_token(&self, client: &ClientId) -> Result<(), StoreError> {
        self.tokens.lock().unwrap().remove(client.as_str());
        Ok(())
    }
    async fn insert_initial_token(&self, token: &InitialAccessToken) -> Result<(), StoreError> {
        self.initial.lock().unwrap().push(token.clone());
        Ok(())
    }
    async fn use_initial_token(&self, hash: &TokenHash, now: UnixTime) -> Result<bool, StoreError> {
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
    async fn initial_tokens(&self) -> Result<Vec<InitialAccessToken>, StoreError> {
        Ok(self.initial.lock().unwrap().clone())
    }
    async fn delete_initial_token(&self, id: &str) -> Result<bool, StoreError> {
        let mut all = self.initial.lock().unwrap();
        let n = all.len();
        all.retain(|t| t.id != id);
        Ok(all.len() < n)
    }
}

#[derive(Default)]
struct Kept(Mutex<Vec<AuditEvent>>);

impl AuditLog for Kept {
    fn record(&self, event: AuditEvent) {
        self.0.lock().unwrap().push(event);
    }
}

struct Setup {
    registration: DynamicRegistration,
    initial: InitialTokens,
    store: Arc<Registrations>,
    audit: Arc<Kept>,
}

fn setup(mode: RegistrationMode, limited: bool) -> Setup {
    let store = Arc::new(Registrations::default());
    let audit = Arc::new(Kept::default());
    let clients = ClientAdmin::new(
        Arc::new(Writable::default()),
        Arc::new(Counter::default()),
        SecretPepper::from_bytes([3; 32]),
    )
    .with_audit(audit.clone());
    let mut limiter = MockRateLimiter::new();
    limiter
        .expect_admit()
        .returning(move |_, _| limited.then_some(30));
    let policy = RegistrationPolicy {
        mode,
        scope_ceiling: ScopeSet::parse("openid profile offline_access").unwrap(),
        resources: Vec::new(),
    };
    Setup {
        registration: DynamicRegistration::new(
            clients,
            store.clone(),
            Arc::new(Counter::default()),
            Arc::new(limiter),
            policy,
        ),
        initial: InitialTokens::new(store.clone(), Arc::new(Counter::default())),
        store,
        audit,
    }
}

fn web_app() -> ClientMetadata {
    ClientMetadata::parse(RawMetadata {
        redirect_uris: Some(vec!["https://rp.example/cb".into()]),
        client_name: Some("RP".into()),
        scope: Some("openid profile".into()),
        ..RawMetadata::default()
    })
    .unwrap()
}

#[tokio::test]
async fn a_closed_deployment_registers_nobody() {
    let s = setup(RegistrationMode::Closed, false);
    assert!(!s.registration.is_offered());
    let got = s
        .registration
        .register(None, web_app(), Some("10.0.0.1"), NOW)
        .await;
    assert!(matches!(got, Err(RegistrationError::Closed)), "{got:?}");
}

#[tokio::test]
async fn an_open_registration_makes_a_third_party_client_managed_by_its_token() {
    let s = setup(RegistrationMode::Open, false);
    let r = s
        .registration
        .register(None, web_app(), Some("10.0.0.1"), NOW)
        .await
        .unwrap();
    assert!(r.client.roles().is_empty());
    assert!(
        r.secret.is_some(),
        "a confidential client gets its secret once"
    );
    assert_eq!(r.client.allowed_scopes().to_string(), "openid profile");
    let id = r.client.id().to_string();
    let token = r.registration_access_token.expose().to_owned();
    assert!(token.starts_with(REGISTRATION_TOKEN_PREFIX));
    assert_eq!(
        s.registration.read(&id, Some(&token)).await.unwrap().id(),
        r.client.id()
    );
    // A wrong token, another client's id, or none at all: 401 alike.
    for (who, presented) in [
        (
            id.as_str(),
            Some("trat_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"),
        ),
        ("someone-else", Some(token.as_str())),
        (id.as_str(), None),
    ] {
        let got = s.registration.read(who, presented).await;
        assert!(
            matches!(got, Err(RegistrationError::InvalidToken)),
            "{got:?}"
        );
    }
    let audit = s.audit.0.lock().unwrap().clone();
    assert_eq!(audit[0].kind, AuditKind::ClientCreated);
    assert!(
        audit[0]
            .detail
            .ends_with("by dynamic registration from 10.0.0.1"),
        "{}",
        audit[0].detail
    );
}

#[tokio::test]
async fn an_update_replaces_the_metadata_and_rotates_the_token_and_delete_forgets_both() {
    let s = setup(RegistrationMode::Open, false);
    let r = s
        .registration
        .register(None, web_app(), None, NOW)
        .await
        .unwrap();
    let id = r.client.id().to_string();
    let old = r.registration_access_token.expose().to_owned();
    let changed = ClientMetadata::parse(RawMetadata {
        redirect_uris: Some(vec!["https://rp.example/other".into()]),
        ..RawMetadata::default()
    })
    .unwrap();
    let (client, new) = s
        .registration
        .update(&id, Some(&old), changed, None, NOW)
        .await
        .unwrap();
    assert_eq!(
        client.redirect_uris()[0].as_str(),
        "https://rp.example/other"
    );
    // Omitted metadata is reset: the scope is the ceiling again.
    assert_eq!(
        client.allowed_scopes().to_string(),
        "offline_access openid profile"
    );
    assert_ne!(new.expose(), old);
    assert!(matches!(
        s.registration.read(&id, Some(&old)).await,
        Err(RegistrationError::InvalidToken)
    ));
    let public = ClientMetadata::parse(RawMetadata {
        redirect_uris: Some(vec!["https://rp.example/cb".into()]),
        token_endpoint_auth_method: Some("none".into()),
        ..RawMetadata::default()
    })
    .unwrap();
    let switched = s
        .registration
        .update(&id, Some(new.expose()), public, None, NOW)
        .await;
    assert!(
        matches!(switched, Err(RegistrationError::Metadata(_))),
        "{switched:?}"
    );
    s.registration
        .delete(&id, Some(new.expose()), None, NOW)
        .await
        .unwrap();
    assert!(s.store.tokens.lock().unwrap().is_empty());
    assert!(matches!(
        s.registration.read(&id, Some(new.expose())).await,
        Err(RegistrationError::InvalidToken)
    ));
}

#[tokio::test]
async fn initial_access_tokens_are_spent_expire_and_are_needed() {
    let s = setup(RegistrationMode::InitialAccessToken, false);
    let (record, token) = s
        .initial
        .issue(Some(1), 60, "for the RP team", NOW)
        .await
        .unwrap();
    assert_eq!(record.uses_left, Some(1));
    let without = s.registration.register(None, web_app(), None, NOW).await;
    assert!(matches!(without, Err(RegistrationError::InvalidToken)));
    s.registration
        .register(Some(token.expose()), web_app(), None, NOW)
        .await
        .unwrap();
    let spent = s
        .registration
        .register(Some(token.expose()), web_app(), None, NOW)
        .await;
    assert!(
        matches!(spent, Err(RegistrationError::InvalidToken)),
        "single use"
    );
    let (_, many) = s.initial.issue(None, 60, "", NOW).await.unwrap();
    for _ in 0..3 {
        s.registration
            .register(Some(many.expose()), web_app(), None, NOW)
            .await
            .unwrap();
    }
    let late = s
        .registration
        .register(Some(many.expose()), web_app(), None, NOW.plus_secs(61))
        .await;
    assert!(
        matches!(late, Err(RegistrationError::InvalidToken)),
        "expired"
    );
    assert!(s.initial.issue(Some(0), 60, "", NOW).await.is_err());
    assert!(
        s.initial
            .issue(None, MAX_INITIAL_TOKEN_SECS + 1, "", NOW)
            .await
            .is_err()
    );
    assert_eq!(s.initial.list().await.unwrap().len(), 2);
    assert!(s.initial.revoke(&record.id, NOW).await.unwrap());
    assert!(!s.initial.revoke(&record.id, NOW).await.unwrap());
}

#[tokio::test]
async fn registrations_are_rate_limited_and_checked_before_anything_is_spent() {
    let limited = setup(RegistrationMode::Open, true);
    let got = limited
        .registration
        .register(None, web_app(), None, NOW)
        .await;
    assert!(matches!(got, Err(RegistrationError::SlowDown(30))));
    // Refused metadata does not spend an initial access token.
    let s = setup(RegistrationMode::InitialAccessToken, false);
    let (_, token) = s.initial.issue(Some(1), 60, "", NOW).await.unwrap();
    let greedy = ClientMetadata::parse(RawMetadata {
        redirect_uris: Some(vec!["https://rp.example/cb".into()]),
        scope: Some("openid admin".into()),
        ..RawMetadata::default()
    })
    .unwrap();
    let refused = s
        .registration
        .register(Some(token.expose()), greedy, None, NOW)
        .await;
    assert!(
        matches!(refused, Err(RegistrationError::Metadata(_))),
        "{refused:?}"
    );
    s.registration
        .register(Some(token.expose()), web_app(), None, NOW)
        .await
        .unwrap();
}
