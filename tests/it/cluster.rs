//! Scale-out: two `tessera serve` processes on one PostgreSQL database, as behind a load
//! balancer (one issuer, one master key). Each test gets a database of its own.
//!
//! The bounds the nodes keep: a JWT revocation is seen by the other node within the denylist's
//! 100 ms poll (each node keeps the denylist in memory); a client change (disabled, secret rotated) and a key change within one
//! `cache.refresh_interval_ms` (200 ms here, 1 s by default).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;

use tessera_store_diesel::testing::PgTestDatabase;

use crate::harness::{Server, Tessera, basic, pg_database, token_request};
use crate::jwt::{jwks, verify_with};

const ISSUER: &str = "http://tessera.cluster.test";

struct Cluster {
    db: PgTestDatabase,
    a: Tessera,
    b: Tessera,
}

impl Cluster {
    fn new() -> Self {
        let db = pg_database();
        let key = base64::engine::general_purpose::STANDARD.encode([42u8; 32]);
        Self {
            a: Tessera::node(db.url(), &key),
            b: Tessera::node(db.url(), &key),
            db,
        }
    }

    /// Both nodes, started at the same time on the (possibly empty) database.
    fn serve(&self, extra: &[(&str, &str)]) -> (Server, Server) {
        let mut env = vec![("TESSERA_SERVER__ISSUER", ISSUER)];
        env.extend_from_slice(extra);
        std::thread::scope(|s| {
            let a = s.spawn(|| self.a.serve(&env));
            let b = s.spawn(|| self.b.serve(&env));
            (a.join().unwrap(), b.join().unwrap())
        })
    }
}

/// How many migrations the database records as applied.
fn applied_migrations(url: &str) -> usize {
    use diesel::{Connection as _, RunQueryDsl as _};
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = diesel::PgConnection::establish(url).unwrap();
    let count: Count = diesel::sql_query("SELECT count(*) AS n FROM __diesel_schema_migrations")
        .get_result(&mut conn)
        .unwrap();
    usize::try_from(count.n).unwrap()
}

fn form(server: &Server, path: &str, auth: &str, body: &str) -> crate::harness::Reply {
    let req = crate::harness::agent()
        .post(&server.url(path))
        .set("Content-Type", "application/x-www-form-urlencoded")
        .set("Authorization", auth);
    crate::harness::send(req, Some(body.as_bytes()))
}

fn issue(server: &Server, auth: &str) -> Value {
    let reply = token_request(server, Some(auth), "grant_type=client_credentials");
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    reply.json()
}

fn active(server: &Server, auth: &str, token: &str) -> bool {
    let reply = form(
        server,
        "/oauth2/introspect",
        auth,
        &format!("token={token}"),
    );
    assert_eq!(reply.status, 200);
    reply.json()["active"].as_bool().unwrap()
}

/// Polls `check` every 20 ms until it holds; returns how long that took.
fn within(bound: Duration, what: &str, mut check: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < bound, "{what}: not within {bound:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    start.elapsed()
}

#[test]
fn a_token_from_one_node_verifies_introspects_and_is_revoked_on_the_other() {
    let c = Cluster::new();
    // `tessera migrate` on PostgreSQL, then again: nothing left to do the second time.
    let migrations = std::fs::read_dir(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../crates/tessera-store-diesel/migrations/postgres"),
    )
    .unwrap()
    .count();
    for _ in 0..2 {
        let out = c.a.cli(&["migrate"], None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(applied_migrations(c.db.url()), migrations);
    }
    let (id, secret) = c.a.create_client("svc", &["--scope", "read write"]);
    let auth = basic(&id, &secret);
    let (a, b) = c.serve(&[]);

    // Started together on an empty database, the nodes made one key per algorithm between them.
    let (ka, kb) = (jwks(&a), jwks(&b));
    assert_eq!(ka.keys.len(), kb.keys.len());
    let kids: HashSet<_> = ka.keys.iter().map(|k| k.common.key_id.clone()).collect();
    assert_eq!(kids.len(), ka.keys.len());
    let algs: HashSet<_> = ka
        .keys
        .iter()
        .map(|k| format!("{:?}", k.common.key_algorithm))
        .collect();
    assert_eq!(algs.len(), ka.keys.len(), "one key per algorithm");
    assert_eq!(ka.keys.len(), 4, "ES256, RS256, PS256 and EdDSA");
    assert!(kb.keys.iter().all(|k| kids.contains(&k.common.key_id)));

    let token = issue(&a, &auth)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, claims) = verify_with(&kb, &token, ISSUER, ISSUER);
    assert_eq!(claims["client_id"], id.as_str());
    assert!(active(&b, &auth, &token), "B introspects A's token");

    // Revoked on A: inactive on A at once, and on B once its denylist follows the counter
    // (polled every 100 ms; the bound allows for a loaded machine).
    let reply = form(&a, "/oauth2/revoke", &auth, &format!("token={token}"));
    assert_eq!(reply.status, 200);
    assert!(
        !active(&a, &auth, &token),
        "revoked on A, inactive on A at once"
    );
    let took = within(Duration::from_secs(2), "revocation on A seen by B", || {
        !active(&b, &auth, &token)
    });
    assert!(took < Duration::from_millis(400), "{took:?}");

    // A secret rotated through one node's command line (no grace period) works on both nodes,
    // and the old one stops, within the cache refresh interval.
    let rotated =
        c.a.cli_json(&["client", "rotate-secret", &id, "--grace", "0s"]);
    let new_auth = basic(&id, rotated["client_secret"].as_str().unwrap());
    for node in [&a, &b] {
        let took = within(Duration::from_secs(2), "secret rotated", || {
            token_request(node, Some(&new_auth), "grant_type=client_credentials").status == 200
                && token_request(node, Some(&auth), "grant_type=client_credentials").status == 401
        });
        assert!(took < Duration::from_secs(1), "{took:?}");
    }
    let auth = new_auth;

    // A client disabled through one node's command line stops working on both nodes within the
    // cache refresh interval.
    let issued_on_b = issue(&b, &auth);
    assert!(issued_on_b["access_token"].is_string());
    assert_eq!(c.a.cli_json(&["client", "disable", &id])["enabled"], false);
    for node in [&a, &b] {
        let took = within(Duration::from_secs(2), "client disabled", || {
            token_request(node, Some(&auth), "grant_type=client_credentials").status == 401
        });
        assert!(took < Duration::from_secs(1), "{took:?}");
    }
}

