//! The AuthMe dialect (`/security/iam/v1/…` by default): JSON bodies with camelCase fields, HTTP
//! Basic client authentication, clients that must hold a configured role set
//! (`ROLE_CLI-1STPARTY+ROLE_CLI-AUTH-BASIC`), and errors as an array of `{code, message}`.
//!
//! Served here: `generate-token` (`tokenRequestType` `CLIENT`, `USER`, `REMEMBER_ME` and
//! `PRODUCT`), `generate-param`, `renew-token`, the product-access opaque tokens (generate and
//! validate), and the public key used to validate JWTs. The error table is in `docs/dialects.md`.

use actix_web::http::{StatusCode, header};
use actix_web::web::{Data, Payload};
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use tessera_domain::assurance::AssuranceLevel;
use tessera_domain::service::{
    ApiProfile, ClientAuthentication, GrantRequest, TokenRequest, USER_NOT_ACTIVE, UserSelector,
};
use tessera_domain::token::Introspection;
use tessera_domain::user::{Logon, UserId};
use tessera_domain::{AccessTokenFormat, ClientAuthMethod, TokenError};
use utoipa::ToSchema;

use super::{BodyError, MAX_BODY, has_content_type, no_store, read_body};
use crate::form::Authorization;
use crate::server::HttpState;

/// One row of the AuthMe error table.
#[derive(Debug, PartialEq, Eq)]
pub struct AuthMeError {
    status: StatusCode,
    /// `Retry-After`, for 429.
    retry_after: Option<u32>,
    code: &'static str,
    message: String,
}

fn err(status: StatusCode, code: &'static str, message: impl Into<String>) -> AuthMeError {
    AuthMeError {
        status,
        retry_after: None,
        code,
        message: message.into(),
    }
}

fn required(field: &str) -> AuthMeError {
    err(
        StatusCode::BAD_REQUEST,
        "02",
        format!("The field {field} is required."),
    )
}

fn invalid(field: &str) -> AuthMeError {
    err(
        StatusCode::BAD_REQUEST,
        "03",
        format!("The field {field} is invalid."),
    )
}

/// The AuthMe row for each domain error.
#[must_use]
pub fn from_token_error(e: &TokenError) -> AuthMeError {
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
        TokenError::InvalidGrant(_) => err(
            StatusCode::UNAUTHORIZED,
            "30",
            "The refresh token is invalid, expired or revoked.",
        ),
        TokenError::UnsupportedGrantType(_) => not_implemented(),
        TokenError::ServerError | TokenError::TemporarilyUnavailable => err(
            StatusCode::INTERNAL_SERVER_ERROR,
            "99",
            "Internal server error.",
        ),
        TokenError::TooManyRequests(secs) => AuthMeError {
            retry_after: Some(*secs),
            ..err(
                StatusCode::TOO_MANY_REQUESTS,
                "98",
                "Too many requests. Try again later.",
            )
        },
    }
}

