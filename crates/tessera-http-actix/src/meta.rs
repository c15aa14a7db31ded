//! The public, unauthenticated documents: JWKS (RFC 7517), authorization server metadata
//! (RFC 8414) and the health check.

use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::Data;
use serde::Serialize;
use tessera_domain::keys::{PublicJwk, PublicKeyParams};
use utoipa::ToSchema;

use crate::server::HttpState;

/// One public key (RFC 7517 §4, RFC 7518 §6): never a private parameter.
#[derive(Serialize, ToSchema)]
pub(crate) struct Jwk<'a> {
    /// `EC`, `RSA` or `OKP`.
    kty: &'static str,
    /// The key id, named in the `kid` header of every token it signs.
    kid: &'a str,
    /// The one algorithm this key signs with.
    alg: &'a str,
    /// Always `sig`.
    #[serde(rename = "use")]
    use_: &'static str,
    /// The curve (EC and OKP keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    crv: Option<&'a str>,
    /// The x coordinate or public key (EC and OKP keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    x: Option<&'a str>,
    /// The y coordinate (EC keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    y: Option<&'a str>,
    /// The modulus (RSA keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    n: Option<&'a str>,
    /// The exponent (RSA keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    e: Option<&'a str>,
}

impl<'a> Jwk<'a> {
    fn of(key: &'a PublicJwk) -> Self {
        let mut jwk = Jwk {
            kty: "",
            kid: key.kid.as_str(),
            alg: key.alg.as_str(),
            use_: "sig",
            crv: None,
            x: None,
            y: None,
            n: None,
            e: None,
        };
        match &key.params {
            PublicKeyParams::Ec { crv, x, y } => {
                jwk.kty = "EC";
                (jwk.crv, jwk.x, jwk.y) = (Some(*crv), Some(x.as_str()), Some(y.as_str()));
            }
            PublicKeyParams::Rsa { n, e } => {
                jwk.kty = "RSA";
                (jwk.n, jwk.e) = (Some(n.as_str()), Some(e.as_str()));
            }
            PublicKeyParams::Okp { crv, x } => {
                jwk.kty = "OKP";
                (jwk.crv, jwk.x) = (Some(*crv), Some(x.as_str()));
            }
        }
        jwk
    }
}

/// A JSON Web Key Set (RFC 7517 §5).
#[derive(Serialize, ToSchema)]
pub(crate) struct Jwks<'a> {
    /// The published keys: the active ones and those retired recently enough that tokens they
    /// signed are still valid.
    keys: Vec<Jwk<'a>>,
}

/// `GET /oauth2/jwks`: the public halves of every published key, never a private parameter.
///
/// The keys that verify access and ID tokens.
#[utoipa::path(
    get,
    path = "/oauth2/jwks",
    tag = "Discovery",
    operation_id = "jwks",
    responses((status = 200, description = "The JWKS; cacheable for less than the key rotation overlap", body = Jwks))
)]
pub async fn jwks(state: Data<HttpState>) -> HttpResponse {
    let published = state.signer.published();
    HttpResponse::Ok()
        .insert_header((
            header::CACHE_CONTROL,
            format!("public, max-age={}", state.jwks_max_age),
        ))
        .json(Jwks {
            keys: published.iter().map(Jwk::of).collect(),
        })
}

/// Authorization server metadata (RFC 8414 §2; OpenID Connect Discovery 1.0 §3).
#[derive(Serialize, ToSchema)]
pub(crate) struct Metadata<'a> {
    issuer: &'a str,
    token_endpoint: String,
    jwks_uri: String,
    revocation_endpoint: String,
    introspection_endpoint: String,
    authorization_endpoint: String,
    userinfo_endpoint: String,
    end_session_endpoint: String,
    /// RFC 8414 §2: published only when registration is offered (`[registration] policy`).
    #[serde(skip_serializing_if = "Option::is_none")]
    registration_endpoint: Option<String>,
    /// draft-ietf-oauth-client-id-metadata-document §5: a `client_id` may be the URL of its
    /// metadata document.
    client_id_metadata_document_supported: bool,
    grant_types_supported: &'static [&'static str],
    response_types_supported: &'static [&'static str],
    response_modes_supported: &'static [&'static str],
    prompt_values_supported: &'static [&'static str],
    code_challenge_methods_supported: &'static [&'static str],
    scopes_supported: &'static [&'static str],
    subject_types_supported: &'static [&'static str],
    id_token_signing_alg_values_supported: Vec<&'a str>,
    acr_values_supported: Vec<&'a str>,
    claims_supported: &'static [&'static str],
    claims_parameter_supported: bool,
    request_parameter_supported: bool,
    request_uri_parameter_supported: bool,
    authorization_response_iss_parameter_supported: bool,
    backchannel_logout_supported: bool,
    backchannel_logout_session_supported: bool,
    token_endpoint_auth_methods_supported: Vec<&'static str>,
    tls_client_certificate_bound_access_tokens: bool,
    revocation_endpoint_auth_methods_supported: &'static [&'static str],
    introspection_endpoint_auth_methods_supported: &'static [&'static str],
    access_token_signing_alg_values_supported: Vec<&'a str>,
}