#[test]
fn a_hundred_concurrent_refreshes_across_two_nodes_leave_exactly_one_successor() {
    let c = Cluster::new();
    let (id, secret) = c.a.create_client(
        "app",
        &[
            "--scope",
            "read",
            "--grant",
            "client_credentials",
            "--grant",
            "refresh_token",
            "--refresh-with-client-credentials",
        ],
    );
    let auth = basic(&id, &secret);
    let (a, b) = c.serve(&[]);
    let t0 = issue(&a, &auth)["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = format!("grant_type=refresh_token&refresh_token={t0}");
    let results: Vec<(u16, Value)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..100)
            .map(|i| {
                let (node, body, auth) = (if i % 2 == 0 { &a } else { &b }, &body, &auth);
                s.spawn(move || {
                    let r = token_request(node, Some(auth), body);
                    (r.status, r.json())
                })
            })
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
    let successor = successors.into_iter().next().unwrap();
    // It is the family's live token on either node; the old one is spent on both.
    let next = token_request(
        &b,
        Some(&auth),
        &format!("grant_type=refresh_token&refresh_token={successor}"),
    );
    assert_eq!(next.status, 200);
    assert!(!a.log().contains("panicked") && !b.log().contains("panicked"));
}

#[test]
fn a_key_rotated_on_one_node_is_published_by_the_other_before_it_signs() {
    let c = Cluster::new();
    let (id, secret) = c.a.create_client("svc", &["--scope", "read"]);
    let auth = basic(&id, &secret);
    let env = [
        ("TESSERA_KEYS__ALGORITHMS", "ES256"),
        ("TESSERA_KEYS__PUBLISH_LEAD_SECONDS", "2"),
        ("TESSERA_KEYS__JWKS_MAX_AGE_SECONDS", "1"),
        ("TESSERA_DIALECTS__SEMEAR__ENABLED", "false"),
    ];
    let (a, b) = c.serve(&env);
    let kid_of = |token: &str| jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    let old = kid_of(issue(&a, &auth)["access_token"].as_str().unwrap());

    let rotated = c.a.cli_json(&["keys", "rotate"]);
    let new = rotated["kid"].as_str().unwrap().to_owned();
    let published = within(Duration::from_secs(1), "B publishes the new key", || {
        jwks(&b).find(&new).is_some()
    });
    // Neither node signs with it yet: it is only published.
    assert_eq!(
        kid_of(issue(&a, &auth)["access_token"].as_str().unwrap()),
        old
    );
    assert_eq!(
        kid_of(issue(&b, &auth)["access_token"].as_str().unwrap()),
        old
    );

    // Once it signs (after the lead), every token from either node verifies with B's JWKS.
    let signs = within(Duration::from_secs(6), "A signs with the new key", || {
        kid_of(issue(&a, &auth)["access_token"].as_str().unwrap()) == new
    });
    assert!(published < signs, "{published:?} before {signs:?}");
    let published_by_b = jwks(&b);
    for node in [&a, &b] {
        let token = issue(node, &auth)["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        verify_with(&published_by_b, &token, ISSUER, ISSUER);
    }
    // Exactly one node ran the lifecycle step that activated it.
    let activations = [&a, &b]
        .iter()
        .filter(|n| n.log().contains("signing key lifecycle"))
        .count();
    assert_eq!(activations, 1, "one lease holder activates the key");
}

#[test]
fn a_browser_signs_in_on_one_node_and_the_other_continues_the_flow() {
    use crate::oidc::{Browser, PASSWORD, REDIRECT, enc, form_fields, pkce, query_param};
    let c = Cluster::new();
    let out = c.a.cli(
        &[
            "user",
            "create",
            "--logon",
            "ana",
            "--email",
            "ana@example.com",
            "--name",
            "Ana",
            "--password-stdin",
        ],
        Some(PASSWORD),
    );
    assert!(out.status.success());
    let (client, secret) = c.a.create_client(
        "web",
        &[
            "--grant",
            "authorization_code",
            "--redirect-uri",
            REDIRECT,
            "--scope",
            "openid profile",
            "--role",
            "ROLE_CLI-1STPARTY",
        ],
    );
    let (a, b) = c.serve(&[]);
    let p = pkce("cluster");
    let query = format!(
        "response_type=code&client_id={client}&redirect_uri={}&scope=openid&state=st-1&nonce=n-1\
         &code_challenge={}&code_challenge_method=S256",
        enc(REDIRECT),
        p.challenge
    );
    let code_in = |reply: &crate::harness::Reply| {
        assert!(matches!(reply.status, 302 | 303), "{}", reply.status);
        let location = reply.header("location").unwrap();
        assert!(location.starts_with(REDIRECT), "{location}");
        assert_eq!(query_param(location, "iss").as_deref(), Some(ISSUER));
        query_param(location, "code").unwrap()
    };

    // The sign-in page comes from A; the form goes to B (the anti-forgery token is the browser's,
    // the session is stored in the shared database).
    let mut browser = Browser::new();
    let page = browser.get(&a.url(&format!("/oauth2/authorize?{query}")));
    assert_eq!(page.status, 200);
    let mut fields = form_fields(&String::from_utf8(page.body).unwrap());
    fields.extend([
        ("logon".into(), "ana".into()),
        ("password".into(), PASSWORD.into()),
        ("tessera_action".into(), "login".into()),
    ]);
    let first = code_in(&browser.post_form(&b.url("/oauth2/authorize"), &fields));

    // The code issued by B is redeemed at A.
    let auth = basic(&client, &secret);
    let redeem = |node: &Server, code: &str| {
        token_request(
            node,
            Some(&auth),
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={}",
                enc(REDIRECT),
                p.verifier
            ),
        )
    };
    let tokens = redeem(&a, &first);
    assert_eq!(
        tokens.status,
        200,
        "{}",
        String::from_utf8_lossy(&tokens.body)
    );
    assert!(tokens.json()["id_token"].is_string());
    // Single use across nodes: B refuses it now.
    assert_eq!(redeem(&b, &first).status, 400);

    // The session made on B signs the browser in on A without a page.
    let again = code_in(&browser.get(&a.url(&format!("/oauth2/authorize?{query}"))));
    assert_eq!(redeem(&b, &again).status, 200);
}

