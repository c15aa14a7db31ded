//! The authorization code flow's stores: codes (redeemed once, atomically), browser sessions and
//! remembered consent.

use async_trait::async_trait;
use diesel::prelude::*;
use tessera_domain::authorize::{
    CodeChallenge, CodeIssue, CodeRecord, Nonce, Redemption, RedirectUri, Session,
};
use tessera_domain::issued::TokenHash;
use tessera_domain::ports::{AuthorizationCodeStore, ConsentStore, SessionStore};
use tessera_domain::user::UserId;
use tessera_domain::{ClientId, ParseError, ScopeSet, StoreError, UnixTime};

use crate::error::from_diesel;
use crate::repo::{DieselStore, keyed_tx, write_tx};
use crate::schema::{authorization_codes, consents, sessions};

/// How long after expiry a code is kept, so that a late second redemption still finds what the
/// first one issued.
const CODE_RETENTION_SECS: i64 = 86_400;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = authorization_codes)]
struct CodeRow {
    hash: String,
    client_id: String,
    user_id: String,
    redirect_uri: String,
    redirect_uri_explicit: bool,
    scope: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
    auth_time: i64,
    expires_at: i64,
    redeemed_at: Option<i64>,
    issued_family_id: Option<String>,
    issued_jti: Option<String>,
    issued_expires_at: Option<i64>,
    sid: Option<String>,
    resources: String,
}

fn code_row(c: &CodeRecord) -> CodeRow {
    CodeRow {
        hash: c.hash.to_text(),
        client_id: c.client_id.to_string(),
        user_id: c.user_id.to_string(),
        redirect_uri: c.redirect_uri.to_string(),
        redirect_uri_explicit: c.redirect_uri_explicit,
        scope: c.scope.to_string(),
        nonce: c.nonce.as_ref().map(ToString::to_string),
        code_challenge: c.challenge.as_ref().map(|ch| ch.as_str().to_owned()),
        auth_time: c.auth_time.as_secs(),
        expires_at: c.expires_at.as_secs(),
        redeemed_at: None,
        issued_family_id: c.issued.as_ref().and_then(|i| i.family_id.clone()),
        issued_jti: c.issued.as_ref().map(|i| i.jti.clone()),
        issued_expires_at: c.issued.as_ref().map(|i| i.expires_at.as_secs()),
        sid: c.sid.clone(),
        resources: crate::convert::join(&c.resources),
    }
}

fn code_record(r: CodeRow) -> Result<CodeRecord, StoreError> {
    let c = |e: ParseError| StoreError::Corrupt(format!("authorization code: {e}"));
    let issued = match (r.issued_jti, r.issued_expires_at) {
        (Some(jti), Some(exp)) => Some(CodeIssue {
            family_id: r.issued_family_id,
            jti,
            expires_at: UnixTime::from_secs(exp),
        }),
        _ => None,
    };
    Ok(CodeRecord {
        hash: TokenHash::parse(&r.hash).map_err(c)?,
        client_id: ClientId::parse(&r.client_id).map_err(c)?,
        user_id: UserId::parse(&r.user_id).map_err(c)?,
        redirect_uri: RedirectUri::parse(&r.redirect_uri).map_err(c)?,
        redirect_uri_explicit: r.redirect_uri_explicit,
        scope: ScopeSet::parse(&r.scope).map_err(c)?,
        nonce: r
            .nonce
            .as_deref()
            .map(Nonce::parse)
            .transpose()
            .map_err(c)?,
        challenge: r
            .code_challenge
            .as_deref()
            .map(|ch| CodeChallenge::parse(ch, Some("S256")))
            .transpose()
            .map_err(c)?,
        auth_time: UnixTime::from_secs(r.auth_time),
        expires_at: UnixTime::from_secs(r.expires_at),
        issued,
        sid: r.sid,
        resources: crate::convert::words(&r.resources, tessera_domain::resource::Resource::parse)
            .map_err(c)?,
    })
}

