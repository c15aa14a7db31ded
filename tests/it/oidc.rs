//! The browser flow against the real binary: authorization code with PKCE, the sign-in and
//! consent pages, OpenID Connect ID tokens and userinfo, and every failure rule of the code grant.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::Digest as _;

use crate::harness::{Reply, Server, Tessera, basic, send, token_request};

pub const REDIRECT: &str = "http://127.0.0.1:9/callback";
/// The client's post-logout redirect URI; nothing listens there.
pub const POST_LOGOUT: &str = "http://127.0.0.1:9/signed-out";
pub const PASSWORD: &str = "correct horse battery";

/// A browser: a cookie jar, no automatic redirects.
pub struct Browser {
    agent: ureq::Agent,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    pub fn new() -> Self {
        Self {
            agent: ureq::AgentBuilder::new()
                .redirects(0)
                .timeout(Duration::from_secs(30))
                .build(),
            cookies: BTreeMap::new(),
        }
    }

    fn keep(&mut self, reply: &Reply) {
        for (name, value) in &reply.headers {
            if name == "set-cookie" {
                let pair = value.split(';').next().unwrap_or_default();
                if let Some((k, v)) = pair.split_once('=') {
                    if v.is_empty() || value.contains("Max-Age=0") {
                        self.cookies.remove(k);
                    } else {
                        self.cookies.insert(k.to_owned(), v.to_owned());
                    }
                }
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn get(&mut self, url: &str) -> Reply {
        let mut req = self.agent.get(url);
        if !self.cookies.is_empty() {
            req = req.set("Cookie", &self.cookie_header());
        }
        let reply = send(req, None);
        self.keep(&reply);
        reply
    }

    pub fn post_form(&mut self, url: &str, fields: &[(String, String)]) -> Reply {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut req = self
            .agent
            .post(url)
            .set("Content-Type", "application/x-www-form-urlencoded");
        if !self.cookies.is_empty() {
            req = req.set("Cookie", &self.cookie_header());
        }
        let reply = send(req, Some(body.as_bytes()));
        self.keep(&reply);
        reply
    }

    pub fn has_cookie(&self, name: &str) -> bool {
        self.cookies.contains_key(name)
    }
}

pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The value of query parameter `name` in `url`.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(v) = u8::from_str_radix(hex, 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b == b'+' { b' ' } else { b });
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// The hidden and visible `name="…" value="…"` fields of the page's form.
pub fn form_fields(html: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    for input in html.split("<input").skip(1) {
        let attr = |name: &str| {
            let start = input.find(&format!("{name}=\""))? + name.len() + 2;
            let end = input.get(start..)?.find('"')? + start;
            Some(
                input
                    .get(start..end)?
                    .replace("&quot;", "\"")
                    .replace("&#39;", "'")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&"),
            )
        };
        if let (Some(name), Some("hidden")) = (attr("name"), attr("type").as_deref()) {
            fields.push((name, attr("value").unwrap_or_default()));
        }
    }
    fields
}

pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

pub fn pkce(seed: &str) -> Pkce {
    let verifier = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(seed.as_bytes()));
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    Pkce {
        verifier,
        challenge,
    }
}

pub fn authorize_url(server: &Server, client_id: &str, scope: &str, pkce: Option<&Pkce>) -> String {
    let mut url = format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&scope={}&state=st-42&nonce=n-0S6_WzA2Mj",
        server.url("/oauth2/authorize"),
        enc(client_id),
        enc(REDIRECT),
        enc(scope)
    );
    if let Some(p) = pkce {
        url.push_str(&format!(
            "&code_challenge={}&code_challenge_method=S256",
            p.challenge
        ));
    }
    url
}

/// Signs in on the page that `url` shows and returns the reply to the sign-in form.
pub fn sign_in(browser: &mut Browser, url: &str, logon: &str, password: &str) -> Reply {
    let page = browser.get(url);
    assert_eq!(page.status, 200, "{}", String::from_utf8_lossy(&page.body));
    let html = String::from_utf8(page.body).unwrap();
    assert!(html.contains("<form method=\"post\""), "{html}");
    let mut fields = form_fields(&html);
    fields.push(("logon".into(), logon.into()));
    fields.push(("password".into(), password.into()));
    fields.push(("tessera_action".into(), "login".into()));
    browser.post_form(&url_base(url), &fields)
}

fn url_base(url: &str) -> String {
    url.split('?').next().unwrap().to_owned()
}

/// A deployment with one user and one first-party web client.
pub struct Setup {
    pub t: Tessera,
    pub client: String,
    pub secret: String,
    pub user: String,
}

pub fn setup(extra_client_args: &[&str]) -> Setup {
    let t = Tessera::new();
    let out = t.cli(
        &[
            "user",
            "create",
            "--logon",
            "ana",
            "--email",
            "ana@example.com",
            "--name",
            "Ana Souza",
            "--given-name",
            "Ana",
            "--family-name",
            "Souza",
            "--email-verified",
            "--password-stdin",
        ],
        Some(PASSWORD),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let user: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut args = vec![
        "--grant",
        "authorization_code",
        "--grant",
        "refresh_token",
        "--redirect-uri",
        REDIRECT,
        "--post-logout-redirect-uri",
        POST_LOGOUT,
        "--scope",
        "openid profile email offline_access",
    ];
    args.extend_from_slice(extra_client_args);
    let (client, secret) = t.create_client("web", &args);
    Setup {
        t,
        client,
        secret,
        user: user["id"].as_str().unwrap().to_owned(),
    }
}

fn first_party() -> Setup {
    setup(&["--role", "ROLE_CLI-1STPARTY"])
}

/// The code from a redirect back to the client, after checking `state` and `iss`.
pub fn code_from(server: &Server, reply: &Reply) -> String {
    assert!(
        matches!(reply.status, 302 | 303),
        "{} {}",
        reply.status,
        String::from_utf8_lossy(&reply.body)
    );
    let location = back_to_client(server, reply);
    query_param(location, "code").unwrap_or_else(|| panic!("no code in {location}"))
}

/// Where a redirect back to the client goes, after checking it is the client's redirect URI
/// with this test's `state` and the server's `iss` (RFC 9207).
pub fn back_to_client<'r>(server: &Server, reply: &'r Reply) -> &'r str {
    let location = reply.header("location").unwrap();
    assert!(location.starts_with(REDIRECT), "{location}");
    assert_eq!(query_param(location, "state").as_deref(), Some("st-42"));
    assert_eq!(
        query_param(location, "iss").as_deref(),
        Some(server.base.as_str())
    );
    location
}

