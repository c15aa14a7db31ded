//! The admin API (`/admin/v1`, JSON) on its own listener: never on the public one, off unless
//! `[admin] bind` is set. Every request carries a Bearer access token this server issued to a
//! client holding `ROLE_TESSERA-ADMIN` (the domain decides: `TokenService::admin_caller`); a
//! missing or insufficient one gets RFC 6750 §3 401/403. Errors are RFC 9457 problem details
//! with a stable `type` per domain error.

mod audit;
mod clients;
mod document;
mod keys;
mod registration;
mod schema;
#[cfg(test)]
mod tests;
mod users;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::http::{StatusCode, header};
use actix_web::web::{self, Data};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer};
use serde::Deserialize;
use tessera_domain::ports::Clock;
use tessera_domain::service::{AdminAccess, AdminDenied, AdminError, ClientAdmin, TokenService};
use tessera_domain::{ClientId, UnixTime};

use crate::openapi::Endpoint;

/// What the admin listener serves from.
pub struct AdminState {
    /// Decides who the caller is.
    pub tokens: Arc<TokenService>,
    /// The client use cases (the same as the CLI's).
    pub clients: Arc<ClientAdmin>,
    /// This node's client cache, refreshed after every change so that this node follows at
    /// once (the others within their refresh interval).
    pub cache: Arc<tessera_domain::cache::ClientCache>,
    /// The signing-key use cases (the same as the CLI's).
    pub keys: Arc<tessera_domain::service::KeyService>,
    /// The user use cases (the same as the CLI's).
    pub users: Arc<tessera_domain::service::UserAdmin>,
    /// Initial access tokens for dynamic client registration.
    pub initial_tokens: Arc<tessera_domain::service::InitialTokens>,
    /// The stored audit trail.
    pub audit: Arc<dyn tessera_domain::ports::AuditStore>,
    /// Now.
    pub clock: Arc<dyn Clock>,
}

impl AdminState {
    /// Makes this node see a change it just made.
    pub(crate) async fn changed(&self) {
        if let Err(e) = self.cache.refresh().await {
            tracing::warn!(error = %e, "client cache refresh after an admin change failed");
        }
    }
}

/// An RFC 9457 problem: `application/problem+json` with `type`, `title`, `status`, `detail`.
pub(crate) fn problem(status: StatusCode, kind: &str, title: &str, detail: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/problem+json")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({
            "type": format!("urn:tessera:problem:{kind}"),
            "title": title,
            "status": status.as_u16(),
            "detail": detail,
        }))
}

/// A domain error of the client use cases as a problem.
pub(crate) fn admin_problem(e: &AdminError) -> HttpResponse {
    let detail = e.to_string();
    match e {
        AdminError::Invalid(_) => problem(
            StatusCode::BAD_REQUEST,
            "invalid-client-metadata",
            "The client would not be valid",
            &detail,
        ),
        AdminError::NotFound(_) => problem(
            StatusCode::NOT_FOUND,
            "not-found",
            "No such client",
            &detail,
        ),
        AdminError::Conflict(_) => problem(
            StatusCode::CONFLICT,
            "conflict",
            "A client with this id exists",
            &detail,
        ),
        AdminError::Stale(_) => problem(
            StatusCode::PRECONDITION_FAILED,
            "stale",
            "The client changed since it was read",
            &detail,
        ),
        AdminError::Store(_) => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "The store is unavailable",
            "retry later",
        ),
    }
}