#[async_trait]
impl AuthorizationCodeStore for DieselStore {
    async fn insert(&self, code: &CodeRecord) -> Result<(), StoreError> {
        let row = code_row(code);
        self.run(move |conn| {
            diesel::insert_into(authorization_codes::table)
                .values(&row)
                .execute(conn)
                .map(|_| ())
                .map_err(from_diesel)
        })
        .await
    }

    async fn redeem(
        &self,
        hash: &TokenHash,
        issue: &CodeIssue,
        now: UnixTime,
    ) -> Result<Redemption, StoreError> {
        let hash = hash.to_text();
        let issue = issue.clone();
        self.run(move |conn| {
            let row = keyed_tx(conn, |conn| {
                // One conditional UPDATE … RETURNING: of any number of racing redemptions, one
                // marks the code (the others wait for its row lock, then match nothing); they
                // then read what it issued. No serializable snapshot is needed.
                let fresh: Option<CodeRow> = crate::pool::each_backend!(conn, |c| diesel::update(
                    authorization_codes::table
                        .filter(authorization_codes::hash.eq(&hash))
                        .filter(authorization_codes::redeemed_at.is_null())
                        .filter(authorization_codes::expires_at.gt(now.as_secs())),
                )
                .set((
                    authorization_codes::redeemed_at.eq(now.as_secs()),
                    authorization_codes::issued_family_id.eq(&issue.family_id),
                    authorization_codes::issued_jti.eq(&issue.jti),
                    authorization_codes::issued_expires_at.eq(issue.expires_at.as_secs()),
                ))
                .returning(CodeRow::as_returning())
                .get_result(c)
                .optional())?;
                if let Some(row) = fresh {
                    return Ok((true, Some(row)));
                }
                let seen: Option<CodeRow> = authorization_codes::table
                    .find(&hash)
                    .filter(authorization_codes::redeemed_at.is_not_null())
                    .select(CodeRow::as_select())
                    .first(conn)
                    .optional()?;
                Ok((false, seen))
            })?;
            match row {
                (true, Some(row)) => Ok(Redemption::Fresh(code_record(row)?)),
                (false, Some(row)) => Ok(Redemption::Reused(code_record(row)?)),
                _ => Ok(Redemption::Invalid),
            }
        })
        .await
    }

