//! The issued-token stores: refresh-token families, opaque access tokens and the JWT denylist.

use crate::repo::Conn;
use async_trait::async_trait;
use diesel::prelude::*;
use tessera_domain::assurance::AssuranceLevel;
use tessera_domain::issued::{
    OpaqueTokenRecord, ParamRecord, RefreshFamily, RefreshTokenRecord, RotateOutcome, TokenHash,
};
use tessera_domain::policy::Issuer;
use tessera_domain::ports::{OpaqueTokenStore, ParamStore, RefreshTokenStore, RevocationList};
use tessera_domain::token::UserClaims;
use tessera_domain::user::{Logon, UserId};
use tessera_domain::{ClientId, ParseError, Role, ScopeSet, StoreError, UnixTime};

use crate::error::from_diesel;
use crate::pool::AnyConnection;
use crate::repo::{DieselStore, keyed_tx};
use crate::rotation::{Locked, rotate_current_pg, rotate_locked};
use crate::schema::{opaque_tokens, params, refresh_families, refresh_tokens, revoked_jtis};

#[derive(Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = refresh_families)]
pub(crate) struct FamilyRow {
    pub(crate) id: String,
    pub(crate) client_id: String,
    pub(crate) subject: String,
    pub(crate) scope: String,
    pub(crate) created_at: i64,
    pub(crate) expires_at: i64,
    pub(crate) revoked_at: Option<i64>,
    pub(crate) acr: Option<String>,
    pub(crate) user_id: Option<String>,
    pub(crate) logon: Option<String>,
    pub(crate) device_id: Option<String>,
    pub(crate) default_client_id: Option<String>,
    pub(crate) resources: String,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = params)]
struct ParamRow {
    hash: String,
    client_id: String,
    user_id: String,
    expires_at: i64,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub(crate) struct RefreshRow {
    pub(crate) hash: String,
    pub(crate) family_id: String,
    pub(crate) issued_at: i64,
    pub(crate) rotated_at: Option<i64>,
    pub(crate) successor: Option<String>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = opaque_tokens)]
struct OpaqueRow {
    hash: String,
    iss: String,
    sub: String,
    aud: String,
    client_id: String,
    scope: String,
    roles: String,
    jti: String,
    iat: i64,
    exp: i64,
    revoked_at: Option<i64>,
    cnf: Option<String>,
}

fn corrupt(what: &'static str) -> impl Fn(ParseError) -> StoreError {
    move |e| StoreError::Corrupt(format!("{what}: {e}"))
}

fn family_row(f: &RefreshFamily) -> FamilyRow {
    FamilyRow {
        id: f.id.clone(),
        client_id: f.client_id.to_string(),
        subject: f.subject.clone(),
        scope: f.scope.to_string(),
        created_at: f.created_at.as_secs(),
        expires_at: f.expires_at.as_secs(),
        revoked_at: f.revoked_at.map(UnixTime::as_secs),
        acr: f.user.as_ref().map(|u| u.acr.as_str().to_owned()),
        user_id: f.user.as_ref().map(|u| u.user_id.to_string()),
        logon: f
            .user
            .as_ref()
            .and_then(|u| u.logon.as_ref())
            .map(ToString::to_string),
        device_id: f.user.as_ref().and_then(|u| u.device_id.clone()),
        default_client_id: f.user.as_ref().and_then(|u| u.default_client_id.clone()),
        resources: crate::convert::join(&f.resources),
    }
}

pub(crate) fn family_from(r: FamilyRow) -> Result<RefreshFamily, StoreError> {
    let c = corrupt("refresh family");
    Ok(RefreshFamily {
        id: r.id,
        client_id: ClientId::parse(&r.client_id).map_err(&c)?,
        subject: r.subject,
        scope: ScopeSet::parse(&r.scope).map_err(&c)?,
        created_at: UnixTime::from_secs(r.created_at),
        expires_at: UnixTime::from_secs(r.expires_at),
        revoked_at: r.revoked_at.map(UnixTime::from_secs),
        user: match (r.acr, r.user_id) {
            (Some(acr), Some(user_id)) => Some(UserClaims {
                acr: AssuranceLevel::parse(&acr).map_err(&c)?,
                user_id: UserId::parse(&user_id).map_err(&c)?,
                logon: r
                    .logon
                    .as_deref()
                    .map(Logon::parse)
                    .transpose()
                    .map_err(&c)?,
                device_id: r.device_id,
                default_client_id: r.default_client_id,
            }),
            _ => None,
        },
        resources: crate::convert::words(&r.resources, tessera_domain::resource::Resource::parse)
            .map_err(&c)?,
    })
}

