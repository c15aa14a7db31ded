//! The audit log behind the domain's fire-and-forget port: events go through a bounded channel
//! to a task that appends them in batches, so a token request never waits for the audit write.
//! When the channel is full (the database far behind) events are dropped, counted and logged —
//! never a refused request. The command line collects its few events and appends them before it
//! exits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tessera_domain::audit::{AuditEvent, AuditKind};
use tessera_domain::ports::{AuditLog, AuditStore};
use tokio::sync::mpsc;

/// How many events may wait for the writer.
const QUEUE: usize = 20_000;
/// The most events written in one transaction.
const BATCH: usize = 1_000;
/// How long the writer lets events gather after the first of a batch arrives: a busy server then
/// writes hundreds of events per transaction instead of a transaction per token (each one a
/// commit, and on SQLite the one writer's turn); an event reaches the database this much later.
const LINGER: std::time::Duration = std::time::Duration::from_millis(20);

/// The server's audit log.
pub struct BufferedAudit {
    tx: mpsc::Sender<AuditEvent>,
    dropped: AtomicU64,
    /// Events accepted and not yet written (or given up on) by the writer.
    pending: Arc<AtomicU64>,
    token_events: bool,
}

impl BufferedAudit {
    /// The log and its writer task, appending to `store`.
    pub fn start(
        store: Arc<dyn AuditStore>,
        token_events: bool,
    ) -> (Arc<Self>, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::channel::<AuditEvent>(QUEUE);
        let pending = Arc::new(AtomicU64::new(0));
        let written = Arc::clone(&pending);
        let writer = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while rx.recv_many(&mut batch, BATCH).await > 0 {
                if batch.len() < BATCH {
                    tokio::time::sleep(LINGER).await;
                    while batch.len() < BATCH {
                        match rx.try_recv() {
                            Ok(event) => batch.push(event),
                            Err(_) => break,
                        }
                    }
                }
                if let Err(e) = store.append(&batch).await {
                    tracing::error!(error = %e, events = batch.len(), "writing audit events failed; they are lost");
                }
                written.fetch_sub(batch.len() as u64, Ordering::AcqRel);
                batch.clear();
            }
        });
        (
            Arc::new(Self {
                tx,
                dropped: AtomicU64::new(0),
                pending,
                token_events,
            }),
            writer,
        )
    }

    /// Waits (at most `limit`) until every accepted event has been written (or given up on).
    pub async fn drain(&self, limit: std::time::Duration) {
        let started = std::time::Instant::now();
        while self.pending.load(Ordering::Acquire) > 0 && started.elapsed() < limit {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

impl AuditLog for BufferedAudit {
    fn record(&self, event: AuditEvent) {
        if !self.token_events
            && matches!(
                event.kind,
                AuditKind::TokenIssued | AuditKind::TokenRefreshed
            )
        {
            return;
        }
        // Counted before it is sent, so the writer never takes it off the count first.
        self.pending.fetch_add(1, Ordering::AcqRel);
        if self.tx.try_send(event).is_err() {
            self.pending.fetch_sub(1, Ordering::AcqRel);
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                tracing::warn!(dropped, "the audit queue is full: events are being dropped");
            }
        }
    }
}

/// The command line's audit log: it keeps events until the command appends them.
#[derive(Default)]
pub struct CollectedAudit(Mutex<Vec<AuditEvent>>);

impl CollectedAudit {
    /// Appends what was collected.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn flush(&self, store: &dyn AuditStore) -> anyhow::Result<()> {
        let events = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        if !events.is_empty() {
            store.append(&events).await?;
        }
        Ok(())
    }
}

impl AuditLog for CollectedAudit {
    fn record(&self, event: AuditEvent) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(event);
    }
}

/// `tessera audit tail`: the newest `lines` events as JSON lines, oldest first.
///
/// # Errors
/// When the store cannot be read.
pub async fn tail(settings: &crate::settings::Settings, lines: u32) -> anyhow::Result<()> {
    let store = crate::wiring::open_store(settings)?;
    for r in store
        .query(&tessera_domain::audit::AuditQuery::tail(lines))
        .await?
    {
        let e = r.event;
        println!(
            "{}",
            serde_json::json!({
                "at": e.at.as_secs(),
                "kind": e.kind.as_str(),
                "client_id": e.client_id,
                "subject": e.subject,
                "source": e.source,
                "detail": e.detail,
            })
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use async_trait::async_trait;
    use tessera_domain::{StoreError, UnixTime};

    /// Remembers each append's batch size.
    #[derive(Default)]
    struct Batches(Mutex<Vec<usize>>);

    #[async_trait]
    impl AuditStore for Batches {
        async fn append(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
            self.0.lock().unwrap().push(events.len());
            Ok(())
        }
        async fn query(
            &self,
            _: &tessera_domain::audit::AuditQuery,
        ) -> Result<Vec<tessera_domain::audit::Recorded>, StoreError> {
            Ok(Vec::new())
        }
        async fn purge(&self, _: UnixTime) -> Result<u64, StoreError> {
            Ok(0)
        }
    }

    /// Events recorded together are written in one append, and `drain` returns only once they
    /// are written (what a graceful stop relies on).
    #[tokio::test]
    async fn events_recorded_together_are_written_in_one_batch_before_drain_returns() {
        let store = Arc::new(Batches::default());
        let (audit, _writer) =
            BufferedAudit::start(Arc::clone(&store) as Arc<dyn AuditStore>, true);
        for n in 0..50 {
            audit.record(AuditEvent::new(
                AuditKind::TokenIssued,
                UnixTime::from_secs(n),
                "x",
            ));
        }
        audit.drain(std::time::Duration::from_secs(5)).await;
        assert_eq!(*store.0.lock().unwrap(), vec![50]);
    }
}
