//! The standard dialect: RFC 6749 at `/oauth2/token`.
//!
//! Request: `POST`, `application/x-www-form-urlencoded` (§4.4.2), client authentication by
//! `client_secret_basic` or `client_secret_post` (§2.3.1), never both. Response: §5.1 JSON with
//! `Cache-Control: no-store` and `Pragma: no-cache`; errors per §5.2, with 401 and
//! `WWW-Authenticate` for `invalid_client`.

use actix_web::http::{StatusCode, header};
use actix_web::web::Payload;
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use tessera_domain::service::{
    Admitted, ApiProfile, ClientAuthentication, GrantRequest, IssueRequest,
};
use tessera_domain::token::{Introspection, Issued};
use tessera_domain::{ClientAuthMethod, TokenError};
use utoipa::ToSchema;

use super::frame::{self, BadBody, Dialect, TokenDialect, WireError};
use super::{BadForm, MAX_BODY, invalid_request, no_store};
use crate::context::RequestContext;
use crate::form::{Authorization, Form};

/// The RFC 6749 dialect (also Banco Semear's, whose errors are RFC 6749's).
pub struct Rfc6749;

/// The realm named in `WWW-Authenticate`.
pub const REALM: &str = "tessera";

/// A successful token response (RFC 6749 §5.1).
#[derive(Serialize, ToSchema)]
#[schema(as = OAuthTokenResponse)]
pub(crate) struct TokenBody<'a> {
    /// The access token: an RFC 9068 JWT (`typ: at+jwt`), or an opaque token for clients
    /// registered so.
    access_token: &'a str,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    token_type: &'static str,
    /// Seconds until the access token expires.
    expires_in: u32,
    /// The granted scopes, space-separated, when any.
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    /// A refresh token, for clients allowed the `refresh_token` grant (rotated on every use).
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    /// An OpenID Connect ID token, when a code granted `openid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<&'a str>,
}

/// The token request (RFC 6749 §4.1.3, §4.4.2, §6), `application/x-www-form-urlencoded`: one
/// grant, and the client's credentials. The client authenticates with HTTP Basic or with
/// `client_id` and `client_secret` here, never both; a public client sends `client_id` alone, a
/// certificate-bound client (RFC 8705) on the mutual-TLS listener `client_id` and its certificate.
#[derive(Deserialize, ToSchema)]
#[schema(as = OAuthTokenRequest)]
#[allow(dead_code)] // Describes the form `parse` reads.
pub(crate) struct TokenForm {
    #[serde(flatten)]
    grant: GrantForm,
    /// `client_secret_post`, or a public or certificate-authenticated client.
    client_id: Option<String>,
    /// `client_secret_post`.
    client_secret: Option<String>,
    /// A resource the token is for (RFC 8707 §2): an absolute URI without a fragment, one of the
    /// client's resources; repeatable. The token's `aud` is the resources asked for; a refresh
    /// or a code exchange may narrow those of its grant, never widen them.
    resource: Option<Vec<String>>,
}

/// A grant and the parameters it requires, by `grant_type`.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "grant_type", rename_all = "snake_case")]
#[schema(as = OAuthGrant)]
#[allow(dead_code)] // Describes the form `parse` reads.
pub(crate) enum GrantForm {
    /// RFC 6749 §4.4.2.
    ClientCredentials {
        /// Requested scopes, space-separated (default: the client's registered scopes).
        scope: Option<String>,
    },
    /// RFC 6749 §6: a refresh token, rotated on use.
    RefreshToken {
        /// The refresh token.
        refresh_token: String,
        /// A narrower scope than the token's, space-separated.
        scope: Option<String>,
    },
    /// RFC 6749 §4.1.3 with RFC 7636 §4.5.
    AuthorizationCode {
        /// The code from the authorization endpoint.
        code: String,
        /// The `redirect_uri` of the authorization request, when it named one.
        redirect_uri: Option<String>,
        /// The PKCE verifier, when the authorization request had a challenge.
        code_verifier: Option<String>,
    },
}

