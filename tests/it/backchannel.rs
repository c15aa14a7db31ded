//! Back-Channel Logout 1.0 from the outside: a relying party's logout endpoint (a small HTTP
//! receiver on loopback) gets a signed logout token when the user logs out, when an operator
//! signs them out or locks them, and still after a restart of Tessera in between.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::harness::Server;
use crate::oidc::{Browser, PASSWORD, POST_LOGOUT, authorize_url, enc, pkce, setup, sign_in};

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// A relying party's back-channel logout endpoint: answers every POST with 200 and hands over
/// the bodies it received.
fn receiver(listener: TcpListener) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
            if tx
                .send(String::from_utf8_lossy(&body).into_owned())
                .is_err()
            {
                return;
            }
        }
    });
    rx
}

/// Signs a browser in for the client and redeems the code: the client took part in the session.
/// Returns the ID token.
fn take_part(s: &crate::oidc::Setup, server: &Server, browser: &mut Browser, seed: &str) -> String {
    let p = pkce(seed);
    let reply = sign_in(
        browser,
        &authorize_url(server, &s.client, "openid", Some(&p)),
        "ana",
        PASSWORD,
    );
    let code = crate::oidc::code_from(server, &reply);
    let tokens = crate::oidc::exchange(s, server, &code, Some(&p.verifier));
    assert_eq!(tokens.status, 200);
    tokens.json()["id_token"].as_str().unwrap().to_owned()
}

/// The logout token of a received body, verified against the server's JWKS, with its claims.
fn logout_token(server: &Server, body: &str, client: &str) -> Value {
    let token = body
        .strip_prefix("logout_token=")
        .unwrap_or_else(|| panic!("not a logout token post: {body}"));
    let (header, claims) = crate::jwt::verify(server, token, client);
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    assert_eq!(claims["iss"], server.base.as_str());
    assert_eq!(claims["events"][EVENT], serde_json::json!({}));
    assert!(claims.get("nonce").is_none(), "§2.4: never a nonce");
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        120
    );
    claims
}

fn wait(rx: &mpsc::Receiver<String>, what: &str) -> String {
    rx.recv_timeout(Duration::from_secs(15))
        .unwrap_or_else(|_| panic!("no back-channel logout {what} within 15 s"))
}

fn metric(server: &Server, outcome: &str) -> u64 {
    let text = crate::harness::agent()
        .get(&server.url("/metrics"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    let prefix = format!("tessera_backchannel_logout_total{{outcome=\"{outcome}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0, |v| v.trim().parse().unwrap())
}

fn eventually(check: impl Fn() -> bool, what: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "not within 15 s: {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn logout_sign_out_and_lock_each_post_a_signed_logout_token() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("http://{}/backchannel", listener.local_addr().unwrap());
    let rx = receiver(listener);
    let s = setup(&[
        "--role",
        "ROLE_CLI-1STPARTY",
        "--backchannel-logout-uri",
        &uri,
    ]);
    let server = s.t.serve(&[]);
    let meta: Value = crate::harness::agent()
        .get(&server.url("/.well-known/openid-configuration"))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(meta["backchannel_logout_supported"], true);
    assert_eq!(meta["backchannel_logout_session_supported"], true);

    // RP-initiated logout.
    let mut browser = Browser::new();
    let id_token = take_part(&s, &server, &mut browser, "b1");
    let sid = crate::jwt::verify(&server, &id_token, &s.client).1["sid"].clone();
    let out = browser.get(&format!(
        "{}?id_token_hint={id_token}&post_logout_redirect_uri={}",
        server.url("/oauth2/logout"),
        enc(POST_LOGOUT)
    ));
    assert_eq!(out.status, 302);
    let claims = logout_token(&server, &wait(&rx, "after logout"), &s.client);
    assert_eq!(claims["sid"], sid, "the session that ended");
    assert_eq!(claims["sub"], s.user.as_str());
    assert!(
        rx.recv_timeout(Duration::from_millis(1500)).is_err(),
        "once"
    );

    // An operator signs the user out: every session, each participant told.
    let mut phone = Browser::new();
    let again = take_part(&s, &server, &mut phone, "b2");
    let phone_sid = crate::jwt::verify(&server, &again, &s.client).1["sid"].clone();
    assert_ne!(phone_sid, sid);
    let out = s.t.cli_json(&["user", "sign-out", &s.user]);
    assert_eq!(out["sessions_ended"], 1);
    let claims = logout_token(&server, &wait(&rx, "after sign-out"), &s.client);
    assert_eq!(claims["sid"], phone_sid);

    // Locking the user ends their sessions too.
    let mut tablet = Browser::new();
    take_part(&s, &server, &mut tablet, "b3");
    s.t.cli_json(&["user", "lock", &s.user]);
    logout_token(&server, &wait(&rx, "after lock"), &s.client);
    eventually(
        || metric(&server, "delivered") == 3,
        "three deliveries counted",
    );
    assert_eq!(metric(&server, "abandoned"), 0);
}

#[test]
fn a_notice_not_yet_delivered_is_delivered_after_a_restart() {
    // The relying party is down: nothing listens on its port yet.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let uri = format!("http://127.0.0.1:{port}/backchannel");
    let s = setup(&[
        "--role",
        "ROLE_CLI-1STPARTY",
        "--backchannel-logout-uri",
        &uri,
    ]);
    let server = s.t.serve(&[]);
    let mut browser = Browser::new();
    let id_token = take_part(&s, &server, &mut browser, "r1");
    let sid = crate::jwt::verify(&server, &id_token, &s.client).1["sid"].clone();
    let out = browser.get(&format!(
        "{}?id_token_hint={id_token}",
        server.url("/oauth2/logout")
    ));
    assert_eq!(out.status, 200, "signed out, no place to return to");
    eventually(|| metric(&server, "failed") > 0, "a failed attempt");
    assert!(server.stop(), "a clean stop");

    // The relying party comes back, then Tessera: the notice kept in the database goes out.
    let rx = receiver(TcpListener::bind(("127.0.0.1", port)).unwrap());
    let server = s.t.serve(&[]);
    let claims = logout_token(&server, &wait(&rx, "after the restart"), &s.client);
    assert_eq!(claims["sid"], sid);
}
