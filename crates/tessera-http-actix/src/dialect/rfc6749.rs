//! The standard dialect: RFC 6749 at `/oauth2/token`.
//!
//! Request: `POST`, `application/x-www-form-urlencoded` (§4.4.2), client authentication by
//! `client_secret_basic` or `client_secret_post` (§2.3.1), never both. Response: §5.1 JSON with
//! `Cache-Control: no-store` and `Pragma: no-cache`; errors per §5.2, with 401 and
//! `WWW-Authenticate` for `invalid_client`.

use actix_web::http::{StatusCode, header};
use actix_web::web::{Data, Payload};
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use tessera_domain::service::{ApiProfile, ClientAuthentication, GrantRequest, TokenRequest};
use tessera_domain::token::{Introspection, Issued};
use tessera_domain::{ClientAuthMethod, TokenError};

use super::{BadForm, MAX_BODY, invalid_request, no_store};
use crate::form::{Authorization, Form};
use crate::server::HttpState;

/// The realm named in `WWW-Authenticate`.
pub const REALM: &str = "tessera";

#[derive(Serialize)]
struct TokenBody<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<&'a str>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'static str,
    error_description: &'a str,
}

/// `POST /oauth2/token`.
pub async fn token(req: HttpRequest, payload: Payload, state: Data<HttpState>) -> HttpResponse {
    let request = match parse(&req, payload).await {
        Ok(request) => request,
        Err(Refusal::TooLarge) => return too_large(),
        Err(Refusal::Token(e)) => return error(&e),
    };
    match crate::metrics::issue(&state, "rfc6749", request).await {
        Ok(issued) => success(&issued),
        Err(e) => error(&e),
    }
}

/// Any other method on the token, revocation or introspection endpoint.
pub async fn method_not_allowed() -> HttpResponse {
    let mut res = error(&invalid_request(
        "this endpoint accepts only POST (RFC 6749 §3.2)",
    ));
    *res.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    res.headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
    res
}

enum Refusal {
    TooLarge,
    Token(TokenError),
}

impl From<TokenError> for Refusal {
    fn from(e: TokenError) -> Self {
        Self::Token(e)
    }
}

/// Turns the HTTP request into a domain request, refusing what RFC 6749 calls malformed.
async fn parse(req: &HttpRequest, payload: Payload) -> Result<TokenRequest, Refusal> {
    let form = read_form(req, payload).await?;
    let grant = GrantRequest::parse_with_code(
        form.get("grant_type"),
        form.get("scope"),
        form.get("refresh_token"),
        Some((
            form.get("code"),
            form.get("redirect_uri"),
            form.get("code_verifier"),
        )),
    )?;
    let auth = authentication(req, &form)?;
    Ok(TokenRequest {
        certificate: crate::tls::peer_certificate(req),
        source: super::source(req),
        profile: ApiProfile::default(),
        auth,
        grant,
    })
}

/// Reads a form body, refusing what RFC 6749 §3.2 calls malformed.
async fn read_form(req: &HttpRequest, payload: Payload) -> Result<Form, Refusal> {
    super::read_form(req, payload).await.map_err(|e| match e {
        BadForm::TooLarge => Refusal::TooLarge,
        BadForm::NotForm => {
            invalid_request("the body must be application/x-www-form-urlencoded (RFC 6749 §4.4.2)")
                .into()
        }
        BadForm::Broken => invalid_request("the request body could not be read").into(),
        BadForm::Repeated(name) => {
            invalid_request(format!("parameter {name:?} is repeated (RFC 6749 §3.2)")).into()
        }
        BadForm::NotUtf8 => invalid_request("the body is not valid UTF-8 form data").into(),
    })
}

/// Reads a revocation or introspection request: a form with `token`, and client credentials.
async fn token_form(
    req: &HttpRequest,
    payload: Payload,
) -> Result<(ClientAuthentication, String), Refusal> {
    let form = read_form(req, payload).await?;
    let token = form
        .get("token")
        .ok_or_else(|| invalid_request("missing token"))?
        .to_owned();
    Ok((authentication(req, &form)?, token))
}

/// `POST /oauth2/revoke` (RFC 7009 §2): `200` with an empty body for every token, known or not.
pub async fn revoke(req: HttpRequest, payload: Payload, state: Data<HttpState>) -> HttpResponse {
    let (auth, token) = match token_form(&req, payload).await {
        Ok(parsed) => parsed,
        Err(Refusal::TooLarge) => return too_large(),
        Err(Refusal::Token(e)) => return error(&e),
    };
    match state
        .tokens
        .revoke(
            auth,
            super::source(&req).as_deref(),
            &token,
            state.clock.now(),
        )
        .await
    {
        Ok(()) => no_store(HttpResponse::Ok().finish()),
        Err(e) => error(&e),
    }
}

#[derive(Serialize)]
struct IntrospectionBody<'a> {
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    client_id: &'a str,
    sub: &'a str,
    exp: i64,
    iat: i64,
    iss: &'a str,
    token_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cnf: Option<serde_json::Value>,
}

