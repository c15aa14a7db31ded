//! The admin API over HTTP: its own listener (404 on the public one), RFC 6750 401/403 for a
//! missing or insufficient token, clients listed, shown, changed with `If-Match` (412 when
//! stale, 428 without), their secret rotated and deleted — and the running server following.

use serde_json::{Value, json};

use crate::harness::{Reply, Server, Tessera, agent, basic, send, token_request};

pub fn admin_token(server: &Server, id: &str, secret: &str) -> String {
    let reply = token_request(
        server,
        Some(&basic(id, secret)),
        "grant_type=client_credentials",
    );
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    reply.json()["access_token"].as_str().unwrap().to_owned()
}

pub fn call(
    server: &Server,
    method: &str,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Reply {
    let base = server.admin_base.as_deref().expect("the admin listener");
    let mut req = agent().request(method, &format!("{base}{path}"));
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    for (k, v) in headers {
        req = req.set(k, v);
    }
    match body {
        Some(b) => {
            let req = req.set("Content-Type", "application/json");
            send(req, Some(b.to_string().as_bytes()))
        }
        None => send(req, None),
    }
}

#[test]
#[allow(clippy::disallowed_methods)] // The test waits for the cache to follow.
fn clients_are_managed_over_the_admin_api_with_optimistic_concurrency() {
    let t = Tessera::new();
    let (ops, ops_secret) = t.create_client(
        "ops",
        &["--role", "ROLE_TESSERA-ADMIN", "--scope", "tessera:admin"],
    );
    let (reader, reader_secret) = t.create_client(
        "reader",
        &[
            "--role",
            "ROLE_TESSERA-ADMIN",
            "--scope",
            "tessera:admin.read",
        ],
    );
    let (app, app_secret) = t.create_client("app", &["--scope", "read"]);
    // Without EdDSA keys, so that an EdDSA client is one the deployment cannot serve.
    let server = t.serve(&[
        ("TESSERA_ADMIN__BIND", "127.0.0.1:0"),
        ("TESSERA_KEYS__ALGORITHMS", "ES256,RS256"),
    ]);
    let ops_token = admin_token(&server, &ops, &ops_secret);
    let reader_token = admin_token(&server, &reader, &reader_secret);
    let app_token = admin_token(&server, &app, &app_secret);

    // Never on the public listener.
    let public = send(agent().get(&server.url("/admin/v1/clients")), None);
    assert_eq!(public.status, 404);

    // RFC 6750 §3: no token 401 with a challenge; another client's token 403.
    let none = call(&server, "GET", "/admin/v1/clients", None, &[], None);
    assert_eq!(none.status, 401);
    assert!(
        none.header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
    assert_eq!(
        none.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(none.json()["type"], "urn:tessera:problem:invalid-token");
    let bogus = call(
        &server,
        "GET",
        "/admin/v1/clients",
        Some("nonsense"),
        &[],
        None,
    );
    assert_eq!(bogus.status, 401);
    assert!(
        bogus
            .header("www-authenticate")
            .unwrap()
            .contains("invalid_token")
    );
    let stranger = call(
        &server,
        "GET",
        "/admin/v1/clients",
        Some(&app_token),
        &[],
        None,
    );
    assert_eq!(stranger.status, 403);
    assert!(
        stranger
            .header("www-authenticate")
            .unwrap()
            .contains("insufficient_scope")
    );

    // Reads with the read scope; paging by id.
    let page = call(
        &server,
        "GET",
        "/admin/v1/clients?limit=2",
        Some(&reader_token),
        &[],
        None,
    );
    assert_eq!(page.status, 200);
    let page = page.json();
    let ids: Vec<&str> = page["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["app", "ops"]);
    assert_eq!(page["next"], "ops");
    let rest = call(
        &server,
        "GET",
        "/admin/v1/clients?after=ops",
        Some(&reader_token),
        &[],
        None,
    )
    .json();
    assert_eq!(rest["clients"][0]["client_id"], "reader");
    assert_eq!(rest["next"], Value::Null);
    let admins = call(
        &server,
        "GET",
        "/admin/v1/clients?role=ROLE_TESSERA-ADMIN",
        Some(&reader_token),
        &[],
        None,
    )
    .json();
    assert_eq!(admins["clients"].as_array().unwrap().len(), 2);
    assert!(!page.to_string().contains("tsec_"), "never a secret");

    let shown = call(
        &server,
        "GET",
        "/admin/v1/clients/app",
        Some(&reader_token),
        &[],
        None,
    );
    assert_eq!(shown.status, 200);
    let etag = shown.header("etag").unwrap().to_owned();
    assert_eq!(shown.json()["client_name"], "app");
    assert_eq!(shown.json()["scope"], "read");

    // Changes need the write scope and If-Match.
    let change = json!({"scope": "read write", "client_name": "The App"});
    let read_only = call(
        &server,
        "PATCH",
        "/admin/v1/clients/app",
        Some(&reader_token),
        &[("If-Match", &etag)],
        Some(change.clone()),
    );
    assert_eq!(read_only.status, 403);
    let unconditional = call(
        &server,
        "PATCH",
        "/admin/v1/clients/app",
        Some(&ops_token),
        &[],
        Some(change.clone()),
    );
    assert_eq!(unconditional.status, 428);
    let patched = call(
        &server,
        "PATCH",
        "/admin/v1/clients/app",
        Some(&ops_token),
        &[("If-Match", &etag)],
        Some(change),
    );
    assert_eq!(
        patched.status,
        200,
        "{}",
        String::from_utf8_lossy(&patched.body)
    );
    assert_eq!(patched.json()["scope"], "read write");
    let new_etag = patched.header("etag").unwrap().to_owned();
    assert_ne!(new_etag, etag);
    // A second operator who read the old version is refused, and overwrites nothing.
    let stale = call(
        &server,
        "PATCH",
        "/admin/v1/clients/app",
        Some(&ops_token),
        &[("If-Match", &etag)],
        Some(json!({"scope": "read"})),
    );
    assert_eq!(stale.status, 412);
    assert_eq!(stale.json()["type"], "urn:tessera:problem:stale");
    let bad = call(
        &server,
        "PATCH",
        "/admin/v1/clients/app",
        Some(&ops_token),
        &[("If-Match", &new_etag)],
        Some(json!({"grant_types": ["authorization_code"]})),
    );
    assert_eq!(bad.status, 400, "the code grant needs a redirect URI");
    assert_eq!(
        bad.json()["type"],
        "urn:tessera:problem:invalid-client-metadata"
    );
    // What the deployment cannot serve is refused: an algorithm it has no key for.
    let unsigned = call(
        &server,
        "PATCH",
        "/admin/v1/clients/app",
        Some(&ops_token),
        &[("If-Match", &new_etag)],
        Some(json!({"access_token_signed_response_alg": "EdDSA"})),
    );
    assert_eq!(
        unsigned.status,
        400,
        "{}",
        String::from_utf8_lossy(&unsigned.body)
    );
    assert!(
        unsigned.json()["detail"]
            .as_str()
            .unwrap()
            .contains("keys.algorithms")
    );
    // A lifetime set, then reset to the deployment's default with null.
    let timed = call(
        &server,
        "PATCH",
        "/admin/v1/clients/app",
        Some(&ops_token),
        &[("If-Match", &new_etag)],
        Some(json!({"access_token_ttl": 120})),
    );
    assert_eq!(timed.status, 200);
    assert_eq!(timed.json()["access_token_ttl"], 120);
    let timed_etag = timed.header("etag").unwrap().to_owned();
    let reset = call(
        &server,
        "PATCH",
        "/admin/v1/clients/app",
        Some(&ops_token),
        &[("If-Match", &timed_etag)],
        Some(json!({"access_token_ttl": null})),
    );
    assert_eq!(reset.status, 200);
    assert_eq!(reset.json()["access_token_ttl"], Value::Null);
    assert_eq!(
        reset.json()["scope"],
        "read write",
        "what is not named stays"
    );
    let new_etag = reset.header("etag").unwrap().to_owned();
    let unknown = call(
        &server,
        "PATCH",
        "/admin/v1/clients/app",
        Some(&ops_token),
        &[("If-Match", &new_etag)],
        Some(json!({"colour": "blue"})),
    );
    assert_eq!(unknown.status, 400);

    // The running server follows the change within the refresh interval, same secret.
    let start = std::time::Instant::now();
    while token_request(
        &server,
        Some(&basic(&app, &app_secret)),
        "grant_type=client_credentials&scope=write",
    )
    .status
        != 200
    {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(2),
            "the change takes effect"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    // A client created over HTTP gets a token at once, with the secret shown this once.
    let created = call(
        &server,
        "POST",
        "/admin/v1/clients",
        Some(&ops_token),
        &[],
        Some(json!({
            "client_id": "made-over-http",
            "client_name": "Made over HTTP",
            "scope": "read",
            "resources": ["https://api.example/"],
        })),
    );
    assert_eq!(
        created.status,
        201,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    assert_eq!(
        created.header("location"),
        Some("/admin/v1/clients/made-over-http")
    );
    let made = created.json();
    let made_secret = made["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(made["resources"], json!(["https://api.example/"]));
    assert_eq!(
        made["token_endpoint_auth_methods"],
        json!(["client_secret_basic", "client_secret_post"])
    );
    let at_once = token_request(
        &server,
        Some(&basic("made-over-http", &made_secret)),
        "grant_type=client_credentials",
    );
    assert_eq!(
        at_once.status,
        200,
        "{}",
        String::from_utf8_lossy(&at_once.body)
    );
    let shown = call(
        &server,
        "GET",
        "/admin/v1/clients/made-over-http",
        Some(&ops_token),
        &[],
        None,
    );
    assert!(
        !String::from_utf8_lossy(&shown.body).contains(&made_secret),
        "shown once"
    );
    let again = call(
        &server,
        "POST",
        "/admin/v1/clients",
        Some(&ops_token),
        &[],
        Some(json!({"client_id": "made-over-http", "client_name": "Twice"})),
    );
    assert_eq!(again.status, 409);
    let public = call(
        &server,
        "POST",
        "/admin/v1/clients",
        Some(&ops_token),
        &[],
        Some(
            json!({"client_name": "SPA", "token_endpoint_auth_methods": ["none"], "grant_types": ["authorization_code"], "redirect_uris": ["https://spa.example/cb"]}),
        ),
    );
    assert_eq!(
        public.status,
        201,
        "{}",
        String::from_utf8_lossy(&public.body)
    );
    assert!(
        public.json().get("client_secret").is_none(),
        "a public client has no secret"
    );
    let unknown = call(
        &server,
        "POST",
        "/admin/v1/clients",
        Some(&ops_token),
        &[],
        Some(json!({"client_name": "X", "colour": "blue"})),
    );
    assert_eq!(unknown.status, 400);
    let read_only = call(
        &server,
        "POST",
        "/admin/v1/clients",
        Some(&reader_token),
        &[],
        Some(json!({"client_name": "X"})),
    );
    assert_eq!(read_only.status, 403);

    // A new secret, shown once; then the client is deleted.
    // The grace period is the domain's rule: at most 30 days.
    let too_long = call(
        &server,
        "POST",
        "/admin/v1/clients/app/secret",
        Some(&ops_token),
        &[],
        Some(json!({"grace_seconds": 31 * 86_400})),
    );
    assert_eq!(
        too_long.status,
        400,
        "{}",
        String::from_utf8_lossy(&too_long.body)
    );
    let rotated = call(
        &server,
        "POST",
        "/admin/v1/clients/app/secret",
        Some(&ops_token),
        &[],
        Some(json!({"grace_seconds": 0})),
    );
    assert_eq!(rotated.status, 200);
    let new_secret = rotated.json()["client_secret"].as_str().unwrap().to_owned();
    let start = std::time::Instant::now();
    while token_request(
        &server,
        Some(&basic(&app, &new_secret)),
        "grant_type=client_credentials",
    )
    .status
        != 200
    {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(2),
            "the new secret works"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        call(
            &server,
            "DELETE",
            "/admin/v1/clients/app",
            Some(&ops_token),
            &[],
            None
        )
        .status,
        204
    );
    assert_eq!(
        call(
            &server,
            "GET",
            "/admin/v1/clients/app",
            Some(&ops_token),
            &[],
            None
        )
        .status,
        404
    );
    assert_eq!(
        call(
            &server,
            "DELETE",
            "/admin/v1/clients/app",
            Some(&ops_token),
            &[],
            None
        )
        .status,
        404
    );
    assert_eq!(
        call(
            &server,
            "GET",
            "/admin/v1/nothing",
            Some(&ops_token),
            &[],
            None
        )
        .status,
        404
    );

    // Signing keys: listed with the read scope, rotated and retired with the write scope.
    let keys = call(
        &server,
        "GET",
        "/admin/v1/keys",
        Some(&reader_token),
        &[],
        None,
    );
    assert_eq!(keys.status, 200);
    let keys = keys.json();
    let active = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["alg"] == "ES256" && k["state"] == "active")
        .expect("an active ES256 key")["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!keys.to_string().contains("private"), "never a private key");
    let rotate = |token: &str, alg: &str| {
        call(
            &server,
            "POST",
            "/admin/v1/keys",
            Some(token),
            &[],
            Some(json!({"alg": alg})),
        )
    };
    assert_eq!(rotate(&reader_token, "ES256").status, 403);
    let published = rotate(&ops_token, "ES256");
    assert_eq!(
        published.status,
        201,
        "{}",
        String::from_utf8_lossy(&published.body)
    );
    assert_eq!(published.json()["state"], "published");
    let new_kid = published.json()["kid"].as_str().unwrap().to_owned();
    let refused = rotate(&ops_token, "EdDSA");
    assert_eq!(refused.status, 409, "not an algorithm of this deployment");
    assert_eq!(rotate(&ops_token, "HS256").status, 400);
    let retire = |kid: &str| {
        call(
            &server,
            "POST",
            &format!("/admin/v1/keys/{kid}/retire"),
            Some(&ops_token),
            &[],
            None,
        )
    };
    assert_eq!(
        retire(&active).status,
        409,
        "the active key is not retired by hand"
    );
    let retired = retire(&new_kid);
    assert_eq!(retired.status, 200);
    assert_eq!(retired.json()["state"], "retired");
    assert_eq!(retire("no-such-kid").status, 404);

    // Every change is audited with the acting admin client.
    assert!(server.stop(), "a clean stop writes the audit queue");
    let out = t.cli(&["audit", "tail", "-n", "100"], None);
    let trail = String::from_utf8_lossy(&out.stdout);
    for what in [
        "created by admin client ops",
        "updated by admin client ops",
        "deleted by admin client ops",
        "secret rotated, previous secrets valid 0 s more by admin client ops",
        &format!("published ES256 key {new_kid} by admin client ops"),
        &format!("retired ES256 key {new_kid} by hand by admin client ops"),
    ] {
        assert!(trail.contains(what), "{what} in {trail}");
    }
}
