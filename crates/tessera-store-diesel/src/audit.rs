//! The audit trail over Diesel: appended in batches, read back newest last, purged by age.

use async_trait::async_trait;
use diesel::prelude::*;
use tessera_domain::audit::{AuditEvent, AuditKind};
use tessera_domain::ports::AuditStore;
use tessera_domain::{StoreError, UnixTime};

use crate::error::from_diesel;
use crate::repo::{DieselStore, keyed_tx};
use crate::schema::audit_events;

#[derive(Insertable)]
#[diesel(table_name = audit_events)]
struct NewEvent<'a> {
    at: i64,
    kind: &'a str,
    client_id: Option<&'a str>,
    subject: Option<&'a str>,
    source: Option<&'a str>,
    detail: &'a str,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = audit_events)]
struct EventRow {
    at: i64,
    kind: String,
    client_id: Option<String>,
    subject: Option<String>,
    source: Option<String>,
    detail: String,
}

#[async_trait]
impl AuditStore for DieselStore {
    async fn append(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        let events = events.to_vec();
        self.run(move |conn| {
            keyed_tx(conn, |conn| {
                let rows: Vec<NewEvent<'_>> = events
                    .iter()
                    .map(|e| NewEvent {
                        at: e.at.as_secs(),
                        kind: e.kind.as_str(),
                        client_id: e.client_id.as_deref(),
                        subject: e.subject.as_deref(),
                        source: e.source.as_deref(),
                        detail: &e.detail,
                    })
                    .collect();
                for chunk in rows.chunks(200) {
                    crate::pool::each_backend!(conn, |c| diesel::insert_into(audit_events::table)
                        .values(chunk)
                        .execute(c))?;
                }
                Ok(())
            })
        })
        .await
    }

    async fn tail(&self, limit: u32) -> Result<Vec<AuditEvent>, StoreError> {
        self.read(move |conn| {
            let mut rows: Vec<EventRow> = audit_events::table
                .order(audit_events::id.desc())
                .limit(i64::from(limit))
                .select(EventRow::as_select())
                .load(conn)
                .map_err(from_diesel)?;
            rows.reverse();
            rows.into_iter()
                .map(|r| {
                    Ok(AuditEvent {
                        at: UnixTime::from_secs(r.at),
                        kind: AuditKind::parse(&r.kind)
                            .map_err(|e| StoreError::Corrupt(format!("audit event: {e}")))?,
                        client_id: r.client_id,
                        subject: r.subject,
                        source: r.source,
                        detail: r.detail,
                    })
                })
                .collect()
        })
        .await
    }

    async fn purge(&self, before: UnixTime) -> Result<u64, StoreError> {
        self.run(move |conn| {
            diesel::delete(audit_events::table.filter(audit_events::at.lt(before.as_secs())))
                .execute(conn)
                .map(|n| n as u64)
                .map_err(from_diesel)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::testdb::{TestDb, on_both_backends};

    async fn events_append_in_order_read_back_newest_last_and_purge_by_age(db: TestDb) {
        let store = db.store();
        let event = |at: i64, kind| {
            AuditEvent::new(kind, UnixTime::from_secs(at), format!("at {at}")).client("svc")
        };
        let events: Vec<_> = (0..450).map(|i| event(i, AuditKind::TokenIssued)).collect();
        store.append(&events).await.unwrap();
        store
            .append(&[event(1000, AuditKind::ClientCreated).source(Some("10.0.0.1"))])
            .await
            .unwrap();
        let tail = store.tail(3).await.unwrap();
        assert_eq!(tail.len(), 3);
        assert_eq!(tail[2].kind, AuditKind::ClientCreated);
        assert_eq!(tail[2].source.as_deref(), Some("10.0.0.1"));
        assert_eq!(tail[1].detail, "at 449");
        assert_eq!(store.purge(UnixTime::from_secs(400)).await, Ok(400));
        assert_eq!(store.tail(1000).await.unwrap().len(), 51);
    }

    on_both_backends!(events_append_in_order_read_back_newest_last_and_purge_by_age);
}
