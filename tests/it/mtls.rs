//! The mutual-TLS listener (RFC 8705): client certificates proven in the TLS handshake, both as
//! client authentication (`self_signed_tls_client_auth`) and as the binding of Banco Semear tokens.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::sync::Arc;

use base64::Engine as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use serde_json::Value;
use sha2::Digest as _;

use crate::harness::{Server, Tessera, basic, token_request};

struct Identity {
    pem: String,
    der: Vec<u8>,
    key: Vec<u8>,
}

fn identity(name: &str) -> Identity {
    let made = rcgen::generate_simple_self_signed(vec![name.to_owned()]).unwrap();
    Identity {
        pem: made.cert.pem(),
        der: made.cert.der().to_vec(),
        key: made.signing_key.serialize_der(),
    }
}

fn thumbprint(der: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(der))
}

/// POSTs a form over TLS to the mutual-TLS listener, presenting `client` when given.
fn tls_post(
    server: &Server,
    server_cert: &Identity,
    client: Option<&Identity>,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Value) {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(server_cert.der.clone()))
        .unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match client {
        Some(c) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from(c.der.clone())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(c.key.clone())),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    let addr = server
        .tls_base
        .as_deref()
        .unwrap()
        .trim_start_matches("https://")
        .to_owned();
    let conn =
        rustls::ClientConnection::new(Arc::new(config), ServerName::try_from("localhost").unwrap())
            .unwrap();
    let mut tls = rustls::StreamOwned::new(conn, TcpStream::connect(addr).unwrap());
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
        body.len()
    );
    tls.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = tls.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .parse()
        .unwrap_or(0);
    let payload = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    (status, serde_json::from_str(payload).unwrap_or(Value::Null))
}

fn serve_with_tls(t: &Tessera, server_cert: &Identity) -> Server {
    let cert_file = t.data_dir().join("server.pem");
    let key_file = t.data_dir().join("server.key");
    std::fs::write(&cert_file, &server_cert.pem).unwrap();
    let key_pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(&server_cert.key)
    );
    std::fs::write(&key_file, key_pem).unwrap();
    t.serve(&[
        ("TESSERA_SERVER__TLS__BIND", "127.0.0.1:0"),
        (
            "TESSERA_SERVER__TLS__CERT_FILE",
            cert_file.to_str().unwrap(),
        ),
        ("TESSERA_SERVER__TLS__KEY_FILE", key_file.to_str().unwrap()),
    ])
}

#[test]
fn self_signed_tls_client_auth_binds_tokens_to_the_handshake_certificate() {
    let t = Tessera::new();
    let (server_cert, client_cert, other) = (
        identity("localhost"),
        identity("mtls-app"),
        identity("someone-else"),
    );
    let cert_file = t.data_dir().join("client.pem");
    std::fs::write(&cert_file, &client_cert.pem).unwrap();
    let (id, _) = t.create_client(
        "mtls-app",
        &[
            "--auth-method",
            "self_signed_tls_client_auth",
            "--cert",
            cert_file.to_str().unwrap(),
        ],
    );
    let server = serve_with_tls(&t, &server_cert);
    assert!(
        server.tls_base.is_some(),
        "the mutual-TLS listener is announced"
    );

    let body = format!("grant_type=client_credentials&client_id={id}");
    let (status, reply) = tls_post(
        &server,
        &server_cert,
        Some(&client_cert),
        "/oauth2/token",
        &[],
        &body,
    );
    assert_eq!(status, 200, "{reply}");
    let (_, claims) = crate::jwt::verify(
        &server,
        reply["access_token"].as_str().unwrap(),
        &server.base,
    );
    assert_eq!(
        claims["cnf"],
        serde_json::json!({"x5t#S256": thumbprint(&client_cert.der)})
    );

    let (status, reply) = tls_post(
        &server,
        &server_cert,
        Some(&other),
        "/oauth2/token",
        &[],
        &body,
    );
    assert_eq!(
        (status, reply["error"].as_str()),
        (401, Some("invalid_client")),
        "another certificate"
    );
    let (status, reply) = tls_post(&server, &server_cert, None, "/oauth2/token", &[], &body);
    assert_eq!(
        (status, reply["error"].as_str()),
        (401, Some("invalid_client")),
        "no certificate"
    );
    // Over plain HTTP the client cannot authenticate at all.
    assert_eq!(token_request(&server, None, &body).status, 401);
}

#[test]
fn semear_over_mutual_tls_binds_to_the_connection_certificate_without_any_header() {
    let t = Tessera::new();
    let (server_cert, client_cert) = (identity("localhost"), identity("pix-app"));
    let cert_file = t.data_dir().join("pix.pem");
    std::fs::write(&cert_file, &client_cert.pem).unwrap();
    let (id, secret) = t.create_client(
        "pix",
        &[
            "--auth-method",
            "client_secret_post",
            "--scope",
            "pix.read pix.write",
            "--cert",
            cert_file.to_str().unwrap(),
        ],
    );
    let (gw, gw_secret) = t.create_client("gw", &[]);
    let server = serve_with_tls(&t, &server_cert);
    let gateway = token_request(
        &server,
        Some(&basic(&gw, &gw_secret)),
        "grant_type=client_credentials",
    )
    .json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = format!(
        "client_id={id}&client_secret={secret}&grant_type=client_credentials&scope=pix.read+pix.write"
    );
    let (status, reply) = tls_post(
        &server,
        &server_cert,
        Some(&client_cert),
        "/oauth-apipix/oauth/token",
        &[("access_token", &gateway)],
        &body,
    );
    assert_eq!(status, 200, "{reply}");
    let (header, claims) = crate::jwt::verify(
        &server,
        reply["access_token"].as_str().unwrap(),
        &server.base,
    );
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    assert_eq!(
        claims["cnf"]["x5t#S256"],
        thumbprint(&client_cert.der).as_str()
    );
    // A header cannot stand in for the handshake when the listener is not behind a gateway.
    let (status, _) = tls_post(
        &server,
        &server_cert,
        None,
        "/oauth-apipix/oauth/token",
        &[
            ("access_token", &gateway),
            ("client-cert", &client_cert.pem.replace('\n', " ")),
        ],
        &body,
    );
    assert_eq!(status, 401);
}
