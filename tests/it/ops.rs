//! Operations: request ids, readiness, graceful shutdown, and failing closed when the database is
//! locked.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use diesel::{Connection as _, RunQueryDsl as _, SqliteConnection};

use crate::harness::{Tessera, agent, basic, send, token_request};

#[test]
fn every_response_carries_a_request_id() {
    let t = Tessera::new();
    let (id, secret) = t.create_client("svc", &[]);
    let server = t.serve(&[]);
    let ok = token_request(
        &server,
        Some(&basic(&id, &secret)),
        "grant_type=client_credentials",
    );
    let bad = token_request(
        &server,
        Some(&basic(&id, "tsec_wrong")),
        "grant_type=client_credentials",
    );
    let missing = send(agent().get(&server.url("/nope")), None);
    let page = send(agent().get(&server.url("/oauth2/authorize")), None);
    let mut seen = Vec::new();
    for reply in [&ok, &bad, &missing, &page] {
        let rid = reply
            .header("x-request-id")
            .expect("x-request-id")
            .to_owned();
        assert_eq!(rid.len(), 20, "{rid}");
        seen.push(rid);
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 4, "unique");
    // A proxy's id carries through; a malformed one is replaced.
    let echoed = send(
        agent()
            .get(&server.url("/healthz"))
            .set("X-Request-Id", "edge-42:a.b_c"),
        None,
    );
    assert_eq!(echoed.header("x-request-id"), Some("edge-42:a.b_c"));
    let replaced = send(
        agent()
            .get(&server.url("/healthz"))
            .set("X-Request-Id", "<script>"),
        None,
    );
    assert_ne!(replaced.header("x-request-id"), Some("<script>"));
}

#[test]
fn readyz_reports_the_database_and_the_signing_keys() {
    let t = Tessera::new();
    let server = t.serve(&[]);
    let reply = send(agent().get(&server.url("/readyz")), None);
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json(),
        serde_json::json!({"status": "ready", "database": "ok", "signing_keys": "ok"})
    );
    assert_eq!(send(agent().get(&server.url("/healthz")), None).status, 200);
}

/// Holds SQLite's write lock on the data directory's database until dropped.
struct WriteLock(SqliteConnection);

impl WriteLock {
    fn take(t: &Tessera) -> Self {
        let path = t.data_dir().join("tessera.sqlite");
        let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
        // The server writes in the background too (audit, purge): wait our turn for the lock.
        diesel::sql_query("PRAGMA busy_timeout = 10000")
            .execute(&mut conn)
            .unwrap();
        diesel::sql_query("BEGIN EXCLUSIVE")
            .execute(&mut conn)
            .unwrap();
        Self(conn)
    }
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        let _ = diesel::sql_query("ROLLBACK").execute(&mut self.0);
    }
}

#[test]
fn a_locked_database_fails_closed_with_503_and_recovers_by_itself() {
    let t = Tessera::new();
    let (jwt, jwt_secret) = t.create_client("jwt", &[]);
    let (opaque, opaque_secret) = t.create_client("opaque", &["--access-token-format", "opaque"]);
    let server = t.serve(&[("TESSERA_STORAGE__BUSY_TIMEOUT_MS", "300")]);
    let cc = "grant_type=client_credentials";
    assert_eq!(
        token_request(&server, Some(&basic(&opaque, &opaque_secret)), cc).status,
        200
    );

    let lock = WriteLock::take(&t);
    // An opaque token must be stored: no store, no token.
    let reply = token_request(&server, Some(&basic(&opaque, &opaque_secret)), cc);
    assert_eq!(
        reply.status,
        503,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.json()["error"], "temporarily_unavailable");
    assert_eq!(reply.header("retry-after"), Some("1"));
    // A JWT needs no write: still served from memory.
    assert_eq!(
        token_request(&server, Some(&basic(&jwt, &jwt_secret)), cc).status,
        200
    );
    drop(lock);

    let reply = token_request(&server, Some(&basic(&opaque, &opaque_secret)), cc);
    assert_eq!(reply.status, 200, "recovered without a restart");
}