/// The caller of `req`, when it may perform `access` (RFC 6750 §2.1: `Authorization: Bearer`).
///
/// # Errors
/// The RFC 6750 §3 answer: 401 `invalid_token` with `WWW-Authenticate`, 403
/// `insufficient_scope` naming the scope, or 503.
pub(crate) async fn caller(
    state: &AdminState,
    req: &HttpRequest,
    access: AdminAccess,
) -> Result<(ClientId, UnixTime), HttpResponse> {
    let now = state.clock.now();
    let bearer = crate::context::bearer(req);
    match state.tokens.admin_caller(bearer, access, now).await {
        Ok(id) => Ok((id, now)),
        Err(AdminDenied::InvalidToken) => {
            let challenge = if bearer.is_some() {
                "Bearer realm=\"tessera-admin\", error=\"invalid_token\""
            } else {
                "Bearer realm=\"tessera-admin\""
            };
            Err(with_challenge(
                problem(
                    StatusCode::UNAUTHORIZED,
                    "invalid-token",
                    "A valid admin access token is required",
                    "send Authorization: Bearer with an active access token of an admin client",
                ),
                challenge,
            ))
        }
        Err(AdminDenied::InsufficientScope(scope)) => Err(with_challenge(
            problem(
                StatusCode::FORBIDDEN,
                "insufficient-scope",
                "The token may not do this",
                &format!("needs the role ROLE_TESSERA-ADMIN and the scope {scope}"),
            ),
            &format!(
                "Bearer realm=\"tessera-admin\", error=\"insufficient_scope\", scope=\"{scope}\""
            ),
        )),
        Err(AdminDenied::Unavailable) => Err(problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "The store is unavailable",
            "retry later",
        )),
    }
}

/// A field that may be absent (`None`, with `#[serde(default)]`), `null` (`Some(None)`) or a
/// value (`Some(Some(v))`).
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `Some(None)` for `null`, `Some(Some(parsed))` for a value, `None` when absent.
pub(crate) fn nullable_of<T, U>(
    value: Option<Option<T>>,
    parse: impl Fn(T) -> Result<U, tessera_domain::ParseError>,
) -> Result<Option<Option<U>>, tessera_domain::ParseError> {
    value.map(|v| v.map(parse).transpose()).transpose()
}

/// The revision an `If-Match` names (RFC 9110 §13.1.1; a weak tag is compared as strong).
///
/// # Errors
/// RFC 6585 §3 428 when there is none: a change must say which state it was based on, so that
/// a concurrent one is not silently overwritten.
// The error is the early answer itself, built at most once per request.
#[allow(clippy::result_large_err)]
pub(crate) fn if_match(req: &HttpRequest) -> Result<String, HttpResponse> {
    req.headers()
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.trim()
                .trim_start_matches("W/")
                .trim_matches('"')
                .to_owned()
        })
        .ok_or_else(|| {
            problem(
                StatusCode::PRECONDITION_REQUIRED,
                "precondition-required",
                "If-Match is required",
                "send the ETag as read, so that a concurrent change is not overwritten",
            )
        })
}

/// `body` with `etag` as its strong `ETag` (RFC 9110 §8.8.3), never cached.
pub(crate) fn tagged(status: StatusCode, etag: &str, body: &impl serde::Serialize) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::ETAG, format!("\"{etag}\"")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

