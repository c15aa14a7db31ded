//! Back-Channel Logout's store: which clients took part in which session (`session_clients`)
//! and the logout notices waiting for delivery (`logout_notices`), claimed in one write transaction
//! so two nodes never deliver the same notice at once.

use async_trait::async_trait;
use diesel::prelude::*;
use tessera_domain::backchannel::{LogoutNotice, Participant};
use tessera_domain::ports::LogoutOutbox;
use tessera_domain::registration::BackchannelUri;
use tessera_domain::user::UserId;
use tessera_domain::{ClientId, ParseError, StoreError, UnixTime};

use crate::error::from_diesel;
use crate::repo::{DieselStore, keyed_tx, write_tx};
use crate::schema::{logout_notices, session_clients};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = session_clients)]
struct ParticipantRow {
    sid: String,
    client_id: String,
    user_id: String,
    expires_at: i64,
}

fn participant(r: ParticipantRow) -> Result<Participant, StoreError> {
    let c = |e: ParseError| StoreError::Corrupt(format!("session client: {e}"));
    Ok(Participant {
        sid: r.sid,
        user_id: UserId::parse(&r.user_id).map_err(c)?,
        client_id: ClientId::parse(&r.client_id).map_err(c)?,
        expires_at: UnixTime::from_secs(r.expires_at),
    })
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = logout_notices)]
struct NoticeRow {
    jti: String,
    client_id: String,
    uri: String,
    sub: String,
    sid: Option<String>,
    attempts: i32,
    next_attempt_at: i64,
    give_up_at: i64,
}

fn notice_row(n: &LogoutNotice) -> NoticeRow {
    NoticeRow {
        jti: n.jti.clone(),
        client_id: n.client_id.to_string(),
        uri: n.uri.to_string(),
        sub: n.sub.clone(),
        sid: n.sid.clone(),
        attempts: i32::try_from(n.attempts).unwrap_or(i32::MAX),
        next_attempt_at: n.next_attempt_at.as_secs(),
        give_up_at: n.give_up_at.as_secs(),
    }
}

fn notice(r: NoticeRow) -> Result<LogoutNotice, StoreError> {
    let c = |e: ParseError| StoreError::Corrupt(format!("logout notice: {e}"));
    Ok(LogoutNotice {
        jti: r.jti,
        client_id: ClientId::parse(&r.client_id).map_err(c)?,
        uri: BackchannelUri::parse(&r.uri).map_err(c)?,
        sub: r.sub,
        sid: r.sid,
        attempts: u32::try_from(r.attempts).unwrap_or_default(),
        next_attempt_at: UnixTime::from_secs(r.next_attempt_at),
        give_up_at: UnixTime::from_secs(r.give_up_at),
    })
}

#[async_trait]
impl LogoutOutbox for DieselStore {
    async fn record_participant(&self, p: &Participant) -> Result<(), StoreError> {
        let row = ParticipantRow {
            sid: p.sid.clone(),
            client_id: p.client_id.to_string(),
            user_id: p.user_id.to_string(),
            expires_at: p.expires_at.as_secs(),
        };
        self.run(move |conn| {
            // Idempotent without ON CONFLICT (which the multi-backend connection cannot carry):
            // a repeat is a unique violation of the primary key, and then only a later expiry
            // is written.
            match diesel::insert_into(session_clients::table)
                .values(&row)
                .execute(conn)
                .map_err(from_diesel)
            {
                Ok(_) => Ok(()),
                Err(StoreError::Conflict) => diesel::update(
                    session_clients::table
                        .find((&row.sid, &row.client_id))
                        .filter(session_clients::expires_at.lt(row.expires_at)),
                )
                .set(session_clients::expires_at.eq(row.expires_at))
                .execute(conn)
                .map(|_| ())
                .map_err(from_diesel),
                Err(e) => Err(e),
            }
        })
        .await
    }

    async fn extend_participants(&self, sid: &str, until: UnixTime) -> Result<(), StoreError> {
        let sid = sid.to_owned();
        self.run(move |conn| {
            diesel::update(
                session_clients::table
                    .filter(session_clients::sid.eq(&sid))
                    .filter(session_clients::expires_at.lt(until.as_secs())),
            )
            .set(session_clients::expires_at.eq(until.as_secs()))
            .execute(conn)
            .map(|_| ())
            .map_err(from_diesel)
        })
        .await
    }

