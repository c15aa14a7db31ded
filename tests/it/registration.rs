//! Dynamic client registration against the real binary (RFC 7591, RFC 7592): closed by default,
//! open, and gated by initial access tokens; a registered client completes the code flow; its
//! registration is read, updated (the token rotating) and deleted; bad metadata gets the RFC
//! error codes; registrations are rate-limited per address and audited.

use serde_json::{Value, json};

use crate::harness::{Reply, Server, agent, basic, send, token_request};
use crate::oidc::{
    Browser, PASSWORD, REDIRECT, authorize_url, code_from, enc, form_fields, pkce, setup, sign_in,
};

fn register(server: &Server, token: Option<&str>, metadata: &Value) -> Reply {
    let mut req = agent()
        .post(&server.url("/oauth2/register"))
        .set("Content-Type", "application/json");
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    send(req, Some(metadata.to_string().as_bytes()))
}

fn manage(method: &str, uri: &str, token: &str, body: Option<&Value>) -> Reply {
    let req = agent()
        .request(method, uri)
        .set("Authorization", &format!("Bearer {token}"))
        .set("Content-Type", "application/json");
    send(req, body.map(|b| b.to_string().into_bytes()).as_deref())
}

fn discovery(server: &Server) -> Value {
    send(
        agent().get(&server.url("/.well-known/openid-configuration")),
        None,
    )
    .json()
}