fn refresh_row(t: &RefreshTokenRecord) -> RefreshRow {
    RefreshRow {
        hash: t.hash.to_text(),
        family_id: t.family_id.clone(),
        issued_at: t.issued_at.as_secs(),
        rotated_at: t.rotated_at.map(UnixTime::as_secs),
        successor: t.successor.as_ref().map(TokenHash::to_text),
    }
}

fn refresh_from(r: RefreshRow) -> Result<RefreshTokenRecord, StoreError> {
    let c = corrupt("refresh token");
    Ok(RefreshTokenRecord {
        hash: TokenHash::parse(&r.hash).map_err(&c)?,
        family_id: r.family_id,
        issued_at: UnixTime::from_secs(r.issued_at),
        rotated_at: r.rotated_at.map(UnixTime::from_secs),
        successor: r
            .successor
            .as_deref()
            .map(TokenHash::parse)
            .transpose()
            .map_err(&c)?,
    })
}

fn find_refresh(
    conn: &mut Conn,
    hash: &str,
) -> Result<Option<(RefreshRow, FamilyRow)>, diesel::result::Error> {
    refresh_tokens::table
        .inner_join(refresh_families::table)
        .filter(refresh_tokens::hash.eq(hash))
        .select((RefreshRow::as_select(), FamilyRow::as_select()))
        .first(conn)
        .optional()
}

/// [`find_refresh`] for a write: on PostgreSQL the token's row and its family's are locked
/// (`FOR UPDATE`) until the transaction ends, so a concurrent rotation of the same family waits and
/// then reads what this one wrote, while other families go on. On SQLite the transaction already
/// holds the one write lock.
pub(crate) fn find_refresh_for_update(
    conn: &mut Conn,
    hash: &str,
) -> Result<Option<(RefreshRow, FamilyRow)>, diesel::result::Error> {
    // Written per backend: the selection's types name their backend.
    macro_rules! query {
        () => {
            refresh_tokens::table
                .inner_join(refresh_families::table)
                .filter(refresh_tokens::hash.eq(hash))
                .select((RefreshRow::as_select(), FamilyRow::as_select()))
        };
    }
    match conn {
        AnyConnection::Sqlite(c) => query!().first(c).optional(),
        AnyConnection::Postgres(c) => query!().for_update().first(c).optional(),
    }
}

#[async_trait]
impl RefreshTokenStore for DieselStore {
    async fn create_family(
        &self,
        family: &RefreshFamily,
        first: &RefreshTokenRecord,
    ) -> Result<(), StoreError> {
        let (f, t) = (family_row(family), refresh_row(first));
        self.run(move |conn| {
            keyed_tx(conn, |conn| {
                diesel::insert_into(refresh_families::table)
                    .values(&f)
                    .execute(conn)?;
                diesel::insert_into(refresh_tokens::table)
                    .values(&t)
                    .execute(conn)?;
                Ok(())
            })
        })
        .await
    }

