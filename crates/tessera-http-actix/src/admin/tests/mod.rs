//! The admin API through actix's test server, over the domain with in-memory fakes: the world
//! the tests share, and the check that its OpenAPI document and its routes are the same set
//! (`answers.rs`: real answers against the documented schemas).

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use actix_web::App;
use actix_web::http::StatusCode;
use actix_web::test::{TestRequest, call_service, init_service, read_body};
use actix_web::web::Data;
use serde_json::{Value, json};
use tessera_domain::cache::ClientCache;
use tessera_domain::keys::{KeyId, PrivateKeyDer};
use tessera_domain::ports::{ClientRepository, KeyGenerator, SignError};
use tessera_domain::service::{
    ApiProfile, Backchannel, ClientAdmin, ClientAuthentication, GrantRequest, KeyService,
    TokenRequest, UserAdmin,
};
use tessera_domain::{
    AccessTokenFormat, ClientAuthMethod, Role, RoleSet, ScopeSet, SigningAlgorithm, UnixTime,
};
use tessera_testkit::fakes::{
    CountingRandom, FixedClock, InMemoryAudit, InMemoryAuthz, InMemoryClients, InMemoryKeys,
    InMemoryUsers, StubSigner,
};
use tessera_testkit::fixtures::{client, client_spec, pepper, secret_of};

use super::{AdminState, configure, endpoints};
use crate::openapi::actix_method;
use crate::openapi::check::operations;
use crate::server::tests::{ports, token_service};

mod answers;

/// Keys that are only labels (the stub signer installs anything).
#[derive(Default)]
struct Labels(Mutex<u32>);

impl KeyGenerator for Labels {
    fn generate(&self, _: SigningAlgorithm) -> Result<(KeyId, PrivateKeyDer), SignError> {
        let mut n = self.0.lock().unwrap();
        *n += 1;
        Ok((
            KeyId::parse(&format!("k{n}")).unwrap(),
            PrivateKeyDer::new(vec![1]),
        ))
    }
}

/// An admin client with opaque tokens (the stub signer's JWTs do not verify).
fn admin_client(id: &str, scope: &str) -> tessera_domain::Client {
    let mut spec = client_spec(id);
    spec.roles = RoleSet::from_roles([Role::parse("ROLE_TESSERA-ADMIN").unwrap()]);
    spec.allowed_scopes = ScopeSet::parse(scope).unwrap();
    spec.default_scopes = ScopeSet::parse(scope).unwrap();
    spec.access_token_format = AccessTokenFormat::Opaque;
    tessera_domain::Client::new(spec).unwrap()
}

pub(super) struct World {
    pub(super) state: Data<AdminState>,
    pub(super) ops: String,
    pub(super) reader: String,
    pub(super) stranger: String,
}

pub(super) async fn world() -> World {
    let repo = Arc::new(InMemoryClients::default());
    repo.insert(&admin_client("ops", "tessera:admin"))
        .await
        .unwrap();
    repo.insert(&admin_client("reader", "tessera:admin.read"))
        .await
        .unwrap();
    let mut svc = client_spec("svc");
    svc.access_token_format = AccessTokenFormat::Opaque;
    repo.insert(&tessera_domain::Client::new(svc).unwrap())
        .await
        .unwrap();
    repo.insert(&client("other")).await.unwrap();
    let cache = Arc::new(ClientCache::new(repo.clone()));
    let signer = Arc::new(StubSigner::default());
    let tokens = Arc::new(token_service(ports(cache.clone(), signer.clone())));
    let clock = Arc::new(FixedClock::at(1_800_000_000));
    let mut issued = Vec::new();
    for id in ["ops", "reader", "svc"] {
        let request = TokenRequest {
            auth: ClientAuthentication::from_raw(
                ClientAuthMethod::ClientSecretBasic,
                id,
                Some(secret_of(id).expose()),
            )
            .unwrap(),
            grant: GrantRequest::parse(Some("client_credentials"), None, None).unwrap(),
            profile: ApiProfile::default(),
            certificate: None,
            source: None,
            gateway_token: None,
            resources: Vec::new(),
        };
        let t = tokens
            .issue(request, UnixTime::from_secs(1_800_000_000))
            .await
            .unwrap();
        issued.push(t.access_token.expose().to_owned());
    }
    let trail = Arc::new(InMemoryAudit::default());
    let random = Arc::new(CountingRandom::default());
    let backchannel = Arc::new(Backchannel::new(
        cache.clone(),
        Arc::new(tessera_testkit::outbox::InMemoryOutbox::default()),
        random.clone(),
        3600,
    ));
    let state = Data::new(AdminState {
        tokens,
        clients: Arc::new(
            ClientAdmin::new(repo as Arc<dyn ClientRepository>, random.clone(), pepper())
                .with_audit(trail.clone()),
        ),
        cache,
        keys: Arc::new(KeyService::new(
            Arc::new(InMemoryKeys::default()),
            Arc::new(Labels::default()),
            signer,
        )),
        users: Arc::new(
            UserAdmin::new(Arc::new(InMemoryUsers::default()), random)
                .with_sessions(Arc::new(InMemoryAuthz::default()), backchannel)
                .with_audit(trail.clone()),
        ),
        initial_tokens: Arc::new(tessera_domain::service::InitialTokens::new(
            Arc::new(tessera_testkit::fakes::InMemoryRegistrations::default()),
            Arc::new(CountingRandom::default()),
        )),
        audit: trail,
        clock,
    });
    let [ops, reader, stranger] = issued.try_into().unwrap();
    World {
        state,
        ops,
        reader,
        stranger,
    }
}

