//! A request id on every request: taken from an incoming `X-Request-Id` when it is a sane token
//! (so a proxy's id carries through), otherwise made here; put on every response, and on the
//! tracing span every log line of the request is written in.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing::Instrument as _;

/// The header.
pub const HEADER: &str = "x-request-id";

/// A process-unique prefix (from the clock and the process id) and a counter: unique per
/// deployment without a random-number call per request.
fn next_id() -> String {
    static PREFIX: OnceLock<u32> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| {
        #[allow(
            clippy::disallowed_methods,
            reason = "a seed for unique ids, not a time anything is decided by"
        )]
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos() ^ (d.as_secs() as u32));
        nanos ^ std::process::id().rotate_left(16)
    });
    format!(
        "{prefix:08x}{:012x}",
        COUNTER.fetch_add(1, Ordering::Relaxed) & 0xffff_ffff_ffff
    )
}

/// Whether an incoming id may be reused: 1 to 64 characters of `A-Z a-z 0-9 - _ . :`.
fn acceptable(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// The middleware (`actix_web::middleware::from_fn`).
///
/// # Errors
/// Whatever the wrapped service returns.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map_or_else(next_id, str::to_owned);
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.path()
    );
    #[allow(
        clippy::disallowed_methods,
        reason = "measures the request for /metrics; no decision reads it"
    )]
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let route = req.match_pattern();
    let mut res = next.call(req).instrument(span.clone()).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(HeaderName::from_static(HEADER), value);
    }
    let status = res.status().as_u16();
    crate::metrics::observe_request(&method, route, status, started.elapsed().as_secs_f64());
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(
                status,
                elapsed_us = started.elapsed().as_micros() as u64,
                "served"
            );
        } else {
            tracing::debug!(
                status,
                elapsed_us = started.elapsed().as_micros() as u64,
                "served"
            );
        }
    });
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_incoming_ones_are_vetted() {
        let (a, b) = (next_id(), next_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 20);
        assert!(acceptable(&a));
        assert!(acceptable("edge-7f3a:01.2_x"));
        for bad in ["", "has space", "new\nline", "<script>", &"x".repeat(65)] {
            assert!(!acceptable(bad), "{bad:?}");
        }
    }
}
