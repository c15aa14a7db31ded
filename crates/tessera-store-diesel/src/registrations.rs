//! Dynamic client registration over Diesel: registration access tokens and initial access
//! tokens, hashes only. Spending an initial access token is one conditional `UPDATE`, so that
//! concurrent registrations on any number of nodes cannot overspend it.

use async_trait::async_trait;
use diesel::prelude::*;
use tessera_domain::issued::TokenHash;
use tessera_domain::ports::{InitialAccessToken, RegistrationStore};
use tessera_domain::{ClientId, StoreError, UnixTime};

use crate::error::from_diesel;
use crate::repo::{DieselStore, keyed_tx};
use crate::schema::{client_registrations, initial_access_tokens};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = initial_access_tokens)]
struct InitialRow {
    id: String,
    token_hash: String,
    uses_left: Option<i32>,
    expires_at: i64,
    created_at: i64,
    note: String,
}

fn hash(text: &str) -> Result<TokenHash, StoreError> {
    TokenHash::parse(text).map_err(|e| StoreError::Corrupt(format!("token hash: {e}")))
}

#[async_trait]
impl RegistrationStore for DieselStore {
    async fn set_registration_token(
        &self,
        client: &ClientId,
        token: &TokenHash,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let (id, text) = (client.to_string(), token.to_text());
        self.run(move |conn| {
            keyed_tx(conn, |conn| {
                diesel::delete(client_registrations::table.find(&id)).execute(conn)?;
                diesel::insert_into(client_registrations::table)
                    .values((
                        client_registrations::client_id.eq(&id),
                        client_registrations::token_hash.eq(&text),
                        client_registrations::issued_at.eq(now.as_secs()),
                    ))
                    .execute(conn)
                    .map(|_| ())
            })
        })
        .await
    }

    async fn registration_token(&self, client: &ClientId) -> Result<Option<TokenHash>, StoreError> {
        let id = client.to_string();
        self.read(move |conn| {
            client_registrations::table
                .find(&id)
                .select(client_registrations::token_hash)
                .first::<String>(conn)
                .optional()
                .map_err(from_diesel)?
                .as_deref()
                .map(hash)
                .transpose()
        })
        .await
    }

    async fn delete_registration_token(&self, client: &ClientId) -> Result<(), StoreError> {
        let id = client.to_string();
        self.run(move |conn| {
            diesel::delete(client_registrations::table.find(&id))
                .execute(conn)
                .map(|_| ())
                .map_err(from_diesel)
        })
        .await
    }

    async fn insert_initial_token(&self, token: &InitialAccessToken) -> Result<(), StoreError> {
        let row = InitialRow {
            id: token.id.clone(),
            token_hash: token.hash.to_text(),
            uses_left: token
                .uses_left
                .map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
            expires_at: token.expires_at.as_secs(),
            created_at: token.created_at.as_secs(),
            note: token.note.clone(),
        };
        self.run(move |conn| {
            diesel::insert_into(initial_access_tokens::table)
                .values(&row)
                .execute(conn)
                .map(|_| ())
                .map_err(from_diesel)
        })
        .await
    }

    async fn use_initial_token(
        &self,
        token: &TokenHash,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        use initial_access_tokens::dsl as t;
        let text = token.to_text();
        self.run(move |conn| {
            // NULL (any number of uses) minus one stays NULL.
            diesel::update(
                t::initial_access_tokens
                    .filter(t::token_hash.eq(&text))
                    .filter(t::expires_at.gt(now.as_secs()))
                    .filter(t::uses_left.is_null().or(t::uses_left.gt(0))),
            )
            .set(t::uses_left.eq(t::uses_left - 1))
            .execute(conn)
            .map(|n| n == 1)
            .map_err(from_diesel)
        })
        .await
    }

    async fn initial_tokens(&self) -> Result<Vec<InitialAccessToken>, StoreError> {
        self.read(|conn| {
            initial_access_tokens::table
                .order(initial_access_tokens::id)
                .select(InitialRow::as_select())
                .load(conn)
                .map_err(from_diesel)?
                .into_iter()
                .map(|r| {
                    Ok(InitialAccessToken {
                        hash: hash(&r.token_hash)?,
                        id: r.id,
                        uses_left: r.uses_left.map(|n| u32::try_from(n).unwrap_or(0)),
                        expires_at: UnixTime::from_secs(r.expires_at),
                        created_at: UnixTime::from_secs(r.created_at),
                        note: r.note,
                    })
                })
                .collect()
        })
        .await
    }

    async fn delete_initial_token(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.run(move |conn| {
            diesel::delete(initial_access_tokens::table.find(&id))
                .execute(conn)
                .map(|n| n == 1)
                .map_err(from_diesel)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use crate::testdb::{TestDb, on_both_backends};

    async fn registrations_keep_the_store_contract(db: TestDb) {
        tessera_testkit::contract::registrations(&db.store()).await;
    }

    on_both_backends!(registrations_keep_the_store_contract);
}
