//! The AuthMe dialect (`/security/iam/v1/…` by default): JSON bodies with camelCase fields, HTTP
//! Basic client authentication, clients that must hold a configured role set
//! (`ROLE_CLI-1STPARTY+ROLE_CLI-AUTH-BASIC`), and errors as an array of `{code, message}`.
//!
//! This file holds the wire frame and the error table (`docs/dialects.md` has it too); the
//! endpoints are beside it: `token.rs` (`generate-token` with `tokenRequestType` `CLIENT`,
//! `USER`, `REMEMBER_ME` and `PRODUCT`, `generate-opaque-token`, `renew-token`), `param.rs`
//! (`generate-param`), `product.rs` (`validate-opaque-token`, `public-key`), and `schema.rs` the request bodies as the
//! OpenAPI document describes them. Every endpoint
//! authenticates the client before it reads the body.

mod param;
mod product;
mod schema;
mod token;

pub use param::*;
pub use product::*;
pub use token::*;

use actix_web::http::StatusCode;
use actix_web::web::Payload;
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use tessera_domain::service::{Admitted, UserSelector};
use tessera_domain::user::{Logon, UserId};
use tessera_domain::{GrantFailure, TokenError};
use utoipa::ToSchema;

use super::frame::{self, BadBody, Dialect, WireError};
use super::{BadForm, MAX_BODY, has_content_type, read_body};
use crate::context::RequestContext;
use crate::server::{AuthMeRoute, HttpState};

/// The AuthMe dialect.
pub struct AuthMe;

fn err(
    status: StatusCode,
    code: &'static str,
    message: impl Into<std::borrow::Cow<'static, str>>,
) -> WireError {
    WireError::new(status, code, message)
}

fn required(field: &str) -> WireError {
    err(
        StatusCode::BAD_REQUEST,
        "02",
        format!("The field {field} is required."),
    )
}

fn invalid(field: &str) -> WireError {
    err(
        StatusCode::BAD_REQUEST,
        "03",
        format!("The field {field} is invalid."),
    )
}

fn not_implemented() -> WireError {
    err(
        StatusCode::BAD_REQUEST,
        "79",
        "The TokenRequestType is not implemented.",
    )
}

impl Dialect for AuthMe {
    const NAME: &'static str = "authme";
    const CHALLENGE: Option<&'static str> = Some(super::BASIC_CHALLENGE);

    /// The AuthMe row for each domain error; an `invalid_grant` by its reason.
    fn from_token_error(e: &TokenError) -> WireError {
        match e {
            TokenError::InvalidClient => err(
                StatusCode::UNAUTHORIZED,
                "10",
                "Client authentication failed.",
            ),
            TokenError::UnauthorizedClient => err(
                StatusCode::FORBIDDEN,
                "11",
                "The client does not have the roles or grants required for this request.",
            ),
            TokenError::InvalidRequest(_) => invalid("request"),
            TokenError::InvalidScope(_) => invalid("scope"),
            TokenError::InvalidTarget(_) => invalid("resource"),
            TokenError::InvalidGrant(GrantFailure::NoSuchUser) => {
                err(StatusCode::NOT_FOUND, "20", "User not found or not active.")
            }
            TokenError::InvalidGrant(GrantFailure::Param) => err(
                StatusCode::UNAUTHORIZED,
                "21",
                "The param is invalid, expired or already used.",
            ),
            TokenError::InvalidGrant(GrantFailure::UserNotActive) => {
                err(StatusCode::FORBIDDEN, "22", "The user is not active.")
            }
            TokenError::InvalidGrant(_) => err(
                StatusCode::UNAUTHORIZED,
                "30",
                "The refresh token is invalid, expired or revoked.",
            ),
            TokenError::UnsupportedGrantType(_) => not_implemented(),
            TokenError::ServerError => err(
                StatusCode::INTERNAL_SERVER_ERROR,
                "99",
                "Internal server error.",
            ),
            TokenError::TemporarilyUnavailable => err(
                StatusCode::SERVICE_UNAVAILABLE,
                "97",
                "Service temporarily unavailable. Try again later.",
            )
            .retry_after(1),
            TokenError::TooManyRequests(secs) => err(
                StatusCode::TOO_MANY_REQUESTS,
                "98",
                "Too many requests. Try again later.",
            )
            .retry_after(*secs),
        }
    }

    fn bad_body(e: BadBody) -> WireError {
        match e {
            BadBody::Form(BadForm::TooLarge) => err(
                StatusCode::PAYLOAD_TOO_LARGE,
                "01",
                format!("The request body is larger than {MAX_BODY} bytes."),
            ),
            BadBody::Form(BadForm::Broken) => err(
                StatusCode::BAD_REQUEST,
                "01",
                "The request body could not be read.",
            ),
            BadBody::NotJson | BadBody::Form(BadForm::NotForm) => err(
                StatusCode::BAD_REQUEST,
                "01",
                "The request body must be application/json.",
            ),
            BadBody::InvalidJson | BadBody::Form(BadForm::Repeated(_) | BadForm::NotUtf8) => err(
                StatusCode::BAD_REQUEST,
                "01",
                "The request body is not valid JSON.",
            ),
        }
    }

    fn method_not_allowed() -> WireError {
        err(StatusCode::METHOD_NOT_ALLOWED, "01", "Method not allowed.")
    }

