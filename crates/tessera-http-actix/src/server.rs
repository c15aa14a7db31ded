//! Routes, shared state and the HTTP server.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::http::StatusCode;
use actix_web::web::{self, Data, ServiceConfig};
use actix_web::{App, HttpResponse, HttpServer};
use serde_json::json;
use tessera_domain::policy::Issuer;
use tessera_domain::ports::{Clock, TokenSigner};
use tessera_domain::service::TokenService;
use tessera_domain::{SigningAlgorithm, TokenTtl};

use crate::dialect::frame::method_not_allowed;
use crate::dialect::{authme, rfc6749, screening_eagle, semear, serproid};
use crate::meta;
use crate::openapi::Endpoint;

/// What the handlers share.
pub struct HttpState {
    /// The token use case.
    pub tokens: Arc<TokenService>,
    /// AuthMe's one-time params (over the same param store as `tokens`).
    pub params: Arc<tessera_domain::service::ParamService>,
    /// The key ring, for the JWKS.
    pub signer: Arc<dyn TokenSigner>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// The issuer, from which every advertised URL is derived.
    pub issuer: Issuer,
    /// `Cache-Control: max-age` of the JWKS, in seconds: shorter than the key rotation overlap.
    pub jwks_max_age: u32,
    /// The algorithms access tokens may be signed with.
    pub algorithms: Vec<SigningAlgorithm>,
    /// The vendor dialects that are switched on, and where.
    pub dialects: Dialects,
    /// Whether the mutual-TLS listener is on (RFC 8705 client authentication is offered).
    pub mtls_listener: bool,
    /// The CAs trusted to issue `tls_client_auth` certificates.
    pub client_cert_trust: crate::tls::ClientCertTrust,
    /// The authorization endpoint's use cases.
    pub authorize: Arc<tessera_domain::service::AuthorizeService>,
    /// Proxies (load balancers) whose `X-Forwarded-For` is believed for the client's address;
    /// empty: the connection's peer is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Whether a `client_id` that is an `https` URL is resolved as a metadata document.
    pub metadata_documents: bool,
    /// Dynamic client registration (RFC 7591, RFC 7592).
    pub registration: Arc<tessera_domain::service::DynamicRegistration>,
}

/// Where a vendor dialect is served, and its default access-token lifetime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DialectRoute {
    /// The path of its token endpoint.
    pub path: String,
    /// The lifetime of its clients' access tokens when a client has none of its own.
    pub default_ttl: Option<TokenTtl>,
}

/// The vendor dialects; `None` means switched off.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dialects {
    /// SerproID's `client_token`.
    pub serproid: Option<DialectRoute>,
    /// Screening Eagle ID's `auth/token`.
    pub screening_eagle: Option<DialectRoute>,
    /// AuthMe's `/security/iam/v1` endpoints.
    pub authme: Option<AuthMeRoute>,
    /// Banco Semear's Pix `oauth/token`.
    pub semear: Option<SemearRoute>,
}

/// Where the Banco Semear dialect is served and how far it trusts its gateway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SemearRoute {
    /// The path of its token endpoint.
    pub path: String,
    /// Whether the listener sits behind a gateway that sets `client-cert`: only then is the header
    /// believed.
    pub trust_cert_header: bool,
    /// The lifetime of its tokens when the client has none of its own.
    pub default_ttl: Option<TokenTtl>,
    /// The algorithm its tokens are signed with.
    pub algorithm: SigningAlgorithm,
}

/// Where AuthMe is served and what it requires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthMeRoute {
    /// The common prefix of its paths, e.g. `/security/iam/v1`.
    pub prefix: String,
    /// The first-party policy: required roles, lifetimes, param lifetime.
    pub policy: tessera_domain::first_party::FirstPartyPolicy,
}

