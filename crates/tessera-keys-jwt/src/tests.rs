//! The key ring against an independent verifier: `jsonwebtoken::decode` with a key rebuilt from the
//! published JWK, as a resource server would.

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use serde_json::{Value, json};
use tessera_domain::keys::{KeyId, KeyState, PublicKeyParams, SigningKey};
use tessera_domain::policy::Issuer;
use tessera_domain::ports::{KeyGenerator, SignError, TokenSigner};
use tessera_domain::token::AccessTokenClaims;
use tessera_domain::{Audience, ClientId, Role, ScopeSet, SigningAlgorithm, UnixTime};

use super::*;

fn key(alg: SigningAlgorithm, state: KeyState, at: i64) -> SigningKey {
    let (kid, private_der) = AwsLcKeyGenerator
        .generate(alg)
        .unwrap_or_else(|e| panic!("{e}"));
    SigningKey {
        kid,
        alg,
        state,
        private_der,
        created_at: UnixTime::from_secs(at),
        activated_at: (state == KeyState::Active).then(|| UnixTime::from_secs(at)),
        retire_at: None,
    }
}

fn claims(scope: &str, roles: &[&str]) -> AccessTokenClaims {
    let now = jsonwebtoken::get_current_timestamp() as i64;
    AccessTokenClaims {
        iss: Issuer::parse("https://id.example").unwrap_or_else(|e| panic!("{e}")),
        sub: "svc".into(),
        aud: tessera_domain::resource::Audiences::one(
            Audience::parse("https://api.example").unwrap_or_else(|e| panic!("{e}")),
        ),
        exp: UnixTime::from_secs(now + 300),
        iat: UnixTime::from_secs(now),
        jti: "j1".into(),
        client_id: ClientId::parse("svc").unwrap_or_else(|e| panic!("{e}")),
        scope: ScopeSet::parse(scope).unwrap_or_else(|e| panic!("{e}")),
        roles: roles
            .iter()
            .map(|r| Role::parse(r).unwrap_or_else(|e| panic!("{e}")))
            .collect(),
        user: None,
        cnf: None,
        cid: None,
    }
}

/// The JWK JSON a resource server would fetch, built from the domain's public key.
fn jwk_json(ring: &JwtKeyRing, kid: &KeyId) -> Value {
    let jwk = ring
        .published()
        .into_iter()
        .find(|k| &k.kid == kid)
        .unwrap_or_else(|| panic!("{kid} not published"));
    let mut v = match jwk.params {
        PublicKeyParams::Ec { crv, x, y } => json!({"kty": "EC", "crv": crv, "x": x, "y": y}),
        PublicKeyParams::Rsa { n, e } => json!({"kty": "RSA", "n": n, "e": e}),
        PublicKeyParams::Okp { crv, x } => json!({"kty": "OKP", "crv": crv, "x": x}),
    };
    v["kid"] = json!(jwk.kid.as_str());
    v["alg"] = json!(jwk.alg.as_str());
    v["use"] = json!("sig");
    v
}

fn verify(ring: &JwtKeyRing, token: &str) -> Value {
    let header = decode_header(token).unwrap_or_else(|e| panic!("{e}"));
    let kid =
        KeyId::parse(header.kid.as_deref().unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
    let jwk: Jwk = serde_json::from_value(jwk_json(ring, &kid)).unwrap_or_else(|e| panic!("{e}"));
    let key = DecodingKey::from_jwk(&jwk).unwrap_or_else(|e| panic!("{e}"));
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&["https://api.example"]);
    validation.set_issuer(&["https://id.example"]);
    decode::<Value>(token, &key, &validation)
        .unwrap_or_else(|e| panic!("{e}"))
        .claims
}

