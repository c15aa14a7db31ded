//! The token API dialects. Each owns only its wire format: where credentials sit, field names, the
//! success body, and the table that maps every [`TokenError`] to its status and error body.

pub mod authme;
pub(crate) mod frame;
pub mod rfc6749;
pub mod screening_eagle;
pub mod semear;
pub mod serproid;

use actix_web::HttpRequest;
use actix_web::http::header;
use actix_web::web::Payload;

use tessera_domain::TokenError;

/// The address a request came from, for per-address limits and the audit trail: the peer of the
/// connection, or behind a trusted proxy the address that proxy reports in `X-Forwarded-For`.
#[must_use]
pub fn source(req: &HttpRequest) -> Option<String> {
    let peer = req.peer_addr()?.ip();
    let trusted = req
        .app_data::<actix_web::web::Data<crate::server::HttpState>>()
        .map(|s| s.trusted_proxies.as_slice())
        .unwrap_or_default();
    if !trusted.iter().any(|n| n.contains(&peer)) {
        return Some(peer.to_string());
    }
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect();
    Some(client_address(peer, &forwarded.join(","), trusted).to_string())
}

/// Walks `X-Forwarded-For` from the nearest hop back while the hops are trusted proxies: the
/// first address a trusted proxy did not add is the client (anything before it could be forged by
/// the client). A malformed entry stops the walk at the last address known good.
fn client_address(
    peer: std::net::IpAddr,
    forwarded_for: &str,
    trusted: &[ipnet::IpNet],
) -> std::net::IpAddr {
    let mut client = peer;
    for hop in forwarded_for
        .rsplit(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
    {
        if !trusted.iter().any(|n| n.contains(&client)) {
            break;
        }
        match hop.parse() {
            Ok(ip) => client = ip,
            Err(_) => break,
        }
    }
    client
}

/// The largest request body any token endpoint accepts.
pub const MAX_BODY: usize = 64 * 1024;

/// Why a request body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// Larger than [`MAX_BODY`].
    TooLarge,
    /// The connection failed while reading.
    Broken,
}

/// How long a client may take to send a request body (set once when the server starts).
static BODY_TIMEOUT: std::sync::OnceLock<std::time::Duration> = std::sync::OnceLock::new();

/// Sets how long a client may take to send a request body; the first call wins.
pub fn set_body_timeout(timeout: std::time::Duration) {
    let _ = BODY_TIMEOUT.set(timeout);
}

/// Reads the whole body, refusing more than [`MAX_BODY`] bytes and a client that trickles it
/// slower than the body timeout allows (slowloris): that counts as a broken connection.
pub async fn read_body(payload: Payload) -> Result<actix_web::web::Bytes, BodyError> {
    let limit = BODY_TIMEOUT
        .get()
        .copied()
        .unwrap_or(std::time::Duration::from_secs(10));
    match actix_web::rt::time::timeout(limit, payload.to_bytes_limited(MAX_BODY)).await {
        Ok(Ok(Ok(bytes))) => Ok(bytes),
        Ok(Ok(Err(_))) | Err(_) => Err(BodyError::Broken),
        Ok(Err(_)) => Err(BodyError::TooLarge),
    }
}

/// Whether the request declares `media_type` as its content type (parameters such as `charset`
/// are allowed; the comparison ignores case).
#[must_use]
pub fn has_content_type(req: &HttpRequest, media_type: &str) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(media_type))
}

/// Why a form body could not be read; each dialect renders these in its own format.
#[derive(Debug, PartialEq, Eq)]
pub enum BadForm {
    /// The content type is not `application/x-www-form-urlencoded`.
    NotForm,
    /// Larger than [`MAX_BODY`].
    TooLarge,
    /// The connection failed while reading.
    Broken,
    /// A parameter appears twice.
    Repeated(String),
    /// Not UTF-8 once decoded.
    NotUtf8,
}

/// Reads a whole `application/x-www-form-urlencoded` body, strictly (see [`crate::form`]).
pub async fn read_form(req: &HttpRequest, payload: Payload) -> Result<crate::form::Form, BadForm> {
    if !has_content_type(req, "application/x-www-form-urlencoded") {
        return Err(BadForm::NotForm);
    }
    let body = read_body(payload).await.map_err(|e| match e {
        BodyError::TooLarge => BadForm::TooLarge,
        BodyError::Broken => BadForm::Broken,
    })?;
    crate::form::Form::parse(&body).map_err(|e| match e {
        crate::form::FormError::Repeated(name) => BadForm::Repeated(name),
        crate::form::FormError::NotUtf8 => BadForm::NotUtf8,
    })
}

/// Sets `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1).
#[must_use]
pub fn no_store(mut res: actix_web::HttpResponse) -> actix_web::HttpResponse {
    let h = res.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    h.insert(header::PRAGMA, header::HeaderValue::from_static("no-cache"));
    res
}

/// The `WWW-Authenticate` challenge of a 401 for HTTP Basic (RFC 7617 §2).
pub const BASIC_CHALLENGE: &str = "Basic realm=\"tessera\"";

/// The HTTP Basic credentials of a dialect that accepts no other method (RFC 6749 §2.3.1).
///
/// # Errors
/// `invalid_client` when the header is absent or malformed, or the id cannot be a client id.
pub fn basic_credentials(
    req: &HttpRequest,
) -> Result<tessera_domain::service::ClientAuthentication, TokenError> {
    match crate::form::Authorization::parse(
        req.headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes()),
    ) {
        crate::form::Authorization::Basic { id, secret } => {
            tessera_domain::service::ClientAuthentication::from_raw(
                tessera_domain::ClientAuthMethod::ClientSecretBasic,
                &id,
                Some(&secret),
            )
        }
        crate::form::Authorization::Absent | crate::form::Authorization::Malformed => {
            Err(TokenError::InvalidClient)
        }
    }
}

/// Shorthand for an `invalid_request` with a description.
pub(crate) fn invalid_request(description: impl Into<String>) -> TokenError {
    TokenError::InvalidRequest(description.into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::client_address;

    #[test]
    fn the_client_is_the_first_hop_no_trusted_proxy_added() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let at = |peer: &str, xff: &str| {
            client_address(peer.parse().unwrap(), xff, &trusted).to_string()
        };
        // From a trusted proxy: the address it saw.
        assert_eq!(at("10.0.0.5", "203.0.113.7"), "203.0.113.7");
        // A client's own X-Forwarded-For before the proxy's entry is not believed.
        assert_eq!(at("10.0.0.5", "198.51.100.1, 203.0.113.7"), "203.0.113.7");
        // Through two trusted proxies.
        assert_eq!(at("10.0.0.5", "203.0.113.7, 10.0.0.9"), "203.0.113.7");
        // No header, an empty one, or garbage: the nearest address known good.
        assert_eq!(at("10.0.0.5", ""), "10.0.0.5");
        assert_eq!(at("10.0.0.5", "not-an-ip"), "10.0.0.5");
        assert_eq!(at("10.0.0.5", "203.0.113.7, nonsense"), "10.0.0.5");
        // IPv6.
        assert_eq!(at("10.0.0.5", "2001:db8::1"), "2001:db8::1");
    }
}
