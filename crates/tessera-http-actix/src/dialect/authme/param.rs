//! AuthMe's `generate-param`: a one-time param proving a user to the calling client.

use actix_web::HttpResponse;
use actix_web::web::Payload;
use serde::{Deserialize, Serialize};
use tessera_domain::service::UserSelector;
use utoipa::ToSchema;

use super::{AuthMe, AuthMeErrors, admit, read_json, required, respond, route, selector};
use crate::context::RequestContext;
use crate::dialect::frame::Dialect;
use crate::dialect::no_store;

/// The generate-param body as the handler reads it; `schema::GenerateParam` documents it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
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
    request_body(content = super::schema::GenerateParam, content_type = "application/json"),
    responses(
        (status = 201, description = "A param; `Cache-Control: no-store`", body = ParamResponse),
        AuthMeErrors,
    ),
    security(("client_secret_basic" = []))
)]
pub async fn generate_param(ctx: RequestContext, payload: Payload) -> HttpResponse {
    let result = async {
        let route = route(&ctx.state)?;
        let admitted = admit(&ctx).await?;
        let body: ParamBody = read_json(&ctx.req, payload).await?;
        let who = selector(body.user_id, body.logon)?;
        if who == UserSelector::Any {
            return Err(required("userId"));
        }
        let (param, expires_in) = ctx
            .state
            .params
            .generate(&admitted, &who, &route.policy, ctx.now)
            .await
            .map_err(|e| AuthMe::from_token_error(&e))?;
        Ok(no_store(HttpResponse::Created().json(ParamResponse {
            param: param.expose(),
            expires_in,
        })))
    };
    respond(result.await)
}