pub(super) async fn served_document(w: &World) -> Value {
    let app = init_service(App::new().configure(configure(w.state.clone()))).await;
    let res = call_service(
        &app,
        TestRequest::get()
            .uri("/admin/v1/openapi.json")
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    serde_json::from_slice(&read_body(res).await).unwrap()
}

/// The check CI runs: the document and the routes are the same set, every operation is tagged
/// `Admin`, names its scope, and is answered by its handler (a 401 without a token, whatever the
/// body), not by the 404 or 405 of an unrouted path.
#[actix_web::test]
async fn every_admin_route_is_documented_and_every_documented_operation_is_routed() {
    let w = world().await;
    let doc = served_document(&w).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."));
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p, _)| (m.to_uppercase(), p))
        .collect();
    let routed: BTreeSet<(String, String)> = endpoints()
        .iter()
        .flat_map(|e| {
            e.ops.iter().flat_map(|op| {
                op.methods
                    .iter()
                    .map(|m| (actix_method(m).to_string(), e.path.clone()))
            })
        })
        .collect();
    assert_eq!(documented, routed);
    // Clients 6, users 9, keys 3, initial access tokens 3, audit 1, the document 1.
    assert_eq!(documented.len(), 23);
    let mut ids = BTreeSet::new();
    for (method, path, op) in operations(&doc) {
        assert!(ids.insert(op["operationId"].as_str().unwrap().to_owned()));
        assert_eq!(op["tags"], json!(["Admin"]), "{method} {path}");
        assert!(op["summary"].is_string(), "{method} {path}");
        if path != "/admin/v1/openapi.json" {
            let scope = &op["security"][0]["bearer"][0];
            assert!(
                scope == "tessera:admin" || scope == "tessera:admin.read",
                "{method} {path}: {scope}"
            );
            assert!(op["responses"]["401"].is_object(), "{method} {path}");
        }
    }
    let text = doc.to_string();
    for r in text.split("\"$ref\":\"").skip(1) {
        let name = r[..r.find('"').unwrap()]
            .strip_prefix("#/components/schemas/")
            .unwrap();
        assert!(doc["components"]["schemas"][name].is_object(), "{name}");
    }
    let app = init_service(App::new().configure(configure(w.state.clone()))).await;
    for (method, path) in &documented {
        let uri = path.replace("{id}", "x").replace("{kid}", "x");
        let req = TestRequest::default()
            .method(method.parse().unwrap())
            .uri(&uri)
            .to_request();
        let status = call_service(&app, req).await.status();
        // Without a token the handler refuses (401) before it reads any body.
        let answered = if path.ends_with("openapi.json") {
            status == StatusCode::OK
        } else {
            status == StatusCode::UNAUTHORIZED
        };
        assert!(
            answered,
            "{method} {path} is not routed to its handler: {status}"
        );
    }
    let wrong = call_service(
        &app,
        TestRequest::put().uri("/admin/v1/clients").to_request(),
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::METHOD_NOT_ALLOWED);
}
