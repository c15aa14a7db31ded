//! AuthMe's product-access validation (`validate-opaque-token`) and its public key (the JWKS).

use actix_web::HttpResponse;
use actix_web::web::{Data, Payload};
use serde::{Deserialize, Serialize};
use tessera_domain::token::Introspection;
use utoipa::ToSchema;

use super::{AuthMe, AuthMeErrors, read_json, required, respond};
use crate::context::RequestContext;
use crate::dialect::frame::{self, Dialect};
use crate::dialect::no_store;
use crate::server::HttpState;

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
struct Validation {
    /// Whether the token is active.
    active: bool,
    /// The client the token was issued to.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    /// Whom it is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    /// Its scopes, space-separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    /// When it expires (seconds since the epoch).
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
pub async fn validate_opaque_token(ctx: RequestContext, payload: Payload) -> HttpResponse {
    let result = async {
        let auth = crate::dialect::basic_credentials(&ctx.req)
            .map_err(|e| AuthMe::from_token_error(&e))?;
        let caller = frame::authenticate::<AuthMe>(&ctx, auth).await?;
        let body: ValidateBody = read_json(&ctx.req, payload).await?;
        let token = body
            .token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| required("token"))?;
        let answer = ctx
            .state
            .tokens
            .introspect_for(&caller, &token, ctx.now)
            .await
            .map_err(|e| AuthMe::from_token_error(&e))?;
        Ok(no_store(HttpResponse::Ok().json(match answer {
            Introspection::Active(info) => Validation {
                active: true,
                client_id: Some(info.client_id.as_str().to_owned()),
                sub: Some(info.sub),
                scope: Some(info.scope.to_string()),
                expires_at: Some(info.exp.as_secs()),
            },
            Introspection::Inactive => Validation {
                active: false,
                client_id: None,
                sub: None,
                scope: None,
                expires_at: None,
            },
        })))
    };
    respond(result.await)
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
