//! The token lifecycle over HTTP: refresh rotation and reuse detection, revocation, introspection,
//! opaque tokens, and their survival across a restart.

use std::collections::HashSet;

use serde_json::Value;

use crate::harness::{Server, Tessera, basic, token_request};

fn refresh_client(t: &Tessera, id: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "--scope",
        "read write",
        "--grant",
        "client_credentials",
        "--grant",
        "refresh_token",
        "--refresh-with-client-credentials",
    ];
    args.extend_from_slice(extra);
    t.create_client(id, &args).1
}

fn grant(server: &Server, auth: &str) -> Value {
    let reply = token_request(server, Some(auth), "grant_type=client_credentials");
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    reply.json()
}

fn refresh(server: &Server, auth: &str, token: &str, scope: Option<&str>) -> (u16, Value) {
    let mut body = format!("grant_type=refresh_token&refresh_token={token}");
    if let Some(s) = scope {
        body.push_str(&format!("&scope={}", s.replace(' ', "+")));
    }
    let reply = token_request(server, Some(auth), &body);
    (reply.status, reply.json())
}

fn form(server: &Server, path: &str, auth: &str, body: &str) -> crate::harness::Reply {
    let req = crate::harness::agent()
        .post(&server.url(path))
        .set("Content-Type", "application/x-www-form-urlencoded")
        .set("Authorization", auth);
    crate::harness::send(req, Some(body.as_bytes()))
}