/// Every dialect's endpoints that must write answer a locked database with their own 503 and
/// `Retry-After`, within the busy timeout, rather than a 500 or a hang.
#[test]
#[allow(clippy::disallowed_methods)] // The test measures how long the answers took.
fn a_locked_database_is_503_with_retry_after_in_every_dialect() {
    let t = Tessera::new();
    let (serpro, serpro_secret) = t.create_client(
        "serpro-opaque",
        &[
            "--auth-method",
            "client_secret_post",
            "--access-token-format",
            "opaque",
        ],
    );
    let (eagle, eagle_secret) = t.create_client(
        "eagle-refresh",
        &[
            "--grant",
            "client_credentials",
            "--grant",
            "refresh_token",
            "--refresh-with-client-credentials",
        ],
    );
    let (authme, authme_secret) = t.create_client(
        "authme-app",
        &[
            "--role",
            "ROLE_CLI-1STPARTY",
            "--role",
            "ROLE_CLI-AUTH-BASIC",
        ],
    );
    let user = "5ef904d4b91ac90414895f3c";
    let made = t.cli(
        &[
            "user",
            "create",
            "--id",
            user,
            "--logon",
            "A123",
            "--email",
            "a@example.com",
            "--name",
            "A User",
        ],
        None,
    );
    assert!(made.status.success());
    let server = t.serve(&[("TESSERA_STORAGE__BUSY_TIMEOUT_MS", "300")]);
    let form = |path: &str, auth: Option<&str>, body: &str| {
        let mut req = agent()
            .post(&server.url(path))
            .set("Content-Type", "application/x-www-form-urlencoded");
        if let Some(a) = auth {
            req = req.set("Authorization", a);
        }
        send(req, Some(body.as_bytes()))
    };
    let json = |path: &str, body: &str| {
        let req = agent()
            .post(&server.url(path))
            .set("Content-Type", "application/json")
            .set("Authorization", &basic(&authme, &authme_secret));
        send(req, Some(body.as_bytes()))
    };
    let eagle_auth = basic(&eagle, &eagle_secret);
    let refresh = form(
        "/api/id/v1/auth/token",
        Some(&eagle_auth),
        "grant_type=client_credentials",
    )
    .json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let lock = WriteLock::take(&t);
    let started = std::time::Instant::now();
    let unavailable = |reply: &crate::harness::Reply, what: &str| {
        assert_eq!(
            reply.status,
            503,
            "{what}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        assert_eq!(reply.header("retry-after"), Some("1"), "{what}");
    };
    let reply = form(
        "/oauth/v0/oauth/client_token",
        None,
        &format!("grant_type=client_credentials&client_id={serpro}&client_secret={serpro_secret}"),
    );
    unavailable(&reply, "SerproID, an opaque token");
    assert_eq!(reply.json()["code"], "FALHA_TOKEN_MANUTENCAO_APLICACAO");
    let reply = form(
        "/api/id/v1/auth/token",
        Some(&eagle_auth),
        &format!("grant_type=refresh_token&refresh_token={refresh}"),
    );
    unavailable(&reply, "Screening Eagle, a refresh");
    assert_eq!(reply.json()["error"], "Service Unavailable");
    let reply = json(
        "/security/iam/v1/generate-param",
        &format!(r#"{{"userId": "{user}"}}"#),
    );
    unavailable(&reply, "AuthMe generate-param");
    assert_eq!(reply.json()[0]["code"], "97");
    let reply = json(
        "/security/iam/v1/product-accesses/generate-opaque-token",
        &format!(r#"{{"clientId": "{authme}"}}"#),
    );
    unavailable(&reply, "AuthMe, a product token");
    // Four writes, each given up after the 300 ms busy timeout.
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    drop(lock);
    let reply = json(
        "/security/iam/v1/generate-param",
        &format!(r#"{{"userId": "{user}"}}"#),
    );
    assert_eq!(reply.status, 201, "recovered");
}

/// Reads never queue behind writers: with ten writes blocked on the database's write lock (more
/// than the pool has connections), introspecting an opaque token (a read of the store) and a JWT
/// (none) still answers at once, and once the lock goes every blocked write completes.
#[test]
#[allow(clippy::disallowed_methods)] // The test measures how long the answers took.
fn reads_answer_while_ten_writers_wait_for_the_lock() {
    let t = Tessera::new();
    let (opaque, opaque_secret) = t.create_client("opaque", &["--access-token-format", "opaque"]);
    let (jwt, jwt_secret) = t.create_client("jwt", &[]);
    let server = t.serve(&[("TESSERA_STORAGE__BUSY_TIMEOUT_MS", "4000")]);
    let cc = "grant_type=client_credentials";
    let opaque_auth = basic(&opaque, &opaque_secret);
    let jwt_auth = basic(&jwt, &jwt_secret);
    let token = |auth: &str| {
        let reply = token_request(&server, Some(auth), cc);
        assert_eq!(reply.status, 200);
        reply.json()["access_token"].as_str().unwrap().to_owned()
    };
    let (opaque_token, jwt_token) = (token(&opaque_auth), token(&jwt_auth));

    let lock = WriteLock::take(&t);
    let writers: Vec<_> = (0..10)
        .map(|_| {
            let (url, auth) = (server.url("/oauth2/token"), opaque_auth.clone());
            std::thread::spawn(move || {
                let req = agent()
                    .post(&url)
                    .set("Authorization", &auth)
                    .set("Content-Type", "application/x-www-form-urlencoded");
                send(req, Some(cc.as_bytes())).status
            })
        })
        .collect();
    // Let every writer reach the lock (and the pool run out of writer connections).
    std::thread::sleep(Duration::from_millis(500));
    for (what, auth, token) in [
        ("opaque", &opaque_auth, &opaque_token),
        ("JWT", &jwt_auth, &jwt_token),
    ] {
        let started = std::time::Instant::now();
        let req = agent()
            .post(&server.url("/oauth2/introspect"))
            .set("Authorization", auth)
            .set("Content-Type", "application/x-www-form-urlencoded");
        let reply = send(req, Some(format!("token={token}").as_bytes()));
        let took = started.elapsed();
        assert_eq!(reply.status, 200, "{what}");
        assert_eq!(reply.json()["active"], true, "{what}");
        assert!(
            took < Duration::from_millis(500),
            "{what} introspection took {took:?}"
        );
    }
    drop(lock);
    for w in writers {
        assert_eq!(
            w.join().unwrap(),
            200,
            "a blocked write completes once the lock goes"
        );
    }
}

#[test]
fn sigterm_finishes_the_request_in_flight_and_exits_0() {
    let t = Tessera::new();
    let (id, secret) = t.create_client("svc", &[]);
    let server = t.serve(&[]);
    let addr = server.base.trim_start_matches("http://").to_owned();
    let body = "grant_type=client_credentials";
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // Headers and half the body, then SIGTERM, then the rest.
    write!(
        stream,
        "POST /oauth2/token HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        basic(&id, &secret),
        body.len(),
        &body[..10]
    )
    .unwrap();
    stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    server.terminate();
    std::thread::sleep(Duration::from_millis(300));
    stream.write_all(&body.as_bytes()[10..]).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("access_token"));
    // No new connections once stopping.
    assert!(server.wait_exit(), "exit status 0");
    assert!(TcpStream::connect(&addr).is_err(), "the port is closed");
}

#[test]
fn no_secret_token_password_or_key_ever_reaches_the_log() {
    use crate::oidc::{
        Browser, PASSWORD, authorize_url, code_from, exchange, pkce, setup, sign_in,
    };
    let s = setup(&["--role", "ROLE_CLI-1STPARTY"]);
    let t = &s.t;
    let (svc, svc_secret) = t.create_client(
        "svc",
        &[
            "--grant",
            "client_credentials",
            "--grant",
            "refresh_token",
            "--refresh-with-client-credentials",
        ],
    );
    let server = t.serve(&[
        ("TESSERA_LOG__FILTER", "debug"),
        ("TESSERA_LOG__FORMAT", "json"),
    ]);
    let mut secrets: Vec<String> = vec![s.secret.clone(), svc_secret.clone(), PASSWORD.into()];
    secrets.push(
        std::fs::read_to_string(t.data_dir().join("master.key"))
            .unwrap()
            .trim()
            .to_owned(),
    );

    // Tokens, refresh, revocation, introspection, and failures with wrong secrets.
    let issued = token_request(
        &server,
        Some(&basic(&svc, &svc_secret)),
        "grant_type=client_credentials",
    )
    .json();
    let access = issued["access_token"].as_str().unwrap().to_owned();
    let refresh = issued["refresh_token"].as_str().unwrap().to_owned();
    let rotated = token_request(
        &server,
        Some(&basic(&svc, &svc_secret)),
        &format!("grant_type=refresh_token&refresh_token={refresh}"),
    )
    .json();
    let _ = token_request(
        &server,
        Some(&basic(&svc, "tsec_wrongwrongwrong")),
        "grant_type=client_credentials",
    );
    for path in ["/oauth2/introspect", "/oauth2/revoke"] {
        send(
            agent()
                .post(&server.url(path))
                .set("Authorization", &basic(&svc, &svc_secret))
                .set("Content-Type", "application/x-www-form-urlencoded"),
            Some(format!("token={access}").as_bytes()),
        );
    }
    // A browser sign-in with a wrong password first, then the code flow.
    let mut browser = Browser::new();
    let p = pkce("logs");
    let url = authorize_url(&server, &s.client, "openid email offline_access", Some(&p));
    let _ = sign_in(&mut browser, &url, "ana", "not the password at all");
    let code = code_from(&server, &sign_in(&mut browser, &url, "ana", PASSWORD));
    let flow = exchange(&s, &server, &code, Some(&p.verifier)).json();
    secrets.extend([
        access,
        refresh,
        rotated["access_token"].as_str().unwrap().to_owned(),
        rotated["refresh_token"].as_str().unwrap().to_owned(),
        code,
        p.verifier.clone(),
        flow["access_token"].as_str().unwrap().to_owned(),
        flow["id_token"].as_str().unwrap().to_owned(),
        flow["refresh_token"].as_str().unwrap().to_owned(),
        "not the password at all".into(),
        "tsec_wrongwrongwrong".into(),
    ]);
    std::thread::sleep(Duration::from_millis(200));
    let log = server.log();
    assert!(server.stop());
    assert!(
        log.lines().count() > 10 && log.contains("request_id"),
        "debug logs were written: {log}"
    );
    for secret in &secrets {
        assert!(secret.len() >= 8, "{secret}");
        assert!(!log.contains(secret.as_str()), "the log holds {secret}");
    }
}

#[test]
fn slow_clients_are_cut_off_and_cannot_starve_the_others() {
    let t = Tessera::new();
    let (id, secret) = t.create_client("svc", &[]);
    let server = t.serve(&[
        ("TESSERA_SERVER__HEADER_TIMEOUT_MS", "500"),
        ("TESSERA_SERVER__BODY_TIMEOUT_MS", "800"),
    ]);
    let addr = server.base.trim_start_matches("http://").to_owned();
    let open = |first: &str| {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(first.as_bytes()).unwrap();
        s
    };
    // Slowloris: heads that never end, and bodies that never come.
    let heads: Vec<TcpStream> = (0..40)
        .map(|_| open("POST /oauth2/token HTTP/1.1\r\nHost: x\r\nX-Slow: "))
        .collect();
    let bodies: Vec<TcpStream> = (0..10)
        .map(|_| {
            open(&format!(
                "POST /oauth2/token HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type=",
                basic(&id, &secret)
            ))
        })
        .collect();
    let started = std::time::Instant::now();
    let reply = token_request(
        &server,
        Some(&basic(&id, &secret)),
        "grant_type=client_credentials",
    );
    assert_eq!(reply.status, 200);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "not starved"
    );

    let answer = |mut s: TcpStream| {
        let mut text = String::new();
        let _ = s.read_to_string(&mut text);
        text
    };
    for s in heads {
        let text = answer(s);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 408"),
            "a stalled head is timed out: {text}"
        );
    }
    for s in bodies {
        let text = answer(s);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 400"),
            "a stalled body is refused: {text}"
        );
        assert!(!text.contains("access_token"));
    }
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "cut off by the timeouts"
    );
    assert_eq!(
        token_request(
            &server,
            Some(&basic(&id, &secret)),
            "grant_type=client_credentials"
        )
        .status,
        200
    );
}