    async fn find(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<(RefreshTokenRecord, RefreshFamily)>, StoreError> {
        let hash = hash.to_text();
        self.read(move |conn| {
            find_refresh(conn, &hash)
                .map_err(from_diesel)?
                .map(|(t, f)| Ok((refresh_from(t)?, family_from(f)?)))
                .transpose()
        })
        .await
    }

    async fn rotate(
        &self,
        presented: &TokenHash,
        client: &ClientId,
        successor: &TokenHash,
        now: UnixTime,
        grace_secs: u32,
    ) -> Result<RotateOutcome, StoreError> {
        let (presented, next, client) = (
            presented.to_text(),
            successor.to_text(),
            client.as_str().to_owned(),
        );
        let now = now.as_secs();
        self.run(move |conn| {
            if let AnyConnection::Postgres(pg) = conn
                && let Some(family) =
                    rotate_current_pg(pg, &presented, &client, &next, now).map_err(from_diesel)?
            {
                return family_from(family).map(RotateOutcome::Rotated);
            }
            // SQLite, or anything but the current token on PostgreSQL (a retry, a reuse, a dead
            // family, another client's token, nothing): judged under the rows' locks.
            // Row locks, not a serializable snapshot: rotations of different families never
            // conflict, and those of one family queue on its rows (RFC 6749 §10.4 needs exactly
            // one successor).
            let outcome = keyed_tx(conn, |conn| {
                rotate_locked(conn, &presented, &client, &next, now, grace_secs)
            })?;
            Ok(match outcome {
                Locked::Rotated(f) => RotateOutcome::Rotated(family_from(f)?),
                Locked::Replayed(f) => RotateOutcome::Replayed(family_from(f)?),
                Locked::Reused => RotateOutcome::Reused,
                Locked::Dead => RotateOutcome::Dead,
                Locked::NotFound => RotateOutcome::NotFound,
            })
        })
        .await
    }

    async fn revoke_family(&self, family_id: &str, now: UnixTime) -> Result<(), StoreError> {
        let id = family_id.to_owned();
        self.run(move |conn| {
            diesel::update(
                refresh_families::table
                    .find(&id)
                    .filter(refresh_families::revoked_at.is_null()),
            )
            .set(refresh_families::revoked_at.eq(now.as_secs()))
            .execute(conn)
            .map(|_| ())
            .map_err(from_diesel)
        })
        .await
    }

    async fn purge(&self, now: UnixTime) -> Result<u64, StoreError> {
        self.run(move |conn| {
            keyed_tx(conn, |conn| {
                let dead = refresh_families::table
                    .filter(refresh_families::expires_at.le(now.as_secs()))
                    .select(refresh_families::id);
                diesel::delete(
                    refresh_tokens::table.filter(refresh_tokens::family_id.eq_any(dead)),
                )
                .execute(conn)?;
                let n = diesel::delete(
                    refresh_families::table.filter(refresh_families::expires_at.le(now.as_secs())),
                )
                .execute(conn)?;
                Ok(u64::try_from(n).unwrap_or(0))
            })
        })
        .await
    }
}

fn join_roles(roles: &[Role]) -> String {
    roles.iter().map(Role::as_str).collect::<Vec<_>>().join(" ")
}

fn opaque_from(r: OpaqueRow) -> Result<OpaqueTokenRecord, StoreError> {
    let c = corrupt("opaque token");
    Ok(OpaqueTokenRecord {
        hash: TokenHash::parse(&r.hash).map_err(&c)?,
        iss: Issuer::parse(&r.iss).map_err(&c)?,
        sub: r.sub,
        // Several audiences (RFC 8707) are stored space-separated.
        aud: tessera_domain::resource::Audiences::parse_all(
            r.aud.split(' ').filter(|a| !a.is_empty()),
        )
        .map_err(&c)?,
        client_id: ClientId::parse(&r.client_id).map_err(&c)?,
        scope: ScopeSet::parse(&r.scope).map_err(&c)?,
        roles: r
            .roles
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(Role::parse)
            .collect::<Result<_, _>>()
            .map_err(&c)?,
        jti: r.jti,
        iat: UnixTime::from_secs(r.iat),
        exp: UnixTime::from_secs(r.exp),
        revoked_at: r.revoked_at.map(UnixTime::from_secs),
        cnf: r
            .cnf
            .as_deref()
            .map(tessera_domain::cert::CertThumbprint::parse)
            .transpose()
            .map_err(&c)?,
    })
}

#[async_trait]
impl OpaqueTokenStore for DieselStore {
    async fn insert(&self, record: &OpaqueTokenRecord) -> Result<(), StoreError> {
        let row = OpaqueRow {
            hash: record.hash.to_text(),
            iss: record.iss.to_string(),
            sub: record.sub.clone(),
            aud: record.aud.to_string(),
            client_id: record.client_id.to_string(),
            scope: record.scope.to_string(),
            roles: join_roles(&record.roles),
            jti: record.jti.clone(),
            iat: record.iat.as_secs(),
            exp: record.exp.as_secs(),
            revoked_at: record.revoked_at.map(UnixTime::as_secs),
            cnf: record.cnf.as_ref().map(ToString::to_string),
        };
        self.run(move |conn| {
            diesel::insert_into(opaque_tokens::table)
                .values(&row)
                .execute(conn)
                .map(|_| ())
                .map_err(from_diesel)
        })
        .await
    }

    async fn find(&self, hash: &TokenHash) -> Result<Option<OpaqueTokenRecord>, StoreError> {
        let hash = hash.to_text();
        self.read(move |conn| {
            opaque_tokens::table
                .find(&hash)
                .select(OpaqueRow::as_select())
                .first(conn)
                .optional()
                .map_err(from_diesel)?
                .map(opaque_from)
                .transpose()
        })
        .await
    }

    async fn revoke(&self, hash: &TokenHash, now: UnixTime) -> Result<(), StoreError> {
        let hash = hash.to_text();
        self.run(move |conn| {
            diesel::update(
                opaque_tokens::table
                    .find(&hash)
                    .filter(opaque_tokens::revoked_at.is_null()),
            )
            .set(opaque_tokens::revoked_at.eq(now.as_secs()))
            .execute(conn)
            .map(|_| ())
            .map_err(from_diesel)
        })
        .await
    }

