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

/// An access token for `id` (the gateway's own token in the Semear tests).
fn client_credentials_token(server: &Server, id: &str, secret: &str) -> String {
    let reply = token_request(
        server,
        Some(&basic(id, secret)),
        "grant_type=client_credentials",
    );
    assert_eq!(reply.status, 200);
    reply.json()["access_token"].as_str().unwrap().to_owned()
}

fn serve_with_tls(t: &Tessera, server_cert: &Identity) -> Server {
    serve_with_tls_env(t, server_cert, &[])
}

fn serve_with_tls_env(t: &Tessera, server_cert: &Identity, extra: &[(&str, &str)]) -> Server {
    let cert_file = t.data_dir().join("server.pem");
    let key_file = t.data_dir().join("server.key");
    std::fs::write(&cert_file, &server_cert.pem).unwrap();
    let key_pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(&server_cert.key)
    );
    std::fs::write(&key_file, key_pem).unwrap();
    let mut env = vec![
        ("TESSERA_SERVER__TLS__BIND", "127.0.0.1:0"),
        (
            "TESSERA_SERVER__TLS__CERT_FILE",
            cert_file.to_str().unwrap(),
        ),
        ("TESSERA_SERVER__TLS__KEY_FILE", key_file.to_str().unwrap()),
    ];
    env.extend_from_slice(extra);
    t.serve(&env)
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
    let gateway = client_credentials_token(&server, &gw, &gw_secret);
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

/// A certificate authority of the test, issuing client certificates.
struct Ca {
    issuer: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let key = rcgen::KeyPair::generate().unwrap();
        Self {
            issuer: rcgen::CertifiedIssuer::self_signed(params, key).unwrap(),
        }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A client certificate for `C=BR, O=Banco Semear, CN=<cn>`, valid from `not_before` to
    /// `not_after` (years).
    fn issue(&self, cn: &str, years: (i32, i32)) -> Identity {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CountryName, "BR");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Banco Semear");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        params.not_before = rcgen::date_time_ymd(years.0, 1, 1);
        params.not_after = rcgen::date_time_ymd(years.1, 1, 1);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Identity {
            pem: cert.pem(),
            der: cert.der().to_vec(),
            key: key.serialize_der(),
        }
    }
}

const VALID: (i32, i32) = (2020, 2090);

#[test]
fn tls_client_auth_accepts_any_certificate_of_a_trusted_ca_with_the_registered_subject() {
    let t = Tessera::new();
    let (ca, rogue_ca) = (Ca::new("Tessera Test CA"), Ca::new("Rogue CA"));
    let server_cert = identity("localhost");
    let ca_file = t.data_dir().join("clients-ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let (id, secret) = t.create_client(
        "pix-partner",
        &[
            "--auth-method",
            "tls_client_auth",
            "--subject-dn",
            "CN=pix.partner.example, O=Banco Semear, C=BR",
        ],
    );
    let shown = t.cli_json(&["client", "show", &id]);
    assert_eq!(
        shown["tls_client_auth_subject_dn"],
        "CN=pix.partner.example, O=Banco Semear, C=BR"
    );
    assert!(secret.is_empty(), "a certificate-only client has no secret");
    assert_eq!(shown["secret_kinds"], serde_json::json!([]));
    let server = serve_with_tls_env(
        &t,
        &server_cert,
        &[("TESSERA_SERVER__CLIENT_CA_FILE", ca_file.to_str().unwrap())],
    );
    let meta = crate::harness::send(
        crate::harness::agent().get(&server.url("/.well-known/oauth-authorization-server")),
        None,
    )
    .json();
    assert!(
        meta["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&Value::from("tls_client_auth")),
        "{meta}"
    );

    let body = format!("grant_type=client_credentials&client_id={id}");
    let post = |cert: &Identity| {
        tls_post(
            &server,
            &server_cert,
            Some(cert),
            "/oauth2/token",
            &[],
            &body,
        )
    };
    // Two certificates of the same subject (a renewal): both are the client's, each binds the
    // token to itself.
    for cert in [
        ca.issue("pix.partner.example", VALID),
        ca.issue("pix.partner.example", VALID),
    ] {
        let (status, reply) = post(&cert);
        assert_eq!(status, 200, "{reply}");
        let (_, claims) = crate::jwt::verify(
            &server,
            reply["access_token"].as_str().unwrap(),
            &server.base,
        );
        assert_eq!(claims["client_id"], id.as_str());
        assert_eq!(claims["cnf"]["x5t#S256"], thumbprint(&cert.der).as_str());
    }
    // Refused: the subject from a CA nobody trusts, a self-signed certificate, another subject of
    // the trusted CA, an expired and a not-yet-valid certificate.
    let refused = [
        ("rogue CA", rogue_ca.issue("pix.partner.example", VALID)),
        ("self-signed", identity("pix.partner.example")),
        ("other subject", ca.issue("someone.example", VALID)),
        ("expired", ca.issue("pix.partner.example", (2019, 2021))),
        (
            "not yet valid",
            ca.issue("pix.partner.example", (2080, 2090)),
        ),
    ];
    for (case, cert) in refused {
        let (status, reply) = post(&cert);
        assert_eq!(
            (status, reply["error"].as_str()),
            (401, Some("invalid_client")),
            "{case}: {reply}"
        );
    }
}

#[test]
fn semear_behind_a_gateway_binds_to_a_forwarded_ca_issued_certificate_by_subject() {
    let t = Tessera::new();
    let ca = Ca::new("Tessera Test CA");
    let ca_file = t.data_dir().join("clients-ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let (id, secret) = t.create_client(
        "pix",
        &[
            "--auth-method",
            "client_secret_post",
            "--scope",
            "cob.read",
            "--subject-dn",
            "CN=pix.example,O=Banco Semear,C=BR",
        ],
    );
    let (gw, gw_secret) = t.create_client("gw", &[]);
    let server = t.serve(&[
        ("TESSERA_SERVER__CLIENT_CA_FILE", ca_file.to_str().unwrap()),
        ("TESSERA_DIALECTS__SEMEAR__TRUST_CLIENT_CERT_HEADER", "true"),
    ]);
    let gateway = client_credentials_token(&server, &gw, &gw_secret);
    let body = format!(
        "client_id={id}&client_secret={secret}&grant_type=client_credentials&scope=cob.read"
    );
    let pix = |cert: &Identity| {
        crate::harness::send(
            crate::harness::agent()
                .post(&server.url("/oauth-apipix/oauth/token"))
                .set("Content-Type", "application/x-www-form-urlencoded")
                .set("access_token", &gateway)
                .set("client-cert", &cert.pem.replace('\n', " ")),
            Some(body.as_bytes()),
        )
    };
    let cert = ca.issue("pix.example", VALID);
    let reply = pix(&cert);
    assert_eq!(reply.status, 200, "{}", reply.json());
    let (_, claims) = crate::jwt::verify(
        &server,
        reply.json()["access_token"].as_str().unwrap(),
        &server.base,
    );
    assert_eq!(claims["cnf"]["x5t#S256"], thumbprint(&cert.der).as_str());
    // The same subject, self-signed: the gateway forwarded it, but no trusted CA vouches for it.
    let reply = pix(&identity("pix.example"));
    assert_eq!(
        (reply.status, reply.json()["error"].as_str()),
        (401, Some("invalid_client"))
    );
}
