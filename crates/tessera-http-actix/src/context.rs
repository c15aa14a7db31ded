//! The request context every token handler needs, extracted once: the request, the server state,
//! the address the request came from, the certificate its TLS connection proved, and the time it
//! arrived.

use std::future::{Ready, ready};

use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest};
use tessera_domain::UnixTime;
use tessera_domain::cert::PresentedCertificate;
use tessera_domain::service::{ApiProfile, GrantRequest, IssueRequest};

use crate::server::HttpState;

/// A request with where and when it arrived, what its connection proved, and the server state
/// that answers it.
#[derive(Clone)]
pub struct RequestContext {
    /// The request (its headers; the body is read separately).
    pub req: HttpRequest,
    /// The server state.
    pub state: Data<HttpState>,
    /// The client's address (see [`crate::dialect::source`]).
    pub source: Option<String>,
    /// The certificate the mutual-TLS handshake proved, if any.
    pub certificate: Option<PresentedCertificate>,
    /// When the request arrived, by the server's clock.
    pub now: UnixTime,
}

impl RequestContext {
    /// The context of `req`, with the time read from `state`'s clock.
    #[must_use]
    pub fn of(req: &HttpRequest, state: Data<HttpState>) -> Self {
        Self {
            source: crate::dialect::source(req),
            certificate: crate::tls::peer_certificate(req),
            now: state.clock.now(),
            req: req.clone(),
            state,
        }
    }

    /// What an admitted client asks to be issued, with this context's proven certificate and no
    /// resource indicators (a dialect that reads `resource` sets them).
    #[must_use]
    pub fn issue_request(&self, grant: GrantRequest, profile: ApiProfile) -> IssueRequest {
        IssueRequest {
            grant,
            profile,
            certificate: self.certificate.clone(),
            gateway_token: None,
            resources: Vec::new(),
        }
    }
}

impl FromRequest for RequestContext {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(match req.app_data::<Data<HttpState>>() {
            Some(state) => Ok(Self::of(req, state.clone())),
            None => Err(actix_web::error::ErrorInternalServerError(
                "the server state is not registered",
            )),
        })
    }
}

/// The token of an `Authorization: Bearer` header (RFC 6750 §2.1); `None` without one, or when
/// it is empty.
#[must_use]
pub fn bearer(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .filter(|t| !t.is_empty())
}