/// `GET /.well-known/oauth-authorization-server` and `/.well-known/openid-configuration`: what
/// this server actually supports, and nothing it does not.
///
/// Authorization server metadata (RFC 8414): what this server supports, and nothing it does not.
#[utoipa::path(
    get,
    path = "/.well-known/oauth-authorization-server",
    tag = "Discovery",
    operation_id = "authorization_server_metadata",
    responses((status = 200, description = "The metadata", body = Metadata))
)]
// Longer than most: one RFC 8414 document, field by field.
pub async fn metadata(state: Data<HttpState>) -> HttpResponse {
    let issuer = state.issuer.as_str();
    let algs: Vec<&str> = state.algorithms.iter().map(|a| a.as_str()).collect();
    let mut auth_methods = vec!["client_secret_basic", "client_secret_post", "none"];
    if state.mtls_listener {
        auth_methods.push("self_signed_tls_client_auth");
        if state.client_cert_trust.is_configured() {
            auth_methods.push("tls_client_auth");
        }
    }
    let policy = state.tokens.policy();
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(Metadata {
            issuer,
            token_endpoint: format!("{issuer}/oauth2/token"),
            jwks_uri: format!("{issuer}/oauth2/jwks"),
            revocation_endpoint: format!("{issuer}/oauth2/revoke"),
            introspection_endpoint: format!("{issuer}/oauth2/introspect"),
            authorization_endpoint: format!("{issuer}/oauth2/authorize"),
            userinfo_endpoint: format!("{issuer}/oauth2/userinfo"),
            end_session_endpoint: format!("{issuer}/oauth2/logout"),
            registration_endpoint: state
                .registration
                .is_offered()
                .then(|| format!("{issuer}/oauth2/register")),
            client_id_metadata_document_supported: state.metadata_documents,
            grant_types_supported: &["authorization_code", "client_credentials", "refresh_token"],
            response_types_supported: &["code"],
            response_modes_supported: &tessera_domain::interaction::ResponseMode::SUPPORTED,
            prompt_values_supported: &["none", "login", "consent", "select_account"],
            code_challenge_methods_supported: &["S256"],
            scopes_supported: &tessera_domain::authorize::STANDARD_SCOPES,
            subject_types_supported: &["public"],
            // Discovery §3: RS256 is always among them (settings keep an RS256 key unless the
            // operator removed it); a client may choose any of the deployment's algorithms.
            id_token_signing_alg_values_supported: std::iter::once(policy.id_token_alg.as_str())
                .chain(
                    algs.iter()
                        .copied()
                        .filter(|a| *a != policy.id_token_alg.as_str()),
                )
                .collect(),
            acr_values_supported: vec![tessera_domain::service::PASSWORD_LEVEL.as_str()],
            claims_supported: &[
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "acr",
                "amr",
                "at_hash",
                "azp",
                "sid",
                "name",
                "given_name",
                "family_name",
                "preferred_username",
                "locale",
                "updated_at",
                "email",
                "email_verified",
                "phone_number",
                "phone_number_verified",
                "address",
            ],
            claims_parameter_supported: false,
            request_parameter_supported: false,
            request_uri_parameter_supported: false,
            authorization_response_iss_parameter_supported: true,
            // Back-Channel Logout 1.0 §2.1: logout tokens carry sid, and ID tokens too.
            backchannel_logout_supported: true,
            backchannel_logout_session_supported: true,
            token_endpoint_auth_methods_supported: auth_methods,
            tls_client_certificate_bound_access_tokens: true,
            revocation_endpoint_auth_methods_supported: &[
                "client_secret_basic",
                "client_secret_post",
            ],
            introspection_endpoint_auth_methods_supported: &[
                "client_secret_basic",
                "client_secret_post",
            ],
            access_token_signing_alg_values_supported: algs,
        })
}

/// `GET /.well-known/openid-configuration`: the same document as the RFC 8414 metadata.
///
/// OpenID Connect Discovery 1.0 (the same content as the RFC 8414 metadata).
#[utoipa::path(
    get,
    path = "/.well-known/openid-configuration",
    tag = "Discovery",
    operation_id = "openid_configuration",
    responses((status = 200, description = "The provider metadata", body = Metadata))
)]
pub async fn openid_configuration(state: Data<HttpState>) -> HttpResponse {
    metadata(state).await
}

/// Whether this node can issue tokens now.
#[derive(Serialize, ToSchema)]
pub(crate) struct Readiness {
    /// `ready` or `unavailable`.
    #[schema(example = "ready")]
    status: &'static str,
    /// `ok` or `unreachable`.
    database: &'static str,
    /// `ok`, or which algorithms have no active key.
    signing_keys: String,
}

/// The process is up.
#[derive(Serialize, ToSchema)]
pub(crate) struct Health {
    /// Always `ok`.
    status: &'static str,
}

/// `GET /readyz`: tokens can be issued now — the database answers and every configured algorithm
/// has an active signing key. 503 with the reasons otherwise (a load balancer takes the node out).
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "Operations",
    operation_id = "readyz",
    responses(
        (status = 200, description = "Ready", body = Readiness),
        (status = 503, description = "Not ready: the database is unreachable or a key is missing", body = Readiness),
    )
)]
pub async fn readyz(state: Data<HttpState>) -> HttpResponse {
    let ready = state.tokens.readiness(&state.algorithms).await;
    let body = Readiness {
        status: if ready.is_ready() {
            "ready"
        } else {
            "unavailable"
        },
        database: if ready.database { "ok" } else { "unreachable" },
        signing_keys: if ready.missing_keys.is_empty() {
            "ok".to_owned()
        } else {
            format!(
                "no active key for {}",
                ready
                    .missing_keys
                    .iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
    };
    let mut builder = if ready.is_ready() {
        HttpResponse::Ok()
    } else {
        HttpResponse::ServiceUnavailable()
    };
    builder
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

/// `GET /healthz`: the process is up and serving.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "Operations",
    operation_id = "healthz",
    responses((status = 200, description = "Up", body = Health))
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(Health { status: "ok" })
}
