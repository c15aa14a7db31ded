//! The world the server tests and the fuzz targets run in: the HTTP state over the domain with
//! in-memory fakes, every dialect on at its seed's path, registration open.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use actix_web::web::Data;
use tessera_domain::cache::ClientCache;
use tessera_domain::policy::{Issuer, TokenPolicy};
use tessera_domain::ports::ClientRepository;
use tessera_domain::service::{TokenPorts, TokenService};
use tessera_domain::{Audience, Client, SigningAlgorithm, TokenTtl};
use tessera_testkit::fakes::{
    CountingRandom, FixedClock, InMemoryClients, InMemoryTokens, InlineBlocking, StubSigner,
};
use tessera_testkit::fixtures::{client, pepper};

use crate::server::{AuthMeRoute, DialectRoute, Dialects, HttpState, SemearRoute};

pub(super) struct World {
    pub(super) state: Data<HttpState>,
    pub(super) signer: Arc<StubSigner>,
}

pub(super) async fn world_with(repo: Arc<dyn ClientRepository>) -> World {
    world_with_dialects(repo, Dialects::default())
}

/// Every dialect on at its seed's path, over one client `svc` (for the fuzz targets).
pub(crate) async fn fuzz_state() -> Data<HttpState> {
    state_with_dialects(all_dialects()).await
}

/// [`fuzz_state`] with other dialects.
pub(crate) async fn state_with_dialects(dialects: Dialects) -> Data<HttpState> {
    let repo = InMemoryClients::default();
    repo.insert(&client("svc")).await.unwrap();
    world_with_dialects(Arc::new(repo), dialects).state
}

/// Every dialect at its seed's path.
pub(crate) fn all_dialects() -> Dialects {
    let route = |path: &str| {
        Some(DialectRoute {
            path: path.into(),
            default_ttl: None,
        })
    };
    Dialects {
        serproid: route("/oauth/v0/oauth/client_token"),
        screening_eagle: route("/api/id/v1/auth/token"),
        authme: Some(AuthMeRoute {
            prefix: "/security/iam/v1".into(),
            policy: tessera_domain::first_party::FirstPartyPolicy::new(
                tessera_domain::assurance::RoleRequirement::parse(
                    "ROLE_CLI-1STPARTY+ROLE_CLI-AUTH-BASIC",
                )
                .unwrap(),
                None,
                TokenTtl::from_secs(600).unwrap(),
                60,
            )
            .unwrap(),
        }),
        semear: Some(SemearRoute {
            path: "/oauth-apipix/oauth/token".into(),
            trust_cert_header: true,
            default_ttl: None,
            algorithm: SigningAlgorithm::Rs256,
        }),
    }
}

/// Registration open to anyone, over `repo`.
pub(crate) fn registration(
    repo: Arc<dyn ClientRepository>,
) -> Arc<tessera_domain::service::DynamicRegistration> {
    Arc::new(tessera_domain::service::DynamicRegistration::new(
        tessera_domain::service::ClientAdmin::new(
            repo,
            Arc::new(CountingRandom::default()),
            pepper(),
        ),
        Arc::new(tessera_testkit::fakes::InMemoryRegistrations::default()),
        Arc::new(CountingRandom::default()),
        Arc::new(tessera_testkit::fakes::Unlimited),
        tessera_domain::service::RegistrationPolicy {
            mode: tessera_domain::service::RegistrationMode::Open,
            ..tessera_domain::service::RegistrationPolicy::default()
        },
    ))
}

