//! The Screening Eagle ID dialect: `POST /api/id/v1/auth/token` (by default), HTTP Basic client
//! authentication, a form body with `grant_type` and `scope`.
//!
//! Success is `{scope, token_type, access_token, expires_in, refresh_token?}` (no `id_token` for
//! `client_credentials`: there is no user whose identity it could carry). Errors are
//! `{"error": "<HTTP reason>", "errorDescription": "…"}` with the seed's statuses (400, 401, 403,
//! 429, 500). `refresh_token` and `authorization_code` (a code from `/oauth2/authorize`, with
//! `id_token` when `openid` was granted) work as at `/oauth2/token`.

use actix_web::http::{StatusCode, header};
use actix_web::web::{Data, Payload};
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use tessera_domain::service::{ApiProfile, ClientAuthentication, GrantRequest, TokenRequest};
use tessera_domain::{ClientAuthMethod, TokenError};
use utoipa::ToSchema;

use super::{BadForm, MAX_BODY, no_store, read_form};
use crate::dialect::rfc6749::REALM;
use crate::form::Authorization;
use crate::server::HttpState;

/// A Screening Eagle ID error.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ScreeningEagleError)]
struct ErrorBody<'a> {
    /// The HTTP reason phrase of the status, e.g. `Unauthorized`.
    #[schema(example = "Unauthorized")]
    error: &'a str,
    /// What went wrong.
    error_description: &'a str,
}

/// An error in this dialect's format: a status, and a description.
#[derive(Debug)]
pub struct EagleError {
    status: StatusCode,
    /// `Retry-After`, for 429.
    retry_after: Option<u32>,
    description: String,
}

fn bad_request(description: impl Into<String>) -> EagleError {
    EagleError {
        status: StatusCode::BAD_REQUEST,
        retry_after: None,
        description: description.into(),
    }
}

/// This dialect's status and description for each domain error.
#[must_use]
pub fn from_token_error(e: &TokenError) -> EagleError {
    let (status, description) = match e {
        TokenError::InvalidClient => (StatusCode::UNAUTHORIZED, e.to_string()),
        TokenError::UnauthorizedClient => {
            (StatusCode::FORBIDDEN, format!("permission denied: {e}"))
        }
        TokenError::InvalidRequest(_)
        | TokenError::InvalidGrant(_)
        | TokenError::UnsupportedGrantType(_)
        | TokenError::InvalidScope(_) => (StatusCode::BAD_REQUEST, e.to_string()),
        TokenError::ServerError | TokenError::TemporarilyUnavailable => {
            (StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
        }
        TokenError::TooManyRequests(_) => (StatusCode::TOO_MANY_REQUESTS, e.to_string()),
    };
    EagleError {
        status,
        retry_after: match e {
            TokenError::TooManyRequests(secs) => Some(*secs),
            _ => None,
        },
        description,
    }
}

fn render(e: &EagleError) -> HttpResponse {
    let mut builder = HttpResponse::build(e.status);
    if let Some(secs) = e.retry_after {
        builder.insert_header((header::RETRY_AFTER, secs.to_string()));
    }
    if e.status == StatusCode::UNAUTHORIZED {
        builder.insert_header((header::WWW_AUTHENTICATE, format!("Basic realm=\"{REALM}\"")));
    }
    no_store(builder.json(ErrorBody {
        error: e.status.canonical_reason().unwrap_or("Error"),
        error_description: &tessera_domain::error::wire_description(&e.description),
    }))
}

/// Screening Eagle ID's token request: HTTP Basic authentication and this form.
#[derive(ToSchema)]
#[schema(as = ScreeningEagleTokenRequest)]
#[allow(dead_code)] // Describes the form `parse` reads.
struct TokenForm {
    /// `client_credentials`, `refresh_token` or `authorization_code`.
    #[schema(example = "client_credentials")]
    grant_type: String,
    /// Space-separated scopes.
    scope: Option<String>,
    /// For `refresh_token`.
    refresh_token: Option<String>,
    /// For `authorization_code`.
    code: Option<String>,
    /// For `authorization_code`.
    redirect_uri: Option<String>,
    /// For `authorization_code` (PKCE, RFC 7636).
    code_verifier: Option<String>,
}

/// A Screening Eagle ID token.
#[derive(Serialize, ToSchema)]
#[schema(as = ScreeningEagleToken)]
struct TokenBody<'a> {
    /// The granted scopes, space-separated and sorted.
    scope: String,
    token_type: &'static str,
    access_token: &'a str,
    expires_in: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<&'a str>,
}