#[test]
fn kill_9_under_load_loses_nothing_that_was_acknowledged() {
    use std::sync::{Arc, Mutex};
    let t = Tessera::new();
    let (id, secret) = t.create_client(
        "svc",
        &[
            "--grant",
            "client_credentials",
            "--grant",
            "refresh_token",
            "--refresh-with-client-credentials",
        ],
    );
    let server = t.serve(&[]);
    let base = server.base.clone();
    let auth = basic(&id, &secret);
    // What the server acknowledged: the newest refresh token of each worker, and revoked tokens.
    let latest: Arc<Mutex<Vec<Option<String>>>> = Arc::new(Mutex::new(vec![None; 4]));
    let revoked: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let (base, auth, latest, revoked, stop) = (
                base.clone(),
                auth.clone(),
                latest.clone(),
                revoked.clone(),
                stop.clone(),
            );
            std::thread::spawn(move || {
                let post = |path: &str, body: String| {
                    agent()
                        .post(&format!("{base}{path}"))
                        .set("Authorization", &auth)
                        .set("Content-Type", "application/x-www-form-urlencoded")
                        .send_string(&body)
                        .ok()
                        .and_then(|r| r.into_json::<serde_json::Value>().ok())
                };
                let mut refresh: Option<String> = None;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let body = match &refresh {
                        Some(r) => format!("grant_type=refresh_token&refresh_token={r}"),
                        None => "grant_type=client_credentials".to_owned(),
                    };
                    let Some(issued) = post("/oauth2/token", body) else {
                        return;
                    };
                    let next = issued["refresh_token"].as_str().map(str::to_owned);
                    latest.lock().unwrap()[w] = next.clone();
                    refresh = next;
                    let access = issued["access_token"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    let acknowledged = agent()
                        .post(&format!("{base}/oauth2/revoke"))
                        .set("Authorization", &auth)
                        .set("Content-Type", "application/x-www-form-urlencoded")
                        .send_string(&format!("token={access}"))
                        .is_ok_and(|r| r.status() == 200);
                    if acknowledged {
                        revoked.lock().unwrap().push(access);
                    }
                }
            })
        })
        .collect();
    // Clients and keys changed on the command line while the load runs.
    let mut created = Vec::new();
    for i in 0..3 {
        created.push(t.create_client(&format!("made-{i}"), &[]).0);
    }
    let rotated = t.cli_json(&["keys", "rotate"])["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    std::thread::sleep(Duration::from_millis(500));
    server.kill_hard();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }

    let server = t.serve(&[]);
    for c in &created {
        assert!(
            t.cli(&["client", "show", c], None).status.success(),
            "{c} kept"
        );
    }
    let kids = t.cli_json(&["keys", "list"]).to_string();
    assert!(kids.contains(&rotated), "the rotated key kept");
    let revoked = revoked.lock().unwrap().clone();
    assert!(!revoked.is_empty(), "the load ran");
    for token in &revoked {
        let r = send(
            agent()
                .post(&server.url("/oauth2/introspect"))
                .set("Authorization", &auth)
                .set("Content-Type", "application/x-www-form-urlencoded"),
            Some(format!("token={token}").as_bytes()),
        );
        assert_eq!(r.json()["active"], false, "a revocation was lost");
    }
    // The newest refresh token each worker was given still works: its family and rotation were
    // kept (and if a rotation committed whose answer the kill swallowed, this is the retry the
    // grace window exists for, which gets that same successor).
    for token in latest.lock().unwrap().iter().flatten() {
        let r = token_request(
            &server,
            Some(&auth),
            &format!("grant_type=refresh_token&refresh_token={token}"),
        );
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
}