fn not_implemented() -> AuthMeError {
    err(
        StatusCode::BAD_REQUEST,
        "79",
        "The TokenRequestType is not implemented.",
    )
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

fn render(e: &AuthMeError) -> HttpResponse {
    let mut builder = HttpResponse::build(e.status);
    if let Some(secs) = e.retry_after {
        builder.insert_header((header::RETRY_AFTER, secs.to_string()));
    }
    if e.status == StatusCode::UNAUTHORIZED {
        builder.insert_header((
            header::WWW_AUTHENTICATE,
            format!("Basic realm=\"{}\"", super::rfc6749::REALM),
        ));
    }
    no_store(builder.json([ErrorItem {
        code: e.code,
        message: &e.message,
    }]))
}

/// Reads a JSON body into `T`.
async fn read_json<T: for<'de> Deserialize<'de>>(
    req: &HttpRequest,
    payload: Payload,
) -> Result<T, AuthMeError> {
    if !has_content_type(req, "application/json") {
        return Err(err(
            StatusCode::BAD_REQUEST,
            "01",
            "The request body must be application/json.",
        ));
    }
    let body = read_body(payload).await.map_err(|e| match e {
        BodyError::TooLarge => err(
            StatusCode::PAYLOAD_TOO_LARGE,
            "01",
            format!("The request body is larger than {MAX_BODY} bytes."),
        ),
        BodyError::Broken => err(
            StatusCode::BAD_REQUEST,
            "01",
            "The request body could not be read.",
        ),
    })?;
    serde_json::from_slice(&body).map_err(|_| {
        err(
            StatusCode::BAD_REQUEST,
            "01",
            "The request body is not valid JSON.",
        )
    })
}

/// The caller's Basic credentials.
fn basic(req: &HttpRequest) -> Result<ClientAuthentication, AuthMeError> {
    match Authorization::parse(
        req.headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes()),
    ) {
        Authorization::Basic { id, secret } => {
            ClientAuthentication::from_raw(ClientAuthMethod::ClientSecretBasic, &id, Some(&secret))
                .map_err(|e| from_token_error(&e))
        }
        Authorization::Absent | Authorization::Malformed => {
            Err(from_token_error(&TokenError::InvalidClient))
        }
    }
}

fn route(state: &HttpState) -> Result<&crate::server::AuthMeRoute, AuthMeError> {
    state
        .dialects
        .authme
        .as_ref()
        .ok_or_else(|| err(StatusCode::NOT_FOUND, "01", "Not found."))
}

fn profile(route: &crate::server::AuthMeRoute) -> ApiProfile {
    ApiProfile {
        default_ttl: route.client_ttl,
        required_roles: route.required_roles.clone(),
        first_party: true,
        ..ApiProfile::default()
    }
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
}

/// The `generate-token` body (AuthMe's field names).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AuthMeGenerateToken)]
struct GenerateToken {
    /// The authenticated client itself.
    #[schema(required = true)]
    client_id: Option<String>,
    /// Put into user tokens as `defaultClientId`.
    default_client_id: Option<String>,
    /// `CLIENT`, `USER`, `REMEMBER_ME` or `PRODUCT`.
    #[schema(required = true, example = "CLIENT")]
    token_request_type: Option<String>,
    /// Put into user tokens as `deviceId`.
    device_id: Option<String>,
    /// `USER`: must name the param's user, if given.
    user_id: Option<String>,
    /// `USER`: must name the param's user, if given.
    logon: Option<String>,
    /// `USER`: a one-time param from generate-param (for `REMEMBER_ME`, a refresh token).
    param: Option<String>,
    /// `REMEMBER_ME`: the refresh token.
    refresh_token: Option<String>,
    /// `USER`: also issue a refresh token (shorter-lived access token).
    remember_me: Option<bool>,
    /// The assurance level: `AUTH-IDENTIFIED`, `AUTH_BASIC`, `AUTH_MFA`, `AUTH_SMART` or
    /// `AUTH_STRONG`.
    #[schema(required = true, example = "AUTH-IDENTIFIED")]
    login_granted_authorities: Option<String>,
}

/// An AuthMe token.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AuthMeToken)]
struct TokenBody<'a> {
    /// A JWT, or an opaque `tat_…` token for `PRODUCT`.
    access_token: &'a str,
    /// `Bearer`.
    token_type: &'static str,
    /// Seconds until it expires.
    expires_in: u32,
    /// With remember-me: the refresh token (rotated on use).
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
}

fn nonempty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

