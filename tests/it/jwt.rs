//! Verifying tokens the way a resource server does: fetch the JWKS, pick the key by `kid`, check
//! the signature, `iss`, `aud` and `exp` with an independent JWT library.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Header, Validation, decode, decode_header};
use serde_json::Value;

use crate::harness::{Server, agent, send};

pub fn jwks(server: &Server) -> JwkSet {
    let reply = send(agent().get(&server.url("/oauth2/jwks")), None);
    assert_eq!(reply.status, 200);
    serde_json::from_slice(&reply.body).expect("JWKS")
}

/// Verifies `token` against the server's published JWKS; returns its header and claims.
pub fn verify(server: &Server, token: &str, audience: &str) -> (Header, Value) {
    verify_with(&jwks(server), token, &server.base, audience)
}

pub fn verify_with(set: &JwkSet, token: &str, issuer: &str, audience: &str) -> (Header, Value) {
    let header = decode_header(token).expect("JWS header");
    let kid = header.kid.clone().expect("kid in the header");
    let jwk = set
        .find(&kid)
        .unwrap_or_else(|| panic!("kid {kid} is not in the JWKS"));
    let key = DecodingKey::from_jwk(jwk).expect("usable JWK");
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    let data = decode::<Value>(token, &key, &validation).expect("signature and claims verify");
    (header, data.claims)
}
