//! `/admin/v1/audit`: the audit trail, filtered (since, kind, client, user) and paginated by
//! event id in both directions.

use actix_web::http::{StatusCode, header};
use actix_web::web::{self, Data, Query, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use tessera_domain::UnixTime;
use tessera_domain::audit::{AuditKind, AuditQuery};
use tessera_domain::service::AdminAccess;

use super::{AdminState, caller, problem};

pub(super) fn routes(cfg: &mut ServiceConfig) {
    cfg.route("/admin/v1/audit", web::get().to(tail));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TailQuery {
    /// Events at or after this time (seconds since the epoch).
    since: Option<i64>,
    kind: Option<String>,
    client: Option<String>,
    user: Option<String>,
    after: Option<u64>,
    before: Option<u64>,
    /// At most this many (default 100, at most 1000).
    limit: Option<u32>,
}

/// `GET /admin/v1/audit[?since=…&kind=…&client=…&user=…&after=…&before=…&limit=…]`: oldest
/// first. Without `after`, `before` or `since`, the newest events; `after=<last id>` reads on
/// (following the trail), `before=<first id>` reads back.
async fn tail(state: Data<AdminState>, req: HttpRequest, query: Query<TailQuery>) -> HttpResponse {
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
            .json(json!({
                "events": page.iter().map(|r| json!({
                    "id": r.id,
                    "at": r.event.at.as_secs(),
                    "kind": r.event.kind.as_str(),
                    "client_id": r.event.client_id,
                    "subject": r.event.subject,
                    "source": r.event.source,
                    "detail": r.event.detail,
                })).collect::<Vec<_>>(),
                "first": page.first().map(|r| r.id),
                "last": page.last().map(|r| r.id),
            })),
        Err(_) => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "The store is unavailable",
            "retry later",
        ),
    }
}