/// Which user the body names, if any.
fn selector(user_id: Option<String>, logon: Option<String>) -> Result<UserSelector, AuthMeError> {
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

fn param_error(e: &TokenError) -> AuthMeError {
    match e {
        TokenError::InvalidGrant(d) if d == USER_NOT_ACTIVE => {
            err(StatusCode::FORBIDDEN, "22", "The user is not active.")
        }
        TokenError::InvalidGrant(_) => err(
            StatusCode::UNAUTHORIZED,
            "21",
            "The param is invalid, expired or already used.",
        ),
        other => from_token_error(other),
    }
}

async fn generate(
    req: &HttpRequest,
    payload: Payload,
    state: &HttpState,
    forced: Option<&str>,
) -> Result<HttpResponse, AuthMeError> {
    let route = route(state)?;
    let auth = basic(req)?;
    let body: GenerateToken = read_json(req, payload).await?;
    let kind = match forced {
        Some(kind) => kind.to_owned(),
        None => nonempty(body.token_request_type).ok_or_else(|| required("tokenRequestType"))?,
    };
    let client_id = nonempty(body.client_id).ok_or_else(|| required("clientId"))?;
    let level = if forced.is_none() {
        let level = nonempty(body.login_granted_authorities)
            .ok_or_else(|| required("loginGrantedAuthorities"))?;
        Some(AssuranceLevel::parse(&level).map_err(|_| invalid("loginGrantedAuthorities"))?)
    } else {
        None
    };
    let caller = match &auth {
        ClientAuthentication::SecretBasic { client_id, .. } => client_id.as_str().to_owned(),
        _ => String::new(),
    };
    if client_id != caller {
        return Err(err(
            StatusCode::BAD_REQUEST,
            "12",
            "clientId does not match the authenticated client.",
        ));
    }
    let mut profile = profile(route);
    let (grant, on_error): (GrantRequest, fn(&TokenError) -> AuthMeError) = match kind.as_str() {
        "CLIENT" => (
            GrantRequest::ClientCredentials { scope: None },
            from_token_error,
        ),
        "PRODUCT" => {
            profile.format = Some(AccessTokenFormat::Opaque);
            (
                GrantRequest::ClientCredentials { scope: None },
                from_token_error,
            )
        }
        "USER" => {
            let remember_me = body.remember_me.unwrap_or(false);
            let param = nonempty(body.param).ok_or_else(|| required("param"))?;
            profile.fixed_ttl = if remember_me {
                Some(route.remember_me_ttl)
            } else {
                route.client_ttl
            };
            let grant = GrantRequest::User {
                user: selector(body.user_id, body.logon)?,
                param,
                level: level.unwrap_or(AssuranceLevel::Identified),
                remember_me,
                device_id: nonempty(body.device_id),
                default_client_id: nonempty(body.default_client_id),
            };
            (grant, param_error)
        }
        "REMEMBER_ME" => {
            let token = nonempty(body.refresh_token)
                .or(nonempty(body.param))
                .ok_or_else(|| required("refreshToken"))?;
            profile.fixed_ttl = Some(route.remember_me_ttl);
            (
                GrantRequest::RefreshToken {
                    refresh_token: token,
                    scope: None,
                },
                from_token_error,
            )
        }
        _ => return Err(not_implemented()),
    };
    let request = TokenRequest {
        certificate: None,
        source: super::source(req),
        auth,
        grant,
        profile,
    };
    let issued = crate::metrics::issue(state, "authme", request)
        .await
        .map_err(|e| on_error(&e))?;
    Ok(created(&issued))
}

/// `201` with AuthMe's token body.
fn created(issued: &tessera_domain::token::Issued) -> HttpResponse {
    no_store(HttpResponse::Created().json(TokenBody {
        access_token: issued.access_token.expose(),
        token_type: "Bearer",
        expires_in: issued.expires_in,
        refresh_token: issued.refresh_token.as_ref().map(|t| t.expose()),
    }))
}

/// The renew-token body.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AuthMeRenewToken)]
struct RenewBody {
    /// A remember-me refresh token.
    #[schema(required = true)]
    refresh_token: Option<String>,
}

/// `POST …/renew-token`: a new access token and refresh token for a remember-me refresh token.
#[utoipa::path(
    post,
    path = "/security/iam/v1/renew-token",
    tag = "AuthMe",
    operation_id = "authme_renew_token",
    request_body(content = RenewBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Renewed; `Cache-Control: no-store`", body = TokenBody),
        AuthMeErrors,
    ),
    security(("client_secret_basic" = []))
)]
pub async fn renew_token(
    req: HttpRequest,
    payload: Payload,
    state: Data<HttpState>,
) -> HttpResponse {
    let result = async {
        let route = route(&state)?;
        let auth = basic(&req)?;
        let body: RenewBody = read_json(&req, payload).await?;
        let token = nonempty(body.refresh_token).ok_or_else(|| required("refreshToken"))?;
        let mut profile = profile(route);
        profile.fixed_ttl = Some(route.remember_me_ttl);
        let request = TokenRequest {
            certificate: None,
            source: super::source(&req),
            auth,
            grant: GrantRequest::RefreshToken {
                refresh_token: token,
                scope: None,
            },
            profile,
        };
        let issued = crate::metrics::issue(&state, "authme", request)
            .await
            .map_err(|e| from_token_error(&e))?;
        Ok::<_, AuthMeError>(created(&issued))
    };
    result.await.unwrap_or_else(|e| render(&e))
}

