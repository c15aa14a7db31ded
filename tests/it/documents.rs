//! Client ID metadata documents against the real binary: a client whose `client_id` is the
//! `https` URL of its document (served here on loopback, allowed for the test) completes the code
//! flow with PKCE, the document fetched once; a document naming another `client_id`, too large,
//! too slow, or on an address the policy forbids is refused, without a hang.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{agent, send, token_request};
use crate::oidc::{
    Browser, PASSWORD, REDIRECT, authorize_url, code_from, enc, form_fields, pkce, setup, sign_in,
};

/// An HTTPS server on loopback serving metadata documents, with a CA the server is told to
/// trust.
struct DocumentServer {
    port: u16,
    ca_pem: String,
    fetches: Arc<AtomicUsize>,
}

impl DocumentServer {
    fn start() -> Self {
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Documents Test CA");
        let ca =
            rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap())
                .unwrap();
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&leaf_key, &ca)
            .unwrap();
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone()],
                rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).unwrap(),
            )
            .unwrap(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let fetches = Arc::new(AtomicUsize::new(0));
        let counter = fetches.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let config = config.clone();
                let counter = counter.clone();
                std::thread::spawn(move || serve_one(stream, config, port, &counter));
            }
        });
        Self {
            port,
            ca_pem: ca.pem(),
            fetches,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }
}

#[allow(clippy::disallowed_methods)] // The slow document is slow on purpose.
fn serve_one(
    stream: std::net::TcpStream,
    config: Arc<rustls::ServerConfig>,
    port: u16,
    fetches: &AtomicUsize,
) {
    let Ok(connection) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut tls = rustls::StreamOwned::new(connection, stream);
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match tls.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&request);
    let path = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let own = format!("https://127.0.0.1:{port}{path}");
    let document = |client_id: &str| {
        json!({
            "client_id": client_id,
            "client_name": "Doc App",
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "none",
            "scope": "openid profile",
        })
        .to_string()
    };
    let body = match path.as_str() {
        "/good.json" => {
            fetches.fetch_add(1, Ordering::SeqCst);
            document(&own)
        }
        "/other.json" => document(&format!("https://127.0.0.1:{port}/good.json")),
        "/big.json" => {
            let mut v: serde_json::Value = serde_json::from_str(&document(&own)).unwrap();
            v["padding"] = json!("x".repeat(8 * 1024));
            v.to_string()
        }
        "/slow.json" => {
            std::thread::sleep(Duration::from_secs(10));
            document(&own)
        }
        _ => String::new(),
    };
    let answer = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: max-age=600\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tls.write_all(answer.as_bytes());
    let _ = tls.flush();
    tls.conn.send_close_notify();
    let _ = tls.flush();
}

#[test]
fn a_metadata_document_client_signs_in_with_pkce_and_bad_documents_are_refused_quickly() {
    let docs = DocumentServer::start();
    let s = setup(&[]);
    let ca_file = s.t.data_dir().join("documents-ca.pem");
    std::fs::write(&ca_file, &docs.ca_pem).unwrap();
    let server = s.t.serve(&[
        ("TESSERA_REGISTRATION__METADATA_DOCUMENTS", "true"),
        (
            "TESSERA_REGISTRATION__METADATA_DOCUMENT_ALLOW",
            "127.0.0.1/32",
        ),
        (
            "TESSERA_REGISTRATION__METADATA_DOCUMENT_CA_FILE",
            ca_file.to_str().unwrap(),
        ),
        ("TESSERA_REGISTRATION__METADATA_DOCUMENT_TIMEOUT_MS", "1000"),
    ]);
    let discovery = send(
        agent().get(&server.url("/.well-known/openid-configuration")),
        None,
    )
    .json();
    assert_eq!(discovery["client_id_metadata_document_supported"], true);

    // The code flow with PKCE, as a public client named by its document's URL.
    let client_id = docs.url("/good.json");
    let p = pkce("document");
    let url = authorize_url(&server, &client_id, "openid profile", Some(&p));
    let mut browser = Browser::new();
    let consent = sign_in(&mut browser, &url, "ana", PASSWORD);
    assert_eq!(consent.status, 200, "a consent page");
    let html = String::from_utf8(consent.body).unwrap();
    assert!(html.contains("From <strong>127.0.0.1</strong>"), "{html}");
    let mut fields = form_fields(&html);
    fields.push(("tessera_action".into(), "consent".into()));
    let code = code_from(
        &server,
        &browser.post_form(&server.url("/oauth2/authorize"), &fields),
    );
    let reply = token_request(
        &server,
        None,
        &format!(
            "grant_type=authorization_code&client_id={}&code={}&redirect_uri={}&code_verifier={}",
            enc(&client_id),
            enc(&code),
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
    assert_eq!(
        docs.fetches.load(Ordering::SeqCst),
        1,
        "fetched once, then kept"
    );
    // Without PKCE a public client gets nothing.
    let no_pkce = authorize_url(&server, &client_id, "openid", None);
    let answer = browser.get(&no_pkce);
    let location = answer.header("location").unwrap_or_default();
    assert!(location.contains("error=invalid_request"), "{location}");

    // Refused, each well within the time limit: another client_id, too large, too slow, and an
    // address the policy does not allow.
    for bad in [
        docs.url("/other.json"),
        docs.url("/big.json"),
        docs.url("/slow.json"),
        format!("https://127.0.0.2:{}/good.json", docs.port),
    ] {
        let started = Instant::now();
        let url = authorize_url(&server, &bad, "openid", Some(&p));
        let answer = Browser::new().get(&url);
        assert_eq!(answer.status, 400, "{bad}: an error page, never a redirect");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{bad} took {:?}",
            started.elapsed()
        );
    }
    assert_eq!(docs.fetches.load(Ordering::SeqCst), 1);
    let log = server.log();
    assert!(log.contains("metadata document"), "{log}");
}
