//! The optional mutual-TLS listener (RFC 8705): a rustls server that asks every client for a
//! certificate, accepts any certificate the client proves it holds (self-signed included: whether a
//! certificate is acceptable is the domain's decision, by its registered thumbprint or subject),
//! and hands the certificate to the handlers through the connection's data. When the deployment
//! trusts CAs for `tls_client_auth`, the chain is validated against them once per connection and
//! only then is the certificate's subject DN handed on as trusted.

use std::any::Any;
use std::sync::Arc;

use actix_web::HttpRequest;
use actix_web::dev::Extensions;
use rustls::RootCertStore;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, Error, ServerConfig, SignatureScheme};
use tessera_domain::cert::{CertThumbprint, PresentedCertificate, SubjectDn};

/// The certificate a client presented on this connection.
#[derive(Clone, Debug)]
pub struct PeerCertificate(pub PresentedCertificate);

/// The certificate of the current request's TLS connection, if any.
#[must_use]
pub fn peer_certificate(req: &HttpRequest) -> Option<PresentedCertificate> {
    req.conn_data::<PeerCertificate>().map(|p| p.0.clone())
}

/// The CAs the deployment trusts to issue `tls_client_auth` certificates (RFC 8705 §2.1); empty
/// when none are configured, and then no certificate's subject is believed.
#[derive(Clone, Default)]
pub struct ClientCertTrust {
    verifier: Option<Arc<dyn ClientCertVerifier>>,
}

impl std::fmt::Debug for ClientCertTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertTrust")
            .field("configured", &self.verifier.is_some())
            .finish()
    }
}

impl ClientCertTrust {
    /// Trusts the CA certificates of a PEM bundle.
    ///
    /// # Errors
    /// When the bundle holds no certificate or one rustls cannot use as a trust anchor.
    pub fn from_pem(ca_pem: &[u8]) -> Result<Self, String> {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem) {
            let cert = cert.map_err(|e| format!("CA bundle: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("CA bundle: not a usable CA certificate: {e}"))?;
        }
        if roots.is_empty() {
            return Err("CA bundle: no certificate in the file".into());
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| format!("CA bundle: {e}"))?;
        Ok(Self {
            verifier: Some(verifier),
        })
    }

    /// Whether any CA is trusted.
    #[must_use]
    pub fn is_configured(&self) -> bool {
        self.verifier.is_some()
    }

    /// The certificate a client presented, from its chain (end entity first): always its
    /// thumbprint, and its subject when the chain is valid now (signatures, validity period,
    /// client-authentication usage) up to a trusted CA.
    #[must_use]
    pub fn present(&self, chain: &[CertificateDer<'_>]) -> Option<PresentedCertificate> {
        let (leaf, intermediates) = chain.split_first()?;
        let trusted_subject = self
            .verifier
            .as_ref()
            .filter(|v| {
                v.verify_client_cert(leaf, intermediates, UnixTime::now())
                    .is_ok()
            })
            .and_then(|_| subject_of(leaf));
        Some(PresentedCertificate {
            thumbprint: CertThumbprint::of_der(leaf.as_ref()),
            trusted_subject,
        })
    }
}

/// The subject DN of a DER certificate, when every attribute is a string.
fn subject_of(der: &CertificateDer<'_>) -> Option<SubjectDn> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let rdns = cert
        .subject()
        .iter()
        .map(|rdn| {
            rdn.iter()
                .map(|attr| {
                    let value = attr.as_str().ok()?;
                    Some((attr.attr_type().to_id_string(), value.to_owned()))
                })
                .collect::<Option<Vec<_>>>()
        })
        .collect::<Option<Vec<_>>>()?;
    SubjectDn::from_der_order(&rdns).ok()
}

/// Records the client certificate of a TLS connection in its data (`HttpServer::on_connect`),
/// validating its chain against `trust` once for the whole connection.
pub fn on_connect(trust: ClientCertTrust) -> impl Fn(&dyn Any, &mut Extensions) + Send + Sync {
    move |conn, data| {
        type Tls = actix_tls::accept::rustls_0_23::TlsStream<actix_web::rt::net::TcpStream>;
        if let Some(stream) = conn.downcast_ref::<Tls>() {
            let (_, session) = stream.get_ref();
            if let Some(presented) = session.peer_certificates().and_then(|c| trust.present(c)) {
                data.insert(PeerCertificate(presented));
            }
        }
    }
}

/// Asks for a client certificate, does not insist, and accepts any the client proves it holds.
#[derive(Debug)]
struct AnyClientCertificate {
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for AnyClientCertificate {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        // Possession is proven by the handshake signature below; which certificates a client may
        // use is decided by the domain from its registered thumbprints.
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The rustls configuration of the mutual-TLS listener, from the server's PEM certificate chain
/// and private key.
///
/// # Errors
/// When the PEM does not hold a certificate chain and a key that match.
pub fn server_config(cert_chain_pem: &[u8], key_pem: &[u8]) -> Result<ServerConfig, String> {
    let certs = CertificateDer::pem_slice_iter(cert_chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("certificate chain: {e}"))?;
    if certs.is_empty() {
        return Err("certificate chain: no certificate in the file".into());
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| format!("private key: {e}"))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(Arc::new(AnyClientCertificate { provider }))
        .with_single_cert(certs, key)
        .map_err(|e| format!("certificate and key: {e}"))
}
