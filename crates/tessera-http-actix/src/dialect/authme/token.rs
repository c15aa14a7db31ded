//! AuthMe's token endpoints: `generate-token` (`CLIENT`, `USER`, `REMEMBER_ME`, `PRODUCT`),
//! `product-accesses/generate-opaque-token` and `renew-token`. The lifetimes and formats are the
//! domain's [`FirstPartyPolicy`](tessera_domain::first_party::FirstPartyPolicy).

use actix_web::HttpResponse;
use actix_web::web::Payload;
use serde::{Deserialize, Serialize};
use tessera_domain::assurance::AssuranceLevel;
use tessera_domain::first_party::FirstPartyRequest;
use tessera_domain::service::GrantRequest;
use utoipa::ToSchema;

use super::{
    AuthMe, AuthMeErrors, admit, invalid, nonempty, not_implemented, read_json, required, respond,
    route, selector,
};
use crate::context::RequestContext;
use crate::dialect::frame::{Dialect, WireError};
use crate::dialect::no_store;

/// The `generate-token` body as the handler reads it (every field optional, so that a missing
/// one gets AuthMe's `02`); `schema::GenerateToken` documents it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GenerateToken {
    /// The authenticated client itself.
    client_id: Option<String>,
    /// Put into user tokens as `defaultClientId`.
    default_client_id: Option<String>,
    /// `CLIENT`, `USER`, `REMEMBER_ME` or `PRODUCT`.
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

/// Issues what `kind` asks for, for a client admitted before its body was read.
async fn generate(
    ctx: &RequestContext,
    payload: Payload,
    forced: Option<FirstPartyRequest>,
) -> Result<HttpResponse, WireError> {
    let route = route(&ctx.state)?;
    let admitted = admit(ctx).await?;
    let body: GenerateToken = read_json(&ctx.req, payload).await?;
    let kind = match forced {
        Some(kind) => kind,
        None => match nonempty(body.token_request_type)
            .ok_or_else(|| required("tokenRequestType"))?
            .as_str()
        {
            "CLIENT" => FirstPartyRequest::Client,
            "PRODUCT" => FirstPartyRequest::Product,
            "USER" => FirstPartyRequest::User {
                remember_me: body.remember_me.unwrap_or(false),
            },
            "REMEMBER_ME" => FirstPartyRequest::RememberMe,
            _ => return Err(not_implemented()),
        },
    };
    let client_id = nonempty(body.client_id).ok_or_else(|| required("clientId"))?;
    let level = if forced.is_none() {
        let level = nonempty(body.login_granted_authorities)
            .ok_or_else(|| required("loginGrantedAuthorities"))?;
        Some(AssuranceLevel::parse(&level).map_err(|_| invalid("loginGrantedAuthorities"))?)
    } else {
        None
    };
    if client_id != admitted.client_id().as_str() {
        return Err(super::err(
            actix_web::http::StatusCode::BAD_REQUEST,
            "12",
            "clientId does not match the authenticated client.",
        ));
    }
    let grant = match kind {
        FirstPartyRequest::Client | FirstPartyRequest::Product => {
            GrantRequest::ClientCredentials { scope: None }
        }
        FirstPartyRequest::User { remember_me } => GrantRequest::User {
            user: selector(body.user_id, body.logon)?,
            param: nonempty(body.param).ok_or_else(|| required("param"))?,
            level: level.unwrap_or_else(|| route.policy.default_level()),
            remember_me,
            device_id: nonempty(body.device_id),
            default_client_id: nonempty(body.default_client_id),
        },
        FirstPartyRequest::RememberMe => GrantRequest::RefreshToken {
            refresh_token: nonempty(body.refresh_token)
                .or(nonempty(body.param))
                .ok_or_else(|| required("refreshToken"))?,
            scope: None,
        },
    };
    let request = ctx.issue_request(grant, route.policy.profile(kind));
    let issued = crate::metrics::issue(&ctx.state, AuthMe::NAME, &admitted, request, ctx.now)
        .await
        .map_err(|e| AuthMe::from_token_error(&e))?;
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

/// `POST …/generate-token`.
///
/// AuthMe's token endpoint: `CLIENT`, `USER` (with a param), `REMEMBER_ME` and `PRODUCT` tokens.
#[utoipa::path(
    post,
    path = "/security/iam/v1/generate-token",
    tag = "AuthMe",
    operation_id = "authme_generate_token",
    request_body(content = super::schema::GenerateToken, content_type = "application/json"),
    responses(
        (status = 201, description = "Issued; `Cache-Control: no-store`", body = TokenBody),
        AuthMeErrors,
    ),
    security(("client_secret_basic" = []))
)]
pub async fn generate_token(ctx: RequestContext, payload: Payload) -> HttpResponse {
    respond(generate(&ctx, payload, None).await)
}

/// `POST …/product-accesses/generate-opaque-token`: a `PRODUCT` token.
///
/// The same as generate-token with `tokenRequestType: PRODUCT`: an opaque product token.
#[utoipa::path(
    post,
    path = "/security/iam/v1/product-accesses/generate-opaque-token",
    tag = "AuthMe",
    operation_id = "authme_generate_opaque_token",
    request_body(content = super::schema::GenerateOpaqueToken, content_type = "application/json"),
    responses(
        (status = 201, description = "Issued; `Cache-Control: no-store`", body = TokenBody),
        AuthMeErrors,
    ),
    security(("client_secret_basic" = []))
)]
pub async fn generate_opaque_token(ctx: RequestContext, payload: Payload) -> HttpResponse {
    respond(generate(&ctx, payload, Some(FirstPartyRequest::Product)).await)
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
pub async fn renew_token(ctx: RequestContext, payload: Payload) -> HttpResponse {
    let result = async {
        let route = route(&ctx.state)?;
        let admitted = admit(&ctx).await?;
        let body: RenewBody = read_json(&ctx.req, payload).await?;
        let token = nonempty(body.refresh_token).ok_or_else(|| required("refreshToken"))?;
        let grant = GrantRequest::RefreshToken {
            refresh_token: token,
            scope: None,
        };
        let request = ctx.issue_request(grant, route.policy.profile(FirstPartyRequest::RememberMe));
        let issued = crate::metrics::issue(&ctx.state, AuthMe::NAME, &admitted, request, ctx.now)
            .await
            .map_err(|e| AuthMe::from_token_error(&e))?;
        Ok(created(&issued))
    };
    respond(result.await)
}