    async fn participants(&self, sids: &[String]) -> Result<Vec<Participant>, StoreError> {
        let sids = sids.to_vec();
        self.read(move |conn| {
            let rows: Vec<ParticipantRow> = session_clients::table
                .filter(session_clients::sid.eq_any(&sids))
                .select(ParticipantRow::as_select())
                .load(conn)
                .map_err(from_diesel)?;
            rows.into_iter().map(participant).collect()
        })
        .await
    }

    async fn forget_participants(&self, sids: &[String]) -> Result<(), StoreError> {
        let sids = sids.to_vec();
        self.run(move |conn| {
            diesel::delete(session_clients::table.filter(session_clients::sid.eq_any(&sids)))
                .execute(conn)
                .map(|_| ())
                .map_err(from_diesel)
        })
        .await
    }

    async fn enqueue(&self, notices: &[LogoutNotice]) -> Result<(), StoreError> {
        if notices.is_empty() {
            return Ok(());
        }
        let rows: Vec<NoticeRow> = notices.iter().map(notice_row).collect();
        self.run(move |conn| {
            keyed_tx(conn, |conn| {
                for row in &rows {
                    diesel::insert_into(logout_notices::table)
                        .values(row)
                        .execute(conn)?;
                }
                Ok(())
            })
        })
        .await
    }

    async fn claim_due(
        &self,
        now: UnixTime,
        lease_until: UnixTime,
        limit: u32,
    ) -> Result<Vec<LogoutNotice>, StoreError> {
        self.run(move |conn| {
            // Most rounds find nothing: ask without a write transaction first, so an idle courier
            // never queues behind (or holds up) the token endpoint's writes.
            let due: Option<String> = logout_notices::table
                .filter(logout_notices::next_attempt_at.le(now.as_secs()))
                .select(logout_notices::jti)
                .first(conn)
                .optional()
                .map_err(from_diesel)?;
            if due.is_none() {
                return Ok(Vec::new());
            }
            let rows: Vec<NoticeRow> = write_tx(conn, |conn| {
                let rows: Vec<NoticeRow> = logout_notices::table
                    .filter(logout_notices::next_attempt_at.le(now.as_secs()))
                    .order((logout_notices::next_attempt_at, logout_notices::jti))
                    .limit(i64::from(limit))
                    .select(NoticeRow::as_select())
                    .load(conn)?;
                let jtis: Vec<&str> = rows.iter().map(|r| r.jti.as_str()).collect();
                diesel::update(logout_notices::table.filter(logout_notices::jti.eq_any(&jtis)))
                    .set(logout_notices::next_attempt_at.eq(lease_until.as_secs()))
                    .execute(conn)?;
                Ok(rows)
            })?;
            rows.into_iter().map(notice).collect()
        })
        .await
    }

    async fn reschedule(&self, jti: &str, attempts: u32, at: UnixTime) -> Result<(), StoreError> {
        let jti = jti.to_owned();
        let attempts = i32::try_from(attempts).unwrap_or(i32::MAX);
        self.run(move |conn| {
            diesel::update(logout_notices::table.find(&jti))
                .set((
                    logout_notices::attempts.eq(attempts),
                    logout_notices::next_attempt_at.eq(at.as_secs()),
                ))
                .execute(conn)
                .map(|_| ())
                .map_err(from_diesel)
        })
        .await
    }

    async fn finish(&self, jti: &str) -> Result<(), StoreError> {
        let jti = jti.to_owned();
        self.run(move |conn| {
            diesel::delete(logout_notices::table.find(&jti))
                .execute(conn)
                .map(|_| ())
                .map_err(from_diesel)
        })
        .await
    }

    async fn purge(&self, now: UnixTime) -> Result<u64, StoreError> {
        self.run(move |conn| {
            diesel::delete(
                session_clients::table.filter(session_clients::expires_at.le(now.as_secs())),
            )
            .execute(conn)
            .map(|n| n as u64)
            .map_err(from_diesel)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use crate::testdb::{TestDb, on_both_backends};

    async fn keeps_the_logout_outbox_contract(db: TestDb) {
        tessera_testkit::outbox::contract(&db.store()).await;
    }

    on_both_backends!(keeps_the_logout_outbox_contract);
}