pub fn exchange(s: &Setup, server: &Server, code: &str, verifier: Option<&str>) -> Reply {
    let mut body = format!(
        "grant_type=authorization_code&code={}&redirect_uri={}",
        enc(code),
        enc(REDIRECT)
    );
    if let Some(v) = verifier {
        body.push_str(&format!("&code_verifier={v}"));
    }
    token_request(server, Some(&basic(&s.client, &s.secret)), &body)
}

fn error_of(reply: &Reply) -> (u16, String) {
    (
        reply.status,
        reply.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[test]
fn the_code_flow_signs_in_issues_a_verified_id_token_and_serves_userinfo() {
    let s = first_party();
    let server = s.t.serve(&[]);
    let mut browser = Browser::new();
    let p = pkce("flow");
    let url = authorize_url(
        &server,
        &s.client,
        "openid profile email offline_access",
        Some(&p),
    );

    let page = browser.get(&url);
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert!(
        page.headers.iter().any(|(n, v)| n == "set-cookie"
            && v.starts_with("tessera_csrf=")
            && v.contains("HttpOnly")
            && v.contains("SameSite=Lax")),
        "{:?}",
        page.headers
    );
    let html = String::from_utf8(page.body).unwrap();
    assert!(html.contains("<label for=\"logon\">") && html.contains("<label for=\"password\">"));
    assert!(!html.contains("<script"), "works without JavaScript");

    let reply = sign_in(&mut browser, &url, "ana", PASSWORD);
    let session = reply
        .headers
        .iter()
        .find(|(n, v)| n == "set-cookie" && v.starts_with("tessera_session="))
        .map(|(_, v)| v.clone())
        .expect("a session cookie");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    assert!(
        !session.contains("Secure"),
        "plain http issuer: no Secure flag"
    );
    let code = code_from(&server, &reply);

    let tokens = exchange(&s, &server, &code, Some(&p.verifier));
    assert_eq!(
        tokens.status,
        200,
        "{}",
        String::from_utf8_lossy(&tokens.body)
    );
    let body = tokens.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "email offline_access openid profile");
    assert!(body["refresh_token"].as_str().unwrap().starts_with("trt_"));
    let access = body["access_token"].as_str().unwrap();
    let id_token = body["id_token"].as_str().unwrap();

    let (header, claims) = crate::jwt::verify_with(
        &crate::jwt::jwks(&server),
        id_token,
        &server.base,
        &s.client,
    );
    assert_eq!(
        header.alg,
        jsonwebtoken::Algorithm::RS256,
        "OpenID Connect's default"
    );
    assert_eq!(claims["sub"], s.user.as_str());
    assert_eq!(claims["azp"], s.client.as_str());
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(claims["acr"], "AUTH_BASIC");
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert_eq!(claims["email"], "ana@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["name"], "Ana Souza");
    assert_eq!(claims["given_name"], "Ana");
    assert_eq!(claims["preferred_username"], "ana");
    let auth_time = claims["auth_time"].as_i64().unwrap();
    assert!((claims["iat"].as_i64().unwrap() - auth_time).abs() < 5);
    let digest = sha2::Sha256::digest(access.as_bytes());
    assert_eq!(claims["at_hash"], URL_SAFE_NO_PAD.encode(&digest[..16]));

    // The access token is an RFC 9068 JWT about the user.
    let (_, at) = crate::jwt::verify(&server, access, &server.base);
    assert_eq!(at["sub"], s.user.as_str());
    assert_eq!(at["client_id"], s.client.as_str());

    for method in ["GET", "POST"] {
        let req = crate::harness::agent()
            .request(method, &server.url("/oauth2/userinfo"))
            .set("Authorization", &format!("Bearer {access}"));
        let info = send(req, None);
        assert_eq!(info.status, 200, "{method}");
        let info = info.json();
        assert_eq!(info["sub"], s.user.as_str());
        assert_eq!(info["email"], "ana@example.com");
        assert_eq!(info["family_name"], "Souza");
    }

    // Signed in already: the next authorization skips the page.
    let again = browser.get(&authorize_url(&server, &s.client, "openid", Some(&p)));
    let code = code_from(&server, &again);
    let tokens = exchange(&s, &server, &code, Some(&p.verifier)).json();
    assert!(
        tokens.get("refresh_token").is_none(),
        "no offline_access, no refresh token"
    );
    let (_, claims) = crate::jwt::verify_with(
        &crate::jwt::jwks(&server),
        tokens["id_token"].as_str().unwrap(),
        &server.base,
        &s.client,
    );
    assert!(
        claims.get("email").is_none(),
        "openid alone releases no e-mail"
    );
    assert_eq!(
        claims["auth_time"].as_i64(),
        Some(auth_time),
        "same sign-in"
    );

    // The refresh token works and keeps the user.
    let refreshed = token_request(
        &server,
        Some(&basic(&s.client, &s.secret)),
        &format!(
            "grant_type=refresh_token&refresh_token={}",
            body["refresh_token"].as_str().unwrap()
        ),
    );
    assert_eq!(refreshed.status, 200);
    let (_, at) = crate::jwt::verify(
        &server,
        refreshed.json()["access_token"].as_str().unwrap(),
        &server.base,
    );
    assert_eq!(at["sub"], s.user.as_str());

    // Logout with the ID token as hint ends the session at once and returns to the client's
    // post-logout URI: the page asks to sign in again.
    let out = browser.get(&format!(
        "{}?id_token_hint={}&post_logout_redirect_uri={}&state=bye",
        server.url("/oauth2/logout"),
        id_token,
        enc(POST_LOGOUT)
    ));
    assert_eq!(out.status, 302, "{}", String::from_utf8_lossy(&out.body));
    assert_eq!(
        out.header("location"),
        Some(format!("{POST_LOGOUT}?state=bye").as_str())
    );
    assert!(!browser.has_cookie("tessera_session"));
    let page = browser.get(&authorize_url(&server, &s.client, "openid", Some(&p)));
    assert_eq!(page.status, 200, "the sign-in page again");
}

#[test]
fn every_code_grant_failure_rule_holds() {
    let s = first_party();
    let server = s.t.serve(&[]);
    let mut browser = Browser::new();
    let p = pkce("rules");
    let url = authorize_url(&server, &s.client, "openid offline_access", Some(&p));
    let new_code = |browser: &mut Browser| code_from(&server, &browser.get(&url));
    let first = code_from(&server, &sign_in(&mut browser, &url, "ana", PASSWORD));

    // Wrong verifier, and no verifier: refused, and the code is spent.
    assert_eq!(
        error_of(&exchange(
            &s,
            &server,
            &first,
            Some(&pkce("other").verifier)
        )),
        (400, "invalid_grant".into())
    );
    let code = new_code(&mut browser);
    assert_eq!(
        error_of(&exchange(&s, &server, &code, None)),
        (400, "invalid_grant".into())
    );

    // Mismatched redirect_uri at the token endpoint.
    let code = new_code(&mut browser);
    let reply = token_request(
        &server,
        Some(&basic(&s.client, &s.secret)),
        &format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={}",
            enc("http://127.0.0.1:9/other"),
            p.verifier
        ),
    );
    assert_eq!(error_of(&reply), (400, "invalid_grant".into()));

    // A reused code fails and revokes what its first use issued.
    let code = new_code(&mut browser);
    let issued = exchange(&s, &server, &code, Some(&p.verifier));
    assert_eq!(issued.status, 200);
    let issued = issued.json();
    let reused = exchange(&s, &server, &code, Some(&p.verifier));
    assert_eq!(error_of(&reused), (400, "invalid_grant".into()));
    assert!(
        reused.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("revoked")
    );
    for token in [&issued["access_token"], &issued["refresh_token"]] {
        let reply = crate::harness::send(
            crate::harness::agent()
                .post(&server.url("/oauth2/introspect"))
                .set("Authorization", &basic(&s.client, &s.secret))
                .set("Content-Type", "application/x-www-form-urlencoded"),
            Some(format!("token={}", token.as_str().unwrap()).as_bytes()),
        );
        assert_eq!(reply.json()["active"], false, "revoked after reuse");
    }

    // A code issued to another client.
    let (other, other_secret) = s.t.create_client(
        "other",
        &[
            "--grant",
            "authorization_code",
            "--redirect-uri",
            REDIRECT,
            "--scope",
            "openid",
        ],
    );
    crate::harness::settle();
    let code = new_code(&mut browser);
    let reply = token_request(
        &server,
        Some(&basic(&other, &other_secret)),
        &format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={}",
            enc(REDIRECT),
            p.verifier
        ),
    );
    assert_eq!(error_of(&reply), (400, "invalid_grant".into()));

    // A redirect_uri that is not registered is shown on the page, never redirected.
    let bad = url.replace(&enc(REDIRECT), &enc("https://evil.example/cb"));
    let page = browser.get(&bad);
    assert_eq!(page.status, 400);
    assert!(page.header("location").is_none());
    assert!(String::from_utf8_lossy(&page.body).contains("not registered"));
    // An unknown client too.
    let page = browser.get(&url.replace(&s.client, "nobody"));
    assert_eq!((page.status, page.header("location")), (400, None));

    // Errors about a verified client go back to it: no PKCE, plain PKCE, bad scope, bad type.
    for (broken, error) in [
        (
            url.replace(
                &format!("&code_challenge={}&code_challenge_method=S256", p.challenge),
                "",
            ),
            "invalid_request",
        ),
        (
            url.replace("code_challenge_method=S256", "code_challenge_method=plain"),
            "invalid_request",
        ),
        (url.replace("scope=openid", "scope=admin"), "invalid_scope"),
        (
            url.replace("response_type=code", "response_type=token"),
            "unsupported_response_type",
        ),
    ] {
        let reply = browser.get(&broken);
        assert_eq!(reply.status, 302, "{broken}");
        let location = reply.header("location").unwrap();
        assert_eq!(
            query_param(location, "error").as_deref(),
            Some(error),
            "{location}"
        );
        assert_eq!(query_param(location, "state").as_deref(), Some("st-42"));
    }
}

