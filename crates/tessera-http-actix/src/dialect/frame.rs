//! The frame every token dialect shares: one wire error row ([`WireError`]), the [`Dialect`]
//! trait (each domain error to the wire, a bad body to the wire, the error body), one token
//! handler ([`token`]) and one method-not-allowed answer, so that a dialect file holds only its
//! wire types, its parsing and its tables.

use std::borrow::Cow;

use actix_web::http::{StatusCode, header};
use actix_web::web::Payload;
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use tessera_domain::TokenError;
use tessera_domain::service::{Admitted, ClientAuthentication, IssueRequest};
use tessera_domain::token::Issued;

use super::{BadForm, no_store};
use crate::context::RequestContext;

/// One row of a dialect's error table: the status, the dialect's code and message, and how long
/// to wait for a 429 or 503.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The dialect's error code (`invalid_client`, `10`, `CAMPO_OBRIGATORIO`, …).
    pub code: &'static str,
    /// The dialect's message for it.
    pub message: Cow<'static, str>,
    /// `Retry-After`, in seconds.
    pub retry_after: Option<u32>,
}

impl WireError {
    /// A row without `Retry-After`.
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The same row, with `Retry-After`.
    #[must_use]
    pub fn retry_after(self, secs: u32) -> Self {
        Self {
            retry_after: Some(secs),
            ..self
        }
    }

    /// The same row with another status (413 for a body too large, 405 for a method).
    #[must_use]
    pub fn with_status(self, status: StatusCode) -> Self {
        Self { status, ..self }
    }
}

/// Why a request body could not be read, whatever its media type; each dialect words these.
#[derive(Debug, PartialEq, Eq)]
pub enum BadBody {
    /// A form could not be read (see [`BadForm`]).
    Form(BadForm),
    /// The content type is not `application/json`.
    NotJson,
    /// The JSON does not parse into the request's fields.
    InvalidJson,
}

/// A token API's wire format: its error table, its error body, and how it words a bad request.
pub trait Dialect {
    /// Its label in `/metrics`.
    const NAME: &'static str;
    /// The `WWW-Authenticate` challenge its 401 answers carry, if it sends one.
    const CHALLENGE: Option<&'static str> = None;

    /// The row for a domain error.
    fn from_token_error(e: &TokenError) -> WireError;

    /// The row for a body that could not be read.
    fn bad_body(e: BadBody) -> WireError;

    /// The row for a method other than those the path serves (rendered with status 405).
    fn method_not_allowed() -> WireError;

    /// The JSON body of an error.
    fn body(e: &WireError) -> impl Serialize + '_;
}

/// A dialect's token endpoint: how it reads a request and writes a token. Reading is two steps
/// so that the client is authenticated before anything else in the request is judged: a failed
/// authentication is the dialect's 401 whatever else is wrong.
pub trait TokenDialect: Dialect {
    /// What [`Self::credentials`] read and [`Self::request`] reads on from (the form, or the
    /// unread body).
    type Body;

    /// Reads the client's credentials and nothing else of the request.
    fn credentials(
        ctx: &RequestContext,
        payload: Payload,
    ) -> impl Future<Output = Result<(ClientAuthentication, Self::Body), WireError>>;

    /// Reads the rest of the request, for the admitted client, into the domain's terms; nothing
    /// is decided here.
    fn request(
        ctx: &RequestContext,
        body: Self::Body,
        admitted: &Admitted,
    ) -> impl Future<Output = Result<IssueRequest, WireError>>;

    /// The success answer for a token.
    fn issued(issued: &Issued) -> HttpResponse;
}

/// Renders an error row of dialect `D`: the status, `Retry-After`, the challenge on 401,
/// `Cache-Control: no-store` (RFC 6749 §5.1), and the dialect's body.
pub fn render<D: Dialect>(e: &WireError) -> HttpResponse {
    let mut builder = HttpResponse::build(e.status);
    if let Some(secs) = e.retry_after {
        builder.insert_header((header::RETRY_AFTER, secs.to_string()));
    }
    if e.status == StatusCode::UNAUTHORIZED
        && let Some(challenge) = D::CHALLENGE
    {
        builder.insert_header((header::WWW_AUTHENTICATE, challenge));
    }
    no_store(builder.json(D::body(e)))
}

/// Renders a domain error in dialect `D`.
pub fn refuse<D: Dialect>(e: &TokenError) -> HttpResponse {
    render::<D>(&D::from_token_error(e))
}

/// Reads a form body, or the dialect's row for why it could not be read.
///
/// # Errors
/// The dialect's row for a bad body.
pub async fn form<D: Dialect>(
    req: &HttpRequest,
    payload: Payload,
) -> Result<crate::form::Form, WireError> {
    super::read_form(req, payload)
        .await
        .map_err(|e| D::bad_body(BadBody::Form(e)))
}

/// The one token handler: credentials in the dialect, admission in the domain, the rest of the
/// request in the dialect, issuing in the domain, the answer in the dialect.
pub async fn token<D: TokenDialect>(ctx: RequestContext, payload: Payload) -> HttpResponse {
    let result = async {
        let (auth, body) = D::credentials(&ctx, payload).await?;
        let admitted = admit::<D>(&ctx, auth).await?;
        let request = D::request(&ctx, body, &admitted).await?;
        crate::metrics::issue(&ctx.state, D::NAME, &admitted, request, ctx.now)
            .await
            .map_err(|e| D::from_token_error(&e))
    };
    match result.await {
        Ok(issued) => D::issued(&issued),
        Err(e) => render::<D>(&e),
    }
}

/// Admits the client of a request that will issue (authentication and the rate limits), counting
/// a refusal in `/metrics`.
///
/// # Errors
/// The dialect's row for the refusal.
pub async fn admit<D: Dialect>(
    ctx: &RequestContext,
    auth: ClientAuthentication,
) -> Result<Admitted, WireError> {
    ctx.state
        .tokens
        .admit_client(auth, ctx.source.as_deref(), ctx.now)
        .await
        .map_err(|e| {
            crate::metrics::refused(D::NAME, &e);
            D::from_token_error(&e)
        })
}

/// Authenticates the client of a revocation or introspection request.
///
/// # Errors
/// The dialect's row for the refusal.
pub async fn authenticate<D: Dialect>(
    ctx: &RequestContext,
    auth: ClientAuthentication,
) -> Result<Admitted, WireError> {
    ctx.state
        .tokens
        .authenticate_client(auth, ctx.source.as_deref(), ctx.now)
        .await
        .map_err(|e| D::from_token_error(&e))
}

/// Any other method on a path of dialect `D`: 405 with `Allow: POST`.
pub async fn method_not_allowed<D: Dialect>() -> HttpResponse {
    let mut res = render::<D>(&D::method_not_allowed().with_status(StatusCode::METHOD_NOT_ALLOWED));
    res.headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
    res
}
