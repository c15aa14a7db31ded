//! The use cases through their ports: small in-memory fakes for flows, mockall mocks for "this port
//! fails in this particular way".

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::*;
use crate::cache::ClientCache;
use crate::client::{ClientSpec, Role, RoleSet};
use crate::keys::{KeyId, KeyState, PrivateKeyDer, SigningKey};
use crate::policy::{Issuer, TokenPolicy};
use crate::ports::{
    BlockingWork, ClientRepository, MockClientRepository, MockKeyGenerator, MockKeyRepository,
    MockOpaqueTokenStore, MockParamStore, MockRefreshTokenStore, MockRevocationList,
    MockTokenSigner, MockUserRepository, RandomSource, SignError,
};
use crate::secret::{PlainSecret, SecretPepper, SecretVerifier};
use crate::token::AccessToken;
use crate::{
    Audience, Client, ClientAuthMethod, ClientId, ClientName, GrantType, ScopeSet,
    SigningAlgorithm, StoreError, TokenError, TokenTtl, UnixTime,
};

const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);

fn pepper() -> SecretPepper {
    SecretPepper::from_bytes([7; 32])
}

fn secret(id: &str) -> PlainSecret {
    let mut raw = [0u8; 32];
    for (i, b) in id.bytes().enumerate() {
        raw[i % 32] ^= b;
    }
    PlainSecret::generate(raw)
}

fn spec(id: &str) -> ClientSpec {
    ClientSpec {
        allowed_scopes: ScopeSet::parse("read write").unwrap(),
        default_scopes: ScopeSet::parse("read").unwrap(),
        roles: RoleSet::from_roles([Role::parse("ROLE_CLI-1STPARTY").unwrap()]),
        ..ClientSpec::new(
            ClientId::parse(id).unwrap(),
            ClientName::parse(id).unwrap(),
            vec![SecretVerifier::hmac(&pepper(), &secret(id)).into()],
            UnixTime::from_secs(0),
        )
    }
}

/// A client repository over a fixed list.
struct Fixed(Vec<Client>);

#[async_trait]
impl ClientRepository for Fixed {
    async fn find(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        Ok(self.0.iter().find(|c| c.id() == id).cloned())
    }
    async fn insert(&self, _: &Client) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("read-only".into()))
    }
    async fn update(&self, _: &Client) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("read-only".into()))
    }
    async fn replace(&self, _: &Client, _: &Client) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("read-only".into()))
    }
    async fn delete(&self, _: &ClientId) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("read-only".into()))
    }
    async fn list(&self) -> Result<Vec<Client>, StoreError> {
        Ok(self.0.clone())
    }
    async fn version(&self) -> Result<u64, StoreError> {
        Ok(0)
    }
}

#[derive(Default)]
pub(crate) struct Counter(AtomicU64);

impl RandomSource for Counter {
    fn fill(&self, buf: &mut [u8]) {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        buf.fill(u8::try_from(n % 256).unwrap_or(0));
    }
}

/// Runs jobs inline and counts them.
#[derive(Default)]
struct CountingBlocking(AtomicUsize);

#[async_trait]
impl BlockingWork for CountingBlocking {
    async fn run(&self, job: Box<dyn FnOnce() -> bool + Send + 'static>) -> bool {
        self.0.fetch_add(1, Ordering::SeqCst);
        job()
    }
}

/// A signer mock that records the claims and returns `tok-<jti>`.
type Signed = Arc<Mutex<Vec<(SigningAlgorithm, crate::token::AccessTokenClaims)>>>;

fn recording_signer() -> (MockTokenSigner, Signed) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let mut signer = MockTokenSigner::new();
    signer.expect_sign().returning(move |alg, claims| {
        sink.lock().unwrap().push((alg, claims.clone()));
        Ok(AccessToken::new(format!("tok-{}", claims.jti)))
    });
    (signer, seen)
}

/// A limiter mock that never limits.
fn open_limiter() -> crate::ports::MockRateLimiter {
    let mut limiter = crate::ports::MockRateLimiter::new();
    limiter.expect_admit().returning(|_, _| None);
    limiter.expect_record_failure().returning(|_, _| ());
    limiter.expect_backed_off().returning(|_, _| None);
    limiter
}

fn policy() -> TokenPolicy {
    TokenPolicy {
        issuer: Issuer::parse("https://id.example").unwrap(),
        default_audience: Audience::parse("https://api.example").unwrap(),
        default_ttl: TokenTtl::from_secs(900).unwrap(),
        default_alg: SigningAlgorithm::Es256,
        refresh_ttl_secs: 86_400,
        refresh_grace_secs: 5,
        introspection_role: Role::parse("ROLE_CLI-INTROSPECT").unwrap(),
        id_token_alg: SigningAlgorithm::Rs256,
    }
}

fn service(
    repo: Arc<dyn ClientRepository>,
    signer: MockTokenSigner,
    blocking: Arc<dyn BlockingWork>,
) -> TokenService {
    service_limited(repo, signer, blocking, open_limiter())
}

fn service_limited(
    repo: Arc<dyn ClientRepository>,
    signer: MockTokenSigner,
    blocking: Arc<dyn BlockingWork>,
    limiter: crate::ports::MockRateLimiter,
) -> TokenService {
    TokenService::new(
        TokenPorts {
            clients: Arc::new(ClientCache::new(repo)),
            signer: Arc::new(signer),
            random: Arc::new(Counter::default()),
            blocking,
            refresh: Arc::new(MockRefreshTokenStore::new()),
            opaque: Arc::new(MockOpaqueTokenStore::new()),
            revoked: Arc::new(MockRevocationList::new()),
            users: Arc::new(MockUserRepository::new()),
            params: Arc::new(MockParamStore::new()),
            codes: Arc::new(crate::ports::MockAuthorizationCodeStore::new()),
            limiter: Arc::new(limiter),
            audit: Arc::new(crate::audit::NoAudit),
        },
        pepper(),
        policy(),
    )
}

