//! The optional mutual-TLS listener (RFC 8705): a rustls server that asks every client for a
//! certificate, accepts any certificate the client proves it holds (self-signed included: whether a
//! certificate is acceptable is the domain's decision, by its registered thumbprint), and hands the
//! certificate to the handlers through the connection's data.

use std::any::Any;
use std::sync::Arc;

use actix_web::HttpRequest;
use actix_web::dev::Extensions;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, Error, ServerConfig, SignatureScheme};
use tessera_domain::cert::CertThumbprint;

/// The certificate a client presented on this connection, as its RFC 8705 thumbprint.
#[derive(Clone, Debug)]
pub struct PeerCertificate(pub CertThumbprint);

/// The certificate of the current request's TLS connection, if any.
#[must_use]
pub fn peer_certificate(req: &HttpRequest) -> Option<CertThumbprint> {
    req.conn_data::<PeerCertificate>().map(|p| p.0.clone())
}

/// Records the client certificate of a TLS connection in its data (`HttpServer::on_connect`).
pub fn on_connect(conn: &dyn Any, data: &mut Extensions) {
    type Tls = actix_tls::accept::rustls_0_23::TlsStream<actix_web::rt::net::TcpStream>;
    if let Some(stream) = conn.downcast_ref::<Tls>() {
        let (_, session) = stream.get_ref();
        if let Some(der) = session.peer_certificates().and_then(|c| c.first()) {
            data.insert(PeerCertificate(CertThumbprint::of_der(der.as_ref())));
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
