//! Resource indicators (RFC 8707) over HTTP: `resource` at the token and authorization endpoints,
//! the access token's `aud` checked against the published JWKS, `invalid_target`, narrowing on
//! refresh and at the code exchange, and `aud` at introspection.

use serde_json::Value;

use crate::harness::{Tessera, agent, basic, send, token_request};
use crate::jwt::verify;
use crate::oidc::{
    Browser, PASSWORD, authorize_url, code_from, enc, exchange, pkce, setup, sign_in,
};

const A: &str = "https://api-a.example/";
const B: &str = "https://api-b.example/";

fn introspect(server: &crate::harness::Server, auth: &str, token: &str) -> Value {
    let req = agent()
        .post(&server.url("/oauth2/introspect"))
        .set("Authorization", auth)
        .set("Content-Type", "application/x-www-form-urlencoded");
    let reply = send(req, Some(format!("token={}", enc(token)).as_bytes()));
    assert_eq!(reply.status, 200);
    reply.json()
}

#[test]
fn the_token_is_for_the_resources_asked_for_and_a_refresh_only_narrows_them() {
    let t = Tessera::new();
    let (id, secret) = t.create_client(
        "agent",
        &[
            "--grant",
            "client_credentials",
            "--grant",
            "refresh_token",
            "--refresh-with-client-credentials",
            "--resource",
            A,
            "--resource",
            B,
        ],
    );
    let (plain, plain_secret) = t.create_client("plain", &[]);
    let server = t.serve(&[]);
    let auth = basic(&id, &secret);
    let cc = "grant_type=client_credentials";

    let one = token_request(&server, Some(&auth), &format!("{cc}&resource={}", enc(A)));
    assert_eq!(one.status, 200, "{}", String::from_utf8_lossy(&one.body));
    let (_, claims) = verify(&server, one.json()["access_token"].as_str().unwrap(), A);
    assert_eq!(claims["aud"], A, "one resource: aud is that resource");

    let both = token_request(
        &server,
        Some(&auth),
        &format!("{cc}&resource={}&resource={}", enc(A), enc(B)),
    );
    assert_eq!(both.status, 200);
    let both = both.json();
    let access = both["access_token"].as_str().unwrap();
    let (_, claims) = verify(&server, access, B);
    assert_eq!(claims["aud"], serde_json::json!([A, B]));
    assert_eq!(
        introspect(&server, &auth, access)["aud"],
        serde_json::json!([A, B])
    );

    for bad in [
        "https://elsewhere.example/",
        "not-a-uri",
        "https://api-a.example/#x",
    ] {
        let reply = token_request(&server, Some(&auth), &format!("{cc}&resource={}", enc(bad)));
        assert_eq!(reply.status, 400, "{bad}");
        assert_eq!(reply.json()["error"], "invalid_target", "{bad}");
    }

    // The two-resource grant's refresh token narrows to B; a token for A alone cannot widen.
    let refresh = both["refresh_token"].as_str().unwrap();
    let narrowed = token_request(
        &server,
        Some(&auth),
        &format!(
            "grant_type=refresh_token&refresh_token={}&resource={}",
            enc(refresh),
            enc(B)
        ),
    );
    assert_eq!(
        narrowed.status,
        200,
        "{}",
        String::from_utf8_lossy(&narrowed.body)
    );
    let (_, claims) = verify(
        &server,
        narrowed.json()["access_token"].as_str().unwrap(),
        B,
    );
    assert_eq!(claims["aud"], B);
    let only_a = one.json()["refresh_token"].as_str().unwrap().to_owned();
    let widened = token_request(
        &server,
        Some(&auth),
        &format!(
            "grant_type=refresh_token&refresh_token={}&resource={}",
            enc(&only_a),
            enc(B)
        ),
    );
    assert_eq!(widened.status, 400);
    assert_eq!(widened.json()["error"], "invalid_target");
    let kept = token_request(
        &server,
        Some(&auth),
        &format!("grant_type=refresh_token&refresh_token={}", enc(&only_a)),
    );
    assert_eq!(kept.status, 200, "the refused refresh consumed nothing");
    let (_, claims) = verify(&server, kept.json()["access_token"].as_str().unwrap(), A);
    assert_eq!(claims["aud"], A, "without resource: the whole grant");

    // A client without resources keeps the deployment's audience.
    let reply = token_request(&server, Some(&basic(&plain, &plain_secret)), cc);
    assert_eq!(reply.status, 200);
    let reply = token_request(
        &server,
        Some(&basic(&plain, &plain_secret)),
        &format!("{cc}&resource={}", enc(A)),
    );
    assert_eq!(reply.json()["error"], "invalid_target");
}

#[test]
fn the_code_flow_carries_the_resources_to_the_exchange_which_may_narrow_them() {
    let s = setup(&[
        "--role",
        "ROLE_CLI-1STPARTY",
        "--resource",
        A,
        "--resource",
        B,
    ]);
    let server = s.t.serve(&[]);
    let p = pkce("resources");
    let base = authorize_url(&server, &s.client, "openid", Some(&p));
    let url = format!("{base}&resource={}&resource={}", enc(A), enc(B));
    let mut browser = Browser::new();
    let reply = sign_in(&mut browser, &url, "ana", PASSWORD);
    let code = code_from(&server, &reply);
    // The exchange narrows to A (RFC 8707 §2.2).
    let body = format!(
        "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={}&resource={}",
        enc(&code),
        enc(crate::oidc::REDIRECT),
        p.verifier,
        enc(A)
    );
    let reply = token_request(&server, Some(&basic(&s.client, &s.secret)), &body);
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let (_, claims) = verify(&server, reply.json()["access_token"].as_str().unwrap(), A);
    assert_eq!(claims["aud"], A);

    // An authorization request for a resource the client does not have goes back as
    // invalid_target, before any sign-in.
    let bad = format!("{base}&resource={}", enc("https://elsewhere.example/"));
    let answer = browser.get(&bad);
    assert!(matches!(answer.status, 302 | 303), "{}", answer.status);
    let location = answer.header("location").unwrap();
    assert!(location.contains("error=invalid_target"), "{location}");

    // Without resource at the exchange, the token is for everything the authorization asked.
    let reply = sign_in(&mut Browser::new(), &url, "ana", PASSWORD);
    let code = code_from(&server, &reply);
    let reply = exchange(&s, &server, &code, Some(&p.verifier));
    assert_eq!(reply.status, 200);
    let (_, claims) = verify(&server, reply.json()["access_token"].as_str().unwrap(), B);
    assert_eq!(claims["aud"], serde_json::json!([A, B]));
}
