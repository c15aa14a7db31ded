//! Tessera as an OpenID provider for off-the-shelf software: the `openidconnect` crate as the
//! relying party (discovery, the code flow with PKCE, ID token and `at_hash` validation,
//! userinfo), once with a scripted browser and once with headless Chromium driven over WebDriver
//! (Debian's `chromium` and `chromium-driver`), signing in on the real page.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse as _, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse as _,
};
use serde_json::{Value, json};

use crate::harness::Server;
use crate::oidc::{Browser, PASSWORD, Setup, setup};

fn http_client() -> ureq::Agent {
    // No redirects: a relying party must not follow them (openidconnect's SSRF advice).
    ureq::AgentBuilder::new()
        .redirects(0)
        .timeout(Duration::from_secs(30))
        .build()
}

/// What the relying party ends with.
struct SignedIn {
    subject: String,
    email: Option<String>,
    userinfo_email: Option<String>,
}

/// The whole relying-party side with `openidconnect`: discovery, the authorization URL, then
/// `sign_in_at` (a browser that signs in and returns the code and state it was sent back with),
/// the code exchange, ID token and access-token-hash validation and userinfo.
fn relying_party(
    server: &Server,
    s: &Setup,
    redirect: &str,
    sign_in_at: impl FnOnce(&str) -> (String, String),
) -> SignedIn {
    let http = http_client();
    let issuer = IssuerUrl::new(server.base.clone()).unwrap();
    let metadata = CoreProviderMetadata::discover(&issuer, &http).expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(s.client.clone()),
        Some(ClientSecret::new(s.secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(redirect.to_owned()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let (code, state) = sign_in_at(url.as_str());
    assert_eq!(&state, csrf.secret(), "state comes back unchanged");
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .expect("a token endpoint")
        .set_pkce_verifier(verifier)
        .request(&http)
        .expect("code exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("ID token validates");
    let expected_hash = claims.access_token_hash().expect("at_hash");
    let actual_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(
        &actual_hash, expected_hash,
        "at_hash binds the access token"
    );
    let info: CoreUserInfoClaims = client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .expect("a userinfo endpoint")
        .request(&http)
        .expect("userinfo");
    SignedIn {
        subject: claims.subject().to_string(),
        email: claims.email().map(|e| e.to_string()),
        userinfo_email: info.email().map(|e| e.to_string()),
    }
}

#[test]
fn the_openidconnect_crate_completes_discovery_the_code_flow_and_validation() {
    let s = setup(&["--role", "ROLE_CLI-1STPARTY"]);
    let server = s.t.serve(&[]);
    let signed_in = relying_party(&server, &s, crate::oidc::REDIRECT, |url| {
        let mut browser = Browser::new();
        let reply = crate::oidc::sign_in(&mut browser, url, "ana", PASSWORD);
        let code = code_from_any_state(&server, &reply);
        let location = reply.header("location").unwrap();
        (code, crate::oidc::query_param(location, "state").unwrap())
    });
    assert_eq!(signed_in.subject, s.user);
    assert_eq!(signed_in.email.as_deref(), Some("ana@example.com"));
    assert_eq!(signed_in.userinfo_email.as_deref(), Some("ana@example.com"));
}

/// The code of a redirect whose state the relying party chose.
fn code_from_any_state(server: &Server, reply: &crate::harness::Reply) -> String {
    let location = reply.header("location").unwrap_or_default();
    assert_eq!(
        crate::oidc::query_param(location, "iss").as_deref(),
        Some(server.base.as_str())
    );
    crate::oidc::query_param(location, "code")
        .unwrap_or_else(|| panic!("no code: {} {location}", reply.status))
}

/// A client application's callback: records the query of every request to it.
struct Callback {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Callback {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/callback", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut line = String::new();
                let _ = BufReader::new(&stream).read_line(&mut line);
                if let Some(target) = line.split_whitespace().nth(1) {
                    log.lock().unwrap().push(target.to_owned());
                }
                let body = "<!DOCTYPE html><title>Signed in</title><p>Signed in.</p>";
                let _ = (&stream).write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                );
            }
        });
        Self { url, seen }
    }

    /// The first request that reached the callback, waiting up to `limit`.
    fn wait(&self, limit: Duration) -> Option<String> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(first) = self.seen.lock().unwrap().first() {
                return Some(first.clone());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

/// A WebDriver session on headless Chromium; the driver is killed on drop.
struct Chromium {
    driver: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
    _profile: tempfile::TempDir,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Chromium {
    fn start() -> Self {
        let driver_path = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect(
                "headless Chromium tests need Debian's chromium and chromium-driver \
                 (.ci/run installs them: apt-get install chromium chromium-driver)",
            );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(60))
            .build();
        let start = Instant::now();
        while agent.get(&format!("{base}/status")).call().is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let binary = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("chromium");
        let created: Value = agent
            .post(&format!("{base}/session"))
            .send_json(json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": binary,
                    "args": [
                        "--headless=new", "--no-sandbox", "--disable-gpu",
                        "--disable-dev-shm-usage", "--no-first-run",
                        format!("--user-data-dir={}", profile.path().display()),
                    ]
                }
            }}}))
            .expect("a WebDriver session")
            .into_json()
            .unwrap();
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_owned();
        Self {
            driver,
            base,
            session,
            agent,
            _profile: profile,
        }
    }

    fn command(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let req = self.agent.request(method, &url);
        let reply = if method == "GET" {
            req.call()
        } else {
            req.send_json(body)
        };
        match reply {
            Ok(r) => r.into_json::<Value>().unwrap()["value"].clone(),
            Err(ureq::Error::Status(code, r)) => {
                panic!(
                    "WebDriver {method} {path}: {code} {}",
                    r.into_string().unwrap_or_default()
                )
            }
            Err(e) => panic!("WebDriver {method} {path}: {e}"),
        }
    }

    fn open(&self, url: &str) {
        self.command("POST", "/url", json!({ "url": url }));
    }

    fn find(&self, css: &str) -> String {
        let found = self.command(
            "POST",
            "/element",
            json!({"using": "css selector", "value": css}),
        );
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_owned()
    }

    fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.command(
            "POST",
            &format!("/element/{id}/value"),
            json!({ "text": text }),
        );
    }

    fn click(&self, css: &str) {
        let id = self.find(css);
        self.command("POST", &format!("/element/{id}/click"), json!({}));
    }

    fn title(&self) -> String {
        self.command("GET", "/title", json!({}))
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self
            .agent
            .delete(&format!("{}/session/{}", self.base, self.session))
            .call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[test]
fn headless_chromium_signs_in_on_the_page_and_the_relying_party_gets_a_valid_id_token() {
    let callback = Callback::start();
    let s = setup(&[
        "--role",
        "ROLE_CLI-1STPARTY",
        "--redirect-uri",
        &callback.url.clone(),
    ]);
    let server = s.t.serve(&[]);
    let signed_in = relying_party(&server, &s, &callback.url, |url| {
        let chromium = Chromium::start();
        chromium.open(url);
        assert_eq!(chromium.title(), "Sign in – Tessera");
        chromium.type_into("#logon", "ana");
        chromium.type_into("#password", PASSWORD);
        chromium.click("button[type=submit]");
        let target = callback
            .wait(Duration::from_secs(20))
            .expect("the browser came back to the application");
        let url = format!("http://127.0.0.1{target}");
        assert_eq!(
            crate::oidc::query_param(&url, "iss").as_deref(),
            Some(server.base.as_str())
        );
        (
            crate::oidc::query_param(&url, "code").expect("a code"),
            crate::oidc::query_param(&url, "state").expect("a state"),
        )
    });
    assert_eq!(signed_in.subject, s.user);
    assert_eq!(signed_in.email.as_deref(), Some("ana@example.com"));
}
