//! The OpenAPI 3.1 document, served at `GET /openapi.json`.
//!
//! Each handler carries its own `#[utoipa::path]` description (request body, responses, the
//! schemas of the very structs it serializes). The routes are registered from one table
//! ([`crate::server::endpoints`]) whose entries are built from those descriptions: the methods a
//! handler answers are the methods its description names, and the document lists each operation
//! at the path the table serves it at — so a dialect moved or switched off in configuration moves
//! or disappears in the document too, and a route cannot exist without being documented.

use actix_web::http::{Method, header};
use actix_web::web::{self, Data};
use actix_web::{FromRequest, Handler, HttpResponse, Responder, Route};
use utoipa::openapi::path::{HttpMethod, Operation, Paths};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, Server};
use utoipa::{Modify, OpenApi};

use crate::dialect::{authme, rfc6749, screening_eagle, semear, serproid};
use crate::server::HttpState;

/// One path the server answers: its documented operations, and what answers any other method.
pub(crate) struct Endpoint {
    pub(crate) path: String,
    pub(crate) ops: Vec<Op>,
    pub(crate) fallback: Option<fn() -> Route>,
}

impl Endpoint {
    pub(crate) fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            ops: Vec::new(),
            fallback: None,
        }
    }

    /// Adds the operation `P` describes, answered by `handler` on every method `P` names.
    pub(crate) fn op<P, F, Args>(mut self, handler: F) -> Self
    where
        P: utoipa::Path + utoipa::__dev::Tags<'static>,
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.ops.push(Op {
            methods: P::methods(),
            operation: P::operation,
            // The `tag` of `#[utoipa::path]` reaches the operation only through this trait, which
            // the derive uses too.
            tags: P::tags,
            route: Box::new(move || web::to(handler.clone())),
        });
        self
    }

    /// What answers a method no operation names (by default the server's 404).
    pub(crate) fn otherwise(mut self, fallback: fn() -> Route) -> Self {
        self.fallback = Some(fallback);
        self
    }

    /// The actix resource serving this endpoint.
    pub(crate) fn resource(&self) -> actix_web::Resource {
        let mut resource = web::resource(self.path.as_str());
        for op in &self.ops {
            for method in &op.methods {
                resource = resource.route((op.route)().method(actix_method(method)));
            }
        }
        if let Some(fallback) = self.fallback {
            resource = resource.default_service(fallback());
        }
        resource
    }
}

/// A documented operation and the handler answering it.
pub(crate) struct Op {
    pub(crate) methods: Vec<HttpMethod>,
    operation: fn() -> Operation,
    tags: fn() -> Vec<&'static str>,
    route: Box<dyn Fn() -> Route>,
}

pub(crate) fn actix_method(m: &HttpMethod) -> Method {
    match m {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Options => Method::OPTIONS,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Trace => Method::TRACE,
    }
}

/// Every handler's description, for the schemas they reference; the paths are replaced by the
/// route table's in [`document`].
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tessera",
        description = "An OAuth 2.0 and OpenID Connect authorization server. Besides the standard \
endpoints it serves four vendor token APIs (SerproID, Screening Eagle ID, AuthMe and Banco Semear \
Pix) at their own paths, with their own request and error formats; each can be moved or switched \
off in configuration, and this document lists them where this server serves them. Every access \
token is an RFC 9068 JWT verifiable with the JWKS (or, for clients configured so, an opaque token \
for introspection).",
        license(name = "Apache-2.0")
    ),
    paths(
        rfc6749::token,
        rfc6749::revoke,
        rfc6749::introspect,
        crate::oidc::authorize_get,
        crate::oidc::authorize_post,
        crate::oidc::userinfo,
        crate::oidc::end_session,
        crate::register::register,
        crate::register::read,
        crate::register::update,
        crate::register::delete,
        crate::meta::jwks,
        crate::meta::metadata,
        crate::meta::openid_configuration,
        crate::meta::healthz,
        crate::meta::readyz,
        crate::metrics::scrape,
        serve,
        serproid::token,
        screening_eagle::token,
        semear::token,
        authme::generate_token,
        authme::generate_param,
        authme::renew_token,
        authme::generate_opaque_token,
        authme::validate_opaque_token,
        authme::public_key,
    ),
    // The error bodies of reusable response sets (`IntoResponses` does not collect them).
    components(schemas(rfc6749::ErrorBody, authme::ErrorItem)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "OAuth 2.0", description = "RFC 6749 token endpoint, RFC 7009 revocation, RFC 7662 introspection, RFC 7591 and RFC 7592 dynamic client registration"),
        (name = "OpenID Connect", description = "Authorization code flow with PKCE, userinfo, logout"),
        (name = "Discovery", description = "RFC 8414 / OpenID Connect discovery and the JWKS (RFC 7517)"),
        (name = "Operations", description = "Health, readiness, metrics and this document"),
        (name = "SerproID", description = "SerproID's client_token: form body, client_secret_post, SerproID's error codes"),
        (name = "Screening Eagle ID", description = "Screening Eagle's auth/token: Basic authentication, form body"),
        (name = "AuthMe", description = "AuthMe's generate-token and companions: Basic authentication, JSON bodies, role-gated clients"),
        (name = "Banco Semear Pix", description = "Pix token endpoint: client certificate, certificate-bound tokens (RFC 8705)"),
    )
)]
pub(crate) struct ApiDoc;