fn introspect(server: &Server, auth: &str, token: &str) -> Value {
    let reply = form(
        server,
        "/oauth2/introspect",
        auth,
        &format!("token={token}"),
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    reply.json()
}

fn revoke(server: &Server, auth: &str, token: &str) {
    let reply = form(server, "/oauth2/revoke", auth, &format!("token={token}"));
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert!(reply.body.is_empty());
}

#[test]
fn client_credentials_issues_no_refresh_token_unless_the_client_opted_in() {
    // RFC 6749 §4.4.3: "A refresh token SHOULD NOT be included", even for a client that may use
    // the refresh_token grant (in the code flow).
    let t = Tessera::new();
    let (id, secret) = t.create_client(
        "plain",
        &["--grant", "client_credentials", "--grant", "refresh_token"],
    );
    let shown = t.cli_json(&["client", "show", &id]);
    assert_eq!(shown["refresh_with_client_credentials"], false);
    let server = t.serve(&[]);
    let body = grant(&server, &basic(&id, &secret));
    assert!(body["access_token"].is_string());
    assert!(body.get("refresh_token").is_none(), "{body}");
    // The opt-in needs the refresh_token grant.
    let refused = t.cli(
        &[
            "client",
            "create",
            "--name",
            "x",
            "--refresh-with-client-credentials",
        ],
        None,
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--grant refresh_token"));
}

#[test]
fn refresh_rotates_narrows_and_retries_within_the_grace_window() {
    let t = Tessera::new();
    let auth = basic("app", &refresh_client(&t, "app", &[]));
    let server = t.serve(&[]);
    let first = grant(&server, &auth);
    let t0 = first["refresh_token"].as_str().unwrap().to_owned();
    assert!(t0.starts_with("trt_") && t0.len() == 47, "{t0}");

    let (status, r1) = refresh(&server, &auth, &t0, None);
    assert_eq!(status, 200, "{r1}");
    let t1 = r1["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(t1, t0, "every use rotates");
    assert_eq!(r1["scope"], "read write");
    crate::jwt::verify(&server, r1["access_token"].as_str().unwrap(), &server.base);

    // A lost response: the client retries with the same token and gets the same successor.
    let (status, retry) = refresh(&server, &auth, &t0, None);
    assert_eq!(status, 200, "{retry}");
    assert_eq!(retry["refresh_token"], t1.as_str());
    assert_ne!(retry["access_token"], r1["access_token"]);

    // Narrowing is allowed, widening is not.
    let (status, narrow) = refresh(&server, &auth, &t1, Some("read"));
    assert_eq!((status, narrow["scope"].as_str()), (200, Some("read")));
    let t2 = narrow["refresh_token"].as_str().unwrap().to_owned();
    let (status, wide) = refresh(&server, &auth, &t2, Some("read admin"));
    assert_eq!(
        (status, wide["error"].as_str()),
        (400, Some("invalid_scope"))
    );

    // Presenting t0 again after its successor was used is reuse: the whole family dies.
    let (status, reused) = refresh(&server, &auth, &t0, None);
    assert_eq!(
        (status, reused["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, after) = refresh(&server, &auth, &t2, None);
    assert_eq!(
        (status, after["error"].as_str()),
        (400, Some("invalid_grant")),
        "the family is revoked"
    );
    // A fresh grant starts a new, working family.
    let again = grant(&server, &auth);
    assert_eq!(
        refresh(
            &server,
            &auth,
            again["refresh_token"].as_str().unwrap(),
            None
        )
        .0,
        200
    );
}

#[test]
fn reuse_after_the_grace_window_revokes_the_family_and_other_clients_get_no_hint() {
    let t = Tessera::new();
    let auth = basic("app", &refresh_client(&t, "app", &[]));
    let other = basic("other", &refresh_client(&t, "other", &[]));
    let server = t.serve(&[("TESSERA_TOKENS__REFRESH_REUSE_GRACE_SECONDS", "0")]);
    let t0 = grant(&server, &auth)["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let (status, stolen) = refresh(&server, &other, &t0, None);
    assert_eq!(
        (status, stolen["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (_, unknown) = refresh(&server, &other, &format!("trt_{}", "A".repeat(43)), None);
    assert_eq!(
        stolen, unknown,
        "another client's token looks exactly like an unknown one"
    );
    let (status, garbage) = refresh(&server, &auth, "not-a-token", None);
    assert_eq!(
        (status, garbage["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let (status, r1) = refresh(&server, &auth, &t0, None);
    assert_eq!(
        status, 200,
        "the owner's token was untouched by the other client: {r1}"
    );
    let t1 = r1["refresh_token"].as_str().unwrap().to_owned();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(
        refresh(&server, &auth, &t0, None).0,
        400,
        "reuse after the grace window"
    );
    assert_eq!(
        refresh(&server, &auth, &t1, None).0,
        400,
        "revokes the current token too"
    );
}

#[test]
fn a_hundred_concurrent_refreshes_of_one_token_leave_exactly_one_successor() {
    let t = Tessera::new();
    let auth = basic("app", &refresh_client(&t, "app", &[]));
    let server = t.serve(&[]);
    let t0 = grant(&server, &auth)["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let results: Vec<(u16, Value)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..100)
            .map(|_| s.spawn(|| refresh(&server, &auth, &t0, None)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        results.iter().all(|(status, _)| *status == 200),
        "{:?}",
        results.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    let successors: HashSet<&str> = results
        .iter()
        .map(|(_, b)| b["refresh_token"].as_str().unwrap())
        .collect();
    assert_eq!(successors.len(), 1, "exactly one successor");
    let successor = successors.into_iter().next().unwrap().to_owned();
    assert_eq!(
        refresh(&server, &auth, &successor, None).0,
        200,
        "and it is the family's live token"
    );
    assert!(!server.log().contains("panicked"));
}

#[test]
fn revocation_and_introspection_for_jwt_opaque_and_refresh_tokens() {
    let t = Tessera::new();
    let owner = basic("app", &refresh_client(&t, "app", &[]));
    let opaque_owner = basic(
        "opq",
        &refresh_client(&t, "opq", &["--access-token-format", "opaque"]),
    );
    let stranger = basic("stranger", &t.create_client("stranger", &[]).1);
    let auditor = basic(
        "auditor",
        &t.create_client("auditor", &["--role", "ROLE_CLI-INTROSPECT"])
            .1,
    );
    let server = t.serve(&[]);

    let jwt = grant(&server, &owner);
    let access = jwt["access_token"].as_str().unwrap().to_owned();
    let own = introspect(&server, &owner, &access);
    assert_eq!(own["active"], true);
    for field in [
        "scope",
        "client_id",
        "sub",
        "exp",
        "iat",
        "iss",
        "token_type",
        "aud",
        "jti",
    ] {
        assert!(own.get(field).is_some(), "{field} missing from {own}");
    }
    assert_eq!(
        (own["client_id"].as_str(), own["token_type"].as_str()),
        (Some("app"), Some("Bearer"))
    );
    assert_eq!(
        introspect(&server, &stranger, &access),
        serde_json::json!({"active": false}),
        "not the stranger's"
    );
    assert_eq!(
        introspect(&server, &auditor, &access)["active"],
        true,
        "the introspection role sees all"
    );

    // Revoking a JWT denies its jti: introspection turns inactive. Another client's attempt is
    // refused (RFC 7009 §2.1) and changes nothing.
    let refused = form(
        &server,
        "/oauth2/revoke",
        &stranger,
        &format!("token={access}"),
    );
    assert_eq!(refused.status, 400);
    assert_eq!(refused.json()["error"], "unauthorized_client");
    assert_eq!(
        introspect(&server, &owner, &access)["active"],
        true,
        "a stranger cannot revoke it"
    );
    revoke(&server, &owner, &access);
    assert_eq!(introspect(&server, &owner, &access)["active"], false);
    assert_eq!(introspect(&server, &auditor, &access)["active"], false);

    // Opaque access tokens.
    let opaque = grant(&server, &opaque_owner);
    let token = opaque["access_token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("tat_"), "{token}");
    let info = introspect(&server, &opaque_owner, &token);
    assert_eq!(
        (
            info["active"].as_bool(),
            info["client_id"].as_str(),
            info["scope"].as_str()
        ),
        (Some(true), Some("opq"), Some("read write"))
    );
    revoke(&server, &opaque_owner, &token);
    assert_eq!(introspect(&server, &opaque_owner, &token)["active"], false);

    // Refresh tokens: revoking one ends its family.
    let r = jwt["refresh_token"].as_str().unwrap();
    let info = introspect(&server, &owner, r);
    assert_eq!(
        (info["active"].as_bool(), info["token_type"].as_str()),
        (Some(true), Some("refresh_token"))
    );
    revoke(&server, &owner, r);
    assert_eq!(introspect(&server, &owner, r)["active"], false);
    assert_eq!(refresh(&server, &owner, r, None).0, 400);

    // Unknown tokens, missing tokens, bad credentials.
    revoke(&server, &owner, "whatever");
    assert_eq!(
        introspect(&server, &owner, "whatever"),
        serde_json::json!({"active": false})
    );
    for path in ["/oauth2/revoke", "/oauth2/introspect"] {
        let missing = form(&server, path, &owner, "token_type_hint=access_token");
        assert_eq!(
            (missing.status, missing.json()["error"].as_str()),
            (400, Some("invalid_request"))
        );
        let bad = form(&server, path, &basic("app", "wrong"), "token=x");
        assert_eq!(
            (bad.status, bad.json()["error"].as_str()),
            (401, Some("invalid_client"))
        );
        assert_eq!(
            bad.header("www-authenticate"),
            Some("Basic realm=\"tessera\"")
        );
        let get = crate::harness::send(crate::harness::agent().get(&server.url(path)), None);
        assert_eq!(get.status, 405);
    }
}

#[test]
fn refresh_families_and_the_denylist_survive_a_restart() {
    let t = Tessera::new();
    let auth = basic("app", &refresh_client(&t, "app", &[]));
    let first = t.serve(&[]);
    let issued = grant(&first, &auth);
    let access = issued["access_token"].as_str().unwrap().to_owned();
    let refresh_token = issued["refresh_token"].as_str().unwrap().to_owned();
    revoke(&first, &auth, &access);
    assert!(first.stop());

    let second = t.serve(&[]);
    assert_eq!(
        introspect(&second, &auth, &access)["active"],
        false,
        "the denylist survived"
    );
    let (status, body) = refresh(&second, &auth, &refresh_token, None);
    assert_eq!(status, 200, "the family survived: {body}");
}
