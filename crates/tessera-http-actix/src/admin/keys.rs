//! `/admin/v1/keys`: list the signing keys, rotate (publish a new key for an algorithm) and
//! retire one, through the same use cases as `tessera keys …`. Never a private key.

use actix_web::http::{StatusCode, header};
use actix_web::web::{Bytes, Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use tessera_domain::SigningAlgorithm;
use tessera_domain::keys::KeyId;
use tessera_domain::service::{AdminAccess, KeyError};
use utoipa::ToSchema;

use super::schema::{KeyList, KeyResource, Problem, Refusals};
use super::{AdminState, caller, parse_body, problem};

fn key_problem(e: &KeyError) -> HttpResponse {
    match e {
        KeyError::NotFound(_) => problem(
            StatusCode::NOT_FOUND,
            "not-found",
            "No such key",
            &e.to_string(),
        ),
        KeyError::Refused(why) => problem(StatusCode::CONFLICT, "refused", "Refused", why),
        _ => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "The key store is unavailable",
            "retry later",
        ),
    }
}

fn ok(status: StatusCode, v: impl serde::Serialize) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(v)
}

/// Lists the signing keys.
///
/// `GET /admin/v1/keys`: every key, retired ones included.
#[utoipa::path(
    get,
    path = "/admin/v1/keys",
    tag = "Admin",
    operation_id = "admin_list_keys",
    responses((status = 200, description = "Every key", body = KeyList), Refusals),
    security(("bearer" = ["tessera:admin.read"]))
)]
pub(crate) async fn list(state: Data<AdminState>, req: HttpRequest) -> HttpResponse {
    if let Err(denied) = caller(&state, &req, AdminAccess::Read).await {
        return denied;
    }
    match state.keys.list().await {
        Ok(keys) => ok(
            StatusCode::OK,
            KeyList {
                keys: keys.iter().map(KeyResource::of).collect(),
            },
        ),
        Err(e) => key_problem(&e),
    }
}

/// The algorithm of the new key.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeyRotateBody {
    /// One of the deployment's `keys.algorithms` (`ES256`, `RS256`, `EdDSA`, …).
    alg: String,
}

/// Rotates the signing key of an algorithm.
///
/// `POST /admin/v1/keys` `{"alg": "ES256"}`: a new key, published at once and signing after the
/// lead time; 201.
#[utoipa::path(
    post,
    path = "/admin/v1/keys",
    tag = "Admin",
    operation_id = "admin_rotate_key",
    request_body(content = KeyRotateBody, content_type = "application/json"),
    responses(
        (status = 201, description = "The new key, published", body = KeyResource),
        (status = 409, description = "Refused (an algorithm the deployment does not serve)", body = Problem, content_type = "application/problem+json"),
        Refusals,
    ),
    security(("bearer" = ["tessera:admin"]))
)]
pub(crate) async fn rotate(state: Data<AdminState>, req: HttpRequest, body: Bytes) -> HttpResponse {
    let (acting, now) = match caller(&state, &req, AdminAccess::Write).await {
        Ok(c) => c,
        Err(denied) => return denied,
    };
    let body: KeyRotateBody = match parse_body(&body) {
        Ok(b) => b,
        Err(answer) => return answer,
    };
    let alg = match SigningAlgorithm::parse(&body.alg) {
        Ok(a) => a,
        Err(e) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "invalid-request",
                "Unknown algorithm",
                &e.to_string(),
            );
        }
    };
    match state.keys.acting_as(&acting).rotate(alg, now).await {
        Ok(k) => ok(StatusCode::CREATED, KeyResource::of(&k)),
        Err(e) => key_problem(&e),
    }
}

/// Retires a signing key.
///
/// `POST /admin/v1/keys/{kid}/retire`: out of the JWKS now (refused for the active key, 409).
#[utoipa::path(
    post,
    path = "/admin/v1/keys/{kid}/retire",
    tag = "Admin",
    operation_id = "admin_retire_key",
    params(("kid" = String, Path, description = "The key id")),
    responses(
        (status = 200, description = "Retired", body = KeyResource),
        (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Refused (the active key)", body = Problem, content_type = "application/problem+json"),
        Refusals,
    ),
    security(("bearer" = ["tessera:admin"]))
)]
pub(crate) async fn retire(
    state: Data<AdminState>,
    req: HttpRequest,
    kid: Path<String>,
) -> HttpResponse {
    let (acting, now) = match caller(&state, &req, AdminAccess::Write).await {
        Ok(c) => c,
        Err(denied) => return denied,
    };
    let Ok(kid) = KeyId::parse(&kid) else {
        return problem(
            StatusCode::NOT_FOUND,
            "not-found",
            "No such key",
            "not a key id",
        );
    };
    match state.keys.acting_as(&acting).retire(&kid, now).await {
        Ok(k) => ok(StatusCode::OK, KeyResource::of(&k)),
        Err(e) => key_problem(&e),
    }
}