/// The authentication schemes the operations name.
pub(crate) struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        let mut basic = Http::new(HttpAuthScheme::Basic);
        basic.description =
            Some("client_secret_basic: the client id and secret (RFC 6749 §2.3.1)".into());
        components.add_security_scheme("client_secret_basic", SecurityScheme::Http(basic));
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.bearer_format = Some("JWT".into());
        bearer.description = Some("An access token this server issued (RFC 6750)".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
    }
}

/// The document for this server's configuration: every route at the path it is served at, and the
/// issuer as the server URL.
#[must_use]
pub fn document(state: &HttpState) -> Document {
    let mut doc = assemble(
        ApiDoc::openapi(),
        &crate::server::endpoints(&state.dialects),
    );
    doc.servers = Some(vec![Server::new(state.issuer.as_str())]);
    doc
}

/// `doc` with its paths replaced by the operations of `endpoints`, each at the path it is
/// served at and tagged as its description says.
pub(crate) fn assemble(mut doc: Document, endpoints: &[Endpoint]) -> Document {
    let mut paths = Paths::new();
    for endpoint in endpoints {
        for op in &endpoint.ops {
            for method in &op.methods {
                let mut operation = (op.operation)();
                operation.tags = Some((op.tags)().into_iter().map(str::to_owned).collect());
                if op.methods.len() > 1 {
                    // One handler on several methods: operation ids must stay unique.
                    operation.operation_id = operation
                        .operation_id
                        .map(|id| format!("{id}_{}", actix_method(method).as_str().to_lowercase()));
                }
                paths.add_path_operation(&endpoint.path, vec![method.clone()], operation);
            }
        }
    }
    doc.paths = paths;
    doc
}

/// The document, rendered once per worker.
pub(crate) struct Rendered(pub(crate) web::Bytes);

/// `GET /openapi.json`.
///
/// This document: every endpoint and dialect this server serves, at the paths it serves them.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "Operations",
    operation_id = "openapi",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json"))
)]
pub(crate) async fn serve(rendered: Data<Rendered>) -> HttpResponse {
    rendered.answer()
}

impl Rendered {
    /// The document as an answer, cacheable for five minutes.
    pub(crate) fn answer(&self) -> HttpResponse {
        HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
            .content_type("application/json")
            .body(self.0.clone())
    }

    /// `doc` rendered once (`{}` if it cannot be, which is logged).
    pub(crate) fn of(doc: &Document) -> Self {
        let bytes = serde_json::to_vec(doc).unwrap_or_else(|e| {
            tracing::error!(error = %e, "rendering an OpenAPI document failed");
            b"{}".to_vec()
        });
        Self(bytes.into())
    }
}

