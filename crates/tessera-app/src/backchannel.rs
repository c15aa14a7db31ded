//! Back-channel logout delivery: the outbound HTTP adapter of the `LogoutDelivery` port (HTTP/1.1
//! POST over hyper, TLS by rustls with the Mozilla roots of `webpki-roots`), and the loop that
//! runs the domain's courier.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Uri, header};
use hyper_util::rt::TokioIo;
use tessera_domain::ports::{Clock, DeliveryError, LogoutDelivery};
use tessera_domain::registration::BackchannelUri;
use tessera_domain::service::LogoutCourier;
use tokio::net::TcpStream;

/// Posts logout tokens (Back-Channel Logout 1.0 §2.5) with a time limit per delivery.
pub struct HttpDelivery {
    tls: tokio_rustls::TlsConnector,
    timeout: Duration,
}

impl HttpDelivery {
    /// A client that trusts the Mozilla root programme's CAs and gives up after `timeout`.
    ///
    /// # Errors
    /// When rustls cannot be configured (it always can with its own provider).
    pub fn new(timeout: Duration) -> anyhow::Result<Self> {
        Ok(Self {
            tls: crate::wiring::tls_connector(None)?,
            timeout,
        })
    }

    async fn post(&self, uri: &BackchannelUri, token: &str) -> Result<u16, DeliveryError> {
        let unreachable = |e: &dyn std::fmt::Display| DeliveryError::Unreachable(e.to_string());
        let url: Uri = uri.as_str().parse().map_err(|e| unreachable(&e))?;
        let https = url.scheme_str() == Some("https");
        let host = url
            .host()
            .ok_or_else(|| unreachable(&"no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = url.port_u16().unwrap_or(if https { 443 } else { 80 });
        let authority = url
            .authority()
            .map_or_else(|| host.clone(), ToString::to_string);
        let path = url.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        // A JWS is base64url and dots: nothing in it needs form-encoding.
        let body = format!("logout_token={token}");
        let request = Request::post(path)
            .header(header::HOST, authority)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::CONTENT_LENGTH, body.len())
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| unreachable(&e))?;
        let tcp = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| unreachable(&e))?;
        if https {
            let name =
                rustls::pki_types::ServerName::try_from(host).map_err(|e| unreachable(&e))?;
            let tls = self
                .tls
                .connect(name, tcp)
                .await
                .map_err(|e| unreachable(&e))?;
            send(TokioIo::new(tls), request).await
        } else {
            send(TokioIo::new(tcp), request).await
        }
    }
}

async fn send<T>(io: T, request: Request<Full<Bytes>>) -> Result<u16, DeliveryError>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let unreachable = |e: hyper::Error| DeliveryError::Unreachable(e.to_string());
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(unreachable)?;
    let driver = tokio::spawn(connection);
    let answer = sender.send_request(request).await.map_err(unreachable);
    driver.abort();
    Ok(answer?.status().as_u16())
}

#[async_trait]
impl LogoutDelivery for HttpDelivery {
    async fn deliver(&self, uri: &BackchannelUri, token: &str) -> Result<(), DeliveryError> {
        match tokio::time::timeout(self.timeout, self.post(uri, token)).await {
            Err(_) => Err(DeliveryError::Unreachable(format!(
                "no answer within {} ms",
                self.timeout.as_millis()
            ))),
            // §2.8: 200 OK (or 204) means the client logged the session out.
            Ok(Ok(200 | 204)) => Ok(()),
            Ok(Ok(status)) => Err(DeliveryError::Refused(status)),
            Ok(Err(e)) => Err(e),
        }
    }
}

/// Delivers due notices every `every`, and again at once while rounds keep finding work; counts
/// every outcome in `/metrics`.
pub async fn run_courier(courier: Arc<LogoutCourier>, clock: Arc<dyn Clock>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        loop {
            match courier.deliver_due(clock.now()).await {
                Ok(round) => {
                    tessera_http_actix::metrics::count_backchannel(
                        round.delivered,
                        round.failed,
                        round.abandoned,
                    );
                    if round.delivered + round.failed + round.abandoned == 0 {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "back-channel logout round failed");
                    break;
                }
            }
        }
    }
}