#[test]
fn an_expired_code_and_a_verifier_without_a_challenge_are_refused() {
    let s = first_party();
    let server = s.t.serve(&[
        ("TESSERA_OIDC__CODE_TTL_SECONDS", "1"),
        ("TESSERA_OIDC__REQUIRE_PKCE", "false"),
    ]);
    let mut browser = Browser::new();
    let p = pkce("late");
    let url = authorize_url(&server, &s.client, "openid", Some(&p));
    let code = code_from(&server, &sign_in(&mut browser, &url, "ana", PASSWORD));
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(
        error_of(&exchange(&s, &server, &code, Some(&p.verifier))),
        (400, "invalid_grant".into()),
        "expired"
    );
    // Without PKCE (allowed here for a confidential client), a verifier is refused
    // (RFC 9700 §4.8.2), and no verifier works.
    let url = authorize_url(&server, &s.client, "openid", None);
    let code = code_from(&server, &browser.get(&url));
    assert_eq!(
        error_of(&exchange(&s, &server, &code, Some(&p.verifier))),
        (400, "invalid_grant".into())
    );
    let code = code_from(&server, &browser.get(&url));
    assert_eq!(exchange(&s, &server, &code, None).status, 200);
}

#[test]
fn failed_sign_ins_lock_the_user_and_operators_can_lock_and_unlock() {
    let s = first_party();
    let server = s.t.serve(&[]);
    let mut browser = Browser::new();
    let p = pkce("lock");
    let url = authorize_url(&server, &s.client, "openid", Some(&p));
    for _ in 0..5 {
        let reply = sign_in(&mut browser, &url, "ana", "wrong password!");
        assert_eq!(reply.status, 401);
        let html = String::from_utf8_lossy(&reply.body);
        assert!(
            html.contains("role=\"alert\"") && html.contains("wrong"),
            "{html}"
        );
    }
    let reply = sign_in(&mut browser, &url, "ana", PASSWORD);
    assert_eq!(reply.status, 403, "locked even with the right password");
    assert!(String::from_utf8_lossy(&reply.body).contains("locked"));
    let shown = s.t.cli_json(&["user", "list"]);
    assert!(shown[0]["locked_until"].as_i64().is_some(), "{shown}");

    s.t.cli_json(&["user", "unlock", &s.user]);
    let reply = sign_in(&mut browser, &url, "ana", PASSWORD);
    code_from(&server, &reply);

    s.t.cli_json(&["user", "lock", &s.user]);
    let mut fresh = Browser::new();
    assert_eq!(sign_in(&mut fresh, &url, "ana", PASSWORD).status, 403);
    // An existing session of a locked user no longer counts.
    assert_eq!(browser.get(&url).status, 200, "back to the sign-in page");
}