    async fn purge(&self, now: UnixTime) -> Result<u64, StoreError> {
        self.run(move |conn| {
            diesel::delete(opaque_tokens::table.filter(opaque_tokens::exp.le(now.as_secs())))
                .execute(conn)
                .map(|n| u64::try_from(n).unwrap_or(0))
                .map_err(from_diesel)
        })
        .await
    }
}

#[async_trait]
impl RevocationList for DieselStore {
    async fn revoke(&self, jti: &str, expires_at: UnixTime) -> Result<(), StoreError> {
        let jti = jti.to_owned();
        self.run(move |conn| {
            // Revoking twice is revoking once: the serializable transaction makes the check and
            // the insert one step.
            crate::repo::write_tx(conn, |conn| {
                let known = revoked_jtis::table
                    .find(&jti)
                    .count()
                    .get_result::<i64>(conn)?;
                if known == 0 {
                    diesel::insert_into(revoked_jtis::table)
                        .values((
                            revoked_jtis::jti.eq(&jti),
                            revoked_jtis::expires_at.eq(expires_at.as_secs()),
                        ))
                        .execute(conn)?;
                    // Every node's copy in memory reloads when this moves.
                    crate::repo::bump(conn, "revocations")?;
                }
                Ok(())
            })
        })
        .await
    }

    async fn is_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        let jti = jti.to_owned();
        self.read(move |conn| {
            revoked_jtis::table
                .find(&jti)
                .count()
                .get_result::<i64>(conn)
                .map(|n| n > 0)
                .map_err(from_diesel)
        })
        .await
    }

    async fn purge(&self, now: UnixTime) -> Result<u64, StoreError> {
        self.run(move |conn| {
            diesel::delete(revoked_jtis::table.filter(revoked_jtis::expires_at.le(now.as_secs())))
                .execute(conn)
                .map(|n| u64::try_from(n).unwrap_or(0))
                .map_err(from_diesel)
        })
        .await
    }
    async fn version(&self) -> Result<u64, StoreError> {
        self.read(|conn| crate::repo::read_version(conn, "revocations"))
            .await
    }

    async fn live(&self, now: UnixTime) -> Result<Vec<String>, StoreError> {
        self.read(move |conn| {
            revoked_jtis::table
                .filter(revoked_jtis::expires_at.gt(now.as_secs()))
                .select(revoked_jtis::jti)
                .load(conn)
                .map_err(from_diesel)
        })
        .await
    }
}

#[async_trait]
impl ParamStore for DieselStore {
    async fn insert(&self, param: &ParamRecord) -> Result<(), StoreError> {
        let row = ParamRow {
            hash: param.hash.to_text(),
            client_id: param.client_id.to_string(),
            user_id: param.user_id.to_string(),
            expires_at: param.expires_at.as_secs(),
        };
        self.run(move |conn| {
            keyed_tx(conn, |conn| {
                // Expired params are swept whenever a new one is made.
                diesel::delete(
                    params::table.filter(params::expires_at.le(row.expires_at - 86_400)),
                )
                .execute(conn)?;
                diesel::insert_into(params::table)
                    .values(&row)
                    .execute(conn)
                    .map(|_| ())
            })
        })
        .await
    }

    async fn consume(
        &self,
        hash: &TokenHash,
        client: &ClientId,
        now: UnixTime,
    ) -> Result<Option<ParamRecord>, StoreError> {
        let (hash, client) = (hash.to_text(), client.to_string());
        self.run(move |conn| {
            // One conditional DELETE … RETURNING: of any number of racing uses, one gets the row.
            let row: Option<ParamRow> = crate::pool::each_backend!(conn, |c| diesel::delete(
                params::table
                    .filter(params::hash.eq(&hash))
                    .filter(params::client_id.eq(&client))
                    .filter(params::expires_at.gt(now.as_secs())),
            )
            .returning(ParamRow::as_returning())
            .get_result(c)
            .optional())
            .map_err(from_diesel)?;
            let c = corrupt("param");
            row.map(|r| {
                Ok(ParamRecord {
                    hash: TokenHash::parse(&r.hash).map_err(&c)?,
                    client_id: ClientId::parse(&r.client_id).map_err(&c)?,
                    user_id: UserId::parse(&r.user_id).map_err(&c)?,
                    expires_at: UnixTime::from_secs(r.expires_at),
                })
            })
            .transpose()
        })
        .await
    }
}