/// The errors of the token, revocation and introspection endpoints (RFC 6749 §5.2).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Describes what `error` answers.
pub(crate) enum OAuthErrors<'a> {
    /// `invalid_request` (malformed, repeated or missing parameters, both authentication
    /// methods), `invalid_grant`, `invalid_scope`, `unauthorized_client`, `unsupported_grant_type`.
    #[response(status = 400)]
    BadRequest(ErrorBody<'a>),
    /// `invalid_client`: unknown client, wrong secret or certificate, disabled client.
    #[response(status = 401, headers(("WWW-Authenticate" = String, description = "`Basic realm=\"tessera\"`")))]
    Unauthorized(ErrorBody<'a>),
    /// A method other than POST (`invalid_request`).
    #[response(status = 405, headers(("Allow" = String, description = "`POST`")))]
    MethodNotAllowed(ErrorBody<'a>),
    /// A body over 64 KiB (`invalid_request`).
    #[response(status = 413)]
    TooLarge(ErrorBody<'a>),
    /// `too_many_requests`: over the client's or the address's rate, or backed off after failed
    /// authentications.
    #[response(status = 429, headers(("Retry-After" = u32, description = "Seconds to wait")))]
    TooMany(ErrorBody<'a>),
    /// `server_error`.
    #[response(status = 500)]
    ServerError(ErrorBody<'a>),
    /// `temporarily_unavailable`: the database is unavailable.
    #[response(status = 503, headers(("Retry-After" = u32, description = "Seconds to wait")))]
    Unavailable(ErrorBody<'a>),
}

/// A revocation or introspection request (RFC 7009 §2.1, RFC 7662 §2.1), with the client's
/// credentials as at the token endpoint.
#[derive(ToSchema)]
#[schema(as = OAuthTokenReference)]
#[allow(dead_code)] // Describes the form `token_form` reads.
pub(crate) struct TokenReferenceForm {
    /// The access or refresh token.
    token: String,
    /// Ignored: Tessera recognises the token itself.
    token_type_hint: Option<String>,
    /// `client_secret_post`.
    client_id: Option<String>,
    /// `client_secret_post`.
    client_secret: Option<String>,
}

/// An error (RFC 6749 §5.2; also RFC 7009, RFC 7662 and RFC 6750 §3).
#[derive(Serialize, ToSchema)]
#[schema(as = OAuthError)]
pub(crate) struct ErrorBody<'a> {
    /// The error code, e.g. `invalid_client`, `invalid_grant`, `too_many_requests`.
    #[schema(example = "invalid_client")]
    error: &'static str,
    /// What went wrong, for the developer.
    error_description: std::borrow::Cow<'a, str>,
}

impl<'a> ErrorBody<'a> {
    /// An error with its description.
    pub(crate) fn new(
        error: &'static str,
        description: impl Into<std::borrow::Cow<'a, str>>,
    ) -> Self {
        Self {
            error,
            error_description: description.into(),
        }
    }
}

impl Dialect for Rfc6749 {
    const NAME: &'static str = "rfc6749";
    const CHALLENGE: Option<&'static str> = Some(super::BASIC_CHALLENGE);

    /// RFC 6749 §5.2: the code and the domain's description; `Retry-After` for 429 and 503.
    fn from_token_error(e: &TokenError) -> WireError {
        let row = WireError::new(status_of(e), e.code(), e.to_string());
        match e {
            TokenError::TemporarilyUnavailable => row.retry_after(1),
            TokenError::TooManyRequests(secs) => row.retry_after(*secs),
            _ => row,
        }
    }

    fn bad_body(e: BadBody) -> WireError {
        let description = match e {
            BadBody::Form(BadForm::TooLarge) => {
                return Self::from_token_error(&invalid_request(format!(
                    "the request body is larger than {MAX_BODY} bytes"
                )))
                .with_status(StatusCode::PAYLOAD_TOO_LARGE);
            }
            BadBody::Form(BadForm::NotForm) | BadBody::NotJson => {
                "the body must be application/x-www-form-urlencoded (RFC 6749 §4.4.2)".to_owned()
            }
            BadBody::Form(BadForm::Broken) => "the request body could not be read".to_owned(),
            BadBody::Form(BadForm::Repeated(name)) => {
                format!("parameter {name:?} is repeated (RFC 6749 §3.2)")
            }
            BadBody::Form(BadForm::NotUtf8) | BadBody::InvalidJson => {
                "the body is not valid UTF-8 form data".to_owned()
            }
        };
        Self::from_token_error(&invalid_request(description))
    }

    fn method_not_allowed() -> WireError {
        Self::from_token_error(&invalid_request(
            "this endpoint accepts only POST (RFC 6749 §3.2)",
        ))
    }

    fn body(e: &WireError) -> impl Serialize + '_ {
        ErrorBody {
            error: e.code,
            error_description: tessera_domain::error::wire_description(&e.message),
        }
    }
}

impl TokenDialect for Rfc6749 {
    type Body = Form;

    async fn credentials(
        ctx: &RequestContext,
        payload: Payload,
    ) -> Result<(ClientAuthentication, Form), WireError> {
        let req = &ctx.req;
        let form = frame::form::<Self>(req, payload).await?;
        let auth = authentication(req, &form).map_err(|e| Self::from_token_error(&e))?;
        Ok((auth, form))
    }

    async fn request(
        ctx: &RequestContext,
        form: Form,
        _: &Admitted,
    ) -> Result<IssueRequest, WireError> {
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
        ctx.issue_request(grant, ApiProfile::default())
            .with_resources(form.get_all("resource"))
            .map_err(|e| Self::from_token_error(&e))
    }

    /// RFC 6749 §5.1.
    fn issued(issued: &Issued) -> HttpResponse {
        no_store(HttpResponse::Ok().json(TokenBody {
            access_token: issued.access_token.expose(),
            token_type: "Bearer",
            expires_in: issued.expires_in,
            scope: (!issued.scope.is_empty()).then(|| issued.scope.to_string()),
            refresh_token: issued.refresh_token.as_ref().map(|t| t.expose()),
            id_token: issued.id_token.as_ref().map(|t| t.expose()),
        }))
    }
}

/// `aud` of an introspection answer (RFC 7662 §2.2, RFC 7519 §4.1.3).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum AudienceValue<'a> {
    /// One audience.
    One(&'a str),
    /// Several (a token for several resources, RFC 8707).
    Many(Vec<&'a str>),
}

impl<'a> AudienceValue<'a> {
    fn of(auds: &'a tessera_domain::resource::Audiences) -> Self {
        match auds.as_slice() {
            [one] => Self::One(one.as_str()),
            many => Self::Many(many.iter().map(|a| a.as_str()).collect()),
        }
    }
}

/// `POST /oauth2/token`.
///
/// Issues tokens for the `client_credentials`, `refresh_token` and `authorization_code` grants
/// (RFC 6749, RFC 7636 PKCE, RFC 8705 certificate-bound tokens).
#[utoipa::path(
    post,
    path = "/oauth2/token",
    tag = "OAuth 2.0",
    operation_id = "token",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Issued; `Cache-Control: no-store`", body = TokenBody),
        OAuthErrors,
    ),
    security((), ("client_secret_basic" = []))
)]
pub async fn token(ctx: RequestContext, payload: Payload) -> HttpResponse {
    frame::token::<Rfc6749>(ctx, payload).await
}

/// The caller of a revocation or introspection request, authenticated, and the token it names
/// (empty when it names none: the domain refuses that after authentication).
async fn token_reference(
    ctx: &RequestContext,
    payload: Payload,
) -> Result<(Admitted, String), WireError> {
    let (auth, form) = Rfc6749::credentials(ctx, payload).await?;
    let caller = frame::authenticate::<Rfc6749>(ctx, auth).await?;
    Ok((caller, form.get("token").unwrap_or_default().to_owned()))
}

/// `POST /oauth2/revoke` (RFC 7009 §2): `200` with an empty body for every token, known or not.
///
/// Revokes an access token or a refresh token (with its whole rotation family) of the calling
/// client.
#[utoipa::path(
    post,
    path = "/oauth2/revoke",
    tag = "OAuth 2.0",
    operation_id = "revoke",
    request_body(content = TokenReferenceForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked, or not a token of this client (RFC 7009 §2.2)"),
        OAuthErrors,
    ),
    security((), ("client_secret_basic" = []))
)]
pub async fn revoke(ctx: RequestContext, payload: Payload) -> HttpResponse {
    let result = async {
        let (caller, token) = token_reference(&ctx, payload).await?;
        ctx.state
            .tokens
            .revoke_for(&caller, &token, ctx.now)
            .await
            .map_err(|e| Rfc6749::from_token_error(&e))
    };
    match result.await {
        Ok(()) => no_store(HttpResponse::Ok().finish()),
        Err(e) => frame::render::<Rfc6749>(&e),
    }
}