#[test]
fn forms_need_their_anti_forgery_token() {
    let s = first_party();
    let server = s.t.serve(&[]);
    let mut browser = Browser::new();
    let p = pkce("csrf");
    let url = authorize_url(&server, &s.client, "openid", Some(&p));
    let page = browser.get(&url);
    let mut fields = form_fields(&String::from_utf8(page.body).unwrap());
    fields.retain(|(k, _)| k != "csrf");
    fields.push(("csrf".into(), "A".repeat(43)));
    fields.push(("logon".into(), "ana".into()));
    fields.push(("password".into(), PASSWORD.into()));
    fields.push(("tessera_action".into(), "login".into()));
    let reply = browser.post_form(&server.url("/oauth2/authorize"), &fields);
    assert_eq!(reply.status, 403);
    assert!(reply.header("location").is_none());
    assert!(!browser.has_cookie("tessera_session"));
}

#[test]
fn other_parties_ask_for_consent_once_and_public_clients_use_pkce() {
    let s = setup(&[]);
    let server = s.t.serve(&[]);
    let mut browser = Browser::new();
    let p = pkce("consent");
    let url = authorize_url(&server, &s.client, "openid email", Some(&p));
    let reply = sign_in(&mut browser, &url, "ana", PASSWORD);
    assert_eq!(reply.status, 200, "a consent page");
    let html = String::from_utf8(reply.body).unwrap();
    assert!(html.contains("see your e-mail address"), "{html}");
    let mut fields = form_fields(&html);
    fields.push(("tessera_action".into(), "deny".into()));
    let denied = browser.post_form(&server.url("/oauth2/authorize"), &fields);
    assert_eq!(
        query_param(denied.header("location").unwrap(), "error").as_deref(),
        Some("access_denied")
    );
    let page = browser.get(&url);
    let mut fields = form_fields(&String::from_utf8(page.body).unwrap());
    fields.push(("tessera_action".into(), "consent".into()));
    let code = code_from(
        &server,
        &browser.post_form(&server.url("/oauth2/authorize"), &fields),
    );
    assert_eq!(exchange(&s, &server, &code, Some(&p.verifier)).status, 200);
    // Remembered: no page the second time.
    code_from(&server, &browser.get(&url));

    // A public client: no secret, PKCE only.
    let (public, secret) = s.t.create_client(
        "spa",
        &[
            "--auth-method",
            "none",
            "--grant",
            "authorization_code",
            "--redirect-uri",
            REDIRECT,
            "--scope",
            "openid",
            "--role",
            "ROLE_CLI-1STPARTY",
        ],
    );
    crate::harness::settle();
    assert!(secret.is_empty());
    let url = authorize_url(&server, &public, "openid", Some(&p));
    let code = code_from(&server, &browser.get(&url));
    let reply = token_request(
        &server,
        None,
        &format!(
            "grant_type=authorization_code&client_id={public}&code={code}&redirect_uri={}&code_verifier={}",
            enc(REDIRECT),
            p.verifier
        ),
    );
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert!(reply.json()["id_token"].is_string());
}