/// How the server runs.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Worker threads; 0 means one per core.
    pub workers: usize,
    /// Most concurrent connections per worker.
    pub max_connections: usize,
    /// How long a client may take to send its request head.
    pub request_timeout: Duration,
    /// How long a client may take to send its request body.
    pub body_timeout: Duration,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_timeout: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            workers: 0,
            max_connections: 25_000,
            request_timeout: Duration::from_secs(5),
            body_timeout: Duration::from_secs(10),
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

/// Every endpoint the server answers for `dialects`: the one table that registers the routes and
/// lists the operations of the OpenAPI document.
pub(crate) fn endpoints(dialects: &Dialects) -> Vec<Endpoint> {
    use crate::oidc;
    let mut all = Vec::new();
    if let Some(d) = &dialects.serproid {
        all.push(
            Endpoint::new(d.path.as_str())
                .op::<serproid::__path_token, _, _>(serproid::token)
                .otherwise(|| web::to(method_not_allowed::<serproid::SerproId>)),
        );
    }
    if let Some(d) = &dialects.screening_eagle {
        all.push(
            Endpoint::new(d.path.as_str())
                .op::<screening_eagle::__path_token, _, _>(screening_eagle::token)
                .otherwise(|| web::to(method_not_allowed::<screening_eagle::ScreeningEagle>)),
        );
    }
    if let Some(d) = &dialects.semear {
        all.push(
            Endpoint::new(d.path.as_str())
                .op::<semear::__path_token, _, _>(semear::token)
                .otherwise(|| web::to(method_not_allowed::<semear::Semear>)),
        );
    }
    if let Some(a) = &dialects.authme {
        let p = &a.prefix;
        let authme = |path: &str| {
            Endpoint::new(format!("{p}{path}"))
                .otherwise(|| web::to(method_not_allowed::<authme::AuthMe>))
        };
        all.extend([
            authme("/generate-token")
                .op::<authme::__path_generate_token, _, _>(authme::generate_token),
            authme("/product-accesses/generate-opaque-token")
                .op::<authme::__path_generate_opaque_token, _, _>(authme::generate_opaque_token),
            authme("/product-accesses/validate-opaque-token")
                .op::<authme::__path_validate_opaque_token, _, _>(authme::validate_opaque_token),
            authme("/generate-param")
                .op::<authme::__path_generate_param, _, _>(authme::generate_param),
            authme("/renew-token").op::<authme::__path_renew_token, _, _>(authme::renew_token),
            Endpoint::new(format!("{p}/public-key"))
                .op::<authme::__path_public_key, _, _>(authme::public_key),
        ]);
    }
    let oauth = |path: &str| {
        Endpoint::new(path).otherwise(|| web::to(method_not_allowed::<rfc6749::Rfc6749>))
    };
    all.extend([
        oauth("/oauth2/token").op::<rfc6749::__path_token, _, _>(rfc6749::token),
        oauth("/oauth2/revoke").op::<rfc6749::__path_revoke, _, _>(rfc6749::revoke),
        oauth("/oauth2/introspect").op::<rfc6749::__path_introspect, _, _>(rfc6749::introspect),
        Endpoint::new("/oauth2/authorize")
            .op::<oidc::__path_authorize_get, _, _>(oidc::authorize_get)
            .op::<oidc::__path_authorize_post, _, _>(oidc::authorize_post),
        Endpoint::new("/oauth2/userinfo").op::<oidc::__path_userinfo, _, _>(oidc::userinfo),
        Endpoint::new("/oauth2/logout").op::<oidc::__path_end_session, _, _>(oidc::end_session),
        Endpoint::new("/oauth2/register")
            .op::<crate::register::__path_register, _, _>(crate::register::register),
        Endpoint::new("/oauth2/register/{client_id}")
            .op::<crate::register::__path_read, _, _>(crate::register::read)
            .op::<crate::register::__path_update, _, _>(crate::register::update)
            .op::<crate::register::__path_delete, _, _>(crate::register::delete),
        Endpoint::new("/oauth2/jwks").op::<meta::__path_jwks, _, _>(meta::jwks),
        Endpoint::new("/.well-known/oauth-authorization-server")
            .op::<meta::__path_metadata, _, _>(meta::metadata),
        Endpoint::new("/.well-known/openid-configuration")
            .op::<meta::__path_openid_configuration, _, _>(meta::openid_configuration),
        Endpoint::new("/healthz").op::<meta::__path_healthz, _, _>(meta::healthz),
        Endpoint::new("/readyz").op::<meta::__path_readyz, _, _>(meta::readyz),
        Endpoint::new("/metrics").op::<crate::metrics::__path_scrape, _, _>(crate::metrics::scrape),
        Endpoint::new("/openapi.json")
            .op::<crate::openapi::__path_serve, _, _>(crate::openapi::serve),
    ]);
    all
}