/// The generate-param body: one of the two.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AuthMeGenerateParam)]
struct ParamBody {
    /// The user's id.
    user_id: Option<String>,
    /// The user's logon.
    logon: Option<String>,
}

/// A one-time param.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AuthMeParam)]
struct ParamResponse<'a> {
    /// 61 characters of `[A-Z0-9]`, single use, for this client only.
    param: &'a str,
    /// Seconds until it expires.
    expires_in: u32,
}

/// `POST …/generate-param`: a one-time param proving a user to the calling client.
#[utoipa::path(
    post,
    path = "/security/iam/v1/generate-param",
    tag = "AuthMe",
    operation_id = "authme_generate_param",
    request_body(content = ParamBody, content_type = "application/json"),
    responses(
        (status = 201, description = "A param; `Cache-Control: no-store`", body = ParamResponse),
        AuthMeErrors,
    ),
    security(("client_secret_basic" = []))
)]
pub async fn generate_param(
    req: HttpRequest,
    payload: Payload,
    state: Data<HttpState>,
) -> HttpResponse {
    let result = async {
        let route = route(&state)?;
        let auth = basic(&req)?;
        let body: ParamBody = read_json(&req, payload).await?;
        let who = selector(body.user_id, body.logon)?;
        if who == UserSelector::Any {
            return Err(required("userId"));
        }
        let (param, expires_in) = state
            .tokens
            .generate_param(
                auth,
                super::source(&req).as_deref(),
                who,
                &profile(route),
                route.param_ttl_secs,
                state.clock.now(),
            )
            .await
            .map_err(|e| match e {
                TokenError::InvalidGrant(_) => {
                    err(StatusCode::NOT_FOUND, "20", "User not found or not active.")
                }
                other => from_token_error(&other),
            })?;
        Ok::<_, AuthMeError>(no_store(HttpResponse::Created().json(ParamResponse {
            param: param.expose(),
            expires_in,
        })))
    };
    result.await.unwrap_or_else(|e| render(&e))
}

/// `POST …/generate-token`.
///
/// AuthMe's token endpoint: `CLIENT`, `USER` (with a param), `REMEMBER_ME` and `PRODUCT` tokens.
#[utoipa::path(
    post,
    path = "/security/iam/v1/generate-token",
    tag = "AuthMe",
    operation_id = "authme_generate_token",
    request_body(content = GenerateToken, content_type = "application/json"),
    responses(
        (status = 201, description = "Issued; `Cache-Control: no-store`", body = TokenBody),
        AuthMeErrors,
    ),
    security(("client_secret_basic" = []))
)]
pub async fn generate_token(
    req: HttpRequest,
    payload: Payload,
    state: Data<HttpState>,
) -> HttpResponse {
    generate(&req, payload, &state, None)
        .await
        .unwrap_or_else(|e| render(&e))
}