fn with_challenge(mut response: HttpResponse, challenge: &str) -> HttpResponse {
    if let Ok(value) = header::HeaderValue::from_str(challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// Every admin endpoint: the routes and the OpenAPI document are built from this one table (see
/// [`crate::openapi`]), so that neither has an operation the other lacks.
pub(crate) fn endpoints() -> Vec<Endpoint> {
    let at = |path: &str| Endpoint::new(path).otherwise(|| web::to(method_not_allowed));
    vec![
        at("/admin/v1/clients")
            .op::<clients::__path_list, _, _>(clients::list)
            .op::<clients::__path_create, _, _>(clients::create),
        at("/admin/v1/clients/{id}")
            .op::<clients::__path_show, _, _>(clients::show)
            .op::<clients::__path_update, _, _>(clients::update)
            .op::<clients::__path_delete, _, _>(clients::delete),
        at("/admin/v1/clients/{id}/secret").op::<clients::__path_rotate, _, _>(clients::rotate),
        at("/admin/v1/users")
            .op::<users::__path_list, _, _>(users::list)
            .op::<users::__path_create, _, _>(users::create),
        at("/admin/v1/users/{id}")
            .op::<users::__path_show, _, _>(users::show)
            .op::<users::__path_update, _, _>(users::update),
        at("/admin/v1/users/{id}/password")
            .op::<users::__path_set_password, _, _>(users::set_password),
        at("/admin/v1/users/{id}/lock").op::<users::__path_lock, _, _>(users::lock),
        at("/admin/v1/users/{id}/unlock").op::<users::__path_unlock, _, _>(users::unlock),
        at("/admin/v1/users/{id}/disable").op::<users::__path_disable, _, _>(users::disable),
        at("/admin/v1/users/{id}/sign-out").op::<users::__path_sign_out, _, _>(users::sign_out),
        at("/admin/v1/keys")
            .op::<keys::__path_list, _, _>(keys::list)
            .op::<keys::__path_rotate, _, _>(keys::rotate),
        at("/admin/v1/keys/{kid}/retire").op::<keys::__path_retire, _, _>(keys::retire),
        at("/admin/v1/registration/tokens")
            .op::<registration::__path_list, _, _>(registration::list)
            .op::<registration::__path_issue, _, _>(registration::issue),
        at("/admin/v1/registration/tokens/{id}")
            .op::<registration::__path_revoke, _, _>(registration::revoke),
        at("/admin/v1/audit").op::<audit::__path_tail, _, _>(audit::tail),
        at("/admin/v1/openapi.json").op::<document::__path_serve, _, _>(document::serve),
    ]
}

/// The admin API's routes, its document and its error answers, on `state`.
pub(crate) fn configure(state: Data<AdminState>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        let rendered = crate::openapi::Rendered::of(&document::document());
        for endpoint in endpoints() {
            cfg.service(endpoint.resource());
        }
        cfg.app_data(state)
            .app_data(Data::new(rendered))
            .app_data(web::PayloadConfig::new(64 * 1024))
            .app_data(web::QueryConfig::default().error_handler(|e, _| bad_input(&e.to_string())))
            .app_data(web::PathConfig::default().error_handler(|e, _| bad_input(&e.to_string())))
            .default_service(web::to(not_found));
    }
}

/// A JSON body of type `T`, read once the caller is known: a request without a valid token is
/// refused (401) whatever its body says.
///
/// # Errors
/// The 400 problem naming what does not parse.
// The error is the early answer itself, built at most once per request.
#[allow(clippy::result_large_err)]
pub(crate) fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, HttpResponse> {
    serde_json::from_slice(body).map_err(|e| {
        problem(
            StatusCode::BAD_REQUEST,
            "invalid-request",
            "The request is not valid",
            &e.to_string(),
        )
    })
}

/// A body or query that does not parse, as an RFC 9457 problem.
fn bad_input(detail: &str) -> actix_web::Error {
    actix_web::error::InternalError::from_response(
        detail.to_owned(),
        problem(
            StatusCode::BAD_REQUEST,
            "invalid-request",
            "The request is not valid",
            detail,
        ),
    )
    .into()
}

async fn method_not_allowed() -> HttpResponse {
    problem(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "This path does not answer this method",
        "see /admin/v1/openapi.json",
    )
}

async fn not_found() -> HttpResponse {
    problem(
        StatusCode::NOT_FOUND,
        "not-found",
        "No such endpoint",
        "the admin API is under /admin/v1",
    )
}

/// Starts the admin API on `listener` (SIGTERM and SIGINT stop it gracefully, as the public one).
///
/// # Errors
/// When the listener cannot be used.
pub fn start(listener: TcpListener, state: AdminState, workers: usize) -> std::io::Result<Server> {
    let state = Data::new(state);
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(
                crate::request_id::middleware,
            ))
            .configure(configure(state.clone()))
    })
    .shutdown_timeout(10);
    if workers > 0 {
        server = server.workers(workers);
    }
    Ok(server.listen(listener)?.run())
}
