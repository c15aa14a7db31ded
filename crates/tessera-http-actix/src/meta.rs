//! The public, unauthenticated documents: JWKS (RFC 7517), authorization server metadata
//! (RFC 8414) and the health check.

use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::Data;
use serde_json::{Value, json};
use tessera_domain::keys::{PublicJwk, PublicKeyParams};

use crate::server::HttpState;

fn jwk_json(key: &PublicJwk) -> Value {
    let mut v = match &key.params {
        PublicKeyParams::Ec { crv, x, y } => json!({"kty": "EC", "crv": crv, "x": x, "y": y}),
        PublicKeyParams::Rsa { n, e } => json!({"kty": "RSA", "n": n, "e": e}),
        PublicKeyParams::Okp { crv, x } => json!({"kty": "OKP", "crv": crv, "x": x}),
    };
    if let Value::Object(map) = &mut v {
        map.insert("kid".into(), json!(key.kid.as_str()));
        map.insert("alg".into(), json!(key.alg.as_str()));
        map.insert("use".into(), json!("sig"));
    }
    v
}

/// `GET /oauth2/jwks`: the public halves of every published key, never a private parameter.
pub async fn jwks(state: Data<HttpState>) -> HttpResponse {
    let keys: Vec<Value> = state.signer.published().iter().map(jwk_json).collect();
    HttpResponse::Ok()
        .insert_header((
            header::CACHE_CONTROL,
            format!("public, max-age={}", state.jwks_max_age),
        ))
        .json(json!({ "keys": keys }))
}

/// `GET /.well-known/oauth-authorization-server` and `/.well-known/openid-configuration`: what
/// this server actually supports, and nothing it does not.
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
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(json!({
            "issuer": issuer,
            "token_endpoint": format!("{issuer}/oauth2/token"),
            "jwks_uri": format!("{issuer}/oauth2/jwks"),
            "revocation_endpoint": format!("{issuer}/oauth2/revoke"),
            "introspection_endpoint": format!("{issuer}/oauth2/introspect"),
            "authorization_endpoint": format!("{issuer}/oauth2/authorize"),
            "userinfo_endpoint": format!("{issuer}/oauth2/userinfo"),
            "end_session_endpoint": format!("{issuer}/oauth2/logout"),
            "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [state.tokens.policy().id_token_alg.as_str()],
            "acr_values_supported": [tessera_domain::service::PASSWORD_LEVEL.as_str()],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "at_hash", "azp", "name", "given_name", "family_name", "preferred_username", "locale", "updated_at", "email", "email_verified"],
            "claims_parameter_supported": false,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            "authorization_response_iss_parameter_supported": true,
            "token_endpoint_auth_methods_supported": auth_methods,
            "tls_client_certificate_bound_access_tokens": true,
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "access_token_signing_alg_values_supported": algs,
        }))
}

/// `GET /readyz`: tokens can be issued now — the database answers and every configured algorithm
/// has an active signing key. 503 with the reasons otherwise (a load balancer takes the node out).
pub async fn readyz(state: Data<HttpState>) -> HttpResponse {
    let ready = state.tokens.readiness(&state.algorithms).await;
    let body = json!({
        "status": if ready.is_ready() { "ready" } else { "unavailable" },
        "database": if ready.database { "ok" } else { "unreachable" },
        "signing_keys": if ready.missing_keys.is_empty() { "ok".to_owned() } else {
            format!("no active key for {}", ready.missing_keys.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", "))
        },
    });
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
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({"status": "ok"}))
}