/// An introspection response (RFC 7662 §2.2): `{"active": false}` alone for a token that is not
/// active or not the caller's to see.
#[derive(Serialize, ToSchema)]
#[schema(as = OAuthIntrospection)]
pub(crate) struct IntrospectionBody<'a> {
    /// Whether the token is active.
    active: bool,
    /// The token's scopes, space-separated, when any.
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    /// The client the token was issued to (active tokens only).
    #[schema(required = false)]
    client_id: &'a str,
    /// The subject: the client id, or the user (active tokens only).
    #[schema(required = false)]
    sub: &'a str,
    /// Expiry, seconds since the epoch (active tokens only).
    #[schema(required = false)]
    exp: i64,
    /// Issue time, seconds since the epoch (active tokens only).
    #[schema(required = false)]
    iat: i64,
    /// The issuer (active tokens only).
    #[schema(required = false)]
    iss: &'a str,
    /// `Bearer`, or `refresh_token` for a refresh token (active tokens only).
    #[schema(required = false)]
    token_type: &'a str,
    /// The audience, when the token has one: the resources it is for (RFC 8707 §2.2), a string
    /// for one and an array for several.
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<AudienceValue<'a>>,
    /// The token's id, for JWTs.
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<&'a str>,
    /// The certificate the token is bound to (RFC 8705 §3.2): `{"x5t#S256": "…"}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    cnf: Option<serde_json::Value>,
}

