//! The RFC 6749 dialect and the public documents, through actix's test server, over the domain
//! with in-memory fakes.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::sync::Arc;

use actix_web::App;
use actix_web::http::{Method, StatusCode, header};
use actix_web::test::{TestRequest, call_service, init_service, read_body};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use tessera_domain::cache::ClientCache;
use tessera_domain::client::ClientSpec;
use tessera_domain::ports::{ClientRepository, MockClientRepository, SignError};
use tessera_domain::service::TokenService;
use tessera_domain::{Client, GrantType, SigningAlgorithm, StoreError};
use tessera_testkit::fakes::{FixedClock, InMemoryClients, StubSigner};
use tessera_testkit::fixtures::{client, client_spec, pepper, secret_of};

use super::*;

mod world;

use world::{World, authorize_service, registration, world, world_with};
pub(crate) use world::{all_dialects, fuzz_state, ports, state_with_dialects, token_service};

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

fn form_post(body: impl Into<Vec<u8>>) -> TestRequest {
    TestRequest::post()
        .uri("/oauth2/token")
        .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
        .set_payload(body.into())
}

/// Sends `req` and returns status, headers and JSON body.
async fn send(w: &World, req: TestRequest) -> (StatusCode, header::HeaderMap, Value) {
    let app = init_service(App::new().configure(configure(w.state.clone()))).await;
    let res = call_service(&app, req.to_request()).await;
    let status = res.status();
    let headers = res.headers().clone();
    let body = read_body(res).await;
    let json = serde_json::from_slice(&body).unwrap_or_else(|_| panic!("not JSON: {body:?}"));
    (status, headers, json)
}

/// Checks an error response: status, `error`, and the RFC 6749 §5.2 headers.
async fn check_error(w: &World, req: TestRequest, status: StatusCode, code: &str) -> Value {
    let (got, headers, body) = send(w, req).await;
    assert_eq!(
        (got, body["error"].as_str()),
        (status, Some(code)),
        "{body}"
    );
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
    assert_eq!(headers.get(header::CACHE_CONTROL).unwrap(), "no-store");
    let challenge = headers
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned());
    if code == "invalid_client" {
        assert_eq!(challenge.as_deref(), Some("Basic realm=\"tessera\""));
    } else {
        assert_eq!(challenge, None);
    }
    body
}

#[actix_web::test]
async fn basic_authentication_gets_a_token_with_the_default_scope() {
    let w = world(&[client("svc")]).await;
    let req = form_post("grant_type=client_credentials").insert_header((
        header::AUTHORIZATION,
        basic("svc", secret_of("svc").expose()),
    ));
    let (status, headers, body) = send(&w, req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers.get(header::CACHE_CONTROL).unwrap(), "no-store");
    assert_eq!(headers.get(header::PRAGMA).unwrap(), "no-cache");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 600);
    assert_eq!(body["scope"], "read");
    assert!(
        body["access_token"]
            .as_str()
            .unwrap()
            .starts_with("stub.ES256.")
    );
    let claims = w.signer.last_claims().unwrap();
    assert_eq!(
        (claims.iat.as_secs(), claims.exp.as_secs()),
        (1_800_000_000, 1_800_000_600)
    );
    assert_eq!(claims.sub, "svc");
    assert_eq!(claims.iss.as_str(), "https://id.example");
}

#[actix_web::test]
async fn post_authentication_and_a_narrower_scope() {
    let w = world(&[client("svc")]).await;
    let body = format!(
        "grant_type=client_credentials&scope=write&client_id=svc&client_secret={}",
        secret_of("svc").expose()
    );
    let (status, _, body) = send(&w, form_post(body)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "write");
}