/// `POST …/product-accesses/generate-opaque-token`: a `PRODUCT` token.
///
/// The same as generate-token with `tokenRequestType: PRODUCT`: an opaque product token.
#[utoipa::path(
    post,
    path = "/security/iam/v1/product-accesses/generate-opaque-token",
    tag = "AuthMe",
    operation_id = "authme_generate_opaque_token",
    request_body(content = GenerateToken, content_type = "application/json"),
    responses(
        (status = 201, description = "Issued; `Cache-Control: no-store`", body = TokenBody),
        AuthMeErrors,
    ),
    security(("client_secret_basic" = []))
)]
pub async fn generate_opaque_token(
    req: HttpRequest,
    payload: Payload,
    state: Data<HttpState>,
) -> HttpResponse {
    generate(&req, payload, &state, Some("PRODUCT"))
        .await
        .unwrap_or_else(|e| render(&e))
}

/// The validate-opaque-token body.
#[derive(Deserialize, ToSchema)]
#[schema(as = AuthMeValidateOpaqueToken)]
struct ValidateBody {
    /// The opaque token.
    #[schema(required = true)]
    token: Option<String>,
}

/// Whether an opaque token is active; the rest only when it is.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AuthMeValidation)]
struct Validation<'a> {
    /// Whether the token is active.
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
}

/// `POST …/product-accesses/validate-opaque-token`: whether an opaque token is active (the caller
/// sees its own tokens, or any with the introspection role).
#[utoipa::path(
    post,
    path = "/security/iam/v1/product-accesses/validate-opaque-token",
    tag = "AuthMe",
    operation_id = "authme_validate_opaque_token",
    request_body(content = ValidateBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The token's state", body = Validation),
        AuthMeErrors,
    ),
    security(("client_secret_basic" = []))
)]
pub async fn validate_opaque_token(
    req: HttpRequest,
    payload: Payload,
    state: Data<HttpState>,
) -> HttpResponse {
    let result = async {
        let auth = basic(&req)?;
        let body: ValidateBody = read_json(&req, payload).await?;
        let token = body
            .token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| required("token"))?;
        state
            .tokens
            .introspect(
                auth,
                super::source(&req).as_deref(),
                &token,
                state.clock.now(),
            )
            .await
            .map_err(|e| from_token_error(&e))
    };
    match result.await {
        Ok(Introspection::Active(info)) => no_store(HttpResponse::Ok().json(Validation {
            active: true,
            client_id: Some(info.client_id.as_str()),
            sub: Some(&info.sub),
            scope: Some(info.scope.to_string()),
            expires_at: Some(info.exp.as_secs()),
        })),
        Ok(Introspection::Inactive) => no_store(HttpResponse::Ok().json(Validation {
            active: false,
            client_id: None,
            sub: None,
            scope: None,
            expires_at: None,
        })),
        Err(e) => render(&e),
    }
}

/// `GET …/public-key`: the JWKS.
///
/// The public keys that validate AuthMe's JWTs (the same set as `/oauth2/jwks`).
#[utoipa::path(
    get,
    path = "/security/iam/v1/public-key",
    tag = "AuthMe",
    operation_id = "authme_public_key",
    responses((status = 200, description = "The JWKS", body = crate::meta::Jwks))
)]
pub async fn public_key(state: Data<HttpState>) -> HttpResponse {
    crate::meta::jwks(state).await
}

/// Any other method on an AuthMe path.
pub async fn method_not_allowed() -> HttpResponse {
    let mut res = render(&err(
        StatusCode::METHOD_NOT_ALLOWED,
        "01",
        "Method not allowed.",
    ));
    res.headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_domain_error_has_a_row() {
        let cases = [
            (TokenError::InvalidClient, 401, "10"),
            (TokenError::UnauthorizedClient, 403, "11"),
            (TokenError::InvalidGrant(String::new()), 401, "30"),
            (TokenError::UnsupportedGrantType(String::new()), 400, "79"),
            (TokenError::ServerError, 500, "99"),
        ];
        for (e, status, code) in cases {
            let row = from_token_error(&e);
            assert_eq!((row.status.as_u16(), row.code), (status, code), "{e:?}");
        }
        assert_eq!(
            not_implemented().message,
            "The TokenRequestType is not implemented."
        );
    }
}
