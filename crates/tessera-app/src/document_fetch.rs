//! Fetching client ID metadata documents: the outbound HTTP adapter of the `DocumentFetcher`
//! port. `GET` over HTTP/1.1 (hyper) and TLS (rustls, the Mozilla roots plus an optional
//! operator CA); the host is resolved first and every address it resolves to is checked against
//! the domain's address policy, then the connection is made to a checked address (so a DNS
//! answer cannot change between the check and the connection). Size and time are bounded.

use async_trait::async_trait;
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper::{Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tessera_domain::metadata_document::{DocumentBody, DocumentPolicy, DocumentUrl};
use tessera_domain::ports::{DocumentFetcher, FetchError, FetchedDocument};
use tokio::net::TcpStream;

/// Fetches documents over `https` only.
pub struct HttpDocumentFetcher {
    tls: tokio_rustls::TlsConnector,
}

impl HttpDocumentFetcher {
    /// A fetcher trusting the Mozilla root programme's CAs and those in `extra_ca_pem` (an
    /// intranet's CA).
    ///
    /// # Errors
    /// When the extra CAs do not parse.
    pub fn new(extra_ca_pem: Option<&[u8]>) -> anyhow::Result<Self> {
        Ok(Self {
            tls: crate::wiring::tls_connector(extra_ca_pem)?,
        })
    }

    async fn get(
        &self,
        url: &DocumentUrl,
        policy: &DocumentPolicy,
    ) -> Result<FetchedDocument, FetchError> {
        let unreachable = |e: &dyn std::fmt::Display| FetchError::Unreachable(e.to_string());
        let addresses: Vec<_> = tokio::net::lookup_host((url.host(), url.port()))
            .await
            .map_err(|e| unreachable(&e))?
            .collect();
        // Every address the name resolves to must be allowed: a name that mixes a public and a
        // private address is refused, whichever one a connection would pick.
        if addresses.is_empty() || addresses.iter().any(|a| !policy.allows_address(a.ip())) {
            return Err(FetchError::ForbiddenAddress(url.host().to_owned()));
        }
        let tcp = TcpStream::connect(addresses.as_slice())
            .await
            .map_err(|e| unreachable(&e))?;
        let name = ServerName::try_from(url.host().to_owned()).map_err(|e| unreachable(&e))?;
        let tls = self
            .tls
            .connect(name, tcp)
            .await
            .map_err(|e| unreachable(&e))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| unreachable(&e))?;
        let driver = tokio::spawn(connection);
        let path = url
            .as_str()
            .splitn(4, '/')
            .nth(3)
            .map_or_else(|| "/".to_owned(), |p| format!("/{p}"));
        let authority = url.as_str()["https://".len()..]
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let request = Request::get(path)
            .header(header::HOST, authority)
            .header(header::ACCEPT, "application/json")
            .header(header::USER_AGENT, "tessera")
            .body(Empty::<Bytes>::new())
            .map_err(|e| unreachable(&e))?;
        let answer = sender.send_request(request).await;
        let result = match answer {
            Ok(response) => read(response, policy.max_bytes).await,
            Err(e) => Err(unreachable(&e)),
        };
        driver.abort();
        result
    }
}

/// The document in `response`: `200`, a JSON object of at most `max_bytes`.
async fn read(
    response: hyper::Response<hyper::body::Incoming>,
    max_bytes: usize,
) -> Result<FetchedDocument, FetchError> {
    if response.status() != StatusCode::OK {
        return Err(FetchError::NotADocument(format!(
            "status {}",
            response.status().as_u16()
        )));
    }
    let declared = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max_bytes) {
        return Err(FetchError::TooLarge(max_bytes));
    }
    let cache_control = response
        .headers()
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let max_age = cache_control.split(',').find_map(|d| {
        d.trim()
            .strip_prefix("max-age=")
            .and_then(|v| v.trim_matches('"').parse::<u64>().ok())
    });
    let no_store = cache_control
        .split(',')
        .any(|d| matches!(d.trim(), "no-store" | "no-cache"));
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| FetchError::Unreachable(e.to_string()))?;
        if let Some(data) = frame.data_ref() {
            if bytes.len() + data.len() > max_bytes {
                return Err(FetchError::TooLarge(max_bytes));
            }
            bytes.extend_from_slice(data);
        }
    }
    Ok(FetchedDocument {
        body: parse(&bytes)?,
        max_age,
        no_store,
    })
}

/// The document as the domain reads it (the HTTP adapter's reading of RFC 7591 metadata).
fn parse(bytes: &[u8]) -> Result<DocumentBody, FetchError> {
    tessera_http_actix::register::document_body(bytes).map_err(FetchError::NotADocument)
}

#[async_trait]
impl DocumentFetcher for HttpDocumentFetcher {
    async fn fetch(
        &self,
        url: &DocumentUrl,
        policy: &DocumentPolicy,
    ) -> Result<FetchedDocument, FetchError> {
        tokio::time::timeout(policy.timeout, self.get(url, policy))
            .await
            .unwrap_or(Err(FetchError::Timeout))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_document_is_read_with_its_secret_fields_noticed_and_unknown_fields_ignored() {
        let body = parse(
            br#"{"client_id":"https://a.example/c.json","client_name":"A","logo_uri":"x","client_secret":"s"}"#,
        )
        .unwrap();
        assert_eq!(body.client_id.as_deref(), Some("https://a.example/c.json"));
        assert!(body.has_secret);
        assert_eq!(body.metadata.client_name.as_deref(), Some("A"));
        assert!(parse(b"[1]").is_err());
        assert!(parse(br#"{"redirect_uris":"x"}"#).is_err());
        let numeric = parse(br#"{"client_id":7}"#).unwrap();
        assert_eq!(numeric.client_id, None);
    }

    #[tokio::test]
    async fn a_name_resolving_to_a_forbidden_address_is_refused_before_any_connection() {
        let fetcher = HttpDocumentFetcher::new(None).unwrap();
        let url = DocumentUrl::recognise("https://localhost:9/client.json").unwrap();
        let got = fetcher.fetch(&url, &DocumentPolicy::default()).await;
        assert_eq!(got, Err(FetchError::ForbiddenAddress("localhost".into())));
    }
}
