//! Real answers of the admin API, successes and errors, against the schemas its document gives
//! for their status and content type.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use actix_web::App;
use actix_web::http::StatusCode;
use actix_web::test::{TestRequest, call_service, init_service, read_body};
use serde_json::{Value, json};

use super::super::configure;
use super::{World, served_document, world};
use crate::openapi::check::{mismatch, operations};

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