#[test]
fn every_algorithm_signs_tokens_that_verify_against_the_published_jwk() {
    let ring = JwtKeyRing::new();
    let keys: Vec<_> = SigningAlgorithm::ALL
        .iter()
        .map(|&a| key(a, KeyState::Active, 1))
        .collect();
    ring.install(&keys).unwrap_or_else(|e| panic!("{e}"));
    for &alg in SigningAlgorithm::ALL {
        let token = ring
            .sign(alg, &claims("a b", &["ROLE_X"]))
            .unwrap_or_else(|e| panic!("{e}"));
        let header = decode_header(token.expose()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(format!("{:?}", header.alg), alg.as_str());
        let got = verify(&ring, token.expose());
        assert_eq!(got["scope"], "a b");
        assert_eq!(got["roles"], json!(["ROLE_X"]));
        assert_eq!(got["client_id"], "svc");
        assert_eq!(got["sub"], "svc");
    }
}

#[test]
fn empty_scope_and_roles_are_left_out_of_the_token() {
    let ring = JwtKeyRing::new();
    ring.install(&[key(SigningAlgorithm::Es256, KeyState::Active, 1)])
        .unwrap_or_else(|e| panic!("{e}"));
    let token = ring
        .sign(SigningAlgorithm::Es256, &claims("", &[]))
        .unwrap_or_else(|e| panic!("{e}"));
    let got = verify(&ring, token.expose());
    assert!(got.get("scope").is_none());
    assert!(got.get("roles").is_none());
}

/// A token for several resources (RFC 8707) carries `aud` as an array, which a resource server's
/// library checks against its own identifier, and reads back whole; one audience stays a string.
#[test]
fn several_audiences_are_an_array_and_read_back_whole() {
    let ring = JwtKeyRing::new();
    ring.install(&[key(SigningAlgorithm::Es256, KeyState::Active, 1)])
        .unwrap_or_else(|e| panic!("{e}"));
    let mut c = claims("a", &[]);
    c.aud = tessera_domain::resource::Audiences::parse_all(["https://api.example", "urn:ledger"])
        .unwrap_or_else(|e| panic!("{e}"));
    let token = ring
        .sign(SigningAlgorithm::Es256, &c)
        .unwrap_or_else(|e| panic!("{e}"));
    let got = verify(&ring, token.expose());
    assert_eq!(got["aud"], json!(["https://api.example", "urn:ledger"]));
    assert_eq!(ring.verify(token.expose()), Ok(c));
    let one = ring
        .sign(SigningAlgorithm::Es256, &claims("a", &[]))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(verify(&ring, one.expose())["aud"], "https://api.example");
}

#[test]
fn kid_is_the_rfc_7638_thumbprint() {
    let ring = JwtKeyRing::new();
    let k = key(SigningAlgorithm::Es256, KeyState::Active, 1);
    ring.install(std::slice::from_ref(&k))
        .unwrap_or_else(|e| panic!("{e}"));
    let jwk: Jwk =
        serde_json::from_value(jwk_json(&ring, &k.kid)).unwrap_or_else(|e| panic!("{e}"));
    let print = jwk
        .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(print, k.kid.as_str());
}

#[test]
fn only_active_keys_sign_and_the_newest_active_key_wins() {
    let ring = JwtKeyRing::new();
    let old = key(SigningAlgorithm::Es256, KeyState::Active, 1);
    let new = key(SigningAlgorithm::Es256, KeyState::Active, 2);
    let published = key(SigningAlgorithm::Es256, KeyState::Published, 3);
    let retired = key(SigningAlgorithm::Es256, KeyState::Retired, 0);
    ring.install(&[new.clone(), published.clone(), old.clone(), retired.clone()])
        .unwrap_or_else(|e| panic!("{e}"));
    let token = ring
        .sign(SigningAlgorithm::Es256, &claims("", &[]))
        .unwrap_or_else(|e| panic!("{e}"));
    let header = decode_header(token.expose()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(header.kid.as_deref(), Some(new.kid.as_str()));
    let kids: Vec<_> = ring.published().into_iter().map(|k| k.kid).collect();
    assert!(kids.contains(&old.kid) && kids.contains(&new.kid) && kids.contains(&published.kid));
    assert!(!kids.contains(&retired.kid), "retired keys leave the JWKS");
    assert_eq!(
        ring.sign(SigningAlgorithm::Rs256, &claims("", &[])),
        Err(SignError::NoActiveKey(SigningAlgorithm::Rs256))
    );
}

#[test]
fn a_key_that_does_not_match_its_kid_is_refused_and_the_old_keys_stay() {
    let ring = JwtKeyRing::new();
    let good = key(SigningAlgorithm::Es256, KeyState::Active, 1);
    ring.install(std::slice::from_ref(&good))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut forged = key(SigningAlgorithm::Es256, KeyState::Active, 2);
    forged.kid = good.kid.clone();
    assert!(matches!(ring.install(&[forged]), Err(SignError::BadKey(_))));
    let mut garbage = key(SigningAlgorithm::EdDsa, KeyState::Active, 2);
    garbage.private_der = tessera_domain::keys::PrivateKeyDer::new(vec![1, 2, 3]);
    assert!(matches!(
        ring.install(&[garbage]),
        Err(SignError::BadKey(_))
    ));
    assert!(ring.sign(SigningAlgorithm::Es256, &claims("", &[])).is_ok());
}

#[test]
fn parsed_key_signing_matches_what_jsonwebtoken_encode_produces() {
    // The same header and claims through jsonwebtoken::encode verify with the same public key.
    let k = key(SigningAlgorithm::Es256, KeyState::Active, 1);
    let ring = JwtKeyRing::new();
    ring.install(std::slice::from_ref(&k))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.typ = Some("at+jwt".into());
    header.kid = Some(k.kid.as_str().into());
    let c = claims("x", &[]);
    let encoded = jsonwebtoken::encode(
        &header,
        &claims::JwtClaims::from(&c),
        &jsonwebtoken::EncodingKey::from_ec_der(k.private_der.expose()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let ours = ring
        .sign(SigningAlgorithm::Es256, &c)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(verify(&ring, &encoded), verify(&ring, ours.expose()));
    let prefix = |t: &str| t.rsplit_once('.').map(|(p, _)| p.to_owned());
    assert_eq!(
        prefix(&encoded),
        prefix(ours.expose()),
        "same header and payload bytes"
    );
}

#[test]
fn verify_accepts_only_our_own_access_tokens() {
    let ring = JwtKeyRing::new();
    let keys: Vec<_> = SigningAlgorithm::ALL
        .iter()
        .map(|&a| key(a, KeyState::Active, 1))
        .collect();
    ring.install(&keys).unwrap_or_else(|e| panic!("{e}"));
    for &alg in SigningAlgorithm::ALL {
        let c = claims("a b", &["ROLE_X"]);
        let token = ring.sign(alg, &c).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ring.verify(token.expose()), Ok(c), "{alg}");
    }
    let token = ring
        .sign(SigningAlgorithm::Es256, &claims("", &[]))
        .unwrap_or_else(|e| panic!("{e}"));
    let t = token.expose();
    let (head, rest) = t.split_once('.').unwrap_or_default();
    let (payload, sig) = rest.split_once('.').unwrap_or_default();
    let b64 = |s: &str| URL_SAFE_NO_PAD.encode(s);
    let cases = [
        format!("{head}.{payload}.{}", b64("forged")),
        format!("{head}.{}.{sig}", b64(r#"{"sub":"other"}"#)),
        format!(
            "{}.{payload}.",
            b64(r#"{"alg":"none","typ":"at+jwt","kid":"x"}"#)
        ),
        format!(
            "{}.{payload}.{sig}",
            b64(&format!(
                r#"{{"alg":"ES256","typ":"JWT","kid":"{}"}}"#,
                keys[0].kid
            ))
        ),
        format!(
            "{}.{payload}.{sig}",
            b64(&format!(
                r#"{{"alg":"HS256","typ":"at+jwt","kid":"{}"}}"#,
                keys[0].kid
            ))
        ),
        format!(
            "{}.{payload}.{sig}",
            b64(r#"{"alg":"ES256","typ":"at+jwt","kid":"unknown"}"#)
        ),
        "not-a-jwt".to_owned(),
        String::new(),
    ];
    for bad in cases {
        assert_eq!(ring.verify(&bad), Err(SignError::Invalid), "{bad}");
    }
    // A token signed by a key that is no longer installed stops verifying.
    ring.install(&[key(SigningAlgorithm::Es256, KeyState::Active, 2)])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ring.verify(t), Err(SignError::Invalid));
}

#[test]
fn id_tokens_are_typ_jwt_verify_against_the_jwks_and_are_never_access_tokens() {
    use tessera_domain::token::{IdTokenClaims, UserInfo};
    let ring = JwtKeyRing::new();
    ring.install(&[key(SigningAlgorithm::Rs256, KeyState::Active, 1)])
        .unwrap_or_else(|e| panic!("{e}"));
    let now = jsonwebtoken::get_current_timestamp() as i64;
    let claims = IdTokenClaims {
        iss: Issuer::parse("https://id.example").unwrap_or_else(|e| panic!("{e}")),
        aud: ClientId::parse("https://api.example").unwrap_or_else(|e| panic!("{e}")),
        exp: UnixTime::from_secs(now + 300),
        iat: UnixTime::from_secs(now),
        auth_time: UnixTime::from_secs(now - 10),
        nonce: Some(
            tessera_domain::authorize::Nonce::parse("n-1").unwrap_or_else(|e| panic!("{e}")),
        ),
        acr: tessera_domain::assurance::AssuranceLevel::Basic,
        amr: vec!["pwd"],
        at_hash: "hash".into(),
        sid: Some("sid-1".into()),
        user: UserInfo {
            sub: "usr_1".into(),
            email: Some("ana@example.com".into()),
            email_verified: Some(true),
            ..UserInfo::default()
        },
    };
    let token = ring
        .sign_id_token(SigningAlgorithm::Rs256, &claims)
        .unwrap_or_else(|e| panic!("{e}"));
    let header = decode_header(token.expose()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let got = verify(&ring, token.expose());
    assert_eq!(got["sub"], "usr_1");
    assert_eq!(got["azp"], "https://api.example");
    assert_eq!(got["auth_time"], now - 10);
    assert_eq!(got["nonce"], "n-1");
    assert_eq!(got["acr"], "AUTH_BASIC");
    assert_eq!(got["amr"], json!(["pwd"]));
    assert_eq!(got["email_verified"], true);
    assert!(got.get("name").is_none(), "claims not released are absent");
    assert_eq!(got["sid"], "sid-1");
    assert_eq!(
        ring.verify(token.expose()),
        Err(SignError::Invalid),
        "an ID token is not an access token"
    );
    assert_eq!(
        ring.sign_id_token(SigningAlgorithm::Es256, &claims),
        Err(SignError::NoActiveKey(SigningAlgorithm::Es256))
    );
    // Presented back as a hint: the claims a hint needs, and nothing accepted but our own.
    let hint = ring
        .verify_id_token(token.expose())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(hint.sub, "usr_1");
    assert_eq!(hint.aud.as_str(), "https://api.example");
    assert_eq!(hint.iss.as_str(), "https://id.example");
    assert_eq!(hint.sid.as_deref(), Some("sid-1"));
    let mut forged = token.expose().to_owned();
    forged.pop();
    forged.push(if token.expose().ends_with('A') {
        'B'
    } else {
        'A'
    });
    assert_eq!(
        ring.verify_id_token(&forged),
        Err(SignError::Invalid),
        "a bad signature"
    );
    let access = ring
        .sign(SigningAlgorithm::Rs256, &self::claims("read", &[]))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        ring.verify_id_token(access.expose()),
        Err(SignError::Invalid),
        "an access token is not an ID token"
    );
    let other = JwtKeyRing::new();
    other
        .install(&[key(SigningAlgorithm::Rs256, KeyState::Active, 2)])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        other.verify_id_token(token.expose()),
        Err(SignError::Invalid),
        "another server's keys"
    );
}

#[test]
fn logout_tokens_are_typ_logout_jwt_with_the_event_and_no_nonce() {
    use tessera_domain::backchannel::{LOGOUT_EVENT, LogoutTokenClaims};
    let ring = JwtKeyRing::new();
    ring.install(&[key(SigningAlgorithm::Es256, KeyState::Active, 1)])
        .unwrap_or_else(|e| panic!("{e}"));
    let now = jsonwebtoken::get_current_timestamp() as i64;
    let claims = LogoutTokenClaims {
        iss: Issuer::parse("https://id.example").unwrap_or_else(|e| panic!("{e}")),
        aud: ClientId::parse("https://api.example").unwrap_or_else(|e| panic!("{e}")),
        iat: UnixTime::from_secs(now),
        exp: UnixTime::from_secs(now + 120),
        jti: "jti-1".into(),
        sub: "usr_1".into(),
        sid: Some("sid-1".into()),
    };
    let token = ring
        .sign_logout_token(SigningAlgorithm::Es256, &claims)
        .unwrap_or_else(|e| panic!("{e}"));
    let header = decode_header(token.expose()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    let got = verify(&ring, token.expose());
    assert_eq!(got["aud"], "https://api.example");
    assert_eq!(got["jti"], "jti-1");
    assert_eq!(got["sid"], "sid-1");
    assert_eq!(got["events"][LOGOUT_EVENT], json!({}));
    assert!(
        got.get("nonce").is_none(),
        "§2.4: a logout token never has a nonce"
    );
    assert_eq!(ring.verify(token.expose()), Err(SignError::Invalid));
    assert_eq!(
        ring.verify_id_token(token.expose()),
        Err(SignError::Invalid)
    );
}