/// `POST /oauth2/introspect` (RFC 7662 §2).
pub async fn introspect(
    req: HttpRequest,
    payload: Payload,
    state: Data<HttpState>,
) -> HttpResponse {
    let (auth, token) = match token_form(&req, payload).await {
        Ok(parsed) => parsed,
        Err(Refusal::TooLarge) => return too_large(),
        Err(Refusal::Token(e)) => return error(&e),
    };
    match state
        .tokens
        .introspect(
            auth,
            super::source(&req).as_deref(),
            &token,
            state.clock.now(),
        )
        .await
    {
        Ok(Introspection::Active(info)) => no_store(
            HttpResponse::Ok().json(IntrospectionBody {
                active: true,
                scope: (!info.scope.is_empty()).then(|| info.scope.to_string()),
                client_id: info.client_id.as_str(),
                sub: &info.sub,
                exp: info.exp.as_secs(),
                iat: info.iat.as_secs(),
                iss: info.iss.as_str(),
                token_type: info.token_type,
                aud: info.aud.as_ref().map(|a| a.as_str()),
                jti: info.jti.as_deref(),
                cnf: info
                    .cnf
                    .as_ref()
                    .map(|t| serde_json::json!({"x5t#S256": t.as_str()})),
            }),
        ),
        Ok(Introspection::Inactive) => {
            no_store(HttpResponse::Ok().json(serde_json::json!({"active": false})))
        }
        Err(e) => error(&e),
    }
}

/// RFC 6749 §2.3: exactly one way of authenticating.
fn authentication(req: &HttpRequest, form: &Form) -> Result<ClientAuthentication, TokenError> {
    let header = Authorization::parse(
        req.headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes()),
    );
    let (body_id, body_secret) = (form.get("client_id"), form.get("client_secret"));
    match header {
        Authorization::Basic { id, secret } => {
            if body_secret.is_some() {
                return Err(invalid_request(
                    "more than one client authentication method (RFC 6749 §2.3): use Basic or client_secret, not both",
                ));
            }
            if body_id.is_some_and(|b| b != id) {
                return Err(invalid_request(
                    "client_id in the body differs from the Basic credentials",
                ));
            }
            ClientAuthentication::from_raw(ClientAuthMethod::ClientSecretBasic, &id, Some(&secret))
        }
        Authorization::Malformed => Err(TokenError::InvalidClient),
        Authorization::Absent => match (body_id, body_secret) {
            (Some(id), Some(secret)) => {
                ClientAuthentication::from_raw(ClientAuthMethod::ClientSecretPost, id, Some(secret))
            }
            (Some(id), None) => match crate::tls::peer_certificate(req) {
                Some(certificate) => Ok(ClientAuthentication::Certificate {
                    client_id: tessera_domain::ClientId::parse(id)
                        .map_err(|_| TokenError::InvalidClient)?,
                    certificate,
                }),
                None => ClientAuthentication::from_raw(ClientAuthMethod::None, id, None),
            },
            (None, Some(_)) => Err(invalid_request("client_secret without client_id")),
            (None, None) => Ok(ClientAuthentication::Absent),
        },
    }
}

/// RFC 6749 §5.1.
fn success(issued: &Issued) -> HttpResponse {
    no_store(HttpResponse::Ok().json(TokenBody {
        access_token: issued.access_token.expose(),
        token_type: "Bearer",
        expires_in: issued.expires_in,
        scope: (!issued.scope.is_empty()).then(|| issued.scope.to_string()),
        refresh_token: issued.refresh_token.as_ref().map(|t| t.expose()),
        id_token: issued.id_token.as_ref().map(|t| t.expose()),
    }))
}

/// The status RFC 6749 §5.2 (and RFC 6749 §4.1.2.1 for the two server-side codes) gives `e`.
#[must_use]
pub fn status_of(e: &TokenError) -> StatusCode {
    match e {
        TokenError::InvalidClient => StatusCode::UNAUTHORIZED,
        TokenError::InvalidRequest(_)
        | TokenError::InvalidGrant(_)
        | TokenError::UnauthorizedClient
        | TokenError::UnsupportedGrantType(_)
        | TokenError::InvalidScope(_) => StatusCode::BAD_REQUEST,
        TokenError::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        TokenError::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        TokenError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
    }
}

/// RFC 6749 §5.2.
#[must_use]
pub fn error(e: &TokenError) -> HttpResponse {
    let mut builder = HttpResponse::build(status_of(e));
    match e {
        TokenError::InvalidClient => {
            builder.insert_header((header::WWW_AUTHENTICATE, format!("Basic realm=\"{REALM}\"")));
        }
        TokenError::TemporarilyUnavailable => {
            builder.insert_header((header::RETRY_AFTER, "1"));
        }
        TokenError::TooManyRequests(secs) => {
            builder.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        _ => {}
    }
    no_store(builder.json(ErrorBody {
        error: e.code(),
        error_description: &e.to_string(),
    }))
}

fn too_large() -> HttpResponse {
    let e = invalid_request(format!("the request body is larger than {MAX_BODY} bytes"));
    let mut res = error(&e);
    *res.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    res
}
