//! The client repository: clients and their secrets, written whole, replaced only over the
//! client as read, and the change counter caches follow.

use async_trait::async_trait;
use diesel::prelude::*;
use tessera_domain::ports::ClientRepository;
use tessera_domain::{Client, ClientId, StoreError};

use crate::convert::{ClientRow, SecretRow, client_from_rows, client_rows};
use crate::error::from_diesel;
use crate::pool::{AnyConnection, each_backend};
use crate::repo::{Conn, DieselStore, bump, keyed_tx, read_version};
use crate::schema::{client_secrets, clients};

/// Writes every column of a client and replaces its secrets; bumps the clients' counter.
fn write_client(
    conn: &mut Conn,
    row: &ClientRow,
    secrets: &[SecretRow],
) -> Result<(), diesel::result::Error> {
    let changed = diesel::update(clients::table.find(&row.id))
        .set((
            (
                clients::name.eq(&row.name),
                clients::auth_methods.eq(&row.auth_methods),
                clients::grant_types.eq(&row.grant_types),
                clients::allowed_scopes.eq(&row.allowed_scopes),
                clients::default_scopes.eq(&row.default_scopes),
                clients::roles.eq(&row.roles),
                clients::audience.eq(&row.audience),
                clients::access_token_ttl.eq(&row.access_token_ttl),
                clients::signing_alg.eq(&row.signing_alg),
                clients::enabled.eq(row.enabled),
                clients::access_token_format.eq(&row.access_token_format),
            ),
            (
                clients::max_assurance.eq(&row.max_assurance),
                clients::cert_thumbprints.eq(&row.cert_thumbprints),
                clients::tls_subject_dn.eq(&row.tls_subject_dn),
                clients::redirect_uris.eq(&row.redirect_uris),
                clients::post_logout_redirect_uris.eq(&row.post_logout_redirect_uris),
                clients::backchannel_logout_uri.eq(&row.backchannel_logout_uri),
                clients::id_token_alg.eq(&row.id_token_alg),
                clients::refresh_with_client_credentials.eq(row.refresh_with_client_credentials),
                clients::resources.eq(&row.resources),
                clients::updated_at.eq(row.updated_at),
            ),
        ))
        .execute(conn)?;
    if changed == 0 {
        return Err(diesel::result::Error::NotFound);
    }
    diesel::delete(client_secrets::table.filter(client_secrets::client_id.eq(&row.id)))
        .execute(conn)?;
    each_backend!(conn, |c| diesel::insert_into(client_secrets::table)
        .values(secrets)
        .execute(c))?;
    bump(conn, "clients")
}

/// The client's row, locked for the rest of the transaction on PostgreSQL (`FOR UPDATE`).
fn lock_client(conn: &mut Conn, id: &str) -> Result<Option<ClientRow>, diesel::result::Error> {
    macro_rules! query {
        () => {
            clients::table.find(id).select(ClientRow::as_select())
        };
    }
    match conn {
        AnyConnection::Sqlite(c) => query!().first(c).optional(),
        AnyConnection::Postgres(c) => query!().for_update().first(c).optional(),
    }
}

fn load_secrets(conn: &mut Conn, ids: &[String]) -> Result<Vec<SecretRow>, StoreError> {
    client_secrets::table
        .filter(client_secrets::client_id.eq_any(ids))
        .order((client_secrets::client_id, client_secrets::position))
        .select(SecretRow::as_select())
        .load(conn)
        .map_err(from_diesel)
}

#[async_trait]
impl ClientRepository for DieselStore {
    async fn find(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        let id = id.to_string();
        self.read(move |conn| {
            let Some(row) = clients::table
                .find(&id)
                .select(ClientRow::as_select())
                .first(conn)
                .optional()
                .map_err(from_diesel)?
            else {
                return Ok(None);
            };
            let secrets = load_secrets(conn, std::slice::from_ref(&id))?;
            client_from_rows(row, &secrets).map(Some)
        })
        .await
    }

    async fn insert(&self, client: &Client) -> Result<(), StoreError> {
        let (row, secrets) = client_rows(client, self.clock.now());
        self.run(move |conn| {
            keyed_tx(conn, |conn| {
                diesel::insert_into(clients::table)
                    .values(&row)
                    .execute(conn)?;
                each_backend!(conn, |c| diesel::insert_into(client_secrets::table)
                    .values(&secrets)
                    .execute(c))?;
                bump(conn, "clients")
            })
        })
        .await
    }

    async fn update(&self, client: &Client) -> Result<(), StoreError> {
        let (row, secrets) = client_rows(client, self.clock.now());
        self.run(move |conn| keyed_tx(conn, |conn| write_client(conn, &row, &secrets)))
            .await
    }

    async fn replace(&self, client: &Client, expected: &Client) -> Result<(), StoreError> {
        let (row, secrets) = client_rows(client, self.clock.now());
        let expected = expected.clone();
        self.run(move |conn| {
            let mut stale = false;
            let written = keyed_tx(conn, |conn| {
                // Lock the row (PostgreSQL; SQLite has its one writer), read it, compare, write.
                let Some(current) = lock_client(conn, &row.id)? else {
                    return Err(diesel::result::Error::NotFound);
                };
                let found = load_secrets(conn, std::slice::from_ref(&row.id))
                    .map_err(|_| diesel::result::Error::RollbackTransaction)?;
                let current = client_from_rows(current, &found)
                    .map_err(|_| diesel::result::Error::RollbackTransaction)?;
                if current != expected {
                    stale = true;
                    return Err(diesel::result::Error::RollbackTransaction);
                }
                write_client(conn, &row, &secrets)
            });
            if stale {
                return Err(StoreError::Conflict);
            }
            written
        })
        .await
    }

    async fn delete(&self, id: &ClientId) -> Result<(), StoreError> {
        let id = id.to_string();
        self.run(move |conn| {
            keyed_tx(conn, |conn| {
                diesel::delete(client_secrets::table.filter(client_secrets::client_id.eq(&id)))
                    .execute(conn)?;
                // A registration access token dies with its client (a later client of the same
                // id must not inherit it).
                diesel::delete(crate::schema::client_registrations::table.find(&id))
                    .execute(conn)?;
                if diesel::delete(clients::table.find(&id)).execute(conn)? == 0 {
                    return Err(diesel::result::Error::NotFound);
                }
                bump(conn, "clients")
            })
        })
        .await
    }

    async fn list(&self) -> Result<Vec<Client>, StoreError> {
        self.read(|conn| {
            let rows = clients::table
                .order(clients::id)
                .select(ClientRow::as_select())
                .load(conn)
                .map_err(from_diesel)?;
            let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
            let mut secrets = load_secrets(conn, &ids)?;
            rows.into_iter()
                .map(|row| {
                    let mine: Vec<SecretRow> = {
                        let (mine, rest) = secrets.drain(..).partition(|s| s.client_id == row.id);
                        secrets = rest;
                        mine
                    };
                    client_from_rows(row, &mine)
                })
                .collect()
        })
        .await
    }

    async fn version(&self) -> Result<u64, StoreError> {
        self.read(|conn| read_version(conn, "clients")).await
    }
}
