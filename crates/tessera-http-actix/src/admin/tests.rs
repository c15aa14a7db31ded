//! The admin API through actix's test server, over the domain with in-memory fakes: its
//! OpenAPI document and its routes are the same set, and real answers (successes and errors)
//! match the schemas documented for their status and content type.

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
use crate::openapi::check::{mismatch, operations};
use crate::server::tests::{ports, token_service};

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

struct World {
    state: Data<AdminState>,
    ops: String,
    reader: String,
    stranger: String,
}

async fn world() -> World {
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

async fn served_document(w: &World) -> Value {
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
/// `Admin`, names its scope, and is answered by its handler (a 401 without a token), not by
/// the 404 or 405 of an unrouted path.
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
        // Without a token the handler refuses (401), or its body extractor does first (400).
        let answered = if path.ends_with("openapi.json") {
            status == StatusCode::OK
        } else {
            matches!(status, StatusCode::UNAUTHORIZED | StatusCode::BAD_REQUEST)
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

/// One call and its answer, checked against the document: the status is documented for the
/// operation, and a JSON body (`application/json` or `application/problem+json`) matches the
/// schema documented for that status and content type.
async fn checked(
    w: &World,
    doc: &Value,
    method: &str,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (StatusCode, actix_web::http::header::HeaderMap, Value) {
    let app = init_service(App::new().configure(configure(w.state.clone()))).await;
    let mut req = TestRequest::default()
        .method(method.parse().unwrap())
        .uri(path);
    if let Some(t) = token {
        req = req.insert_header(("authorization", format!("Bearer {t}")));
    }
    for h in headers {
        req = req.insert_header(*h);
    }
    if let Some(b) = body {
        req = req
            .insert_header(("content-type", "application/json"))
            .set_payload(b.to_string());
    }
    let res = call_service(&app, req.to_request()).await;
    let status = res.status();
    let response_headers = res.headers().clone();
    let content_type = response_headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = read_body(res).await;
    let template = path.split('?').next().unwrap();
    let op = operations(doc)
        .into_iter()
        .find(|(m, p, _)| {
            m == &method.to_lowercase() && {
                let (a, b): (Vec<&str>, Vec<&str>) =
                    (p.split('/').collect(), template.split('/').collect());
                a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| x == y || x.starts_with('{'))
            }
        })
        .unwrap_or_else(|| panic!("{method} {path} is not documented"))
        .2;
    let documented = &op["responses"][status.as_str()];
    assert!(
        documented.is_object(),
        "{method} {path}: {status} is not documented: {}",
        String::from_utf8_lossy(&bytes)
    );
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        let ct = content_type.unwrap_or_else(|| panic!("{method} {path}: a body without a type"));
        let ct = ct.split(';').next().unwrap().trim();
        let schema = &documented["content"][ct]["schema"];
        assert!(
            schema.is_object(),
            "{method} {path}: {status} {ct} is not documented"
        );
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        if let Some(m) = mismatch(doc, schema, &value, "body") {
            panic!("{method} {path} {status}: {m}");
        }
        value
    };
    (status, response_headers, value)
}

/// The current `ETag` of `new-app`.
async fn changed_etag(w: &World, doc: &Value, reader: Option<&str>) -> String {
    let (_, headers, _) = checked(
        w,
        doc,
        "GET",
        "/admin/v1/clients/new-app",
        reader,
        &[],
        None,
    )
    .await;
    headers.get("etag").unwrap().to_str().unwrap().to_owned()
}

/// Real answers of every admin operation, successes and errors, match the schema documented for
/// their status.
#[actix_web::test]
async fn real_admin_answers_match_their_documented_schemas() {
    let w = world().await;
    let doc = served_document(&w).await;
    let (ops, reader) = (Some(w.ops.as_str()), Some(w.reader.as_str()));
    macro_rules! call {
        ($method:expr, $path:expr, $token:expr) => {
            checked(&w, &doc, $method, $path, $token, &[], None).await
        };
        ($method:expr, $path:expr, $token:expr, $body:expr) => {
            checked(&w, &doc, $method, $path, $token, &[], Some($body)).await
        };
    }
    // Refusals.
    assert_eq!(
        call!("GET", "/admin/v1/clients", None).0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call!("GET", "/admin/v1/clients", Some(w.stranger.as_str())).0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call!(
            "POST",
            "/admin/v1/clients",
            reader,
            json!({"client_name": "x"})
        )
        .0,
        StatusCode::FORBIDDEN
    );
    // Clients.
    let (status, _, created) = call!(
        "POST",
        "/admin/v1/clients",
        ops,
        json!({"client_id": "new-app", "client_name": "New", "scope": "read write",
               "token_endpoint_auth_methods": ["client_secret_basic"],
               "grant_types": ["client_credentials"]})
    );
    assert_eq!(status, StatusCode::CREATED);
    assert!(created["client_secret"].is_string());
    assert_eq!(
        call!(
            "POST",
            "/admin/v1/clients",
            ops,
            json!({"client_id": "new-app", "client_name": "N"})
        )
        .0,
        StatusCode::CONFLICT
    );
    assert_eq!(
        call!(
            "POST",
            "/admin/v1/clients",
            ops,
            json!({"client_name": "N", "colour": "red"})
        )
        .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        call!("GET", "/admin/v1/clients?enabled=maybe", reader).0,
        StatusCode::BAD_REQUEST
    );
    let (_, _, page) = call!("GET", "/admin/v1/clients?limit=2", reader);
    assert_eq!(page["clients"].as_array().unwrap().len(), 2);
    assert!(page["next"].is_string());
    let (_, headers, _) = call!("GET", "/admin/v1/clients/new-app", reader);
    let etag = headers.get("etag").unwrap().to_str().unwrap().to_owned();
    assert_eq!(
        call!("GET", "/admin/v1/clients/ghost", reader).0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call!(
            "PATCH",
            "/admin/v1/clients/new-app",
            ops,
            json!({"client_name": "Newer"})
        )
        .0,
        StatusCode::PRECONDITION_REQUIRED
    );
    let patch = |tag: &str, body: Value| {
        let tag = tag.to_owned();
        let (w, doc) = (&w, &doc);
        async move {
            checked(
                w,
                doc,
                "PATCH",
                "/admin/v1/clients/new-app",
                ops,
                &[("if-match", &tag)],
                Some(body),
            )
            .await
        }
    };
    let (status, _, changed) = patch(
        &etag,
        json!({"client_name": "Newer", "access_token_ttl": 300}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(changed["access_token_ttl"], 300);
    // Everything a registration holds can change: logout, ID tokens, certificates, assurance.
    let thumbprint = "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU";
    let (status, headers, changed) = patch(
        changed_etag(&w, &doc, reader).await.as_str(),
        json!({"backchannel_logout_uri": "https://rp.example/bc",
               "id_token_signed_response_alg": "ES256",
               "cert_thumbprints": [thumbprint],
               "tls_client_auth_subject_dn": "CN=app,O=Example",
               "max_assurance": "AUTH_MFA"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(changed["backchannel_logout_uri"], "https://rp.example/bc");
    assert_eq!(changed["id_token_signed_response_alg"], "ES256");
    assert_eq!(changed["cert_thumbprints"], json!([thumbprint]));
    assert_eq!(changed["tls_client_auth_subject_dn"], "CN=app,O=Example");
    assert_eq!(changed["max_assurance"], "AUTH_MFA");
    let etag = headers.get("etag").unwrap().to_str().unwrap().to_owned();
    let (status, _, reset) = patch(
        &etag,
        json!({"backchannel_logout_uri": null, "max_assurance": null, "tls_client_auth_subject_dn": null}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(reset["backchannel_logout_uri"], Value::Null);
    assert_eq!(reset["max_assurance"], Value::Null);
    assert_eq!(
        patch(&etag, json!({"client_name": "Lost"})).await.0,
        StatusCode::PRECONDITION_FAILED
    );
    let (_, _, rotated) = call!(
        "POST",
        "/admin/v1/clients/new-app/secret",
        ops,
        json!({"grace_seconds": 60})
    );
    assert!(rotated["client_secret"].is_string());
    assert_eq!(
        call!(
            "POST",
            "/admin/v1/clients/new-app/secret",
            ops,
            json!({"grace_seconds": 99_999_999})
        )
        .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        call!("DELETE", "/admin/v1/clients/new-app", ops).0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call!("DELETE", "/admin/v1/clients/new-app", ops).0,
        StatusCode::NOT_FOUND
    );
    // Users.
    let (status, headers, user) = call!(
        "POST",
        "/admin/v1/users",
        ops,
        json!({"logon": "ana", "email": "ana@example.com", "name": "Ana", "password": "long enough 1",
               "phone_number": "+55 81 5555-0000", "address": {"country": "BR"}})
    );
    assert_eq!(status, StatusCode::CREATED);
    let id = user["id"].as_str().unwrap().to_owned();
    let path = format!("/admin/v1/users/{id}");
    let etag = headers.get("etag").unwrap().to_str().unwrap().to_owned();
    assert_eq!(
        call!(
            "POST",
            "/admin/v1/users",
            ops,
            json!({"logon": "ana", "email": "b@example.com", "name": "B"})
        )
        .0,
        StatusCode::CONFLICT
    );
    assert_eq!(
        call!(
            "POST",
            "/admin/v1/users",
            ops,
            json!({"logon": "b", "name": "B"})
        )
        .0,
        StatusCode::BAD_REQUEST
    );
    let (_, _, users) = call!("GET", "/admin/v1/users?status=active", reader);
    assert_eq!(users["users"].as_array().unwrap().len(), 1);
    assert_eq!(call!("GET", &path, reader).0, StatusCode::OK);
    assert_eq!(
        call!("GET", "/admin/v1/users/usr_x", reader).0,
        StatusCode::NOT_FOUND
    );
    let (status, _, _) = checked(
        &w,
        &doc,
        "PATCH",
        &path,
        ops,
        &[("if-match", &etag)],
        Some(json!({"family_name": "Souza", "address": null})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = checked(
        &w,
        &doc,
        "PATCH",
        &path,
        ops,
        &[("if-match", &etag)],
        Some(json!({"family_name": "Lost"})),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(
        call!("PATCH", &path, ops, json!({"name": "x"})).0,
        StatusCode::PRECONDITION_REQUIRED
    );
    assert_eq!(
        call!(
            "PUT",
            &format!("{path}/password"),
            ops,
            json!({"password": "a new long one"})
        )
        .0,
        StatusCode::OK
    );
    assert_eq!(
        call!(
            "PUT",
            &format!("{path}/password"),
            ops,
            json!({"password": "short"})
        )
        .0,
        StatusCode::BAD_REQUEST
    );
    for (action, status) in [
        ("lock", "locked"),
        ("unlock", "active"),
        ("disable", "disabled"),
    ] {
        let (code, _, u) = call!("POST", &format!("{path}/{action}"), ops);
        assert_eq!((code, u["status"].as_str()), (StatusCode::OK, Some(status)));
    }
    let (_, _, ended) = call!("POST", &format!("{path}/sign-out"), ops);
    assert_eq!(ended["sessions_ended"], 0);
    assert_eq!(
        call!("POST", "/admin/v1/users/usr_x/sign-out", ops).0,
        StatusCode::NOT_FOUND
    );
    // Keys.
    let (status, _, key) = call!("POST", "/admin/v1/keys", ops, json!({"alg": "ES256"}));
    assert_eq!(status, StatusCode::CREATED);
    let (_, _, keys) = call!("GET", "/admin/v1/keys", reader);
    assert_eq!(keys["keys"][0]["kid"], key["kid"]);
    assert_eq!(
        call!("POST", "/admin/v1/keys", ops, json!({"alg": "HS256"})).0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        call!("POST", "/admin/v1/keys/nope/retire", ops).0,
        StatusCode::NOT_FOUND
    );
    // Initial access tokens.
    let (status, _, issued) = call!(
        "POST",
        "/admin/v1/registration/tokens",
        ops,
        json!({"uses": 2, "expires_in": 3600, "note": "for the RP team"})
    );
    assert_eq!(status, StatusCode::CREATED);
    assert!(issued["token"].as_str().unwrap().starts_with("tiat_"));
    let (_, _, listed) = call!("GET", "/admin/v1/registration/tokens", reader);
    assert_eq!(listed["tokens"][0]["uses_left"], 2);
    assert!(listed["tokens"][0].get("token").is_none(), "shown once");
    assert_eq!(
        call!(
            "POST",
            "/admin/v1/registration/tokens",
            ops,
            json!({"expires_in": 0})
        )
        .0,
        StatusCode::BAD_REQUEST
    );
    let path = format!(
        "/admin/v1/registration/tokens/{}",
        issued["id"].as_str().unwrap()
    );
    assert_eq!(call!("DELETE", &path, ops).0, StatusCode::NO_CONTENT);
    assert_eq!(call!("DELETE", &path, ops).0, StatusCode::NOT_FOUND);
    // The audit trail.
    let (_, _, trail) = call!("GET", "/admin/v1/audit?limit=3", reader);
    assert_eq!(trail["events"].as_array().unwrap().len(), 3);
    let (_, _, mine) = call!(
        "GET",
        &format!("/admin/v1/audit?user={id}&kind=user.created"),
        reader
    );
    assert_eq!(mine["events"].as_array().unwrap().len(), 1);
    assert_eq!(
        call!("GET", "/admin/v1/audit?kind=nope", reader).0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        call!("GET", "/admin/v1/audit?colour=red", reader).0,
        StatusCode::BAD_REQUEST
    );
}