#[test]
fn metrics_count_tokens_errors_latency_pool_and_key_ages() {
    let t = Tessera::new();
    let (id, secret) = t.create_client("metered", &[]);
    let server = t.serve(&[]);
    for _ in 0..3 {
        assert_eq!(
            token_request(
                &server,
                Some(&basic(&id, &secret)),
                "grant_type=client_credentials"
            )
            .status,
            200
        );
    }
    let _ = token_request(
        &server,
        Some(&basic(&id, "tsec_wrong")),
        "grant_type=client_credentials",
    );
    let _ = send(
        agent()
            .post(&server.url("/oauth/v0/oauth/client_token"))
            .set("Content-Type", "application/x-www-form-urlencoded"),
        Some(
            format!("grant_type=client_credentials&client_id={id}&client_secret={secret}")
                .as_bytes(),
        ),
    );
    // The pool and key gauges are pushed every 5 s, the first time at start-up.
    std::thread::sleep(Duration::from_millis(300));
    let reply = send(agent().get(&server.url("/metrics")), None);
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = String::from_utf8(reply.body).unwrap();
    for expected in [
        "tessera_tokens_issued_total{dialect=\"rfc6749\",grant=\"client_credentials\",client=\"metered\"} 3",
        "tessera_tokens_issued_total{dialect=\"serproid\",grant=\"client_credentials\",client=\"metered\"} 1",
        "tessera_token_errors_total{dialect=\"rfc6749\",code=\"invalid_client\"} 1",
        "tessera_http_request_duration_seconds_count{method=\"POST\",route=\"/oauth2/token\",status=\"2xx\"} 3",
        "tessera_db_pool_connections{state=\"idle\"}",
        "tessera_signing_key_age_seconds{kid=",
        "# EOF",
    ] {
        assert!(text.contains(expected), "missing {expected}:\n{text}");
    }
    assert!(!text.contains(&secret), "no secret in the metrics");
}