fn error_code(reply: &Reply) -> String {
    reply.json()["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
#[allow(clippy::disallowed_methods)] // The test waits for the audit trail to be written.
fn open_registration_yields_a_client_that_signs_users_in_and_manages_its_own_registration() {
    let s = setup(&[]);
    // Closed by default: refused, and not advertised.
    let closed = s.t.serve(&[]);
    let refused = register(&closed, None, &json!({"redirect_uris": [REDIRECT]}));
    assert_eq!(refused.status, 403);
    assert_eq!(error_code(&refused), "access_denied");
    assert!(discovery(&closed).get("registration_endpoint").is_none());
    drop(closed);

    let server = s.t.serve(&[("TESSERA_REGISTRATION__POLICY", "open")]);
    assert_eq!(
        discovery(&server)["registration_endpoint"],
        server.url("/oauth2/register")
    );
    let reply = register(
        &server,
        None,
        &json!({
            "redirect_uris": [REDIRECT],
            "client_name": "Partner RP",
            "grant_types": ["authorization_code", "refresh_token"],
            "scope": "openid profile offline_access",
            "logo_uri": "https://rp.example/logo.png",
        }),
    );
    assert_eq!(
        reply.status,
        201,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let registered = reply.json();
    let id = registered["client_id"].as_str().unwrap().to_owned();
    let secret = registered["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(registered["client_secret_expires_at"], 0);
    assert_eq!(registered["response_types"], json!(["code"]));
    assert_eq!(
        registered["token_endpoint_auth_method"],
        "client_secret_basic"
    );
    assert!(
        registered.get("logo_uri").is_none(),
        "unknown metadata is ignored"
    );
    let uri = registered["registration_client_uri"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(uri, server.url(&format!("/oauth2/register/{id}")));
    let rat = registered["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // The new client works at once: a third party, so the user consents, then the code flow.
    let p = pkce("registered");
    let url = authorize_url(&server, &id, "openid profile", Some(&p));
    let mut browser = Browser::new();
    let consent = sign_in(&mut browser, &url, "ana", PASSWORD);
    assert_eq!(
        consent.status, 200,
        "a consent page for a registered client"
    );
    let mut fields = form_fields(&String::from_utf8(consent.body).unwrap());
    fields.push(("tessera_action".into(), "consent".into()));
    let code = code_from(
        &server,
        &browser.post_form(&server.url("/oauth2/authorize"), &fields),
    );
    let exchanged = token_request(
        &server,
        Some(&basic(&id, &secret)),
        &format!(
            "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={}",
            enc(&code),
            enc(REDIRECT),
            p.verifier
        ),
    );
    assert_eq!(
        exchanged.status,
        200,
        "{}",
        String::from_utf8_lossy(&exchanged.body)
    );
    assert!(exchanged.json()["id_token"].is_string());

    // RFC 7592 §2.1: read with the registration access token; never the secret again.
    let read = manage("GET", &uri, &rat, None);
    assert_eq!(read.status, 200);
    assert_eq!(read.json()["client_id"], id.as_str());
    assert!(read.json().get("client_secret").is_none());
    let wrong = manage(
        "GET",
        &uri,
        "trat_nottherealtokennottherealtokennottherealt",
        None,
    );
    assert_eq!(wrong.status, 401);
    assert!(
        wrong
            .header("www-authenticate")
            .unwrap()
            .contains("invalid_token")
    );

    // RFC 7592 §2.2: the whole metadata, naming the client; the token rotates.
    let without_id = manage(
        "PUT",
        &uri,
        &rat,
        Some(&json!({"redirect_uris": [REDIRECT]})),
    );
    assert_eq!(without_id.status, 400);
    assert_eq!(error_code(&without_id), "invalid_client_metadata");
    let other = "http://127.0.0.1:9/other";
    let updated = manage(
        "PUT",
        &uri,
        &rat,
        Some(
            &json!({"client_id": id, "redirect_uris": [REDIRECT, other], "client_name": "Partner RP 2"}),
        ),
    );
    assert_eq!(
        updated.status,
        200,
        "{}",
        String::from_utf8_lossy(&updated.body)
    );
    assert_eq!(updated.json()["redirect_uris"], json!([REDIRECT, other]));
    assert_eq!(
        updated.json()["scope"],
        "email offline_access openid profile",
        "an omitted scope is the ceiling"
    );
    let new_rat = updated.json()["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_rat, rat);
    assert_eq!(
        manage("GET", &uri, &rat, None).status,
        401,
        "the old token is dead"
    );
    assert_eq!(manage("GET", &uri, &new_rat, None).status, 200);

    // Bad metadata gets the RFC 7591 §3.2.2 codes.
    for (metadata, code) in [
        (
            json!({"redirect_uris": ["not a uri"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"client_name": "no redirect"}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "scope": "openid admin"}),
            "invalid_client_metadata",
        ),
        (
            json!({"grant_types": ["client_credentials"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "tls_client_auth"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": "not a list"}),
            "invalid_client_metadata",
        ),
    ] {
        let reply = register(&server, None, &metadata);
        assert_eq!(
            (reply.status, error_code(&reply)),
            (400, code.to_owned()),
            "{metadata}"
        );
    }

    // RFC 7592 §2.3: deleted, the client and its token stop working.
    assert_eq!(manage("DELETE", &uri, &new_rat, None).status, 204);
    assert_eq!(manage("GET", &uri, &new_rat, None).status, 401);
    let gone = token_request(
        &server,
        Some(&basic(&id, &secret)),
        "grant_type=client_credentials",
    );
    assert_eq!(gone.status, 401);

    // Audited, with the address it came from (the trail is written a few milliseconds behind).
    let mut trail = String::new();
    for _ in 0..40 {
        let out = s.t.cli(&["audit", "tail", "-n", "200"], None);
        trail = String::from_utf8_lossy(&out.stdout).into_owned();
        if trail.contains("\"client.deleted\"") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let mine: Vec<&str> = trail.lines().filter(|l| l.contains(&id)).collect();
    assert!(
        mine.iter().any(|l| l.contains("client.created")
            && l.contains("by dynamic registration from 127.0.0.1")),
        "{trail}"
    );
    assert!(mine.iter().any(|l| l.contains("client.deleted")), "{trail}");
}

#[test]
fn initial_access_tokens_gate_registration_and_addresses_are_rate_limited() {
    let s = setup(&[]);
    let server = s.t.serve(&[
        ("TESSERA_REGISTRATION__POLICY", "initial_access_token"),
        ("TESSERA_LIMITS__ADDRESS_BURST", "6"),
        ("TESSERA_LIMITS__ADDRESS_REQUESTS_PER_SECOND", "0.01"),
    ]);
    let issued = s.t.cli_json(&[
        "registration",
        "issue-token",
        "--uses",
        "1",
        "--expires-in",
        "600",
        "--note",
        "partner onboarding",
    ]);
    let token = issued["token"].as_str().unwrap().to_owned();
    let metadata = json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"});

    let without = register(&server, None, &metadata);
    assert_eq!(without.status, 401);
    assert!(
        without
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
    let with = register(&server, Some(&token), &metadata);
    assert_eq!(with.status, 201, "{}", String::from_utf8_lossy(&with.body));
    assert!(
        with.json().get("client_secret").is_none(),
        "a public client has no secret"
    );
    let again = register(&server, Some(&token), &metadata);
    assert_eq!(again.status, 401, "single use");
    let listed = s.t.cli_json(&["registration", "list-tokens"]);
    assert_eq!(listed[0]["uses_left"], 0);
    assert!(listed[0].get("token").is_none());

    // The address's budget runs out: 429 with Retry-After, whatever the token.
    let mut last = again;
    for _ in 0..6 {
        last = register(&server, Some(&token), &metadata);
        if last.status == 429 {
            break;
        }
    }
    assert_eq!(last.status, 429);
    assert!(last.header("retry-after").is_some());
}
