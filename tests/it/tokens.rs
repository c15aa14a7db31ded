//! Getting tokens: both authentication methods, every algorithm, RFC 9068 headers and claims.

use std::collections::HashSet;

use jsonwebtoken::Algorithm;

use crate::harness::{Tessera, basic, token_request};
use crate::jwt::verify;

#[test]
fn basic_and_post_both_get_rfc_9068_tokens_that_verify_against_the_jwks() {
    let t = Tessera::new();
    let (id, secret) = t.create_client(
        "billing",
        &[
            "--scope",
            "invoices.read invoices.write",
            "--default-scope",
            "invoices.read",
            "--role",
            "ROLE_CLI-1STPARTY",
            "--role",
            "ROLE_CLI-AUTH-BASIC",
        ],
    );
    let server = t.serve(&[]);

    let reply = token_request(
        &server,
        Some(&basic(&id, &secret)),
        "grant_type=client_credentials",
    );
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.header("pragma"), Some("no-cache"));
    assert!(
        reply
            .header("content-type")
            .unwrap_or_default()
            .starts_with("application/json")
    );
    let body = reply.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(
        body["scope"], "invoices.read",
        "the default scope when none is asked for"
    );

    let token = body["access_token"].as_str().unwrap();
    let (header, claims) = verify(&server, token, &server.base);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.alg, Algorithm::ES256);
    assert_eq!(claims["iss"], server.base.as_str());
    assert_eq!(claims["sub"], "billing");
    assert_eq!(claims["client_id"], "billing");
    assert_eq!(claims["aud"], server.base.as_str());
    assert_eq!(claims["scope"], "invoices.read");
    assert_eq!(
        claims["roles"],
        serde_json::json!(["ROLE_CLI-1STPARTY", "ROLE_CLI-AUTH-BASIC"])
    );
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    assert_eq!(
        claims["jti"].as_str().unwrap().len(),
        22,
        "128 random bits, base64url"
    );

    let body = format!(
        "grant_type=client_credentials&scope=invoices.write+invoices.read&client_id={id}&client_secret={secret}"
    );
    let reply = token_request(&server, None, &body);
    assert_eq!(reply.status, 200);
    let body = reply.json();
    assert_eq!(body["scope"], "invoices.read invoices.write");
    let (_, claims) = verify(
        &server,
        body["access_token"].as_str().unwrap(),
        &server.base,
    );
    assert_eq!(claims["scope"], "invoices.read invoices.write");
}

#[test]
fn every_algorithm_and_client_settings_show_in_the_token() {
    let t = Tessera::new();
    let mut clients = Vec::new();
    for (id, alg) in [
        ("es", "ES256"),
        ("rs", "RS256"),
        ("ps", "PS256"),
        ("ed", "EdDSA"),
    ] {
        let (id, secret) = t.create_client(
            id,
            &[
                "--alg",
                alg,
                "--ttl",
                "120",
                "--audience",
                "https://api.example",
            ],
        );
        clients.push((id, secret, alg));
    }
    let (plain, plain_secret) = t.create_client("no-scope", &[]);
    let server = t.serve(&[]);
    for (id, secret, alg) in &clients {
        let reply = token_request(
            &server,
            Some(&basic(id, secret)),
            "grant_type=client_credentials",
        );
        assert_eq!(reply.status, 200, "{alg}");
        let body = reply.json();
        assert_eq!(body["expires_in"], 120);
        assert!(
            body.get("scope").is_none(),
            "no scope granted, none reported"
        );
        let (header, claims) = verify(
            &server,
            body["access_token"].as_str().unwrap(),
            "https://api.example",
        );
        assert_eq!(format!("{:?}", header.alg), *alg);
        assert!(claims.get("roles").is_none() && claims.get("scope").is_none());
    }
    let reply = token_request(
        &server,
        Some(&basic(&plain, &plain_secret)),
        "grant_type=client_credentials",
    );
    assert_eq!(reply.status, 200);
}

#[test]
fn an_imported_secret_is_accepted_and_generated_secrets_are_recognisable() {
    let t = Tessera::new();
    let out = t.cli(
        &[
            "client",
            "create",
            "--name",
            "Legacy",
            "--id",
            "legacy",
            "--secret-stdin",
        ],
        Some("s3cret-from-elsewhere\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        shown.get("client_secret").is_none(),
        "an imported secret is not echoed"
    );
    assert_eq!(shown["secret_kinds"], serde_json::json!(["argon2id"]));
    let (_, generated) = t.create_client("fresh", &[]);
    assert!(
        generated.starts_with("tsec_") && generated.len() == 53,
        "{generated}"
    );

    let server = t.serve(&[]);
    let ok = token_request(
        &server,
        Some(&basic("legacy", "s3cret-from-elsewhere")),
        "grant_type=client_credentials",
    );
    assert_eq!(ok.status, 200);
    let bad = token_request(
        &server,
        Some(&basic("legacy", "s3cret-from-elsewherE")),
        "grant_type=client_credentials",
    );
    assert_eq!(bad.status, 401);
}

#[test]
fn fifty_concurrent_requests_all_succeed_with_distinct_jti() {
    let t = Tessera::new();
    let (id, secret) = t.create_client("busy", &["--scope", "a"]);
    let server = t.serve(&[]);
    let auth = basic(&id, &secret);
    let tokens: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..50)
            .map(|_| {
                s.spawn(|| {
                    let reply =
                        token_request(&server, Some(&auth), "grant_type=client_credentials");
                    assert_eq!(reply.status, 200);
                    reply.json()["access_token"].as_str().unwrap().to_owned()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let set = crate::jwt::jwks(&server);
    let jtis: HashSet<String> = tokens
        .iter()
        .map(|tok| {
            crate::jwt::verify_with(&set, tok, &server.base, &server.base).1["jti"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(jtis.len(), 50);
}