    fn body(e: &WireError) -> impl Serialize + '_ {
        [ErrorItem {
            code: e.code,
            message: &e.message,
        }]
    }
}

/// An AuthMe error (the body is an array of one).
#[derive(Serialize, ToSchema)]
#[schema(as = AuthMeError)]
pub(crate) struct ErrorItem<'a> {
    /// `01`–`99`, see the error table.
    #[schema(example = "10")]
    code: &'a str,
    /// What went wrong.
    message: &'a str,
}

/// Every AuthMe error, by status (the codes are those of the error table in `docs/dialects.md`).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Describes what `render` answers.
enum AuthMeErrors<'a> {
    /// `01` not JSON, `02` a required field missing, `03` an invalid field, `12` clientId is not
    /// the authenticated client, `79` an unknown tokenRequestType.
    #[response(status = 400)]
    BadRequest(Vec<ErrorItem<'a>>),
    /// `10` client authentication failed, `21` the param is invalid, expired or used, `30` the
    /// refresh token is invalid, expired or revoked.
    #[response(status = 401)]
    Unauthorized(Vec<ErrorItem<'a>>),
    /// `11` the client lacks the required roles or grant, `22` the user is not active.
    #[response(status = 403)]
    Forbidden(Vec<ErrorItem<'a>>),
    /// `20` user not found or not active (generate-param).
    #[response(status = 404)]
    NotFound(Vec<ErrorItem<'a>>),
    /// `01` a method other than POST.
    #[response(status = 405)]
    MethodNotAllowed(Vec<ErrorItem<'a>>),
    /// `01` a body over 64 KiB.
    #[response(status = 413)]
    TooLarge(Vec<ErrorItem<'a>>),
    /// `98` too many requests.
    #[response(status = 429, headers(("Retry-After" = u32, description = "Seconds to wait")))]
    TooMany(Vec<ErrorItem<'a>>),
    /// `99` internal server error.
    #[response(status = 500)]
    ServerError(Vec<ErrorItem<'a>>),
    /// `97` the database is unavailable; try again.
    #[response(status = 503, headers(("Retry-After" = u32, description = "Seconds to wait")))]
    Unavailable(Vec<ErrorItem<'a>>),
}

/// Reads a JSON body into `T`.
async fn read_json<T: for<'de> Deserialize<'de>>(
    req: &HttpRequest,
    payload: Payload,
) -> Result<T, WireError> {
    if !has_content_type(req, "application/json") {
        return Err(AuthMe::bad_body(BadBody::NotJson));
    }
    let body = read_body(payload).await.map_err(|e| {
        AuthMe::bad_body(BadBody::Form(match e {
            super::BodyError::TooLarge => BadForm::TooLarge,
            super::BodyError::Broken => BadForm::Broken,
        }))
    })?;
    serde_json::from_slice(&body).map_err(|_| AuthMe::bad_body(BadBody::InvalidJson))
}

/// The route's settings, or 404 when AuthMe is off.
fn route(state: &HttpState) -> Result<&AuthMeRoute, WireError> {
    state
        .dialects
        .authme
        .as_ref()
        .ok_or_else(|| err(StatusCode::NOT_FOUND, "01", "Not found."))
}

/// The caller's Basic credentials, and the client they admit (authentication and the rate
/// limits), before anything of the body is read.
async fn admit(ctx: &RequestContext) -> Result<Admitted, WireError> {
    let auth = super::basic_credentials(&ctx.req).map_err(|e| AuthMe::from_token_error(&e))?;
    frame::admit::<AuthMe>(ctx, auth).await
}

fn nonempty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

/// Which user the body names, if any.
fn selector(user_id: Option<String>, logon: Option<String>) -> Result<UserSelector, WireError> {
    match (nonempty(user_id), nonempty(logon)) {
        (Some(id), _) => UserId::parse(&id)
            .map(UserSelector::Id)
            .map_err(|_| invalid("userId")),
        (None, Some(logon)) => Logon::parse(&logon)
            .map(UserSelector::Logon)
            .map_err(|_| invalid("logon")),
        (None, None) => Ok(UserSelector::Any),
    }
}

/// Answers `result` in AuthMe's format.
fn respond(result: Result<HttpResponse, WireError>) -> HttpResponse {
    result.unwrap_or_else(|e| frame::render::<AuthMe>(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_domain_error_has_a_row() {
        let cases = [
            (TokenError::InvalidClient, 401, "10"),
            (TokenError::UnauthorizedClient, 403, "11"),
            (
                TokenError::InvalidGrant(GrantFailure::RefreshToken),
                401,
                "30",
            ),
            (TokenError::InvalidGrant(GrantFailure::Param), 401, "21"),
            (
                TokenError::InvalidGrant(GrantFailure::UserNotActive),
                403,
                "22",
            ),
            (
                TokenError::InvalidGrant(GrantFailure::NoSuchUser),
                404,
                "20",
            ),
            (TokenError::UnsupportedGrantType(String::new()), 400, "79"),
            (TokenError::ServerError, 500, "99"),
            (TokenError::TemporarilyUnavailable, 503, "97"),
        ];
        for (e, status, code) in cases {
            let row = AuthMe::from_token_error(&e);
            assert_eq!((row.status.as_u16(), row.code), (status, code), "{e:?}");
        }
        assert_eq!(
            not_implemented().message,
            "The TokenRequestType is not implemented."
        );
    }
}