#[actix_web::test]
async fn basic_credentials_are_form_urlencoded_before_base64() {
    let mut spec = client_spec("a:b/c");
    spec.secrets = vec![tessera_domain::secret::ClientSecret::from(
        tessera_domain::secret::SecretVerifier::hmac(
            &pepper(),
            &tessera_domain::secret::PlainSecret::parse("p%s:s+").unwrap(),
        ),
    )];
    let w = world(&[Client::new(spec).unwrap()]).await;
    let req = form_post("grant_type=client_credentials")
        .insert_header((header::AUTHORIZATION, basic("a%3Ab%2Fc", "p%25s%3As%2B")));
    let (status, _, body) = send(&w, req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[actix_web::test]
async fn authentication_failures_are_all_the_same_invalid_client() {
    let mut disabled = client_spec("off");
    disabled.enabled = false;
    let mut post_only = client_spec("post-only");
    post_only.auth_methods = [tessera_domain::ClientAuthMethod::ClientSecretPost].into();
    let w = world(&[
        client("svc"),
        Client::new(disabled).unwrap(),
        Client::new(post_only).unwrap(),
    ])
    .await;
    let cases = [
        basic("svc", "wrong"),
        basic("nobody", secret_of("nobody").expose()),
        basic("off", secret_of("off").expose()),
        basic("post-only", secret_of("post-only").expose()),
        basic("bad id", "x"),
        "Basic !!!".to_owned(),
        "Bearer abc".to_owned(),
    ];
    for auth in cases {
        let req =
            form_post("grant_type=client_credentials").insert_header((header::AUTHORIZATION, auth));
        check_error(&w, req, StatusCode::UNAUTHORIZED, "invalid_client").await;
    }
    // No authentication at all.
    check_error(
        &w,
        form_post("grant_type=client_credentials"),
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    )
    .await;
    // A confidential client presenting only its id.
    check_error(
        &w,
        form_post("grant_type=client_credentials&client_id=svc"),
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    )
    .await;
}

#[actix_web::test]
async fn malformed_requests_are_invalid_request() {
    let w = world(&[client("svc")]).await;
    let s = secret_of("svc");
    let auth = (header::AUTHORIZATION, basic("svc", s.expose()));
    let cases: Vec<(TestRequest, &str)> = vec![
        (
            form_post("scope=read").insert_header(auth.clone()),
            "missing grant_type",
        ),
        (
            form_post("grant_type=client_credentials&grant_type=client_credentials")
                .insert_header(auth.clone()),
            "repeated",
        ),
        (
            form_post("grant_type=client_credentials&scope=a&scope=b").insert_header(auth.clone()),
            "repeated",
        ),
        (
            form_post(format!(
                "grant_type=client_credentials&client_secret={}",
                s.expose()
            ))
            .insert_header(auth.clone()),
            "more than one",
        ),
        (
            form_post("grant_type=client_credentials&client_id=other").insert_header(auth.clone()),
            "differs",
        ),
        (
            form_post("grant_type=client_credentials&client_secret=x"),
            "without client_id",
        ),
        (
            form_post(b"grant_type=client_credentials&scope=\xff".to_vec())
                .insert_header(auth.clone()),
            "UTF-8",
        ),
        (
            form_post("grant_type=client_credentials&scope=%FF").insert_header(auth.clone()),
            "UTF-8",
        ),
        (
            TestRequest::post()
                .uri("/oauth2/token")
                .insert_header((header::CONTENT_TYPE, "application/json"))
                .insert_header(auth.clone())
                .set_payload(r#"{"grant_type":"client_credentials"}"#),
            "x-www-form-urlencoded",
        ),
        (
            TestRequest::post()
                .uri("/oauth2/token")
                .insert_header(auth.clone())
                .set_payload("grant_type=client_credentials"),
            "x-www-form-urlencoded",
        ),
    ];
    for (req, fragment) in cases {
        let body = check_error(&w, req, StatusCode::BAD_REQUEST, "invalid_request").await;
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains(fragment),
            "{body} lacks {fragment:?}"
        );
    }
}

#[actix_web::test]
async fn grant_and_scope_errors_carry_their_own_codes() {
    let mut code_only = client_spec("code-only");
    code_only.grant_types = [GrantType::AuthorizationCode].into();
    code_only.redirect_uris =
        vec![tessera_domain::authorize::RedirectUri::parse("https://app.example/cb").unwrap()];
    let w = world(&[client("svc"), Client::new(code_only).unwrap()]).await;
    let auth = |id: &str| (header::AUTHORIZATION, basic(id, secret_of(id).expose()));
    check_error(
        &w,
        form_post("grant_type=password").insert_header(auth("svc")),
        StatusCode::BAD_REQUEST,
        "unsupported_grant_type",
    )
    .await;
    check_error(
        &w,
        form_post("grant_type=authorization_code").insert_header(auth("svc")),
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    check_error(
        &w,
        form_post("grant_type=refresh_token").insert_header(auth("svc")),
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    check_error(
        &w,
        form_post("grant_type=client_credentials&scope=admin").insert_header(auth("svc")),
        StatusCode::BAD_REQUEST,
        "invalid_scope",
    )
    .await;
    check_error(
        &w,
        form_post("grant_type=client_credentials&scope=a%22b").insert_header(auth("svc")),
        StatusCode::BAD_REQUEST,
        "invalid_scope",
    )
    .await;
    check_error(
        &w,
        form_post("grant_type=client_credentials").insert_header(auth("code-only")),
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
    )
    .await;
}

#[actix_web::test]
async fn oversized_bodies_are_413_and_other_methods_405() {
    let w = world(&[client("svc")]).await;
    let big = format!(
        "grant_type=client_credentials&pad={}",
        "x".repeat(70 * 1024)
    );
    check_error(
        &w,
        form_post(big),
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request",
    )
    .await;
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let req = TestRequest::default().method(method).uri("/oauth2/token");
        let (status, headers, body) = send(&w, req).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(headers.get(header::ALLOW).unwrap(), "POST");
        assert_eq!(body["error"], "invalid_request");
    }
}

#[actix_web::test]
async fn an_unreachable_store_is_503_and_a_signing_failure_500() {
    let mut repo = MockClientRepository::new();
    repo.expect_find()
        .returning(|_| Err(StoreError::Unavailable("database is locked".into())));
    let w = world_with(Arc::new(repo)).await;
    let req = form_post("grant_type=client_credentials")
        .insert_header((header::AUTHORIZATION, basic("svc", "x")));
    let body = check_error(
        &w,
        req,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    )
    .await;
    assert!(
        !body.to_string().contains("locked"),
        "internal causes stay internal: {body}"
    );

    let w = world(&[client("svc")]).await;
    *w.signer.fail.lock().unwrap() = Some(SignError::NoActiveKey(SigningAlgorithm::Es256));
    let req = form_post("grant_type=client_credentials").insert_header((
        header::AUTHORIZATION,
        basic("svc", secret_of("svc").expose()),
    ));
    let body = check_error(&w, req, StatusCode::INTERNAL_SERVER_ERROR, "server_error").await;
    assert!(!body.to_string().contains("ES256"), "{body}");
}

#[actix_web::test]
async fn readyz_is_503_when_the_store_or_a_key_is_missing() {
    let mut repo = MockClientRepository::new();
    repo.expect_version()
        .returning(|| Err(StoreError::Unavailable("database is locked".into())));
    let w = world_with(Arc::new(repo)).await;
    let (status, _, body) = send(&w, TestRequest::get().uri("/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["database"], "unreachable");
    assert!(
        !body.to_string().contains("locked"),
        "causes stay in the log"
    );

    let w = world(&[]).await;
    let (status, _, body) = send(&w, TestRequest::get().uri("/readyz")).await;
    assert_eq!(
        (status, &body["status"]),
        (StatusCode::OK, &serde_json::json!("ready"))
    );
    *w.signer.fail.lock().unwrap() = Some(SignError::NoActiveKey(SigningAlgorithm::Es256));
    let (status, _, body) = send(&w, TestRequest::get().uri("/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body["signing_keys"]
            .as_str()
            .unwrap()
            .starts_with("no active key for ES256")
    );
}

#[actix_web::test]
async fn jwks_and_metadata_tell_the_truth() {
    let w = world(&[]).await;
    let (status, headers, body) = send(&w, TestRequest::get().uri("/oauth2/jwks")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers.get(header::CACHE_CONTROL).unwrap(),
        "public, max-age=300"
    );
    assert_eq!(body["keys"][0]["kid"], "stub-kid");
    assert_eq!(body["keys"][0]["kty"], "EC");
    assert_eq!(body["keys"][0]["use"], "sig");
    assert!(body["keys"][0].get("d").is_none());

    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let (status, _, body) = send(&w, TestRequest::get().uri(path)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["issuer"], "https://id.example");
        assert_eq!(body["token_endpoint"], "https://id.example/oauth2/token");
        assert_eq!(body["jwks_uri"], "https://id.example/oauth2/jwks");
        assert_eq!(
            body["grant_types_supported"],
            serde_json::json!(["authorization_code", "client_credentials", "refresh_token"])
        );
        assert_eq!(
            body["authorization_endpoint"],
            "https://id.example/oauth2/authorize"
        );
        assert_eq!(
            body["userinfo_endpoint"],
            "https://id.example/oauth2/userinfo"
        );
        assert_eq!(
            body["end_session_endpoint"],
            "https://id.example/oauth2/logout"
        );
        assert_eq!(
            body["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        // The default first, then every algorithm a client may choose for its ID tokens.
        assert_eq!(
            body["id_token_signing_alg_values_supported"],
            serde_json::json!(["RS256", "ES256", "PS256", "EdDSA"])
        );
        assert_eq!(
            body["response_modes_supported"],
            serde_json::json!(["query", "form_post"])
        );
        assert_eq!(body["request_parameter_supported"], false);
        assert_eq!(body["request_uri_parameter_supported"], false);
        assert_eq!(body["claims_parameter_supported"], false);
        assert_eq!(
            body["revocation_endpoint"],
            "https://id.example/oauth2/revoke"
        );
        assert_eq!(
            body["introspection_endpoint"],
            "https://id.example/oauth2/introspect"
        );
        assert_eq!(
            body["token_endpoint_auth_methods_supported"],
            serde_json::json!(["client_secret_basic", "client_secret_post", "none"]),
            "no certificate methods without the mutual-TLS listener"
        );
        assert_eq!(body["tls_client_certificate_bound_access_tokens"], true);
    }
    let (status, _, body) = send(&w, TestRequest::get().uri("/healthz")).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let (status, _, body) = send(&w, TestRequest::get().uri("/nope")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
}

#[actix_web::test]
async fn a_client_disabled_in_the_store_is_refused_after_a_cache_refresh() {
    let repo = Arc::new(InMemoryClients::default());
    repo.insert(&client("svc")).await.unwrap();
    let cache = Arc::new(ClientCache::new(repo.clone()));
    cache.refresh().await.unwrap();
    let w = world_with(repo.clone()).await;
    // Same flow through a service sharing this cache.
    let tokens = TokenService::new(
        ports(cache.clone(), w.signer.clone()),
        pepper(),
        w.state.tokens.policy().clone(),
    );
    let state = Data::new(HttpState {
        tokens: Arc::new(tokens),
        params: w.state.params.clone(),
        signer: w.signer.clone(),
        clock: Arc::new(FixedClock::at(1)),
        issuer: w.state.issuer.clone(),
        jwks_max_age: 1,
        algorithms: vec![],
        dialects: Dialects::default(),
        mtls_listener: false,
        client_cert_trust: crate::tls::ClientCertTrust::default(),
        trusted_proxies: Vec::new(),
        authorize: authorize_service(cache.clone(), Arc::new(StubSigner::default())),
        metadata_documents: false,
        registration: registration(repo.clone()),
    });
    let w = World {
        state,
        signer: w.signer.clone(),
    };
    let req = || {
        form_post("grant_type=client_credentials").insert_header((
            header::AUTHORIZATION,
            basic("svc", secret_of("svc").expose()),
        ))
    };
    assert_eq!(send(&w, req()).await.0, StatusCode::OK);
    let mut spec: ClientSpec = client("svc").to_spec();
    spec.enabled = false;
    repo.update(&Client::new(spec).unwrap()).await.unwrap();
    assert_eq!(
        send(&w, req()).await.0,
        StatusCode::OK,
        "cached until the next refresh"
    );
    assert_eq!(cache.refresh().await, Ok(true));
    check_error(&w, req(), StatusCode::UNAUTHORIZED, "invalid_client").await;
}
