//! `/admin/v1/registration/tokens`: issue, list and revoke the initial access tokens of dynamic
//! client registration (RFC 7591 §3), through the same use cases as `tessera registration …`.

use actix_web::http::{StatusCode, header};
use actix_web::web::{Bytes, Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use tessera_domain::ports::InitialAccessToken;
use tessera_domain::service::AdminAccess;
use utoipa::ToSchema;

use super::schema::{Problem, Refusals};
use super::{AdminState, admin_problem, caller, parse_body, problem};

/// An initial access token, without the token (except in the answer that issued it).
#[derive(Serialize, ToSchema)]
pub(crate) struct InitialTokenResource {
    /// `iat_…`: what to revoke it by.
    id: String,
    /// Registrations left; `null`: any number until it expires.
    uses_left: Option<u32>,
    expires_at: i64,
    created_at: i64,
    note: String,
    /// The token to send as `Bearer` to `/oauth2/register`: shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
}

impl InitialTokenResource {
    fn of(t: &InitialAccessToken, token: Option<String>) -> Self {
        Self {
            id: t.id.clone(),
            uses_left: t.uses_left,
            expires_at: t.expires_at.as_secs(),
            created_at: t.created_at.as_secs(),
            note: t.note.clone(),
            token,
        }
    }
}

/// Every initial access token.
#[derive(Serialize, ToSchema)]
pub(crate) struct InitialTokenList {
    tokens: Vec<InitialTokenResource>,
}

/// What to issue.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct IssueBody {
    /// How many registrations it allows; absent or `null`: any number until it expires.
    uses: Option<u32>,
    /// Seconds until it expires (at most 90 days).
    expires_in: u32,
    /// Who it is for.
    #[serde(default)]
    note: String,
}

fn ok(status: StatusCode, body: &impl Serialize) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

/// Issues an initial access token.
///
/// `POST /admin/v1/registration/tokens` `{"uses": 1, "expires_in": 86400, "note": "…"}`: 201
/// with the token, shown this once.
#[utoipa::path(
    post,
    path = "/admin/v1/registration/tokens",
    tag = "Admin",
    operation_id = "admin_issue_initial_token",
    request_body(content = IssueBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Issued; `token` shown this once", body = InitialTokenResource),
        Refusals,
    ),
    security(("bearer" = ["tessera:admin"]))
)]
pub(crate) async fn issue(state: Data<AdminState>, req: HttpRequest, body: Bytes) -> HttpResponse {
    let (acting, now) = match caller(&state, &req, AdminAccess::Write).await {
        Ok(c) => c,
        Err(denied) => return denied,
    };
    let body: IssueBody = match parse_body(&body) {
        Ok(b) => b,
        Err(answer) => return answer,
    };
    match state
        .initial_tokens
        .acting_as(&acting)
        .issue(body.uses, body.expires_in, &body.note, now)
        .await
    {
        Ok((record, token)) => ok(
            StatusCode::CREATED,
            &InitialTokenResource::of(&record, Some(token.expose().to_owned())),
        ),
        Err(e) => admin_problem(&e),
    }
}

/// Lists the initial access tokens.
///
/// `GET /admin/v1/registration/tokens`: spent and expired ones too, until revoked.
#[utoipa::path(
    get,
    path = "/admin/v1/registration/tokens",
    tag = "Admin",
    operation_id = "admin_list_initial_tokens",
    responses((status = 200, description = "Every initial access token", body = InitialTokenList), Refusals),
    security(("bearer" = ["tessera:admin.read"]))
)]
pub(crate) async fn list(state: Data<AdminState>, req: HttpRequest) -> HttpResponse {
    if let Err(denied) = caller(&state, &req, AdminAccess::Read).await {
        return denied;
    }
    match state.initial_tokens.list().await {
        Ok(all) => ok(
            StatusCode::OK,
            &InitialTokenList {
                tokens: all
                    .iter()
                    .map(|t| InitialTokenResource::of(t, None))
                    .collect(),
            },
        ),
        Err(e) => admin_problem(&e),
    }
}

/// Revokes an initial access token.
///
/// `DELETE /admin/v1/registration/tokens/{id}`: 204; registrations with it are refused from now.
#[utoipa::path(
    delete,
    path = "/admin/v1/registration/tokens/{id}",
    tag = "Admin",
    operation_id = "admin_revoke_initial_token",
    params(("id" = String, Path, description = "The token's id (`iat_…`)")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such token", body = Problem, content_type = "application/problem+json"),
        Refusals,
    ),
    security(("bearer" = ["tessera:admin"]))
)]
pub(crate) async fn revoke(
    state: Data<AdminState>,
    req: HttpRequest,
    id: Path<String>,
) -> HttpResponse {
    let (acting, now) = match caller(&state, &req, AdminAccess::Write).await {
        Ok(c) => c,
        Err(denied) => return denied,
    };
    match state
        .initial_tokens
        .acting_as(&acting)
        .revoke(&id, now)
        .await
    {
        Ok(true) => HttpResponse::NoContent().finish(),
        Ok(false) => problem(
            StatusCode::NOT_FOUND,
            "not-found",
            "No such initial access token",
            &format!("no token {id}"),
        ),
        Err(e) => admin_problem(&e),
    }
}
