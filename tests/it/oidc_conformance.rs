//! Black-box tests shaped like the OpenID Foundation's Basic OP and Config OP certification
//! modules: prompt, max_age, the hints, request objects refused, the relying party's POST,
//! unknown scopes, the required redirect URI, form_post, the address and phone claims, a
//! client's ID-token algorithm. Logout is in `oidc_logout.rs`.

use std::time::Duration;

use serde_json::Value;

use crate::harness::Server;
use crate::oidc::{
    Browser, PASSWORD, REDIRECT, Setup, authorize_url, code_from, enc, exchange, form_fields, pkce,
    query_param, setup, sign_in,
};

/// Signs `browser` in as ana for `s` and returns the ID token of the code it gets.
pub(crate) fn first_id_token(
    s: &Setup,
    server: &Server,
    browser: &mut Browser,
    seed: &str,
) -> String {
    let p = pkce(seed);
    let reply = sign_in(
        browser,
        &authorize_url(server, &s.client, "openid email", Some(&p)),
        "ana",
        PASSWORD,
    );
    redeem(s, server, &reply, seed)["id_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A first-party deployment, served, with a browser signed in; returns the first ID token.
pub(crate) fn signed_in() -> (Setup, Server, Browser, Value, String) {
    let s = setup(&["--role", "ROLE_CLI-1STPARTY"]);
    let server = s.t.serve(&[]);
    let mut browser = Browser::new();
    let id_token = first_id_token(&s, &server, &mut browser, "first");
    let claims = id_claims(&server, &s, &id_token);
    (s, server, browser, claims, id_token)
}

pub(crate) fn id_claims(server: &Server, s: &Setup, id_token: &str) -> Value {
    crate::jwt::verify(server, id_token, &s.client).1
}

/// The authorization URL with extra parameters (already encoded).
pub(crate) fn url_with(server: &Server, s: &Setup, seed: &str, extra: &str) -> String {
    format!(
        "{}&{extra}",
        authorize_url(server, &s.client, "openid email", Some(&pkce(seed)))
    )
}

/// The `error` of a redirect back to the client, after checking `state` and `iss`.
pub(crate) fn redirect_error(server: &Server, reply: &crate::harness::Reply) -> String {
    assert_eq!(
        reply.status,
        302,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let location = crate::oidc::back_to_client(server, reply);
    let description = query_param(location, "error_description").unwrap_or_default();
    assert!(
        description
            .chars()
            .all(|c| matches!(c, '\x20'..='\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')),
        "RFC 6749 §4.1.2.1 characters only: {description:?}"
    );
    query_param(location, "error").unwrap_or_else(|| panic!("no error in {location}"))
}

pub(crate) fn redeem(
    s: &Setup,
    server: &Server,
    reply: &crate::harness::Reply,
    seed: &str,
) -> Value {
    let code = code_from(server, reply);
    let tokens = exchange(s, server, &code, Some(&pkce(seed).verifier));
    assert_eq!(
        tokens.status,
        200,
        "{}",
        String::from_utf8_lossy(&tokens.body)
    );
    tokens.json()
}

#[test]
fn prompt_none_without_a_session_is_login_required_and_with_one_a_code() {
    let (s, server, mut browser, first, _) = signed_in();
    // oidcc-prompt-none-not-logged-in: a fresh browser gets no page.
    let mut stranger = Browser::new();
    let reply = stranger.get(&url_with(&server, &s, "n1", "prompt=none"));
    assert_eq!(redirect_error(&server, &reply), "login_required");
    // oidcc-prompt-none-logged-in: the session answers at once with a code.
    let reply = browser.get(&url_with(&server, &s, "n2", "prompt=none"));
    let tokens = redeem(&s, &server, &reply, "n2");
    let claims = id_claims(&server, &s, tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["auth_time"], first["auth_time"], "no new sign-in");
    assert_eq!(claims["sid"], first["sid"], "one browser session, one sid");
    assert!(claims["sid"].as_str().is_some_and(|v| v.len() == 22));
    // none with another value is invalid_request.
    let reply = browser.get(&url_with(&server, &s, "n3", "prompt=none%20login"));
    assert_eq!(redirect_error(&server, &reply), "invalid_request");
}

#[test]
fn prompt_login_and_max_age_sign_in_again_with_a_fresh_auth_time() {
    let (s, server, mut browser, first, _) = signed_in();
    // oidcc-max-age-10000: a young session is enough, and auth_time is there.
    let reply = browser.get(&url_with(&server, &s, "m1", "max_age=10000"));
    let tokens = redeem(&s, &server, &reply, "m1");
    let claims = id_claims(&server, &s, tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["auth_time"], first["auth_time"]);
    std::thread::sleep(Duration::from_millis(2100));
    // oidcc-max-age-1: older than a second, so the sign-in page again.
    let url = url_with(&server, &s, "m2", "max_age=1");
    let page = browser.get(&url);
    assert_eq!(page.status, 200, "the sign-in page, not a code");
    assert!(String::from_utf8_lossy(&page.body).contains("sign in again"));
    let reply = sign_in(&mut browser, &url, "ana", PASSWORD);
    let tokens = redeem(&s, &server, &reply, "m2");
    let claims = id_claims(&server, &s, tokens["id_token"].as_str().unwrap());
    let fresh = claims["auth_time"].as_i64().unwrap();
    assert!(
        fresh >= first["auth_time"].as_i64().unwrap() + 2,
        "{claims}"
    );
    // With prompt=none, an old session is login_required rather than a page.
    std::thread::sleep(Duration::from_millis(1100));
    let reply = browser.get(&url_with(&server, &s, "m3", "max_age=0&prompt=none"));
    assert_eq!(redirect_error(&server, &reply), "login_required");
    // oidcc-prompt-login: the sign-in page even with a live session.
    let url = url_with(&server, &s, "l1", "prompt=login");
    assert_eq!(browser.get(&url).status, 200);
    std::thread::sleep(Duration::from_millis(1100));
    let reply = sign_in(&mut browser, &url, "ana", PASSWORD);
    let tokens = redeem(&s, &server, &reply, "l1");
    let claims = id_claims(&server, &s, tokens["id_token"].as_str().unwrap());
    assert!(claims["auth_time"].as_i64().unwrap() > fresh);
    assert_eq!(
        claims["sid"], first["sid"],
        "the same user signing in again keeps the browser session's sid"
    );
}

#[test]
fn id_token_hints_must_be_ours_and_name_the_signed_in_user() {
    let (s, server, mut browser, _, id_token) = signed_in();
    // oidcc-id-token-hint: the user's own ID token, with prompt=none, answers with a code.
    let reply = browser.get(&url_with(
        &server,
        &s,
        "h1",
        &format!("prompt=none&id_token_hint={id_token}"),
    ));
    redeem(&s, &server, &reply, "h1");
    // A hint for another user: login_required with prompt=none, the sign-in page without.
    let out = s.t.cli(
        &[
            "user",
            "create",
            "--logon",
            "bia",
            "--email",
            "bia@example.com",
            "--name",
            "Bia",
            "--password-stdin",
        ],
        Some(PASSWORD),
    );
    assert!(out.status.success());
    let mut other = Browser::new();
    let url = authorize_url(&server, &s.client, "openid", Some(&pkce("h2")));
    let reply = sign_in(&mut other, &url, "bia", PASSWORD);
    let bia_token = redeem(&s, &server, &reply, "h2")["id_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = browser.get(&url_with(
        &server,
        &s,
        "h3",
        &format!("prompt=none&id_token_hint={bia_token}"),
    ));
    assert_eq!(redirect_error(&server, &reply), "login_required");
    let page = browser.get(&url_with(
        &server,
        &s,
        "h4",
        &format!("id_token_hint={bia_token}"),
    ));
    assert_eq!(page.status, 200);
    assert!(String::from_utf8_lossy(&page.body).contains("another account"));
    // A forged signature, or not a JWT at all: invalid_request.
    let mut forged = id_token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    for bad in [forged.as_str(), "not-a-token"] {
        let reply = browser.get(&url_with(
            &server,
            &s,
            "h5",
            &format!("id_token_hint={}", enc(bad)),
        ));
        assert_eq!(redirect_error(&server, &reply), "invalid_request");
    }
}

#[test]
fn an_expired_id_token_is_still_a_hint() {
    let s = setup(&["--role", "ROLE_CLI-1STPARTY", "--ttl", "1"]);
    let server = s.t.serve(&[]);
    let mut browser = Browser::new();
    let url = authorize_url(&server, &s.client, "openid", Some(&pkce("e1")));
    let reply = sign_in(&mut browser, &url, "ana", PASSWORD);
    let tokens = redeem(&s, &server, &reply, "e1");
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    std::thread::sleep(Duration::from_millis(2100));
    let reply = browser.get(&url_with(
        &server,
        &s,
        "e2",
        &format!("prompt=none&id_token_hint={id_token}"),
    ));
    redeem(&s, &server, &reply, "e2");
}

#[test]
fn login_hint_prefills_and_request_objects_are_refused() {
    let s = setup(&["--role", "ROLE_CLI-1STPARTY"]);
    let server = s.t.serve(&[]);
    let mut browser = Browser::new();
    let page = browser.get(&url_with(&server, &s, "x", "login_hint=ana%40example"));
    let html = String::from_utf8_lossy(&page.body).into_owned();
    assert!(
        html.contains("name=\"logon\" value=\"ana@example\""),
        "{html}"
    );
    // request-object-refused / request-uri-refused (Core §6, §3.1.2.6).
    let reply = browser.get(&url_with(
        &server,
        &s,
        "x",
        "request=eyJhbGciOiJub25lIn0.e30.",
    ));
    assert_eq!(redirect_error(&server, &reply), "request_not_supported");
    let reply = browser.get(&url_with(
        &server,
        &s,
        "x",
        "request_uri=https%3A%2F%2Frp.example%2Freq",
    ));
    assert_eq!(redirect_error(&server, &reply), "request_uri_not_supported");
    // redirect-uri-required: an OpenID request must name it, even with one registered.
    let page = browser.get(&format!(
        "{}?response_type=code&client_id={}&scope=openid&state=st-42&code_challenge={}&code_challenge_method=S256",
        server.url("/oauth2/authorize"),
        s.client,
        pkce("x").challenge
    ));
    assert_eq!(page.status, 400, "an error page, never a redirect");
    assert!(page.header("location").is_none());
    // An unsupported response mode: the server cannot answer the client at all.
    let page = browser.get(&url_with(&server, &s, "x", "response_mode=fragment"));
    assert_eq!(page.status, 400);
    assert!(page.header("location").is_none());
    let meta = crate::harness::agent()
        .get(&server.url("/.well-known/openid-configuration"))
        .call()
        .unwrap()
        .into_json::<Value>()
        .unwrap();
    assert_eq!(meta["request_parameter_supported"], false);
    assert_eq!(meta["request_uri_parameter_supported"], false);
    assert_eq!(
        meta["response_modes_supported"],
        serde_json::json!(["query", "form_post"])
    );
    assert!(
        meta["id_token_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&Value::from("RS256"))
    );
}

#[test]
fn a_relying_party_may_post_the_request_and_unknown_scopes_are_ignored() {
    let s = setup(&["--role", "ROLE_CLI-1STPARTY"]);
    // `admin` is known to this server (another client may have it); `frobnicate` is not.
    s.t.create_client("ops", &["--scope", "admin"]);
    let server = s.t.serve(&[]);
    let mut browser = Browser::new();
    let p = pkce("post");
    // oidcc-ensure-post-request-succeeds: a form post with no anti-forgery token.
    let fields: Vec<(String, String)> = [
        ("response_type", "code"),
        ("client_id", s.client.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", "openid email frobnicate"),
        ("state", "st-42"),
        ("code_challenge", p.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    // Posted without a session cookie (a cross-site POST carries no SameSite=Lax cookie), the
    // request goes again as a GET, which does carry it.
    let again = browser.post_form(&server.url("/oauth2/authorize"), &fields);
    assert_eq!(again.status, 303);
    let location = again.header("location").unwrap().to_owned();
    assert!(location.starts_with("/oauth2/authorize?"), "{location}");
    assert_eq!(
        query_param(&location, "scope").as_deref(),
        Some("openid email frobnicate")
    );
    let page = browser.get(&format!("{}{location}", server.base));
    assert_eq!(page.status, 200, "{}", String::from_utf8_lossy(&page.body));
    let html = String::from_utf8(page.body).unwrap();
    let mut form = form_fields(&html);
    assert!(form.iter().any(|(k, _)| k == "csrf"), "the page's own form");
    form.push(("logon".into(), "ana".into()));
    form.push(("password".into(), PASSWORD.into()));
    form.push(("tessera_action".into(), "login".into()));
    let reply = browser.post_form(&server.url("/oauth2/authorize"), &form);
    let code = code_from(&server, &reply);
    let tokens = exchange(&s, &server, &code, Some(&p.verifier));
    assert_eq!(tokens.status, 200);
    assert_eq!(tokens.json()["scope"], "email openid", "frobnicate ignored");
    // With the session cookie (a same-site POST) the request is answered at once.
    let p2 = pkce("post-2");
    let mut same_site = fields.clone();
    for (k, v) in &mut same_site {
        if k == "code_challenge" {
            v.clone_from(&p2.challenge);
        }
    }
    same_site.push(("prompt".into(), "none".into()));
    let reply = browser.post_form(&server.url("/oauth2/authorize"), &same_site);
    let code = code_from(&server, &reply);
    assert_eq!(exchange(&s, &server, &code, Some(&p2.verifier)).status, 200);
    // A known scope this client may not have is still refused (RFC 6749 §3.3).
    let reply = browser.get(&format!(
        "{}&scope=openid%20admin",
        authorize_url(&server, &s.client, "openid", Some(&p)).replace("scope=openid&", "")
    ));
    assert_eq!(redirect_error(&server, &reply), "invalid_scope");
}

#[test]
fn form_post_answers_with_a_self_submitting_form() {
    let (s, server, mut browser, _, _) = signed_in();
    let reply = browser.get(&url_with(&server, &s, "f1", "response_mode=form_post"));
    assert_eq!(reply.status, 200);
    let csp = reply.header("content-security-policy").unwrap().to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("script-src 'sha256-"), "{csp}");
    let html = String::from_utf8(reply.body).unwrap();
    assert!(html.contains(&format!("<form method=\"post\" action=\"{REDIRECT}\">")));
    assert!(
        html.contains("<button type=\"submit\">"),
        "works without scripts"
    );
    let fields = form_fields(&html);
    let get = |n: &str| {
        fields
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {n} in {html}"))
    };
    assert_eq!(get("state"), "st-42");
    assert_eq!(get("iss"), server.base);
    let tokens = exchange(&s, &server, &get("code"), Some(&pkce("f1").verifier));
    assert_eq!(tokens.status, 200);
    // Errors go back the same way.
    let reply = browser.get(&url_with(
        &server,
        &s,
        "f2",
        "response_mode=form_post&prompt=none%20login",
    ));
    assert_eq!(reply.status, 200);
    let fields = form_fields(&String::from_utf8(reply.body).unwrap());
    assert!(fields.contains(&("error".into(), "invalid_request".into())));
}

#[test]
fn address_and_phone_scopes_release_their_claims_in_the_id_token_and_userinfo() {
    let s = setup(&["--role", "ROLE_CLI-1STPARTY"]);
    let out = s.t.cli(
        &[
            "user",
            "create",
            "--logon",
            "cora",
            "--email",
            "cora@example.com",
            "--name",
            "Cora",
            "--phone-number",
            "+55 81 5555-0000",
            "--phone-number-verified",
            "--street-address",
            "Rua do Sol, 10",
            "--locality",
            "Recife",
            "--country",
            "BR",
            "--password-stdin",
        ],
        Some(PASSWORD),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (client, secret) = s.t.create_client(
        "contact",
        &[
            "--role",
            "ROLE_CLI-1STPARTY",
            "--grant",
            "authorization_code",
            "--redirect-uri",
            REDIRECT,
            "--scope",
            "openid address phone",
        ],
    );
    let server = s.t.serve(&[]);
    let meta = crate::harness::agent()
        .get(&server.url("/.well-known/openid-configuration"))
        .call()
        .unwrap()
        .into_json::<Value>()
        .unwrap();
    for scope in ["address", "phone"] {
        assert!(
            meta["scopes_supported"]
                .as_array()
                .unwrap()
                .contains(&Value::from(scope))
        );
    }
    let mut browser = Browser::new();
    let p = pkce("contact");
    let reply = sign_in(
        &mut browser,
        &authorize_url(&server, &client, "openid address phone", Some(&p)),
        "cora",
        PASSWORD,
    );
    let code = code_from(&server, &reply);
    let tokens = crate::harness::token_request(
        &server,
        Some(&crate::harness::basic(&client, &secret)),
        &format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={}",
            enc(REDIRECT),
            p.verifier
        ),
    );
    assert_eq!(
        tokens.status,
        200,
        "{}",
        String::from_utf8_lossy(&tokens.body)
    );
    let body = tokens.json();
    let (_, id) = crate::jwt::verify(&server, body["id_token"].as_str().unwrap(), &client);
    assert_eq!(id["phone_number"], "+55 81 5555-0000");
    assert_eq!(id["phone_number_verified"], true);
    assert_eq!(id["address"]["locality"], "Recife");
    assert_eq!(id["address"]["formatted"], "Rua do Sol, 10\nRecife\nBR");
    assert!(id.get("email").is_none(), "not asked for");
    // Userinfo by a token in the form body (RFC 6750 §2.2).
    let info = crate::harness::send(
        crate::harness::agent()
            .post(&server.url("/oauth2/userinfo"))
            .set("Content-Type", "application/x-www-form-urlencoded"),
        Some(format!("access_token={}", body["access_token"].as_str().unwrap()).as_bytes()),
    );
    assert_eq!(info.status, 200, "{}", String::from_utf8_lossy(&info.body));
    let claims = info.json();
    assert_eq!(claims["phone_number"], "+55 81 5555-0000");
    assert_eq!(claims["address"]["street_address"], "Rua do Sol, 10");
    assert_eq!(claims["address"]["country"], "BR");
    // The token in the header and in the body at once is refused (RFC 6750 §2).
    let both = crate::harness::send(
        crate::harness::agent()
            .post(&server.url("/oauth2/userinfo"))
            .set("Content-Type", "application/x-www-form-urlencoded")
            .set(
                "Authorization",
                &format!("Bearer {}", body["access_token"].as_str().unwrap()),
            ),
        Some(format!("access_token={}", body["access_token"].as_str().unwrap()).as_bytes()),
    );
    assert_eq!(both.status, 400);
    assert_eq!(both.json()["error"], "invalid_request");
    let challenge = both.header("www-authenticate").unwrap();
    assert!(
        challenge.contains("error=\"invalid_request\""),
        "{challenge}"
    );
}

#[test]
fn a_client_chooses_its_id_token_algorithm() {
    let s = setup(&["--role", "ROLE_CLI-1STPARTY", "--id-token-alg", "ES256"]);
    let shown = s.t.cli_json(&["client", "show", &s.client]);
    assert_eq!(shown["id_token_signed_response_alg"], "ES256");
    let refused = s.t.cli(
        &["client", "create", "--name", "x", "--id-token-alg", "HS256"],
        None,
    );
    assert!(!refused.status.success(), "not a signing algorithm of ours");
    let server = s.t.serve(&[]);
    let mut browser = Browser::new();
    let id_token = first_id_token(&s, &server, &mut browser, "alg");
    let (header, claims) = crate::jwt::verify(&server, &id_token, &s.client);
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    assert_eq!(claims["sub"], s.user.as_str());
    // It is still ours as a hint, whatever its algorithm.
    let reply = browser.get(&url_with(
        &server,
        &s,
        "alg-2",
        &format!("prompt=none&id_token_hint={id_token}"),
    ));
    redeem(&s, &server, &reply, "alg-2");
}