async fn parse(
    req: &HttpRequest,
    payload: Payload,
    state: &HttpState,
) -> Result<TokenRequest, EagleError> {
    let form = read_form(req, payload).await.map_err(|e| match e {
        BadForm::NotForm => bad_request("the body must be application/x-www-form-urlencoded"),
        BadForm::TooLarge => EagleError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            retry_after: None,
            description: format!("the request body is larger than {MAX_BODY} bytes"),
        },
        BadForm::Repeated(name) => bad_request(format!("parameter {name:?} is repeated")),
        BadForm::NotUtf8 | BadForm::Broken => bad_request("the body is not valid UTF-8 form data"),
    })?;
    if form.get("client_secret").is_some() {
        return Err(bad_request(
            "send the client credentials in the Authorization header only",
        ));
    }
    let grant = GrantRequest::parse_with_code(
        form.get("grant_type"),
        form.get("scope"),
        form.get("refresh_token"),
        Some((
            form.get("code"),
            form.get("redirect_uri"),
            form.get("code_verifier"),
        )),
    )
    .map_err(|e| from_token_error(&e))?;
    let header = Authorization::parse(
        req.headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes()),
    );
    let auth = match header {
        Authorization::Basic { id, secret } => {
            ClientAuthentication::from_raw(ClientAuthMethod::ClientSecretBasic, &id, Some(&secret))
                .map_err(|e| from_token_error(&e))?
        }
        Authorization::Absent | Authorization::Malformed => {
            return Err(from_token_error(&TokenError::InvalidClient));
        }
    };
    let default_ttl = state
        .dialects
        .screening_eagle
        .as_ref()
        .and_then(|d| d.default_ttl);
    Ok(TokenRequest {
        certificate: None,
        source: super::source(req),
        auth,
        grant,
        profile: ApiProfile {
            default_ttl,
            ..ApiProfile::default()
        },
    })
}

/// `POST` on the Screening Eagle token path.
///
/// Screening Eagle ID's `auth/token`: `client_credentials`, `refresh_token` and
/// `authorization_code`, with HTTP Basic client authentication.
#[utoipa::path(
    post,
    path = "/api/id/v1/auth/token",
    tag = "Screening Eagle ID",
    operation_id = "screening_eagle_token",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Issued; `Cache-Control: no-store`", body = TokenBody),
        (status = 400, description = "`Bad Request`: a missing or unsupported grant type, a scope the client may not have, a malformed body, an unknown or reused refresh token or code, a wrong verifier", body = ErrorBody),
        (status = 401, description = "`Unauthorized`: no or bad Basic credentials, unknown or disabled client", body = ErrorBody,
            headers(("WWW-Authenticate" = String, description = "`Basic realm=\"tessera\"`"))),
        (status = 403, description = "`Forbidden`: the client may not use this grant type", body = ErrorBody),
        (status = 405, description = "`Method Not Allowed`", body = ErrorBody),
        (status = 413, description = "`Payload Too Large`: a body over 64 KiB", body = ErrorBody),
        (status = 429, description = "`Too Many Requests`", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
        (status = 500, description = "`Internal Server Error`", body = ErrorBody),
    ),
    security(("client_secret_basic" = []))
)]
pub async fn token(req: HttpRequest, payload: Payload, state: Data<HttpState>) -> HttpResponse {
    let request = match parse(&req, payload, &state).await {
        Ok(r) => r,
        Err(e) => return render(&e),
    };
    match crate::metrics::issue(&state, "screening_eagle", request).await {
        Ok(issued) => no_store(HttpResponse::Ok().json(TokenBody {
            scope: issued.scope.to_string(),
            token_type: "Bearer",
            access_token: issued.access_token.expose(),
            expires_in: issued.expires_in,
            refresh_token: issued.refresh_token.as_ref().map(|t| t.expose()),
            id_token: issued.id_token.as_ref().map(|t| t.expose()),
        })),
        Err(e) => render(&from_token_error(&e)),
    }
}

/// Any other method on the Screening Eagle token path.
pub async fn method_not_allowed() -> HttpResponse {
    let mut res = render(&EagleError {
        status: StatusCode::METHOD_NOT_ALLOWED,
        retry_after: None,
        description: "this endpoint accepts only POST".into(),
    });
    res.headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
    res
}