#[cfg(test)]
pub(crate) mod check;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

    use std::collections::BTreeSet;

    use actix_web::App;
    use actix_web::http::StatusCode;
    use actix_web::test::{TestRequest, call_service, init_service, read_body};
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde_json::Value;
    use tessera_testkit::fixtures::secret_of;

    use super::*;
    use crate::server::tests::fuzz_state;
    use crate::server::{Dialects, configure};

    mod requests;

    use super::check::{mismatch, operations, resolve};

    async fn served_document(state: &Data<HttpState>) -> Value {
        let app = init_service(App::new().configure(configure(state.clone()))).await;
        let res = call_service(&app, TestRequest::get().uri("/openapi.json").to_request()).await;
        assert_eq!(res.status(), StatusCode::OK);
        serde_json::from_slice(&read_body(res).await).unwrap()
    }

    #[actix_web::test]
    async fn the_document_is_openapi_3_1_at_the_issuer_with_every_reference_resolved() {
        let state = fuzz_state().await;
        let doc = served_document(&state).await;
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."));
        assert_eq!(doc["servers"][0]["url"], "https://id.example");
        assert_eq!(doc["info"]["title"], "Tessera");
        // Every reference resolves, every operation id is unique, every operation says what it
        // answers and which tag it belongs to.
        let text = doc.to_string();
        for r in text.split("\"$ref\":\"").skip(1) {
            let r = &r[..r.find('"').unwrap()];
            resolve(&doc, &serde_json::json!({ "$ref": r }));
        }
        let mut ids = BTreeSet::new();
        for (method, path, op) in operations(&doc) {
            let id = op["operationId"].as_str().unwrap().to_owned();
            assert!(ids.insert(id.clone()), "operation id {id} twice");
            assert!(
                !op["responses"].as_object().unwrap().is_empty(),
                "{method} {path}"
            );
            assert!(
                op["tags"][0].is_string(),
                "{method} {path} has no tag: {op}"
            );
            assert!(op["summary"].is_string(), "{method} {path} has no summary");
        }
        for scheme in text.split("\"security\":[").skip(1) {
            for name in ["client_secret_basic", "bearer"] {
                if scheme.starts_with(&format!("{{\"{name}\"")) {
                    assert!(doc["components"]["securitySchemes"][name].is_object());
                }
            }
        }
    }

    /// The check CI runs: the document and the routes are the same set, and each documented
    /// operation is answered by its handler, not by the 404 or 405 of an unrouted path.
    #[actix_web::test]
    async fn every_route_is_documented_and_every_documented_operation_is_routed() {
        let state = fuzz_state().await;
        let doc = served_document(&state).await;
        let documented: BTreeSet<(String, String)> = operations(&doc)
            .into_iter()
            .map(|(m, p, _)| (m.to_uppercase(), p))
            .collect();
        let routed: BTreeSet<(String, String)> = crate::server::endpoints(&state.dialects)
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
        // The admin API is on its own listener, in its own document.
        assert!(!documented.iter().any(|(_, p)| p.starts_with("/admin")));
        // 4 dialects (9 paths) and 15 standard paths, 29 operations in all.
        assert_eq!(doc["paths"].as_object().unwrap().len(), 24);
        assert_eq!(documented.len(), 29);

        // Every handler description the derive collected is served, and nothing else is.
        let described: BTreeSet<String> =
            operations(&serde_json::to_value(ApiDoc::openapi()).unwrap())
                .into_iter()
                .map(|(_, _, op)| op["operationId"].as_str().unwrap().to_owned())
                .collect();
        let served: BTreeSet<String> = operations(&doc)
            .into_iter()
            .map(|(m, _, op)| {
                let id = op["operationId"].as_str().unwrap().to_owned();
                id.strip_suffix(&format!("_{m}"))
                    .map(str::to_owned)
                    .unwrap_or(id)
            })
            .collect();
        assert_eq!(described, served);

        let app = init_service(App::new().configure(configure(state.clone()))).await;
        for (method, path) in &documented {
            let req = TestRequest::default()
                .method(method.parse().unwrap())
                .uri(path)
                .to_request();
            let res = call_service(&app, req).await;
            let status = res.status();
            let body = read_body(res).await;
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert!(
                !(status == StatusCode::NOT_FOUND
                    && String::from_utf8_lossy(&body).contains("no such endpoint")),
                "{method} {path} is not routed"
            );
        }
        // And no route is registered around the table.
        assert!(!include_str!("server.rs").contains("web::resource("));
    }

    #[actix_web::test]
    async fn moved_and_switched_off_dialects_move_and_disappear_in_the_document() {
        let full = crate::server::tests::all_dialects();
        let moved = crate::server::DialectRoute {
            path: "/partner/token".into(),
            default_ttl: None,
        };
        let state = crate::server::tests::state_with_dialects(Dialects {
            serproid: Some(moved),
            ..Dialects::default()
        })
        .await;
        let doc = served_document(&state).await;
        let paths = doc["paths"].as_object().unwrap();
        assert_eq!(
            paths["/partner/token"]["post"]["operationId"],
            "serproid_client_token"
        );
        assert!(!paths.contains_key(full.serproid.unwrap().path.as_str()));
        assert!(!paths.contains_key(full.screening_eagle.unwrap().path.as_str()));
        assert!(!paths.keys().any(|p| p.starts_with("/security/iam")));
        assert!(!paths.keys().any(|p| p.starts_with("/oauth-apipix")));
        assert!(paths.contains_key("/oauth2/token"));
        assert_eq!(paths.len(), 16);
    }

    #[actix_web::test]
    async fn the_schema_check_refuses_what_is_not_documented() {
        let doc = served_document(&fuzz_state().await).await;
        let error = serde_json::json!({"$ref": "#/components/schemas/OAuthError"});
        let ok = serde_json::json!({"error": "invalid_client", "error_description": "no"});
        assert_eq!(mismatch(&doc, &error, &ok, "body"), None);
        for bad in [
            serde_json::json!({"error": "invalid_client"}),
            serde_json::json!({"error": 1, "error_description": "no"}),
            serde_json::json!({"error": "x", "error_description": "no", "extra": true}),
            serde_json::json!([ok]),
        ] {
            assert!(mismatch(&doc, &error, &bad, "body").is_some(), "{bad}");
        }
        let authme = &doc["paths"]["/security/iam/v1/generate-token"]["post"]["responses"]["401"]["content"]
            ["application/json"]["schema"];
        let item = serde_json::json!({"code": "10", "message": "Client authentication failed."});
        assert_eq!(
            mismatch(&doc, authme, &serde_json::json!([item]), "body"),
            None
        );
        assert!(mismatch(&doc, authme, &item, "body").is_some());
        let token = serde_json::json!({"$ref": "#/components/schemas/OAuthTokenResponse"});
        let issued =
            serde_json::json!({"access_token": "a", "token_type": "Bearer", "expires_in": 60});
        assert_eq!(mismatch(&doc, &token, &issued, "body"), None);
        let mut negative = issued.clone();
        negative["expires_in"] = serde_json::json!("60");
        assert!(mismatch(&doc, &token, &negative, "body").is_some());
    }

    /// Real answers of every dialect, successes and errors, match the schema documented for their
    /// status: no undocumented status, field or type.
    #[actix_web::test]
    async fn real_responses_match_their_documented_schemas() {
        let state = fuzz_state().await;
        let doc = served_document(&state).await;
        let app = init_service(App::new().configure(configure(state.clone()))).await;
        let secret = secret_of("svc");
        let basic = format!(
            "Basic {}",
            STANDARD.encode(format!("svc:{}", secret.expose()))
        );
        let form = "application/x-www-form-urlencoded";
        let json = "application/json";
        let post_form = format!(
            "grant_type=client_credentials&client_id=svc&client_secret={}",
            secret.expose()
        );
        let cases: Vec<(&str, &str, Option<&str>, &str, String)> = vec![
            ("POST", "/oauth2/token", Some(&basic), form, "grant_type=client_credentials".into()),
            ("POST", "/oauth2/token", None, form, "grant_type=client_credentials".into()),
            ("POST", "/oauth2/token", Some(&basic), form, "grant_type=password".into()),
            ("POST", "/oauth2/token", Some(&basic), json, "{}".into()),
            ("GET", "/oauth2/token", None, form, String::new()),
            ("POST", "/oauth2/introspect", Some(&basic), form, "token=nope".into()),
            ("POST", "/oauth2/revoke", Some(&basic), form, "token=nope".into()),
            ("POST", "/oauth2/introspect", None, form, String::new()),
            ("GET", "/oauth2/userinfo", None, form, String::new()),
            ("GET", "/oauth2/jwks", None, form, String::new()),
            ("GET", "/.well-known/oauth-authorization-server", None, form, String::new()),
            ("GET", "/.well-known/openid-configuration", None, form, String::new()),
            ("GET", "/healthz", None, form, String::new()),
            ("GET", "/readyz", None, form, String::new()),
            ("POST", "/oauth/v0/oauth/client_token", None, form, post_form.clone()),
            ("POST", "/oauth/v0/oauth/client_token", None, form, "grant_type=client_credentials".into()),
            ("POST", "/oauth/v0/oauth/client_token", None, form, post_form.replace("svc", "ghost")),
            ("GET", "/oauth/v0/oauth/client_token", None, form, String::new()),
            ("POST", "/api/id/v1/auth/token", Some(&basic), form, "grant_type=client_credentials&scope=read".into()),
            ("POST", "/api/id/v1/auth/token", None, form, "grant_type=client_credentials".into()),
            ("POST", "/api/id/v1/auth/token", Some(&basic), form, "grant_type=implicit".into()),
            ("POST", "/oauth-apipix/oauth/token", None, form, post_form.clone()),
            ("POST", "/security/iam/v1/generate-token", Some(&basic), json,
                r#"{"clientId":"svc","tokenRequestType":"CLIENT","loginGrantedAuthorities":"AUTH-IDENTIFIED"}"#.into()),
            ("POST", "/security/iam/v1/generate-token", Some(&basic), json, "not json".into()),
            ("POST", "/security/iam/v1/generate-token", None, json, "{}".into()),
            ("POST", "/security/iam/v1/generate-param", Some(&basic), json, "{}".into()),
            ("POST", "/security/iam/v1/renew-token", Some(&basic), json, "{}".into()),
            ("POST", "/security/iam/v1/product-accesses/validate-opaque-token", Some(&basic), json, r#"{"token":"tat_x"}"#.into()),
            ("POST", "/security/iam/v1/product-accesses/generate-opaque-token", Some(&basic), json, "{}".into()),
            ("GET", "/security/iam/v1/public-key", None, json, String::new()),
            ("POST", "/oauth2/register", None, json,
                r#"{"redirect_uris":["https://rp.example/cb"],"client_name":"RP","unknown":1}"#.into()),
            ("POST", "/oauth2/register", None, json,
                r#"{"redirect_uris":["https://rp.example/cb"],"token_endpoint_auth_method":"none","scope":"openid"}"#.into()),
            ("POST", "/oauth2/register", None, json, r#"{"redirect_uris":["not a uri"]}"#.into()),
            ("POST", "/oauth2/register", None, json, r#"{"scope":"root"}"#.into()),
            ("POST", "/oauth2/register", None, json, "[]".into()),
            ("GET", "/oauth2/register/svc", None, json, String::new()),
            ("PUT", "/oauth2/register/svc", Some("Bearer trat_x"), json, r#"{"client_id":"svc"}"#.into()),
            ("DELETE", "/oauth2/register/svc", None, json, String::new()),
        ];
        let mut successes = 0;
        for (method, path, auth, content_type, body) in cases {
            let mut req = TestRequest::default()
                .method(method.parse().unwrap())
                .uri(path)
                .insert_header(("content-type", content_type))
                .set_payload(body);
            if let Some(a) = auth {
                req = req.insert_header(("authorization", a));
            }
            let res = call_service(&app, req.to_request()).await;
            let status = res.status();
            let is_json = res
                .headers()
                .get("content-type")
                .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
            let bytes = read_body(res).await;
            // A method the path does not serve is answered by its fallback, documented with the
            // path's operation.
            let template = doc["paths"]
                .as_object()
                .unwrap()
                .keys()
                .find(|t| {
                    let (a, b): (Vec<&str>, Vec<&str>) =
                        (t.split('/').collect(), path.split('/').collect());
                    a.len() == b.len()
                        && a.iter().zip(&b).all(|(x, y)| x == y || x.starts_with('{'))
                })
                .unwrap_or_else(|| panic!("{path} is not documented"));
            let item = &doc["paths"][template];
            let op = match &item[method.to_lowercase()] {
                Value::Null => item.as_object().unwrap().values().next().unwrap(),
                op => op,
            };
            let documented = &op["responses"][status.as_str()];
            assert!(
                documented.is_object(),
                "{method} {path}: {status} is not documented"
            );
            if status.is_success() {
                successes += 1;
            }
            if !is_json {
                // No body (RFC 6750 §3.1 without credentials, RFC 7009's 200), or a documented
                // non-JSON type.
                let other_type = documented["content"]
                    .as_object()
                    .is_some_and(|c| c.keys().any(|t| t != "application/json"));
                assert!(
                    bytes.is_empty() || other_type,
                    "{method} {path}: {status} answered a body that is not documented"
                );
                continue;
            }
            let schema = &documented["content"]["application/json"]["schema"];
            assert!(
                schema.is_object(),
                "{method} {path}: {status} has no documented body"
            );
            let value: Value = serde_json::from_slice(&bytes).unwrap();
            if let Some(m) = mismatch(&doc, schema, &value, "body") {
                panic!("{method} {path} {status}: {m}");
            }
        }
        // Not only errors: tokens, metadata, JWKS, health and an introspection answer too.
        assert!(successes >= 12, "{successes}");
    }
}