/// `POST /oauth2/introspect` (RFC 7662 §2).
///
/// A client sees its own tokens; a client with the introspection role sees every token.
#[utoipa::path(
    post,
    path = "/oauth2/introspect",
    tag = "OAuth 2.0",
    operation_id = "introspect",
    request_body(content = TokenReferenceForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The token's state", body = IntrospectionBody),
        OAuthErrors,
    ),
    security((), ("client_secret_basic" = []))
)]
pub async fn introspect(ctx: RequestContext, payload: Payload) -> HttpResponse {
    let result = async {
        let (caller, token) = token_reference(&ctx, payload).await?;
        ctx.state
            .tokens
            .introspect_for(&caller, &token, ctx.now)
            .await
            .map_err(|e| Rfc6749::from_token_error(&e))
    };
    match result.await {
        Ok(Introspection::Active(info)) => no_store(
            HttpResponse::Ok().json(IntrospectionBody {
                active: true,
                scope: (!info.scope.is_empty()).then(|| info.scope.to_string()),
                client_id: info.client_id.as_str(),
                sub: &info.sub,
                exp: info.exp.as_secs(),
                iat: info.iat.as_secs(),
                iss: info.iss.as_str(),
                token_type: info.token_type.as_str(),
                aud: info.aud.as_ref().map(AudienceValue::of),
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
        Err(e) => frame::render::<Rfc6749>(&e),
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

/// The status RFC 6749 §5.2 (and RFC 6749 §4.1.2.1 for the two server-side codes) gives `e`.
#[must_use]
pub fn status_of(e: &TokenError) -> StatusCode {
    match e {
        TokenError::InvalidClient => StatusCode::UNAUTHORIZED,
        TokenError::InvalidRequest(_)
        | TokenError::InvalidGrant(_)
        | TokenError::UnauthorizedClient
        | TokenError::UnsupportedGrantType(_)
        | TokenError::InvalidScope(_)
        | TokenError::InvalidTarget(_) => StatusCode::BAD_REQUEST,
        TokenError::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        TokenError::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        TokenError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
    }
}

/// RFC 6749 §5.2.
#[must_use]
pub fn error(e: &TokenError) -> HttpResponse {
    frame::refuse::<Rfc6749>(e)
}
