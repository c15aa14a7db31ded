//! Refresh-token rotation's statements (RFC 6749 §6, §10.4): on PostgreSQL the current token in
//! one prepared statement, and every case under the rows' locks.

use diesel::prelude::*;

use crate::repo::Conn;
use crate::schema::{refresh_families, refresh_tokens};
use crate::tokens::{FamilyRow, find_refresh_for_update};

/// What a rotation under the rows' locks found (the family still as stored).
pub(crate) enum Locked {
    Rotated(FamilyRow),
    Replayed(FamilyRow),
    Reused,
    Dead,
    NotFound,
}

/// PostgreSQL's rotation of a current token in one statement, so one round trip: mark the
/// presented token rotated only if it is current and its family live and the client's, insert
/// the successor in the same family, and answer with the family. `None` when the token was not
/// current (or not there, or another client's): nothing changed, and [`rotate_locked`] judges.
///
/// The conditional `UPDATE … WHERE rotated_at IS NULL` is the atomic step: of concurrent
/// rotations of one token, one updates the row; the others wait for its row lock, then find it
/// rotated and update nothing (READ COMMITTED re-checks the condition on the new row version).
pub(crate) fn rotate_current_pg(
    conn: &mut diesel::pg::PgConnection,
    presented: &str,
    client: &str,
    next: &str,
    now: i64,
) -> Result<Option<FamilyRow>, diesel::result::Error> {
    RotateCurrent {
        presented,
        client,
        next,
        now,
    }
    .get_result::<FamilyRow>(conn)
    .optional()
}

/// The statement of [`rotate_current_pg`]. Its own query type with a static id, so that Diesel
/// keeps it as a named prepared statement on each connection: PostgreSQL parses and plans it
/// once per connection rather than on every refresh (planning the CTE cost more than running it).
struct RotateCurrent<'a> {
    presented: &'a str,
    client: &'a str,
    next: &'a str,
    now: i64,
}

/// The static query id of [`RotateCurrent`].
struct RotateCurrentId;

impl diesel::query_builder::QueryId for RotateCurrent<'_> {
    type QueryId = RotateCurrentId;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl diesel::query_builder::Query for RotateCurrent<'_> {
    type SqlType = diesel::sql_types::Untyped;
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for RotateCurrent<'_> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        use diesel::sql_types::{BigInt, Text};
        out.push_sql("WITH used AS (UPDATE refresh_tokens SET rotated_at = ");
        out.push_bind_param::<BigInt, _>(&self.now)?;
        out.push_sql(", successor = ");
        out.push_bind_param::<Text, _>(self.next)?;
        out.push_sql(" WHERE hash = ");
        out.push_bind_param::<Text, _>(self.presented)?;
        out.push_sql(
            " AND rotated_at IS NULL AND family_id IN (SELECT id FROM refresh_families \
             WHERE client_id = ",
        );
        out.push_bind_param::<Text, _>(self.client)?;
        out.push_sql(" AND revoked_at IS NULL AND expires_at > ");
        out.push_bind_param::<BigInt, _>(&self.now)?;
        out.push_sql(
            ") RETURNING family_id), added AS (INSERT INTO refresh_tokens \
             (hash, family_id, issued_at) SELECT ",
        );
        out.push_bind_param::<Text, _>(self.next)?;
        out.push_sql(", family_id, ");
        out.push_bind_param::<BigInt, _>(&self.now)?;
        out.push_sql(
            " FROM used RETURNING family_id) SELECT f.* FROM refresh_families f \
             JOIN added ON f.id = added.family_id",
        );
        Ok(())
    }
}

impl RunQueryDsl<diesel::pg::PgConnection> for RotateCurrent<'_> {}

/// The rotation with its rows locked (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's one writer),
/// for every case: current, a retry within the grace window, reuse, a dead family, another
/// client's token, no token.
pub(crate) fn rotate_locked(
    conn: &mut Conn,
    presented: &str,
    client: &str,
    next: &str,
    now: i64,
    grace_secs: u32,
) -> Result<Locked, diesel::result::Error> {
    let Some((token, family)) = find_refresh_for_update(conn, presented)? else {
        return Ok(Locked::NotFound);
    };
    if family.client_id != client {
        return Ok(Locked::NotFound);
    }
    if family.revoked_at.is_some() || now >= family.expires_at {
        return Ok(Locked::Dead);
    }
    if token.rotated_at.is_none() {
        // The conditional write: only a token that is still current is rotated.
        let changed = diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::hash.eq(presented))
                .filter(refresh_tokens::rotated_at.is_null()),
        )
        .set((
            refresh_tokens::rotated_at.eq(now),
            refresh_tokens::successor.eq(next),
        ))
        .execute(conn)?;
        if changed == 1 {
            diesel::insert_into(refresh_tokens::table)
                .values((
                    refresh_tokens::hash.eq(next),
                    refresh_tokens::family_id.eq(&token.family_id),
                    refresh_tokens::issued_at.eq(now),
                ))
                .execute(conn)?;
            return Ok(Locked::Rotated(family));
        }
    }
    let within_grace = token
        .rotated_at
        .is_some_and(|at| now.saturating_sub(at) <= i64::from(grace_secs));
    let same_successor = token.successor.as_deref() == Some(next);
    let successor_unused = same_successor
        && refresh_tokens::table
            .filter(refresh_tokens::hash.eq(next))
            .filter(refresh_tokens::rotated_at.is_null())
            .count()
            .get_result::<i64>(conn)?
            == 1;
    if within_grace && successor_unused {
        return Ok(Locked::Replayed(family));
    }
    diesel::update(refresh_families::table.find(&token.family_id))
        .set(refresh_families::revoked_at.eq(now))
        .execute(conn)?;
    Ok(Locked::Reused)
}
