//! `/admin/v1/keys`: list the signing keys, rotate (publish a new key for an algorithm) and
//! retire one, through the same use cases as `tessera keys …`. Never a private key.

use actix_web::http::{StatusCode, header};
use actix_web::web::{self, Data, Json, Path, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_domain::SigningAlgorithm;
use tessera_domain::keys::{KeyId, SigningKey};
use tessera_domain::service::{AdminAccess, KeyError};

use super::{AdminState, caller, problem};

pub(super) fn routes(cfg: &mut ServiceConfig) {
    cfg.route("/admin/v1/keys", web::get().to(list))
        .route("/admin/v1/keys", web::post().to(rotate))
        .route("/admin/v1/keys/{kid}/retire", web::post().to(retire));
}

fn key(k: &SigningKey) -> Value {
    json!({
        "kid": k.kid.as_str(),
        "alg": k.alg.as_str(),
        "state": k.state.as_str(),
        "created_at": k.created_at.as_secs(),
        "activated_at": k.activated_at.map(|t| t.as_secs()),
        "retire_at": k.retire_at.map(|t| t.as_secs()),
    })
}

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

fn ok(status: StatusCode, v: Value) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(v)
}

/// `GET /admin/v1/keys`: every key, retired ones included.
async fn list(state: Data<AdminState>, req: HttpRequest) -> HttpResponse {
    if let Err(denied) = caller(&state, &req, AdminAccess::Read).await {
        return denied;
    }
    match state.keys.list().await {
        Ok(keys) => ok(
            StatusCode::OK,
            json!({"keys": keys.iter().map(key).collect::<Vec<_>>()}),
        ),
        Err(e) => key_problem(&e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    alg: String,
}

/// `POST /admin/v1/keys` `{"alg": "ES256"}`: a new key, published at once and signing after the
/// lead time; 201.
async fn rotate(state: Data<AdminState>, req: HttpRequest, body: Json<RotateBody>) -> HttpResponse {
    let (_, now) = match caller(&state, &req, AdminAccess::Write).await {
        Ok(c) => c,
        Err(denied) => return denied,
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
    match state.keys.rotate(alg, now).await {
        Ok(k) => ok(StatusCode::CREATED, key(&k)),
        Err(e) => key_problem(&e),
    }
}

/// `POST /admin/v1/keys/{kid}/retire`: out of the JWKS now (refused for the active key, 409).
async fn retire(state: Data<AdminState>, req: HttpRequest, kid: Path<String>) -> HttpResponse {
    let (_, now) = match caller(&state, &req, AdminAccess::Write).await {
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
    match state.keys.retire(&kid, now).await {
        Ok(k) => ok(StatusCode::OK, key(&k)),
        Err(e) => key_problem(&e),
    }
}