#[test]
fn security_events_land_in_the_audit_trail_without_secrets() {
    let t = Tessera::new();
    let (id, secret) = t.create_client(
        "audited",
        &[
            "--grant",
            "client_credentials",
            "--grant",
            "refresh_token",
            "--refresh-with-client-credentials",
        ],
    );
    let server = t.serve(&[]);
    let issued = token_request(
        &server,
        Some(&basic(&id, &secret)),
        "grant_type=client_credentials",
    )
    .json();
    let refresh = issued["refresh_token"].as_str().unwrap();
    let refreshed = token_request(
        &server,
        Some(&basic(&id, &secret)),
        &format!("grant_type=refresh_token&refresh_token={refresh}"),
    );
    assert_eq!(refreshed.status, 200);
    assert_eq!(
        token_request(
            &server,
            Some(&basic(&id, "tsec_wrong")),
            "grant_type=client_credentials"
        )
        .status,
        401
    );
    send(
        agent()
            .post(&server.url("/oauth2/revoke"))
            .set("Authorization", &basic(&id, &secret))
            .set("Content-Type", "application/x-www-form-urlencoded"),
        Some(format!("token={refresh}").as_bytes()),
    );
    t.cli_json(&["client", "rotate-secret", &id]);
    t.cli_json(&["keys", "rotate", "--alg", "ES256"]);
    assert!(server.stop(), "a clean stop drains the audit queue");

    let out = t.cli(&["audit", "tail", "-n", "100"], None);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for expected in [
        "client.created",
        "key.changed",
        "token.issued",
        "token.refreshed",
        "client.authentication_failed",
        "token.revoked",
        "client.changed",
    ] {
        assert!(
            kinds.contains(&expected),
            "{expected} missing from {kinds:?}"
        );
    }
    let failed = events
        .iter()
        .find(|e| e["kind"] == "client.authentication_failed")
        .unwrap();
    assert_eq!(failed["client_id"], id.as_str());
    assert_eq!(failed["source"], "127.0.0.1");
    assert!(
        !text.contains(&secret) && !text.contains(refresh),
        "identifiers only"
    );
}

