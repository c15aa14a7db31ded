//! The audit trail over Diesel: appended in batches, read back newest last, purged by age.

use async_trait::async_trait;
use diesel::prelude::*;
use tessera_domain::audit::{AuditEvent, AuditKind, AuditQuery, Recorded};
use tessera_domain::ports::AuditStore;
use tessera_domain::{StoreError, UnixTime};

use crate::error::from_diesel;
use crate::pool::each_backend;
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
    id: i64,
    at: i64,
    kind: String,
    client_id: Option<String>,
    subject: Option<String>,
    source: Option<String>,
    detail: String,
}

fn recorded(r: EventRow) -> Result<Recorded, StoreError> {
    Ok(Recorded {
        id: u64::try_from(r.id).unwrap_or_default(),
        event: AuditEvent {
            at: UnixTime::from_secs(r.at),
            kind: AuditKind::parse(&r.kind)
                .map_err(|e| StoreError::Corrupt(format!("audit event: {e}")))?,
            client_id: r.client_id,
            subject: r.subject,
            source: r.source,
            detail: r.detail,
        },
    })
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

    async fn query(&self, query: &AuditQuery) -> Result<Vec<Recorded>, StoreError> {
        let q = query.clone().bounded();
        self.read(move |conn| {
            let id = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
            let forward = q.reads_forward();
            let mut rows: Vec<EventRow> = each_backend!(conn, |c| {
                let mut select = audit_events::table
                    .select(EventRow::as_select())
                    .into_boxed();
                if let Some(since) = q.since {
                    select = select.filter(audit_events::at.ge(since.as_secs()));
                }
                if let Some(kind) = q.kind {
                    select = select.filter(audit_events::kind.eq(kind.as_str()));
                }
                if let Some(client) = &q.client_id {
                    select = select.filter(audit_events::client_id.eq(client.clone()));
                }
                if let Some(subject) = &q.subject {
                    select = select.filter(audit_events::subject.eq(subject.clone()));
                }
                if let Some(after) = q.after {
                    select = select.filter(audit_events::id.gt(id(after)));
                }
                if let Some(before) = q.before {
                    select = select.filter(audit_events::id.lt(id(before)));
                }
                select = if forward {
                    select.order(audit_events::id.asc())
                } else {
                    select.order(audit_events::id.desc())
                };
                select.limit(i64::from(q.limit)).load(c)
            })
            .map_err(from_diesel)?;
            if !forward {
                rows.reverse();
            }
            rows.into_iter().map(recorded).collect()
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
        let tail = store.query(&AuditQuery::tail(3)).await.unwrap();
        assert_eq!(tail.len(), 3);
        assert_eq!(tail[2].event.kind, AuditKind::ClientCreated);
        assert_eq!(tail[2].event.source.as_deref(), Some("10.0.0.1"));
        assert_eq!(tail[1].event.detail, "at 449");
        assert!(tail[0].id < tail[1].id && tail[1].id < tail[2].id);
        // The store selects what the domain's definition selects, filters and cursors alike.
        let all = store.query(&AuditQuery::tail(1000)).await.unwrap();
        assert_eq!(all.len(), 451);
        let queries = [
            AuditQuery {
                kind: Some(AuditKind::ClientCreated),
                ..AuditQuery::tail(10)
            },
            AuditQuery {
                since: Some(UnixTime::from_secs(440)),
                limit: 5,
                ..AuditQuery::default()
            },
            AuditQuery {
                after: Some(all[100].id),
                client_id: Some("svc".into()),
                limit: 7,
                ..AuditQuery::default()
            },
            AuditQuery {
                before: Some(all[100].id),
                limit: 7,
                ..AuditQuery::default()
            },
            AuditQuery {
                subject: Some("nobody".into()),
                ..AuditQuery::tail(10)
            },
        ];
        for q in queries {
            assert_eq!(store.query(&q).await.unwrap(), q.select(&all), "{q:?}");
        }
        assert_eq!(store.purge(UnixTime::from_secs(400)).await, Ok(400));
        assert_eq!(
            store.query(&AuditQuery::tail(1000)).await.unwrap().len(),
            51
        );
    }

    on_both_backends!(events_append_in_order_read_back_newest_last_and_purge_by_age);
}
