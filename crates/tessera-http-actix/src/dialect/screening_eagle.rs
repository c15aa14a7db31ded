//! The Screening Eagle ID dialect: `POST /api/id/v1/auth/token` (by default), HTTP Basic client
//! authentication, a form body with `grant_type` and `scope`.
//!
//! Success is `{scope, token_type, access_token, expires_in, refresh_token?}` (no `id_token` for
//! `client_credentials`: there is no user whose identity it could carry). Errors are
//! `{"error": "<HTTP reason>", "errorDescription": "…"}` with the seed's statuses (400, 401, 403,
//! 429, 500). `refresh_token` and `authorization_code` (a code from `/oauth2/authorize`, with
//! `id_token` when `openid` was granted) work as at `/oauth2/token`.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::web::Payload;
use serde::Serialize;
use tessera_domain::TokenError;
use tessera_domain::service::{
    Admitted, ApiProfile, ClientAuthentication, GrantRequest, IssueRequest,
};
use tessera_domain::token::Issued;
use utoipa::ToSchema;

use super::frame::{BadBody, Dialect, TokenDialect, WireError};
use super::{BadForm, MAX_BODY, no_store};
use crate::context::RequestContext;

/// The Screening Eagle ID dialect.
pub struct ScreeningEagle;

/// A Screening Eagle ID error.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ScreeningEagleError)]
struct ErrorBody<'a> {
    /// The HTTP reason phrase of the status, e.g. `Unauthorized`.
    #[schema(example = "Unauthorized")]
    error: &'a str,
    /// What went wrong.
    error_description: std::borrow::Cow<'a, str>,
}

fn bad_request(description: impl Into<std::borrow::Cow<'static, str>>) -> WireError {
    WireError::new(StatusCode::BAD_REQUEST, "", description)
}

impl Dialect for ScreeningEagle {
    const NAME: &'static str = "screening_eagle";
    const CHALLENGE: Option<&'static str> = Some(super::BASIC_CHALLENGE);

    /// The seed's status for each domain error; the description is the domain's.
    fn from_token_error(e: &TokenError) -> WireError {
        let (status, description) = match e {
            TokenError::InvalidClient => (StatusCode::UNAUTHORIZED, e.to_string()),
            TokenError::UnauthorizedClient => {
                (StatusCode::FORBIDDEN, format!("permission denied: {e}"))
            }
            TokenError::InvalidRequest(_)
            | TokenError::InvalidGrant(_)
            | TokenError::UnsupportedGrantType(_)
            | TokenError::InvalidScope(_)
            | TokenError::InvalidTarget(_) => (StatusCode::BAD_REQUEST, e.to_string()),
            TokenError::ServerError => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
            TokenError::TemporarilyUnavailable => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
            TokenError::TooManyRequests(_) => (StatusCode::TOO_MANY_REQUESTS, e.to_string()),
        };
        let row = WireError::new(status, "", description);
        match e {
            TokenError::TooManyRequests(secs) => row.retry_after(*secs),
            TokenError::TemporarilyUnavailable => row.retry_after(1),
            _ => row,
        }
    }

    fn bad_body(e: BadBody) -> WireError {
        match e {
            BadBody::Form(BadForm::NotForm) | BadBody::NotJson => {
                bad_request("the body must be application/x-www-form-urlencoded")
            }
            BadBody::Form(BadForm::TooLarge) => WireError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "",
                format!("the request body is larger than {MAX_BODY} bytes"),
            ),
            BadBody::Form(BadForm::Repeated(name)) => {
                bad_request(format!("parameter {name:?} is repeated"))
            }
            BadBody::Form(BadForm::NotUtf8 | BadForm::Broken) | BadBody::InvalidJson => {
                bad_request("the body is not valid UTF-8 form data")
            }
        }
    }

    fn method_not_allowed() -> WireError {
        bad_request("this endpoint accepts only POST")
    }

    fn body(e: &WireError) -> impl Serialize + '_ {
        ErrorBody {
            error: e.status.canonical_reason().unwrap_or("Error"),
            error_description: tessera_domain::error::wire_description(&e.message),
        }
    }
}

/// Screening Eagle's token request: a grant as at `/oauth2/token`, the client in the Basic
/// header.
#[derive(ToSchema)]
#[schema(as = ScreeningEagleTokenRequest)]
#[allow(dead_code)] // Describes the form `parse` reads.
struct TokenForm(super::rfc6749::GrantForm);

/// A Screening Eagle token.
#[derive(Serialize, ToSchema)]
#[schema(as = ScreeningEagleToken)]
struct TokenBody<'a> {
    /// The granted scopes.
    scope: String,
    /// `Bearer`.
    #[schema(example = "Bearer")]
    token_type: &'static str,
    /// An RFC 9068 JWT.
    access_token: &'a str,
    /// Seconds until it expires.
    expires_in: u32,
    /// A refresh token, when the grant gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    /// With `authorization_code` and `openid`: the ID token.
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<&'a str>,
}

impl TokenDialect for ScreeningEagle {
    type Body = Payload;

    /// HTTP Basic, the one method served here; the body is read only once the client is
    /// admitted.
    async fn credentials(
        ctx: &RequestContext,
        payload: Payload,
    ) -> Result<(ClientAuthentication, Payload), WireError> {
        let req = &ctx.req;
        let auth = super::basic_credentials(req).map_err(|e| Self::from_token_error(&e))?;
        Ok((auth, payload))
    }

    async fn request(
        ctx: &RequestContext,
        payload: Payload,
        _: &Admitted,
    ) -> Result<IssueRequest, WireError> {
        let req = &ctx.req;
        let state = &ctx.state;
        let form = super::frame::form::<Self>(req, payload).await?;
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
        .map_err(|e| Self::from_token_error(&e))?;
        let profile = ApiProfile {
            default_ttl: state
                .dialects
                .screening_eagle
                .as_ref()
                .and_then(|d| d.default_ttl),
            ..ApiProfile::default()
        };
        Ok(ctx.issue_request(grant, profile))
    }

    fn issued(issued: &Issued) -> HttpResponse {
        no_store(HttpResponse::Ok().json(TokenBody {
            scope: issued.scope.to_string(),
            token_type: "Bearer",
            access_token: issued.access_token.expose(),
            expires_in: issued.expires_in,
            refresh_token: issued.refresh_token.as_ref().map(|t| t.expose()),
            id_token: issued.id_token.as_ref().map(|t| t.expose()),
        }))
    }
}

/// `POST` on the Screening Eagle token path.
///
/// Screening Eagle ID's `auth/token`: `client_credentials`, `refresh_token` and
/// `authorization_code` with Basic client authentication.
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
        (status = 503, description = "`Service Unavailable`: the database is unavailable; try again", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
    ),
    security(("client_secret_basic" = []))
)]
pub async fn token(ctx: RequestContext, payload: Payload) -> HttpResponse {
    super::frame::token::<ScreeningEagle>(ctx, payload).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_domain_error_has_the_seeds_status() {
        let cases = [
            (TokenError::InvalidClient, 401),
            (TokenError::UnauthorizedClient, 403),
            (TokenError::InvalidScope(String::new()), 400),
            (TokenError::ServerError, 500),
            (TokenError::TooManyRequests(3), 429),
            (TokenError::TemporarilyUnavailable, 503),
        ];
        for (e, status) in cases {
            assert_eq!(
                ScreeningEagle::from_token_error(&e).status.as_u16(),
                status,
                "{e:?}"
            );
        }
        assert_eq!(
            ScreeningEagle::from_token_error(&TokenError::TooManyRequests(3)).retry_after,
            Some(3)
        );
    }
}
