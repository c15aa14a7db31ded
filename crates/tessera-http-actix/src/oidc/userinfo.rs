//! The userinfo endpoint (OpenID Connect Core 1.0 §5.3): the bearer token from the
//! `Authorization` header or, posted, from the form body (RFC 6750 §2.1, §2.2), and RFC 6750 §3
//! errors in `WWW-Authenticate`.

use actix_web::http::{Method, StatusCode, header};
use actix_web::web::{Data, Payload};
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use tessera_domain::error::wire_description;
use tessera_domain::service::UserInfoError;
use utoipa::ToSchema;

use crate::dialect::{has_content_type, no_store, read_form};
use crate::server::HttpState;

/// The signed-in user's claims (OpenID Connect Core §5.3.2), by the token's scopes: `profile`,
/// `email`, `address` and `phone`.
#[derive(Serialize, ToSchema)]
#[schema(as = UserInfo)]
struct UserInfoBody<'a> {
    /// The user.
    sub: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    given_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    family_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    preferred_username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locale: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<AddressBody<'a>>,
}

/// The `address` claim (OpenID Connect Core §5.1.1).
#[derive(Serialize, ToSchema)]
#[schema(as = Address)]
struct AddressBody<'a> {
    /// The whole address, for display.
    formatted: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    street_address: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locality: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    postal_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    country: Option<&'a str>,
}

impl<'a> AddressBody<'a> {
    fn of(a: &'a tessera_domain::user::PostalAddress) -> Self {
        let text = |v: &'a Option<tessera_domain::ClientName>| v.as_ref().map(|n| n.as_str());
        Self {
            formatted: a.formatted(),
            street_address: text(&a.street_address),
            locality: text(&a.locality),
            region: text(&a.region),
            postal_code: text(&a.postal_code),
            country: text(&a.country),
        }
    }
}

/// A failure of the server, not of the token: a JSON error, no `WWW-Authenticate` (RFC 6750 §3.1
/// defines its error codes for the request and the token only).
fn server_failure(status: StatusCode, error: &str, description: &str) -> HttpResponse {
    no_store(
        HttpResponse::build(status)
            .json(serde_json::json!({"error": error, "error_description": description})),
    )
}

/// RFC 6750 §3 errors of the userinfo endpoint.
fn bearer_error(status: StatusCode, error: &str, description: &str) -> HttpResponse {
    let realm = crate::dialect::rfc6749::REALM;
    let description = wire_description(description);
    let challenge = if error.is_empty() {
        format!("Bearer realm=\"{realm}\"")
    } else {
        format!("Bearer realm=\"{realm}\", error=\"{error}\", error_description=\"{description}\"")
    };
    let mut builder = HttpResponse::build(status);
    builder.insert_header((header::WWW_AUTHENTICATE, challenge));
    if error.is_empty() {
        return no_store(builder.finish());
    }
    no_store(builder.json(serde_json::json!({"error": error, "error_description": description})))
}

/// The token of the `Authorization: Bearer` header.
fn header_token(req: &HttpRequest) -> Option<String> {
    crate::context::bearer(req).map(str::to_owned)
}

/// The presented token: from the header, or from a posted form's `access_token` (RFC 6750
/// §2.2). Both at once is `invalid_request` (§2: one method per request).
async fn presented(req: &HttpRequest, payload: Payload) -> Result<Option<String>, HttpResponse> {
    let in_header = header_token(req);
    let in_body = if req.method() == Method::POST
        && has_content_type(req, "application/x-www-form-urlencoded")
    {
        let form = read_form(req, payload).await.map_err(|_| {
            bearer_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the form could not be read",
            )
        })?;
        form.get("access_token")
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    } else {
        None
    };
    match (in_header, in_body) {
        (Some(_), Some(_)) => Err(bearer_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the access token was sent in more than one way",
        )),
        (one, other) => Ok(one.or(other)),
    }
}

/// `GET` or `POST /oauth2/userinfo` with `Authorization: Bearer`, or a form with `access_token`
/// (OpenID Connect Core §5.3, RFC 6750 §2.1-§2.2).
#[utoipa::path(
    method(get, post),
    path = "/oauth2/userinfo",
    tag = "OpenID Connect",
    operation_id = "userinfo",
    responses(
        (status = 200, description = "The user's claims", body = UserInfoBody),
        (status = 400, description = "`invalid_request`: the token sent both in the header and in the body", body = crate::dialect::rfc6749::ErrorBody),
        (status = 401, description = "RFC 6750 §3: the error is in `WWW-Authenticate`. Without a token (§3.1) the challenge alone, with no body at all; with `invalid_token` (invalid, expired or revoked, or not about an active user) the challenge names the error and the body repeats it", body = crate::dialect::rfc6749::ErrorBody,
            headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"tessera\"`; with `error=\"invalid_token\"` and `error_description` when a token was presented"))),
        (status = 403, description = "RFC 6750 §3.1 `insufficient_scope`: the token has no `openid` scope; the challenge names the error and the body repeats it", body = crate::dialect::rfc6749::ErrorBody,
            headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"tessera\", error=\"insufficient_scope\", …`"))),
        (status = 500, description = "`server_error`", body = crate::dialect::rfc6749::ErrorBody),
        (status = 503, description = "`temporarily_unavailable`", body = crate::dialect::rfc6749::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn userinfo(req: HttpRequest, payload: Payload, state: Data<HttpState>) -> HttpResponse {
    let token = match presented(&req, payload).await {
        Ok(Some(t)) => t,
        // RFC 6750 §3.1: no credentials, no error code.
        Ok(None) => return bearer_error(StatusCode::UNAUTHORIZED, "", ""),
        Err(res) => return res,
    };
    match state.tokens.userinfo(&token, state.clock.now()).await {
        Ok(u) => no_store(HttpResponse::Ok().json(UserInfoBody {
            sub: &u.sub,
            name: u.name.as_deref(),
            given_name: u.given_name.as_deref(),
            family_name: u.family_name.as_deref(),
            preferred_username: u.preferred_username.as_deref(),
            locale: u.locale.as_deref(),
            updated_at: u.updated_at.map(tessera_domain::UnixTime::as_secs),
            email: u.email.as_deref(),
            email_verified: u.email_verified,
            phone_number: u.phone_number.as_deref(),
            phone_number_verified: u.phone_number_verified,
            address: u.address.as_ref().map(AddressBody::of),
        })),
        Err(UserInfoError::InsufficientScope) => bearer_error(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "the access token does not carry the openid scope",
        ),
        Err(UserInfoError::Unavailable) => {
            let mut res = server_failure(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "try again in a moment",
            );
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            res
        }
        Err(UserInfoError::ServerError) => server_failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the server failed",
        ),
        Err(UserInfoError::InvalidToken) => bearer_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the access token is invalid, expired or revoked",
        ),
    }
}