fn basic(id: &str, secret: &PlainSecret) -> ClientAuthentication {
    ClientAuthentication::from_raw(
        ClientAuthMethod::ClientSecretBasic,
        id,
        Some(secret.expose()),
    )
    .unwrap()
}

fn cc(scope: Option<&str>) -> GrantRequest {
    GrantRequest::parse(Some("client_credentials"), scope, None).unwrap()
}

#[tokio::test]
async fn client_credentials_builds_rfc_9068_claims_from_policy_and_client() {
    let (signer, seen) = recording_signer();
    let svc = service(
        Arc::new(Fixed(vec![Client::new(spec("svc")).unwrap()])),
        signer,
        Arc::new(CountingBlocking::default()),
    );
    let issued = svc
        .issue(
            TokenRequest {
                gateway_token: None,
                resources: Vec::new(),
                certificate: None,
                source: None,
                profile: ApiProfile::default(),
                auth: basic("svc", &secret("svc")),
                grant: cc(None),
            },
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(issued.expires_in, 900);
    assert_eq!(issued.scope.to_string(), "read");
    assert_eq!(issued.access_token.expose(), format!("tok-{}", issued.jti));
    let (alg, claims) = seen.lock().unwrap().pop().unwrap();
    assert_eq!(alg, SigningAlgorithm::Es256);
    assert_eq!(claims.iss.as_str(), "https://id.example");
    assert_eq!(claims.sub, "svc");
    assert_eq!(claims.client_id.as_str(), "svc");
    assert_eq!(claims.aud.first().as_str(), "https://api.example");
    assert_eq!((claims.iat, claims.exp), (NOW, NOW.plus_secs(900)));
    assert_eq!(
        claims.roles.iter().map(Role::as_str).collect::<Vec<_>>(),
        ["ROLE_CLI-1STPARTY"]
    );
    assert_eq!(claims.jti.len(), 22);
}

#[tokio::test]
async fn the_clients_own_lifetime_algorithm_and_audience_win_and_jti_is_fresh() {
    let mut s = spec("svc");
    s.access_token_ttl = Some(TokenTtl::from_secs(60).unwrap());
    s.signing_alg = Some(SigningAlgorithm::EdDsa);
    s.audience = Some(Audience::parse("urn:billing").unwrap());
    let (signer, seen) = recording_signer();
    let svc = service(
        Arc::new(Fixed(vec![Client::new(s).unwrap()])),
        signer,
        Arc::new(CountingBlocking::default()),
    );
    for _ in 0..2 {
        svc.issue(
            TokenRequest {
                gateway_token: None,
                resources: Vec::new(),
                certificate: None,
                source: None,
                profile: ApiProfile::default(),
                auth: basic("svc", &secret("svc")),
                grant: cc(Some("write")),
            },
            NOW,
        )
        .await
        .unwrap();
    }
    let seen = seen.lock().unwrap();
    let (alg, claims) = &seen[0];
    assert_eq!(*alg, SigningAlgorithm::EdDsa);
    assert_eq!(claims.aud.first().as_str(), "urn:billing");
    assert_eq!(claims.exp, NOW.plus_secs(60));
    assert_eq!(claims.scope.to_string(), "write");
    assert_ne!(seen[0].1.jti, seen[1].1.jti);
}

#[tokio::test]
async fn every_authentication_failure_is_invalid_client_and_signs_nothing() {
    let mut disabled = spec("off");
    disabled.enabled = false;
    let mut post_only = spec("post");
    post_only.auth_methods = [ClientAuthMethod::ClientSecretPost].into();
    let clients = vec![
        Client::new(spec("svc")).unwrap(),
        Client::new(disabled).unwrap(),
        Client::new(post_only).unwrap(),
    ];
    let mut signer = MockTokenSigner::new();
    signer.expect_sign().never();
    let svc = service(
        Arc::new(Fixed(clients)),
        signer,
        Arc::new(CountingBlocking::default()),
    );
    let cases = [
        basic("svc", &secret("other")),
        basic("nobody", &secret("nobody")),
        basic("off", &secret("off")),
        basic("post", &secret("post")),
        ClientAuthentication::from_raw(ClientAuthMethod::None, "svc", None).unwrap(),
        ClientAuthentication::Absent,
    ];
    for auth in cases {
        let got = svc
            .issue(
                TokenRequest {
                    gateway_token: None,
                    resources: Vec::new(),
                    certificate: None,
                    source: None,
                    profile: ApiProfile::default(),
                    auth: auth.clone(),
                    grant: cc(None),
                },
                NOW,
            )
            .await;
        assert_eq!(got, Err(TokenError::InvalidClient), "{auth:?}");
    }
    assert_eq!(
        ClientAuthentication::from_raw(ClientAuthMethod::ClientSecretBasic, "bad id", Some("x"))
            .map(|_| ()),
        Err(TokenError::InvalidClient)
    );
}

#[tokio::test]
async fn grant_and_scope_policy_errors() {
    let mut code_only = spec("code");
    code_only.grant_types = [GrantType::AuthorizationCode].into();
    code_only.redirect_uris =
        vec![crate::authorize::RedirectUri::parse("https://app.example/cb").unwrap()];
    let (signer, _) = recording_signer();
    let svc = service(
        Arc::new(Fixed(vec![
            Client::new(spec("svc")).unwrap(),
            Client::new(code_only).unwrap(),
        ])),
        signer,
        Arc::new(CountingBlocking::default()),
    );
    let got = svc
        .issue(
            TokenRequest {
                gateway_token: None,
                resources: Vec::new(),
                certificate: None,
                source: None,
                profile: ApiProfile::default(),
                auth: basic("code", &secret("code")),
                grant: cc(None),
            },
            NOW,
        )
        .await;
    assert_eq!(got, Err(TokenError::UnauthorizedClient));
    let got = svc
        .issue(
            TokenRequest {
                gateway_token: None,
                resources: Vec::new(),
                certificate: None,
                source: None,
                profile: ApiProfile::default(),
                auth: basic("svc", &secret("svc")),
                grant: cc(Some("read admin")),
            },
            NOW,
        )
        .await;
    assert_eq!(
        got,
        Err(TokenError::InvalidScope(
            "the client may not request: admin".into()
        ))
    );
}

#[test]
fn grant_requests_parse_per_rfc_6749() {
    assert_eq!(
        GrantRequest::parse(None, None, None),
        Err(TokenError::InvalidRequest("missing grant_type".into()))
    );
    assert_eq!(
        GrantRequest::parse(Some("password"), None, None),
        Err(TokenError::UnsupportedGrantType("password".into()))
    );
    assert_eq!(
        GrantRequest::parse(Some("refresh_token"), None, None),
        Err(TokenError::InvalidRequest("missing refresh_token".into()))
    );
    let long = "x\u{7}".repeat(100);
    let Err(TokenError::UnsupportedGrantType(echo)) = GrantRequest::parse(Some(&long), None, None)
    else {
        panic!()
    };
    assert_eq!(
        echo.len(),
        64,
        "untrusted input is echoed printable and bounded"
    );
    assert!(matches!(
        GrantRequest::parse(Some("client_credentials"), Some("a\\b"), None),
        Err(TokenError::InvalidScope(_))
    ));
    assert_eq!(
        cc(Some("b a")),
        GrantRequest::ClientCredentials {
            scope: Some(ScopeSet::parse("a b").unwrap())
        }
    );
}

#[tokio::test]
async fn imported_secrets_are_checked_off_the_request_thread_and_generated_ones_inline() {
    let mut legacy = spec("legacy");
    legacy.secrets = vec![
        SecretVerifier::argon2id(&PlainSecret::parse("old-secret").unwrap(), [1; 16])
            .unwrap()
            .into(),
    ];
    let blocking = Arc::new(CountingBlocking::default());
    let (signer, _) = recording_signer();
    let svc = service(
        Arc::new(Fixed(vec![
            Client::new(legacy).unwrap(),
            Client::new(spec("svc")).unwrap(),
        ])),
        signer,
        blocking.clone(),
    );
    let old = PlainSecret::parse("old-secret").unwrap();
    assert!(
        svc.issue(
            TokenRequest {
                gateway_token: None,
                resources: Vec::new(),
                certificate: None,
                source: None,
                profile: ApiProfile::default(),
                auth: basic("legacy", &old),
                grant: cc(None)
            },
            NOW
        )
        .await
        .is_ok()
    );
    assert_eq!(blocking.0.load(Ordering::SeqCst), 1);
    let wrong = PlainSecret::parse("old-secreT").unwrap();
    assert_eq!(
        svc.issue(
            TokenRequest {
                gateway_token: None,
                resources: Vec::new(),
                certificate: None,
                source: None,
                profile: ApiProfile::default(),
                auth: basic("legacy", &wrong),
                grant: cc(None)
            },
            NOW
        )
        .await,
        Err(TokenError::InvalidClient)
    );
    assert!(
        svc.issue(
            TokenRequest {
                gateway_token: None,
                resources: Vec::new(),
                certificate: None,
                source: None,
                profile: ApiProfile::default(),
                auth: basic("svc", &secret("svc")),
                grant: cc(None)
            },
            NOW
        )
        .await
        .is_ok()
    );
    assert_eq!(
        blocking.0.load(Ordering::SeqCst),
        2,
        "HMAC secrets never leave the request thread"
    );
}

#[tokio::test]
async fn store_and_signer_failures_become_temporary_and_server_errors() {
    let mut repo = MockClientRepository::new();
    repo.expect_find()
        .returning(|_| Err(StoreError::Unavailable("locked".into())));
    let (signer, _) = recording_signer();
    let svc = service(
        Arc::new(repo),
        signer,
        Arc::new(CountingBlocking::default()),
    );
    let got = svc
        .issue(
            TokenRequest {
                gateway_token: None,
                resources: Vec::new(),
                certificate: None,
                source: None,
                profile: ApiProfile::default(),
                auth: basic("svc", &secret("svc")),
                grant: cc(None),
            },
            NOW,
        )
        .await;
    assert_eq!(got, Err(TokenError::TemporarilyUnavailable));

    let mut repo = MockClientRepository::new();
    repo.expect_find()
        .returning(|_| Err(StoreError::Corrupt("bad row".into())));
    let (signer, _) = recording_signer();
    let svc = service(
        Arc::new(repo),
        signer,
        Arc::new(CountingBlocking::default()),
    );
    let got = svc
        .issue(
            TokenRequest {
                gateway_token: None,
                resources: Vec::new(),
                certificate: None,
                source: None,
                profile: ApiProfile::default(),
                auth: basic("svc", &secret("svc")),
                grant: cc(None),
            },
            NOW,
        )
        .await;
    assert_eq!(got, Err(TokenError::ServerError));

    let mut signer = MockTokenSigner::new();
    signer
        .expect_sign()
        .returning(|alg, _| Err(SignError::NoActiveKey(alg)));
    let svc = service(
        Arc::new(Fixed(vec![Client::new(spec("svc")).unwrap()])),
        signer,
        Arc::new(CountingBlocking::default()),
    );
    let got = svc
        .issue(
            TokenRequest {
                gateway_token: None,
                resources: Vec::new(),
                certificate: None,
                source: None,
                profile: ApiProfile::default(),
                auth: basic("svc", &secret("svc")),
                grant: cc(None),
            },
            NOW,
        )
        .await;
    assert_eq!(got, Err(TokenError::ServerError));
}

/// A writable client repository for the admin flows.
#[derive(Default)]
pub(crate) struct Writable(Mutex<Vec<Client>>);

#[async_trait]
impl ClientRepository for Writable {
    async fn find(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .iter()
            .find(|c| c.id() == id)
            .cloned())
    }
    async fn insert(&self, client: &Client) -> Result<(), StoreError> {
        let mut all = self.0.lock().unwrap();
        if all.iter().any(|c| c.id() == client.id()) {
            return Err(StoreError::Conflict);
        }
        all.push(client.clone());
        Ok(())
    }
    async fn update(&self, client: &Client) -> Result<(), StoreError> {
        let mut all = self.0.lock().unwrap();
        let slot = all
            .iter_mut()
            .find(|c| c.id() == client.id())
            .ok_or(StoreError::NotFound)?;
        *slot = client.clone();
        Ok(())
    }
    async fn replace(&self, client: &Client, expected: &Client) -> Result<(), StoreError> {
        let mut all = self.0.lock().unwrap();
        let slot = all
            .iter_mut()
            .find(|c| c.id() == client.id())
            .ok_or(StoreError::NotFound)?;
        if slot != expected {
            return Err(StoreError::Conflict);
        }
        *slot = client.clone();
        Ok(())
    }
    async fn delete(&self, id: &ClientId) -> Result<(), StoreError> {
        let mut all = self.0.lock().unwrap();
        let before = all.len();
        all.retain(|c| c.id() != id);
        if all.len() == before {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }
    async fn list(&self) -> Result<Vec<Client>, StoreError> {
        Ok(self.0.lock().unwrap().clone())
    }
    async fn version(&self) -> Result<u64, StoreError> {
        Ok(0)
    }
}

fn new_client(id: Option<&str>, secret: SecretSource) -> NewClient {
    NewClient {
        id: id.map(|i| ClientId::parse(i).unwrap()),
        name: ClientName::parse("New").unwrap(),
        allowed_scopes: ScopeSet::parse("a b").unwrap(),
        default_scopes: None,
        roles: RoleSet::default(),
        grant_types: BTreeSet::new(),
        auth_methods: BTreeSet::new(),
        audience: None,
        access_token_ttl: None,
        signing_alg: None,
        access_token_format: crate::client::AccessTokenFormat::Jwt,
        max_assurance: None,
        cert_thumbprints: Vec::new(),
        tls_subject_dn: None,
        redirect_uris: Vec::new(),
        options: Default::default(),
        secret,
    }
}

#[tokio::test]
async fn admin_creates_clients_with_secrets_shown_once_and_stored_as_verifiers() {
    let repo = Arc::new(Writable::default());
    let admin = ClientAdmin::new(repo.clone(), Arc::new(Counter::default()), pepper());
    let (client, shown) = admin
        .create(new_client(Some("svc"), SecretSource::Generate), NOW)
        .await
        .unwrap();
    let shown = shown.unwrap();
    assert!(shown.has_valid_checksum());
    assert_eq!(
        client.secrets(),
        [SecretVerifier::hmac(&pepper(), &shown).into()]
    );
    assert_eq!(
        client.default_scopes().to_string(),
        "a b",
        "defaults to every allowed scope"
    );
    assert_eq!(
        client.grant_types().iter().copied().collect::<Vec<_>>(),
        [GrantType::ClientCredentials]
    );
    assert_eq!(client.auth_methods().len(), 2);
    assert_eq!(client.created_at(), NOW);

    let (generated, _) = admin
        .create(new_client(None, SecretSource::Generate), NOW)
        .await
        .unwrap();
    assert!(generated.id().as_str().starts_with("cli_"));

    let imported = PlainSecret::parse("legacy").unwrap();
    let (legacy, shown) = admin
        .create(
            new_client(Some("legacy"), SecretSource::Import(imported.clone())),
            NOW,
        )
        .await
        .unwrap();
    assert!(shown.is_none());
    assert!(
        legacy.secrets()[0].verifier.is_slow()
            && legacy.secrets()[0].verifier.verify(&pepper(), &imported)
    );

    assert_eq!(
        admin
            .create(new_client(Some("svc"), SecretSource::Generate), NOW)
            .await
            .map(|_| ()),
        Err(AdminError::Conflict(ClientId::parse("svc").unwrap()))
    );
    let mut bad = new_client(Some("bad"), SecretSource::Generate);
    bad.default_scopes = Some(ScopeSet::parse("z").unwrap());
    assert!(matches!(
        admin.create(bad, NOW).await,
        Err(AdminError::Invalid(_))
    ));

    let svc = ClientId::parse("svc").unwrap();
    assert!(!admin.disable(&svc, NOW).await.unwrap().is_enabled());
    assert!(!admin.show(&svc).await.unwrap().is_enabled());
    admin.delete(&svc, NOW).await.unwrap();
    assert_eq!(
        admin.delete(&svc, NOW).await,
        Err(AdminError::NotFound(svc.clone()))
    );
    assert_eq!(
        admin.show(&svc).await.map(|_| ()),
        Err(AdminError::NotFound(svc))
    );
    assert_eq!(admin.list().await.unwrap().len(), 2);
}

fn stored(kid: &str, alg: SigningAlgorithm, state: KeyState) -> SigningKey {
    SigningKey {
        kid: KeyId::parse(kid).unwrap(),
        alg,
        state,
        private_der: PrivateKeyDer::new(vec![1]),
        created_at: UnixTime::from_secs(1),
        activated_at: None,
        retire_at: None,
    }
}

#[tokio::test]
async fn keys_are_generated_only_for_algorithms_without_an_active_key() {
    let existing = vec![
        stored("es", SigningAlgorithm::Es256, KeyState::Active),
        stored("rs-next", SigningAlgorithm::Rs256, KeyState::Published),
    ];
    let mut repo = MockKeyRepository::new();
    let listed = existing.clone();
    repo.expect_live_keys()
        .returning(move || Ok(listed.clone()));
    repo.expect_insert()
        .times(2)
        .withf(|k| k.state == KeyState::Active && k.activated_at == Some(NOW))
        .returning(|_| Ok(()));
    repo.expect_version().returning(|| Ok(3));
    let mut generator = MockKeyGenerator::new();
    generator.expect_generate().times(2).returning(|alg| {
        Ok((
            KeyId::parse(&format!("new-{}", alg.as_str())).unwrap(),
            PrivateKeyDer::new(vec![2]),
        ))
    });
    let mut signer = MockTokenSigner::new();
    signer.expect_install().times(1).returning(|_| Ok(()));
    let keys = KeyService::new(Arc::new(repo), Arc::new(generator), Arc::new(signer));
    let made = keys
        .ensure_active(
            &[
                SigningAlgorithm::Es256,
                SigningAlgorithm::Rs256,
                SigningAlgorithm::EdDsa,
            ],
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(made, ["new-RS256", "new-EdDSA"]);
}

fn lease(held: bool) -> crate::ports::MockLeaseStore {
    let mut lease = crate::ports::MockLeaseStore::new();
    lease
        .expect_acquire()
        .withf(|name, holder, now, until| {
            name == KEY_LEASE && holder == "node-a" && *now == NOW && *until == NOW.plus_secs(5)
        })
        .times(1)
        .returning(move |_, _, _, _| Ok(held));
    lease
}

#[tokio::test]
async fn without_the_key_lease_nothing_is_generated_and_the_holders_keys_are_installed() {
    let mut repo = MockKeyRepository::new();
    let present = vec![stored("es", SigningAlgorithm::Es256, KeyState::Active)];
    repo.expect_live_keys()
        .returning(move || Ok(present.clone()));
    repo.expect_insert().never();
    repo.expect_version().returning(|| Ok(1));
    let mut generator = MockKeyGenerator::new();
    generator.expect_generate().never();
    let mut signer = MockTokenSigner::new();
    signer.expect_install().times(1).returning(|_| Ok(()));
    let keys = KeyService::new(Arc::new(repo), Arc::new(generator), Arc::new(signer)).with_lease(
        Arc::new(lease(false)),
        "node-a",
        5,
    );
    assert_eq!(
        keys.ensure_active(&[SigningAlgorithm::Es256], NOW).await,
        Ok(Vec::new())
    );
}

#[tokio::test]
async fn without_the_key_lease_a_missing_key_means_waiting_for_the_holder() {
    let mut repo = MockKeyRepository::new();
    repo.expect_live_keys().returning(|| Ok(Vec::new()));
    repo.expect_insert().never();
    let mut generator = MockKeyGenerator::new();
    generator.expect_generate().never();
    let mut signer = MockTokenSigner::new();
    signer.expect_install().never();
    let keys = KeyService::new(Arc::new(repo), Arc::new(generator), Arc::new(signer)).with_lease(
        Arc::new(lease(false)),
        "node-a",
        5,
    );
    assert_eq!(
        keys.ensure_active(&[SigningAlgorithm::Es256], NOW).await,
        Err(KeyError::LeaseHeldElsewhere)
    );
}

#[tokio::test]
async fn the_key_lifecycle_changes_keys_on_the_lease_holder_only() {
    let policy = crate::keys::KeyPolicy {
        publish_lead_secs: 1,
        rotation_period_secs: None,
        retire_after_secs: 60,
    };
    let ready = stored("next", SigningAlgorithm::Es256, KeyState::Published);
    // Not the holder: the store's keys are not even read.
    let mut repo = MockKeyRepository::new();
    repo.expect_live_keys().never();
    repo.expect_update().never();
    let keys = KeyService::new(
        Arc::new(repo),
        Arc::new(MockKeyGenerator::new()),
        Arc::new(MockTokenSigner::new()),
    )
    .with_lease(Arc::new(lease(false)), "node-a", 5);
    assert_eq!(keys.tick(NOW, &policy).await, Ok(Vec::new()));
    // The holder activates the published key.
    let mut repo = MockKeyRepository::new();
    let live = vec![ready.clone()];
    repo.expect_live_keys().returning(move || Ok(live.clone()));
    repo.expect_update()
        .times(1)
        .withf(|k| k.state == KeyState::Active)
        .returning(|_| Ok(()));
    repo.expect_version().returning(|| Ok(2));
    let mut signer = MockTokenSigner::new();
    signer.expect_install().returning(|_| Ok(()));
    let keys = KeyService::new(
        Arc::new(repo),
        Arc::new(MockKeyGenerator::new()),
        Arc::new(signer),
    )
    .with_lease(Arc::new(lease(true)), "node-a", 5);
    assert_eq!(
        keys.tick(NOW, &policy).await,
        Ok(vec![crate::keys::KeyChange::Activate(ready.kid)])
    );
}

#[test]
fn the_key_lease_outlives_two_late_renewals_and_at_least_five_seconds() {
    use std::time::Duration;
    assert_eq!(key_lease_secs(Duration::from_millis(200)), 5);
    assert_eq!(key_lease_secs(Duration::from_secs(1)), 5);
    assert_eq!(key_lease_secs(Duration::from_millis(2500)), 8);
    assert_eq!(key_lease_secs(Duration::from_secs(10)), 30);
}

#[tokio::test]
async fn a_key_store_failure_installs_nothing() {
    let mut repo = MockKeyRepository::new();
    repo.expect_live_keys()
        .returning(|| Err(StoreError::Unavailable("down".into())));
    let mut signer = MockTokenSigner::new();
    signer.expect_install().never();
    let keys = KeyService::new(
        Arc::new(repo),
        Arc::new(MockKeyGenerator::new()),
        Arc::new(signer),
    );
    assert_eq!(
        keys.ensure_active(&[SigningAlgorithm::Es256], NOW).await,
        Err(KeyError::Store(StoreError::Unavailable("down".into())))
    );
}

#[tokio::test]
async fn a_rotated_secret_works_once_the_cache_follows_and_the_old_one_until_the_grace_ends() {
    async fn ask(svc: &TokenService, s: &PlainSecret, at: UnixTime) -> Result<(), TokenError> {
        let req = TokenRequest {
            gateway_token: None,
            resources: Vec::new(),
            certificate: None,
            source: None,
            profile: ApiProfile::default(),
            auth: basic("svc", s),
            grant: cc(None),
        };
        svc.issue(req, at).await.map(|_| ())
    }
    let repo = Arc::new(Writable::default());
    let admin = ClientAdmin::new(repo.clone(), Arc::new(Counter::default()), pepper());
    let (_, first) = admin
        .create(new_client(Some("svc"), SecretSource::Generate), NOW)
        .await
        .unwrap();
    let first = first.unwrap();
    let id = ClientId::parse("svc").unwrap();
    let (rotated, second) = admin.rotate_secret(&id, 60, NOW).await.unwrap();
    assert_eq!(rotated.secrets().len(), 2);
    assert_eq!(rotated.secrets()[0].expires_at, Some(NOW.plus_secs(60)));
    assert_eq!(rotated.secrets()[1].expires_at, None);

    // A node whose cache holds the client from before the rotation.
    let (signer, _) = recording_signer();
    let svc = service(repo.clone(), signer, Arc::new(CountingBlocking::default()));
    assert_eq!(ask(&svc, &second, NOW).await, Ok(()));
    assert_eq!(ask(&svc, &first, NOW.plus_secs(59)).await, Ok(()));
    assert_eq!(
        ask(&svc, &first, NOW.plus_secs(60)).await,
        Err(TokenError::InvalidClient)
    );
    assert_eq!(ask(&svc, &second, NOW.plus_secs(3600)).await, Ok(()));

    // A second rotation without grace drops every earlier secret at once: a failed check does
    // not read the store again (that read would time unknown ids apart from wrong secrets), so
    // the node sees it when its cache follows the store.
    let (rotated, third) = admin
        .rotate_secret(&id, 0, NOW.plus_secs(10))
        .await
        .unwrap();
    assert_eq!(rotated.secrets().len(), 1);
    assert_eq!(
        ask(&svc, &third, NOW.plus_secs(10)).await,
        Err(TokenError::InvalidClient),
        "not before the cache follows"
    );
    let (signer, _) = recording_signer();
    let svc = service(repo.clone(), signer, Arc::new(CountingBlocking::default()));
    assert_eq!(ask(&svc, &third, NOW.plus_secs(10)).await, Ok(()));
    assert_eq!(
        ask(&svc, &second, NOW.plus_secs(10)).await,
        Err(TokenError::InvalidClient)
    );
    assert_eq!(
        admin
            .rotate_secret(&ClientId::parse("ghost").unwrap(), 0, NOW)
            .await
            .map(|_| ()),
        Err(AdminError::NotFound(ClientId::parse("ghost").unwrap()))
    );
}

#[tokio::test]
async fn the_api_default_lifetime_applies_only_when_the_client_has_none() {
    let mut own = spec("own");
    own.access_token_ttl = Some(TokenTtl::from_secs(60).unwrap());
    let (signer, _) = recording_signer();
    let svc = service(
        Arc::new(Fixed(vec![
            Client::new(spec("svc")).unwrap(),
            Client::new(own).unwrap(),
        ])),
        signer,
        Arc::new(CountingBlocking::default()),
    );
    let week = TokenTtl::from_secs(604_800).unwrap();
    let ask = |id: &'static str, default_ttl| {
        let svc = &svc;
        async move {
            let req = TokenRequest {
                gateway_token: None,
                resources: Vec::new(),
                certificate: None,
                source: None,
                auth: basic(id, &secret(id)),
                grant: cc(None),
                profile: ApiProfile {
                    default_ttl,
                    ..ApiProfile::default()
                },
            };
            svc.issue(req, NOW).await.unwrap().expires_in
        }
    };
    assert_eq!(ask("svc", Some(week)).await, 604_800);
    assert_eq!(ask("svc", None).await, 900, "the deployment default");
    assert_eq!(
        ask("own", Some(week)).await,
        60,
        "the client's own lifetime wins"
    );
}

mod sign_in {
    use super::*;
    use crate::ports::MockSignInThrottle;
    use crate::user::{Email, LockoutPolicy, Logon, Password, PasswordHash, Profile, User, UserId};

    const ADDRESS: &str = "203.0.113.7";

    fn user(failed: u32, locked_until: Option<UnixTime>) -> User {
        let pw = Password::parse("correct horse").unwrap_or_else(|e| panic!("{e}"));
        User {
            id: UserId::parse("u-1").unwrap_or_else(|e| panic!("{e}")),
            logon: Logon::parse("ana").unwrap_or_else(|e| panic!("{e}")),
            email: Email::parse("ana@example.com").unwrap_or_else(|e| panic!("{e}")),
            name: ClientName::parse("Ana").unwrap_or_else(|e| panic!("{e}")),
            status: crate::user::UserStatus::Active,
            password: Some(PasswordHash::new(&pw, [1; 16]).unwrap_or_else(|e| panic!("{e}"))),
            profile: Profile::default(),
            failed_sign_ins: failed,
            locked_until,
            created_at: NOW,
            updated_at: NOW,
        }
    }

    fn sign_in_service(
        users: MockUserRepository,
        throttle: MockSignInThrottle,
    ) -> (SignIn, Arc<CountingBlocking>) {
        let blocking = Arc::new(CountingBlocking(AtomicUsize::new(0)));
        let service = SignIn::new(
            Arc::new(users),
            Arc::new(throttle),
            blocking.clone(),
            &Counter::default(),
            LockoutPolicy::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        (service, blocking)
    }

    fn open_address(throttle: &mut MockSignInThrottle, failure_expected: bool) {
        throttle.expect_failures().returning(|_, _| Ok(0));
        throttle
            .expect_record_failure()
            .withf(|a, _, w| a == ADDRESS && *w == 900)
            .times(usize::from(failure_expected))
            .returning(|_, _, _| Ok(1));
    }

    #[tokio::test]
    async fn the_failure_that_reaches_the_limit_locks_the_user() {
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_logon()
            .returning(|_| Ok(Some(user(4, None))));
        users
            .expect_record_failed_sign_in()
            .times(1)
            .returning(|_| Ok(5));
        users
            .expect_set_sign_in_lock()
            .withf(|_, until| *until == Some(NOW.plus_secs(900)))
            .times(1)
            .returning(|_, _| Ok(()));
        let mut throttle = MockSignInThrottle::new();
        open_address(&mut throttle, true);
        let (service, blocking) = sign_in_service(users, throttle);
        assert_eq!(
            service.sign_in("ana", "wrong password", ADDRESS, NOW).await,
            Err(SignInError::InvalidCredentials)
        );
        assert_eq!(
            blocking.0.load(Ordering::SeqCst),
            1,
            "argon2 ran off-thread"
        );
    }

    #[tokio::test]
    async fn a_locked_user_is_refused_without_looking_at_the_password() {
        let until = NOW.plus_secs(60);
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_logon()
            .returning(move |_| Ok(Some(user(0, Some(until)))));
        // No expectation for record_failed_sign_in: a call would fail the test.
        let mut throttle = MockSignInThrottle::new();
        open_address(&mut throttle, true);
        let (service, blocking) = sign_in_service(users, throttle);
        assert_eq!(
            service.sign_in("ana", "correct horse", ADDRESS, NOW).await,
            Err(SignInError::Locked { until: Some(until) })
        );
        assert_eq!(blocking.0.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn an_unknown_logon_costs_a_password_check_and_counts_against_the_address() {
        let mut users = MockUserRepository::new();
        users.expect_find_by_logon().returning(|_| Ok(None));
        let mut throttle = MockSignInThrottle::new();
        open_address(&mut throttle, true);
        let (service, blocking) = sign_in_service(users, throttle);
        assert_eq!(
            service
                .sign_in("nobody", "some password", ADDRESS, NOW)
                .await,
            Err(SignInError::InvalidCredentials)
        );
        assert_eq!(
            blocking.0.load(Ordering::SeqCst),
            1,
            "the decoy hash was checked"
        );
    }

    #[tokio::test]
    async fn a_throttled_address_is_refused_before_any_lookup() {
        let users = MockUserRepository::new();
        let mut throttle = MockSignInThrottle::new();
        throttle.expect_failures().returning(|_, _| Ok(20));
        let (service, _) = sign_in_service(users, throttle);
        assert_eq!(
            service.sign_in("ana", "correct horse", ADDRESS, NOW).await,
            Err(SignInError::Throttled { retry_after: 900 })
        );
    }

    #[tokio::test]
    async fn success_forgets_earlier_failures_and_store_trouble_is_unavailable() {
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_logon()
            .returning(|_| Ok(Some(user(3, None))));
        users
            .expect_set_sign_in_lock()
            .withf(|_, until| until.is_none())
            .times(1)
            .returning(|_, _| Ok(()));
        let mut throttle = MockSignInThrottle::new();
        open_address(&mut throttle, false);
        let (service, _) = sign_in_service(users, throttle);
        let signed_in = service.sign_in("ana", "correct horse", ADDRESS, NOW).await;
        assert_eq!(signed_in.map(|u| u.logon.to_string()), Ok("ana".to_owned()));

        let mut users = MockUserRepository::new();
        users
            .expect_find_by_logon()
            .returning(|_| Err(StoreError::Unavailable("down".into())));
        let mut throttle = MockSignInThrottle::new();
        throttle.expect_failures().returning(|_, _| Ok(0));
        let (service, _) = sign_in_service(users, throttle);
        assert_eq!(
            service.sign_in("ana", "correct horse", ADDRESS, NOW).await,
            Err(SignInError::Unavailable)
        );
    }
}

#[tokio::test]
async fn rates_and_failed_authentications_are_limited_before_secrets_are_checked() {
    use crate::ports::{MockRateLimiter, RateKind};
    let request = |secret: &PlainSecret| TokenRequest {
        gateway_token: None,
        resources: Vec::new(),
        certificate: None,
        source: Some("203.0.113.9".into()),
        profile: ApiProfile::default(),
        auth: basic("svc", secret),
        grant: cc(None),
    };
    let clients = || Arc::new(Fixed(vec![Client::new(spec("svc")).unwrap()]));

    // The address is over its rate: refused before anything else.
    let mut limiter = MockRateLimiter::new();
    limiter
        .expect_admit()
        .withf(|k, a| *k == RateKind::Address && a == "203.0.113.9")
        .returning(|_, _| Some(3));
    let (signer, _) = recording_signer();
    let svc = service_limited(
        clients(),
        signer,
        Arc::new(CountingBlocking::default()),
        limiter,
    );
    assert_eq!(
        svc.issue(request(&secret("svc")), NOW).await.map(|_| ()),
        Err(TokenError::TooManyRequests(3))
    );

    // The client id is backed off after failed authentications: the secret is not even checked.
    let mut limiter = MockRateLimiter::new();
    limiter.expect_admit().returning(|_, _| None);
    limiter
        .expect_backed_off()
        .returning(|k, _| (k == RateKind::Client).then_some(42));
    let (signer, _) = recording_signer();
    let svc = service_limited(
        clients(),
        signer,
        Arc::new(CountingBlocking::default()),
        limiter,
    );
    assert_eq!(
        svc.issue(request(&secret("svc")), NOW).await.map(|_| ()),
        Err(TokenError::TooManyRequests(42))
    );

    // A wrong secret counts against both the client id and the address.
    let failures = Arc::new(Mutex::new(Vec::new()));
    let seen = failures.clone();
    let mut limiter = MockRateLimiter::new();
    limiter.expect_admit().returning(|_, _| None);
    limiter.expect_backed_off().returning(|_, _| None);
    limiter
        .expect_record_failure()
        .returning(move |k, key| seen.lock().unwrap().push((k, key.to_owned())));
    let (signer, _) = recording_signer();
    let svc = service_limited(
        clients(),
        signer,
        Arc::new(CountingBlocking::default()),
        limiter,
    );
    assert_eq!(
        svc.issue(request(&secret("other")), NOW).await.map(|_| ()),
        Err(TokenError::InvalidClient)
    );
    let mut recorded = failures.lock().unwrap().clone();
    recorded.sort_by_key(|(k, _)| *k == RateKind::Client);
    assert_eq!(
        recorded,
        vec![
            (RateKind::Address, "203.0.113.9".to_owned()),
            (RateKind::Client, "svc".to_owned())
        ]
    );

    // Authenticated, but the client is over its own rate.
    let mut limiter = MockRateLimiter::new();
    limiter
        .expect_admit()
        .returning(|k, _| (k == RateKind::Client).then_some(1));
    limiter.expect_backed_off().returning(|_, _| None);
    let (signer, _) = recording_signer();
    let svc = service_limited(
        clients(),
        signer,
        Arc::new(CountingBlocking::default()),
        limiter,
    );
    assert_eq!(
        svc.issue(request(&secret("svc")), NOW).await.map(|_| ()),
        Err(TokenError::TooManyRequests(1))
    );
}

/// A service whose refresh-token store is `refresh`; everything else as in [`service`].
fn service_with_refresh(
    repo: Arc<dyn ClientRepository>,
    refresh: MockRefreshTokenStore,
) -> TokenService {
    let (signer, _) = recording_signer();
    TokenService::new(
        TokenPorts {
            clients: Arc::new(ClientCache::new(repo)),
            signer: Arc::new(signer),
            random: Arc::new(Counter::default()),
            blocking: Arc::new(InlineWork),
            refresh: Arc::new(refresh),
            opaque: Arc::new(MockOpaqueTokenStore::new()),
            revoked: Arc::new(MockRevocationList::new()),
            users: Arc::new(MockUserRepository::new()),
            params: Arc::new(MockParamStore::new()),
            codes: Arc::new(crate::ports::MockAuthorizationCodeStore::new()),
            limiter: Arc::new(open_limiter()),
            audit: Arc::new(crate::audit::NoAudit),
        },
        pepper(),
        policy(),
    )
}

/// Runs blocking work inline.
struct InlineWork;

#[async_trait]
impl BlockingWork for InlineWork {
    async fn run(&self, job: Box<dyn FnOnce() -> bool + Send + 'static>) -> bool {
        job()
    }
}

#[tokio::test]
async fn client_credentials_starts_a_refresh_family_only_for_a_client_that_opted_in() {
    // RFC 6749 §4.4.3: a refresh token SHOULD NOT be included — even for a client that may use
    // the refresh_token grant elsewhere — unless the client opted in.
    let with_grant = |id: &str, opted_in: bool| {
        let mut s = spec(id);
        s.grant_types = [GrantType::ClientCredentials, GrantType::RefreshToken].into();
        s.options.refresh_with_client_credentials = opted_in;
        Client::new(s).unwrap()
    };
    let repo = Arc::new(Fixed(vec![
        with_grant("plain", false),
        with_grant("eagle", true),
    ]));
    let mut refresh = MockRefreshTokenStore::new();
    refresh
        .expect_create_family()
        .withf(|family, _| family.client_id.as_str() == "eagle")
        .times(1)
        .returning(|_, _| Ok(()));
    let tokens = service_with_refresh(repo, refresh);
    let issue = |id: &'static str| TokenRequest {
        gateway_token: None,
        resources: Vec::new(),
        auth: basic(id, &secret(id)),
        grant: cc(None),
        profile: ApiProfile::default(),
        certificate: None,
        source: None,
    };
    let plain = tokens.issue(issue("plain"), NOW).await.unwrap();
    assert!(
        plain.refresh_token.is_none(),
        "not opted in: no refresh token"
    );
    let eagle = tokens.issue(issue("eagle"), NOW).await.unwrap();
    assert!(eagle.refresh_token.is_some(), "opted in");
}

#[tokio::test]
async fn another_clients_refresh_token_is_refused_and_its_family_stays() {
    use crate::issued::{REFRESH_PREFIX, ReferenceToken, RefreshFamily, RefreshTokenRecord};
    let repo = Arc::new(Fixed(vec![
        Client::new(spec("owner")).unwrap(),
        Client::new(spec("stranger")).unwrap(),
    ]));
    let token = ReferenceToken::generate(REFRESH_PREFIX, [9; 32]);
    let hash = token.hash();
    let mut refresh = MockRefreshTokenStore::new();
    refresh.expect_find().returning(move |_| {
        Ok(Some((
            RefreshTokenRecord {
                hash,
                family_id: "fam".into(),
                issued_at: NOW,
                rotated_at: None,
                successor: None,
            },
            RefreshFamily {
                id: "fam".into(),
                client_id: ClientId::parse("owner").unwrap(),
                subject: "owner".into(),
                scope: ScopeSet::parse("read").unwrap(),
                created_at: NOW,
                expires_at: NOW.plus_secs(3_600),
                revoked_at: None,
                user: None,
                resources: Vec::new(),
            },
        )))
    });
    refresh
        .expect_revoke_family()
        .withf(|family, _| family == "fam")
        .times(1)
        .returning(|_, _| Ok(()));
    let tokens = service_with_refresh(repo, refresh);
    // RFC 7009 §2.1: the stranger is refused, and nothing is revoked (times(1) is the owner's).
    let refused = tokens
        .revoke(
            basic("stranger", &secret("stranger")),
            None,
            token.expose(),
            NOW,
        )
        .await;
    assert_eq!(refused, Err(TokenError::UnauthorizedClient));
    // The owner may.
    tokens
        .revoke(basic("owner", &secret("owner")), None, token.expose(), NOW)
        .await
        .unwrap();
}
