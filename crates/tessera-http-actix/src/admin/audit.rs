//! `/admin/v1/audit`: the audit trail, filtered (since, kind, client, user) and paginated by
//! event id in both directions.

use actix_web::http::{StatusCode, header};
use actix_web::web::{Data, Query};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use tessera_domain::UnixTime;
use tessera_domain::audit::{AuditKind, AuditQuery};
use tessera_domain::service::AdminAccess;
use utoipa::IntoParams;

use super::schema::{AuditEventResource, AuditPage, Refusals};
use super::{AdminState, caller, problem};

/// Which events.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct TailQuery {
    /// Events at or after this time (seconds since the epoch).
    since: Option<i64>,
    /// Of this kind (`token.issued`, `client.changed`, `user.signed_in`, …).
    kind: Option<String>,
    /// Concerning this client id.
    client: Option<String>,
    /// Concerning this user id (or token subject).
    user: Option<String>,
    /// After this event id: reads forward.
    after: Option<u64>,
    /// Before this event id: reads back.
    before: Option<u64>,
    /// At most this many (default 100, at most 1000).
    limit: Option<u32>,
}

/// Reads the audit trail.
///
/// `GET /admin/v1/audit[?since=…&kind=…&client=…&user=…&after=…&before=…&limit=…]`: oldest
/// first. Without `after`, `before` or `since`, the newest events; `after=<last id>` reads on
/// (following the trail), `before=<first id>` reads back.
#[utoipa::path(
    get,
    path = "/admin/v1/audit",
    tag = "Admin",
    operation_id = "admin_audit_tail",
    params(TailQuery),
    responses((status = 200, description = "A page of events, oldest first", body = AuditPage), Refusals),
    security(("bearer" = ["tessera:admin.read"]))
)]
pub(crate) async fn tail(
    state: Data<AdminState>,
    req: HttpRequest,
    query: Query<TailQuery>,
) -> HttpResponse {
    if let Err(denied) = caller(&state, &req, AdminAccess::Read).await {
        return denied;
    }
    let q = query.into_inner();
    let kind = match q.kind.as_deref().map(AuditKind::parse).transpose() {
        Ok(k) => k,
        Err(e) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "invalid-query",
                "The query is not valid",
                &e.to_string(),
            );
        }
    };
    let query = AuditQuery {
        since: q.since.map(UnixTime::from_secs),
        kind,
        client_id: q.client,
        subject: q.user,
        after: q.after,
        before: q.before,
        limit: q.limit.unwrap_or(100),
    }
    .bounded();
    match state.audit.query(&query).await {
        Ok(page) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(AuditPage {
                events: page
                    .iter()
                    .map(|r| AuditEventResource {
                        id: r.id,
                        at: r.event.at.as_secs(),
                        kind: r.event.kind.as_str().to_owned(),
                        client_id: r.event.client_id.clone(),
                        subject: r.event.subject.clone(),
                        source: r.event.source.clone(),
                        detail: r.event.detail.clone(),
                    })
                    .collect(),
                first: page.first().map(|r| r.id),
                last: page.last().map(|r| r.id),
            }),
        Err(_) => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "The store is unavailable",
            "retry later",
        ),
    }
}