#[test]
fn behind_a_trusted_proxy_the_forwarded_client_address_is_the_source() {
    let failed_sources = |trusted: Option<&str>| {
        let t = Tessera::new();
        let (id, _) = t.create_client("svc", &[]);
        let env: Vec<(&str, &str)> = trusted
            .map(|p| vec![("TESSERA_SERVER__TRUSTED_PROXIES", p)])
            .unwrap_or_default();
        let server = t.serve(&env);
        let req = crate::harness::agent()
            .post(&server.url("/oauth2/token"))
            .set("Content-Type", "application/x-www-form-urlencoded")
            .set("Authorization", &crate::harness::basic(&id, "wrong"))
            // A client's own claim, then what the proxy saw.
            .set("X-Forwarded-For", "198.51.100.1, 203.0.113.9");
        let reply = crate::harness::send(req, Some(b"grant_type=client_credentials"));
        assert_eq!(reply.status, 401);
        // A graceful stop writes the buffered audit events.
        assert!(server.stop());
        let out = t.cli(&["audit", "tail", "-n", "10"], None);
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|e| e["kind"] == "client.authentication_failed")
            .map(|e| e["source"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    // Not configured: the header is anyone's to set, and is ignored.
    assert_eq!(failed_sources(None), ["127.0.0.1"]);
    // From a trusted proxy: the address the proxy saw, never the client's own claim.
    assert_eq!(failed_sources(Some("127.0.0.1")), ["203.0.113.9"]);
}

/// A small tmpfs mounted on the data directory, unmounted on drop; `None` where this process may
/// not mount (not root).
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(dir: &std::path::Path, size: &str) -> Option<Self> {
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Self(dir.to_owned()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[test]
fn a_full_disk_fails_closed_loses_nothing_and_recovers_when_space_returns() {
    let t = Tessera::new();
    let Some(_disk) = SmallDisk::mount(t.data_dir(), "6m") else {
        eprintln!("skipped: mounting a small filesystem needs root");
        return;
    };
    let (jwt, jwt_secret) = t.create_client("jwt", &[]);
    let (opaque, opaque_secret) = t.create_client("opaque", &["--access-token-format", "opaque"]);
    let server = t.serve(&[("TESSERA_STORAGE__BUSY_TIMEOUT_MS", "300")]);
    let cc = "grant_type=client_credentials";
    let before = token_request(&server, Some(&basic(&opaque, &opaque_secret)), cc);
    assert_eq!(before.status, 200);
    let kept = before.json()["access_token"].as_str().unwrap().to_owned();

    // Fill what is left.
    let filler = t.data_dir().join("filler");
    let chunk = vec![0u8; 64 * 1024];
    {
        let mut f = std::fs::File::create(&filler).unwrap();
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
    }
    let mut refused = None;
    for _ in 0..50 {
        let reply = token_request(&server, Some(&basic(&opaque, &opaque_secret)), cc);
        assert!(
            reply.status == 200 || reply.status == 503,
            "{}",
            reply.status
        );
        if reply.status == 503 {
            refused = Some(reply);
            break;
        }
    }
    let refused = refused.expect("a token that must be stored is refused on a full disk");
    assert_eq!(refused.json()["error"], "temporarily_unavailable");
    assert_eq!(
        token_request(&server, Some(&basic(&jwt, &jwt_secret)), cc).status,
        200,
        "JWTs need no write"
    );

    // Space returns: so does service, without a restart.
    std::fs::remove_file(&filler).unwrap();
    let reply = token_request(&server, Some(&basic(&opaque, &opaque_secret)), cc);
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let introspected = send(
        agent()
            .post(&server.url("/oauth2/introspect"))
            .set("Authorization", &basic(&opaque, &opaque_secret))
            .set("Content-Type", "application/x-www-form-urlencoded"),
        Some(format!("token={kept}").as_bytes()),
    );
    assert_eq!(
        introspected.json()["active"],
        true,
        "what was stored before is intact"
    );
    assert!(server.stop());

    #[derive(diesel::QueryableByName)]
    struct Check {
        #[diesel(sql_type = diesel::sql_types::Text)]
        integrity_check: String,
    }
    let path = t.data_dir().join("tessera.sqlite");
    let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    let check: Vec<Check> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut conn)
        .unwrap();
    assert_eq!(check[0].integrity_check, "ok", "no corruption");
}
