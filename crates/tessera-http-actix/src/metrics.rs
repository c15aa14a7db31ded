//! `GET /metrics` in the OpenMetrics text format Prometheus scrapes: tokens issued by dialect,
//! grant and client; token errors by dialect and code; request latency by route; the database
//! pool; the age of every signing key; back-channel logout deliveries by outcome. Counters live in one process-wide registry; the app pushes
//! the gauges it owns (pool, keys) on its store-following tick.

use std::sync::LazyLock;

use actix_web::HttpResponse;
use actix_web::http::header;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tessera_domain::TokenError;
use tessera_domain::service::IssueRequest;
use tessera_domain::token::Issued;

use crate::server::HttpState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IssuedLabels {
    dialect: &'static str,
    grant: &'static str,
    client: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    dialect: &'static str,
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KeyLabels {
    kid: String,
    alg: &'static str,
    state: &'static str,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms to about 2 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 14))
}

struct Metrics {
    registry: Registry,
    issued: Family<IssuedLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    latency: Family<RequestLabels, Histogram, fn() -> Histogram>,
    pool: Family<PoolLabels, Gauge>,
    key_age: Family<KeyLabels, Gauge>,
    backchannel: Family<OutcomeLabels, Counter>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("tessera");
    let issued = Family::<IssuedLabels, Counter>::default();
    let errors = Family::<ErrorLabels, Counter>::default();
    let latency = Family::<RequestLabels, Histogram, fn() -> Histogram>::new_with_constructor(
        latency_histogram as fn() -> Histogram,
    );
    let pool = Family::<PoolLabels, Gauge>::default();
    let key_age = Family::<KeyLabels, Gauge>::default();
    let backchannel = Family::<OutcomeLabels, Counter>::default();
    registry.register(
        "backchannel_logout",
        "Back-channel logout attempts, by outcome (delivered, failed and retried, abandoned)",
        backchannel.clone(),
    );
    registry.register(
        "tokens_issued",
        "Access tokens issued, by API dialect, grant type and client",
        issued.clone(),
    );
    registry.register(
        "token_errors",
        "Token requests refused, by API dialect and RFC 6749 error code",
        errors.clone(),
    );
    registry.register(
        "http_request_duration_seconds",
        "Time to answer a request, by method, route and status class",
        latency.clone(),
    );
    registry.register(
        "db_pool_connections",
        "Database pool connections, by state (idle or in_use)",
        pool.clone(),
    );
    registry.register(
        "signing_key_age_seconds",
        "Age of every published signing key",
        key_age.clone(),
    );
    Metrics {
        registry,
        issued,
        errors,
        latency,
        pool,
        key_age,
        backchannel,
    }
});

/// Counts one round of back-channel logout deliveries.
pub fn count_backchannel(delivered: u32, failed: u32, abandoned: u32) {
    for (outcome, n) in [
        ("delivered", delivered),
        ("failed", failed),
        ("abandoned", abandoned),
    ] {
        let counter = METRICS
            .backchannel
            .get_or_create(&OutcomeLabels { outcome });
        // Registered at zero, so a scrape shows every outcome from the start.
        counter.inc_by(u64::from(n));
    }
}

/// `TokenService::issue_admitted`, counted under `dialect`.
///
/// # Errors
/// What `issue` returns.
pub async fn issue(
    state: &HttpState,
    dialect: &'static str,
    admitted: &tessera_domain::service::Admitted,
    request: IssueRequest,
    now: tessera_domain::UnixTime,
) -> Result<Issued, TokenError> {
    let grant = request.grant.label();
    let result = state.tokens.issue_admitted(admitted, request, now).await;
    match &result {
        Ok(_) => {
            METRICS
                .issued
                .get_or_create(&IssuedLabels {
                    dialect,
                    grant,
                    client: admitted.client_id().as_str().to_owned(),
                })
                .inc();
        }
        Err(e) => refused(dialect, e),
    };
    result
}

/// Counts a refused token request of `dialect`.
pub fn refused(dialect: &'static str, e: &TokenError) {
    METRICS
        .errors
        .get_or_create(&ErrorLabels {
            dialect,
            code: e.code(),
        })
        .inc();
}

/// Records how long a request took.
pub fn observe_request(
    method: &actix_web::http::Method,
    route: Option<String>,
    status: u16,
    seconds: f64,
) {
    use actix_web::http::Method;
    let method = match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    };
    let status = match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    METRICS
        .latency
        .get_or_create(&RequestLabels {
            method,
            route: route.unwrap_or_else(|| "unmatched".to_owned()),
            status,
        })
        .observe(seconds);
}

/// Sets the database pool gauges.
pub fn set_pool(connections: u32, idle: u32) {
    METRICS
        .pool
        .get_or_create(&PoolLabels { state: "idle" })
        .set(i64::from(idle));
    METRICS
        .pool
        .get_or_create(&PoolLabels { state: "in_use" })
        .set(i64::from(connections.saturating_sub(idle)));
}

/// Replaces the key-age gauges: (kid, alg, state, age in seconds) of every live key.
pub fn set_key_ages(keys: &[(String, &'static str, &'static str, i64)]) {
    METRICS.key_age.clear();
    for (kid, alg, state, age) in keys {
        METRICS
            .key_age
            .get_or_create(&KeyLabels {
                kid: kid.clone(),
                alg,
                state,
            })
            .set(*age);
    }
}

/// `GET /metrics`.
///
/// Prometheus metrics (OpenMetrics text): tokens issued by grant, dialect and client, errors by
/// code, request latency, database pool usage, key ages.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "Operations",
    operation_id = "metrics",
    responses((status = 200, description = "The metrics", content_type = "application/openmetrics-text"))
)]
pub async fn scrape() -> HttpResponse {
    let mut body = String::new();
    if prometheus_client::encoding::text::encode(&mut body, &METRICS.registry).is_err() {
        return HttpResponse::InternalServerError().finish();
    }
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}