/// A change made over one node's admin API takes effect on the other node within the cache
/// bound: a redirect URI added on node A is accepted by node B's authorization endpoint.
#[test]
fn an_admin_change_on_one_node_takes_effect_on_the_other() {
    let c = Cluster::new();
    let (ops, ops_secret) = c.a.create_client(
        "ops",
        &["--role", "ROLE_TESSERA-ADMIN", "--scope", "tessera:admin"],
    );
    c.a.create_client(
        "web",
        &[
            "--grant",
            "authorization_code",
            "--redirect-uri",
            "https://app.example/cb",
            "--scope",
            "openid",
        ],
    );
    let (a, b) = c.serve(&[("TESSERA_ADMIN__BIND", "127.0.0.1:0")]);
    let token = issue(&a, &basic(&ops, &ops_secret))["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin = a.admin_base.clone().expect("node A's admin listener");
    let authorize = |server: &Server, redirect: &str| {
        let url = format!(
            "{}?response_type=code&client_id=web&scope=openid&state=s&redirect_uri={}&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
            server.url("/oauth2/authorize"),
            crate::oidc::enc(redirect)
        );
        crate::harness::send(crate::harness::agent().get(&url), None).status
    };
    let added = "https://app.example/cb2";
    assert_eq!(authorize(&b, added), 400, "not registered yet");

    let shown = crate::harness::send(
        crate::harness::agent()
            .get(&format!("{admin}/admin/v1/clients/web"))
            .set("Authorization", &format!("Bearer {token}")),
        None,
    );
    assert_eq!(shown.status, 200);
    let etag = shown.header("etag").unwrap().to_owned();
    let body = serde_json::json!({"redirect_uris": ["https://app.example/cb", added]});
    let patched = crate::harness::send(
        crate::harness::agent()
            .request("PATCH", &format!("{admin}/admin/v1/clients/web"))
            .set("Authorization", &format!("Bearer {token}"))
            .set("If-Match", &etag)
            .set("Content-Type", "application/json"),
        Some(body.to_string().as_bytes()),
    );
    assert_eq!(
        patched.status,
        200,
        "{}",
        String::from_utf8_lossy(&patched.body)
    );
    assert_eq!(
        authorize(&a, added),
        200,
        "at once on the node that made it"
    );
    // The tests' cache.refresh_interval_ms is 200 ms.
    within(Duration::from_secs(2), "node B follows", || {
        authorize(&b, added) == 200
    });
}