#[test]
fn screening_eagle_exchanges_codes_in_its_own_format() {
    let s = first_party();
    let server = s.t.serve(&[]);
    let mut browser = Browser::new();
    let p = pkce("eagle");
    let url = authorize_url(&server, &s.client, "openid email", Some(&p));
    let code = code_from(&server, &sign_in(&mut browser, &url, "ana", PASSWORD));
    let eagle = |code: &str| {
        send(
            crate::harness::agent()
                .post(&server.url("/api/id/v1/auth/token"))
                .set("Authorization", &basic(&s.client, &s.secret))
                .set("Content-Type", "application/x-www-form-urlencoded"),
            Some(
                format!(
                    "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={}",
                    enc(REDIRECT),
                    p.verifier
                )
                .as_bytes(),
            ),
        )
    };
    let reply = eagle(&code);
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let body = reply.json();
    assert_eq!(body["scope"], "email openid");
    assert!(body["id_token"].is_string() && body["access_token"].is_string());
    let reply = eagle(&code);
    assert_eq!(reply.status, 400);
    let body = reply.json();
    assert_eq!(
        body["error"], "Bad Request",
        "the dialect's error body: {body}"
    );
    assert!(
        body["errorDescription"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "the dialect's error body: {body}"
    );
}

#[test]
fn cookies_are_secure_when_the_issuer_is_https() {
    let s = first_party();
    let server =
        s.t.serve(&[("TESSERA_SERVER__ISSUER", "https://id.example")]);
    let p = pkce("secure");
    let page = Browser::new().get(&authorize_url(&server, &s.client, "openid", Some(&p)));
    assert_eq!(page.status, 200);
    let cookie = page
        .headers
        .iter()
        .find(|(n, _)| n == "set-cookie")
        .map(|(_, v)| v.as_str())
        .unwrap();
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
}

#[test]
fn failed_sign_ins_from_one_address_are_refused_with_429_whoever_they_name() {
    let s = first_party();
    let server =
        s.t.serve(&[("TESSERA_USERS__MAX_FAILED_SIGN_INS_PER_ADDRESS", "3")]);
    let mut browser = Browser::new();
    let p = pkce("address");
    let url = authorize_url(&server, &s.client, "openid", Some(&p));
    for logon in ["nobody", "someone", "ana"] {
        assert_eq!(
            sign_in(&mut browser, &url, logon, "not the password").status,
            401
        );
    }
    let reply = sign_in(&mut browser, &url, "ana", PASSWORD);
    assert_eq!(
        reply.status, 429,
        "the address is refused, the right password too"
    );
    assert_eq!(reply.header("retry-after"), Some("900"));
    assert!(String::from_utf8_lossy(&reply.body).contains("Too many failed sign-ins"));
    // The user herself is not locked: only one of those failures was hers.
    let shown = s.t.cli_json(&["user", "list"]);
    assert_eq!(shown[0]["locked_until"], serde_json::Value::Null);
}