fn world_with_dialects(repo: Arc<dyn ClientRepository>, dialects: Dialects) -> World {
    let signer = Arc::new(StubSigner::default());
    let issuer = Issuer::parse("https://id.example").unwrap();
    let cache = Arc::new(ClientCache::new(repo.clone()));
    let ports = ports(cache.clone(), signer.clone());
    let params = Arc::new(tessera_domain::service::ParamService::new(
        ports.users.clone(),
        ports.params.clone(),
        ports.random.clone(),
    ));
    let tokens = token_service(ports);
    let state = Data::new(HttpState {
        tokens: Arc::new(tokens),
        params,
        signer: signer.clone(),
        clock: Arc::new(FixedClock::at(1_800_000_000)),
        issuer: issuer.clone(),
        jwks_max_age: 300,
        algorithms: SigningAlgorithm::ALL.to_vec(),
        dialects,
        mtls_listener: false,
        client_cert_trust: crate::tls::ClientCertTrust::default(),
        trusted_proxies: Vec::new(),
        authorize: authorize_service(cache, signer.clone()),
        metadata_documents: false,
        registration: registration(repo),
    });
    World { state, signer }
}

/// The token service of these tests over `ports` (issuer `https://id.example`).
pub(crate) fn token_service(ports: TokenPorts) -> TokenService {
    TokenService::new(
        ports,
        pepper(),
        TokenPolicy {
            issuer: Issuer::parse("https://id.example").unwrap(),
            default_audience: Audience::parse("https://id.example").unwrap(),
            default_ttl: TokenTtl::from_secs(600).unwrap(),
            default_alg: SigningAlgorithm::Es256,
            refresh_ttl_secs: 86_400,
            refresh_grace_secs: 5,
            introspection_role: tessera_domain::Role::parse("ROLE_CLI-INTROSPECT").unwrap(),
            id_token_alg: SigningAlgorithm::Rs256,
        },
    )
}

pub(super) fn authorize_service(
    clients: Arc<ClientCache>,
    signer: Arc<StubSigner>,
) -> Arc<tessera_domain::service::AuthorizeService> {
    let users = Arc::new(tessera_testkit::fakes::InMemoryUsers::default());
    let authz = Arc::new(tessera_testkit::fakes::InMemoryAuthz::default());
    let sign_in = tessera_domain::service::SignIn::new(
        users.clone(),
        Arc::new(tessera_testkit::fakes::InMemoryThrottle::default()),
        Arc::new(InlineBlocking),
        &CountingRandom::default(),
        tessera_domain::user::LockoutPolicy::default(),
    )
    .unwrap();
    let backchannel = Arc::new(tessera_domain::service::Backchannel::new(
        clients.clone(),
        Arc::new(tessera_testkit::outbox::InMemoryOutbox::default()),
        Arc::new(CountingRandom::default()),
        3600,
    ));
    Arc::new(tessera_domain::service::AuthorizeService::new(
        tessera_domain::service::AuthorizePorts {
            backchannel,
            clients,
            codes: authz.clone(),
            sessions: authz.clone(),
            consents: authz,
            users,
            random: Arc::new(CountingRandom::default()),
            signer,
            issuer: Issuer::parse("https://id.example").unwrap(),
        },
        sign_in,
        tessera_domain::service::AuthorizePolicy::default(),
    ))
}

pub(crate) fn ports(clients: Arc<ClientCache>, signer: Arc<StubSigner>) -> TokenPorts {
    let tokens = Arc::new(InMemoryTokens::default());
    TokenPorts {
        clients,
        signer,
        random: Arc::new(CountingRandom::default()),
        blocking: Arc::new(InlineBlocking),
        refresh: tokens.clone(),
        opaque: tokens.clone(),
        revoked: tokens,
        users: Arc::new(tessera_testkit::fakes::InMemoryUsers::default()),
        params: Arc::new(tessera_testkit::fakes::InMemoryParams::default()),
        codes: Arc::new(tessera_testkit::fakes::InMemoryAuthz::default()),
        limiter: Arc::new(tessera_testkit::fakes::Unlimited),
        audit: Arc::new(tessera_domain::audit::NoAudit),
    }
}

pub(super) async fn world(clients: &[Client]) -> World {
    let repo = InMemoryClients::default();
    for c in clients {
        repo.insert(c).await.unwrap();
    }
    world_with(Arc::new(repo)).await
}