/// Checks the route table `dialects` make: no two endpoints on one path, no dialect under
/// `/.well-known/`, and no path inside AuthMe's prefix but AuthMe's own. Settings calls this, so
/// the table is the only list of paths.
///
/// # Errors
/// The first path served twice, or reserved: the path, and why.
pub fn check_routes(dialects: &Dialects) -> Result<(), (String, String)> {
    let all = endpoints(dialects);
    let mut seen = std::collections::HashSet::new();
    for endpoint in &all {
        if !seen.insert(endpoint.path.as_str()) {
            return Err((endpoint.path.clone(), "is already served".into()));
        }
    }
    for d in [&dialects.serproid, &dialects.screening_eagle]
        .into_iter()
        .flatten()
        .map(|d| d.path.as_str())
        .chain(dialects.semear.as_ref().map(|s| s.path.as_str()))
    {
        if d.starts_with("/.well-known/") {
            return Err((d.to_owned(), "is reserved for discovery".into()));
        }
        if let Some(a) = &dialects.authme
            && d.starts_with(&format!("{}/", a.prefix))
        {
            return Err((
                d.to_owned(),
                format!("overlaps AuthMe's prefix {:?}", a.prefix),
            ));
        }
    }
    Ok(())
}

/// Registers every route.
pub fn configure(state: Data<HttpState>) -> impl FnOnce(&mut ServiceConfig) {
    move |cfg: &mut ServiceConfig| {
        let rendered = crate::openapi::Rendered::of(&crate::openapi::document(&state));
        for endpoint in endpoints(&state.dialects) {
            cfg.service(endpoint.resource());
        }
        cfg.app_data(state)
            .app_data(Data::new(rendered))
            .default_service(web::to(not_found));
    }
}

async fn not_found() -> HttpResponse {
    HttpResponse::build(StatusCode::NOT_FOUND)
        .json(json!({"error": "not_found", "error_description": "no such endpoint"}))
}

/// Starts serving on `listener`. The returned server runs until it is stopped or its handle's
/// future completes; SIGTERM and SIGINT stop it gracefully.
///
/// # Errors
/// When the listener cannot be used.
pub fn start(
    listener: TcpListener,
    tls: Option<(TcpListener, rustls::ServerConfig)>,
    state: HttpState,
    options: &ServerOptions,
) -> std::io::Result<Server> {
    crate::dialect::set_body_timeout(options.body_timeout);
    let trust = state.client_cert_trust.clone();
    let state = Data::new(state);
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(
                crate::request_id::middleware,
            ))
            .configure(configure(state.clone()))
    })
    .on_connect(crate::tls::on_connect(trust))
    .max_connections(options.max_connections)
    .client_request_timeout(options.request_timeout)
    .shutdown_timeout(options.shutdown_timeout.as_secs());
    if options.workers > 0 {
        server = server.workers(options.workers);
    }
    server = server.listen(listener)?;
    if let Some((tls_listener, config)) = tls {
        server = server.listen_rustls_0_23(tls_listener, config)?;
    }
    Ok(server.run())
}

#[cfg(test)]
pub(crate) mod tests;
