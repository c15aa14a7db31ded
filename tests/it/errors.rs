//! Every error the token endpoint gives, with its exact status, `error` code and headers.

use crate::harness::{Reply, Tessera, agent, basic, send, token_request};

fn check(reply: &Reply, status: u16, code: &str) {
    assert_eq!(
        reply.status,
        status,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let body = reply.json();
    assert_eq!(body["error"], code, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    if code == "invalid_client" {
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Basic realm=\"tessera\"")
        );
    } else {
        assert_eq!(reply.header("www-authenticate"), None);
    }
}

#[test]
fn every_error_case_has_its_status_code_and_headers() {
    let t = Tessera::new();
    let (id, secret) = t.create_client("svc", &["--scope", "read"]);
    let (post_only, post_secret) =
        t.create_client("post-only", &["--auth-method", "client_secret_post"]);
    let (code_only, code_secret) = t.create_client(
        "code-only",
        &[
            "--grant",
            "authorization_code",
            "--redirect-uri",
            "https://app.example/cb",
        ],
    );
    let server = t.serve(&[]);
    let ok = basic(&id, &secret);
    let cc = "grant_type=client_credentials";

    // invalid_client: 401 + WWW-Authenticate.
    check(
        &token_request(&server, Some(&basic(&id, "tsec_wrong")), cc),
        401,
        "invalid_client",
    );
    check(
        &token_request(&server, Some(&basic("nobody", &secret)), cc),
        401,
        "invalid_client",
    );
    check(
        &token_request(&server, Some(&basic(&post_only, &post_secret)), cc),
        401,
        "invalid_client",
    );
    check(
        &token_request(&server, Some("Basic %%%"), cc),
        401,
        "invalid_client",
    );
    check(
        &token_request(&server, Some("Bearer x"), cc),
        401,
        "invalid_client",
    );
    check(&token_request(&server, None, cc), 401, "invalid_client");
    check(
        &token_request(
            &server,
            None,
            &format!("{cc}&client_id={id}&client_secret=nope"),
        ),
        401,
        "invalid_client",
    );

    // invalid_request: 400.
    check(
        &token_request(&server, Some(&ok), &format!("{cc}&client_secret={secret}")),
        400,
        "invalid_request",
    );
    check(
        &token_request(&server, Some(&ok), &format!("{cc}&{cc}")),
        400,
        "invalid_request",
    );
    check(
        &token_request(&server, Some(&ok), "scope=read"),
        400,
        "invalid_request",
    );
    let mut bad_utf8 = b"grant_type=client_credentials&scope=".to_vec();
    bad_utf8.extend_from_slice(&[0xC3, 0x28]);
    let req = agent()
        .post(&server.url("/oauth2/token"))
        .set("Content-Type", "application/x-www-form-urlencoded")
        .set("Authorization", &ok);
    check(&send(req, Some(&bad_utf8)), 400, "invalid_request");
    let json = agent()
        .post(&server.url("/oauth2/token"))
        .set("Content-Type", "application/json")
        .set("Authorization", &ok);
    check(
        &send(json, Some(br#"{"grant_type":"client_credentials"}"#)),
        400,
        "invalid_request",
    );

    // Grant and scope errors: 400 with their own codes.
    check(
        &token_request(&server, Some(&ok), "grant_type=password"),
        400,
        "unsupported_grant_type",
    );
    check(
        &token_request(&server, Some(&ok), &format!("{cc}&scope=admin")),
        400,
        "invalid_scope",
    );
    check(
        &token_request(&server, Some(&ok), &format!("{cc}&scope=%22quoted%22")),
        400,
        "invalid_scope",
    );
    check(
        &token_request(&server, Some(&basic(&code_only, &code_secret)), cc),
        400,
        "unauthorized_client",
    );

    // Size and method.
    let big = format!("{cc}&pad={}", "x".repeat(65 * 1024));
    check(
        &token_request(&server, Some(&ok), &big),
        413,
        "invalid_request",
    );
    let get = send(agent().get(&server.url("/oauth2/token")), None);
    check(&get, 405, "invalid_request");
    assert_eq!(get.header("allow"), Some("POST"));

    // Nothing above produced a token, a 500 or a panic.
    assert!(!server.log().contains("panicked"), "{}", server.log());
    assert_eq!(
        token_request(&server, Some(&ok), cc).status,
        200,
        "and the server still serves"
    );
}

#[test]
fn public_documents_are_served() {
    let t = Tessera::new();
    let server = t.serve(&[]);
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let reply = send(agent().get(&server.url(path)), None);
        assert_eq!(reply.status, 200);
        let meta = reply.json();
        assert_eq!(meta["issuer"], server.base.as_str());
        assert_eq!(meta["token_endpoint"], server.url("/oauth2/token"));
        assert_eq!(meta["jwks_uri"], server.url("/oauth2/jwks"));
        assert_eq!(
            meta["grant_types_supported"],
            serde_json::json!(["authorization_code", "client_credentials", "refresh_token"])
        );
        assert_eq!(
            meta["authorization_endpoint"],
            server.url("/oauth2/authorize")
        );
        assert_eq!(meta["userinfo_endpoint"], server.url("/oauth2/userinfo"));
        assert_eq!(
            meta["response_types_supported"],
            serde_json::json!(["code"])
        );
        assert_eq!(meta["revocation_endpoint"], server.url("/oauth2/revoke"));
        assert_eq!(
            meta["introspection_endpoint"],
            server.url("/oauth2/introspect")
        );
    }
    let jwks = send(agent().get(&server.url("/oauth2/jwks")), None);
    assert_eq!(jwks.header("cache-control"), Some("public, max-age=300"));
    let keys = jwks.json()["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 4, "one key per enabled algorithm");
    for k in &keys {
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(
                k.get(private).is_none(),
                "private parameter {private} published: {k}"
            );
        }
    }
    let health = send(agent().get(&server.url("/healthz")), None);
    assert_eq!(
        (health.status, health.json()["status"].as_str()),
        (200, Some("ok"))
    );
}