    async fn purge(&self, now: UnixTime) -> Result<u64, StoreError> {
        let before = now.as_secs() - CODE_RETENTION_SECS;
        self.run(move |conn| {
            diesel::delete(
                authorization_codes::table.filter(authorization_codes::expires_at.lt(before)),
            )
            .execute(conn)
            .map(|n| n as u64)
            .map_err(from_diesel)
        })
        .await
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
struct SessionRow {
    hash: String,
    user_id: String,
    auth_time: i64,
    expires_at: i64,
    sid: Option<String>,
}

fn session(r: SessionRow) -> Result<Session, StoreError> {
    let c = |e: ParseError| StoreError::Corrupt(format!("session: {e}"));
    let hash = TokenHash::parse(&r.hash).map_err(c)?;
    Ok(Session {
        // Sessions stored before they had a sid get one derived from their hash.
        sid: r
            .sid
            .unwrap_or_else(|| tessera_domain::authorize::legacy_sid(&hash)),
        hash,
        user_id: UserId::parse(&r.user_id).map_err(c)?,
        auth_time: UnixTime::from_secs(r.auth_time),
        expires_at: UnixTime::from_secs(r.expires_at),
    })
}

#[async_trait]
impl SessionStore for DieselStore {
    async fn insert(&self, session: &Session) -> Result<(), StoreError> {
        let row = SessionRow {
            hash: session.hash.to_text(),
            user_id: session.user_id.to_string(),
            auth_time: session.auth_time.as_secs(),
            expires_at: session.expires_at.as_secs(),
            sid: Some(session.sid.clone()),
        };
        self.run(move |conn| {
            diesel::insert_into(sessions::table)
                .values(&row)
                .execute(conn)
                .map(|_| ())
                .map_err(from_diesel)
        })
        .await
    }

    async fn find(&self, hash: &TokenHash, now: UnixTime) -> Result<Option<Session>, StoreError> {
        let hash = hash.to_text();
        self.read(move |conn| {
            let row: Option<SessionRow> = sessions::table
                .find(&hash)
                .filter(sessions::expires_at.gt(now.as_secs()))
                .select(SessionRow::as_select())
                .first(conn)
                .optional()
                .map_err(from_diesel)?;
            row.map(session).transpose()
        })
        .await
    }

    async fn delete(&self, hash: &TokenHash) -> Result<Option<Session>, StoreError> {
        let hash = hash.to_text();
        self.run(move |conn| {
            let row: Option<SessionRow> = sessions::table
                .find(&hash)
                .select(SessionRow::as_select())
                .first(conn)
                .optional()
                .map_err(from_diesel)?;
            let deleted = diesel::delete(sessions::table.find(&hash))
                .execute(conn)
                .map_err(from_diesel)?;
            // Whoever deleted it reports it: of two racing deletes, one ends the session.
            match row {
                Some(r) if deleted > 0 => session(r).map(Some),
                _ => Ok(None),
            }
        })
        .await
    }

    async fn for_user(&self, user: &UserId) -> Result<Vec<Session>, StoreError> {
        let user = user.to_string();
        self.read(move |conn| {
            let rows: Vec<SessionRow> = sessions::table
                .filter(sessions::user_id.eq(&user))
                .select(SessionRow::as_select())
                .load(conn)
                .map_err(from_diesel)?;
            rows.into_iter().map(session).collect()
        })
        .await
    }

    async fn purge(&self, now: UnixTime) -> Result<u64, StoreError> {
        self.run(move |conn| {
            diesel::delete(sessions::table.filter(sessions::expires_at.le(now.as_secs())))
                .execute(conn)
                .map(|n| n as u64)
                .map_err(from_diesel)
        })
        .await
    }
}

#[async_trait]
impl ConsentStore for DieselStore {
    async fn granted(&self, user: &UserId, client: &ClientId) -> Result<ScopeSet, StoreError> {
        let (user, client) = (user.to_string(), client.to_string());
        self.read(move |conn| {
            let scope: Option<String> = consents::table
                .find((&user, &client))
                .select(consents::scope)
                .first(conn)
                .optional()
                .map_err(from_diesel)?;
            ScopeSet::parse(scope.as_deref().unwrap_or_default())
                .map_err(|e| StoreError::Corrupt(format!("consent: {e}")))
        })
        .await
    }

    async fn grant(
        &self,
        user: &UserId,
        client: &ClientId,
        scope: &ScopeSet,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let (user, client, scope) = (user.to_string(), client.to_string(), scope.clone());
        self.run(move |conn| {
            write_tx(conn, |conn| {
                let before: Option<String> = consents::table
                    .find((&user, &client))
                    .select(consents::scope)
                    .first(conn)
                    .optional()?;
                let before = before
                    .as_deref()
                    .and_then(|s| ScopeSet::parse(s).ok())
                    .unwrap_or_default();
                let all = ScopeSet::from_scopes(before.iter().chain(scope.iter()).cloned());
                // The serializable transaction makes the read and the write one step (a
                // concurrent grant for the same pair is retried): the read decides between update
                // and insert (portable where upsert syntax is not).
                let updated = diesel::update(consents::table.find((&user, &client)))
                    .set((
                        consents::scope.eq(all.to_string()),
                        consents::updated_at.eq(now.as_secs()),
                    ))
                    .execute(conn)?;
                if updated == 0 {
                    diesel::insert_into(consents::table)
                        .values((
                            consents::user_id.eq(&user),
                            consents::client_id.eq(&client),
                            consents::scope.eq(all.to_string()),
                            consents::updated_at.eq(now.as_secs()),
                        ))
                        .execute(conn)?;
                }
                Ok(())
            })
        })
        .await
    }
}
