//! The user directory over Diesel.

use async_trait::async_trait;
use diesel::prelude::*;
use tessera_domain::ports::UserRepository;
use tessera_domain::user::{Email, Logon, User, UserId, UserStatus};
use tessera_domain::{ClientName, ParseError, StoreError, UnixTime};

use crate::error::from_diesel;
use crate::repo::DieselStore;
use crate::schema::users;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = users)]
struct UserRow {
    id: String,
    logon: String,
    email: String,
    name: String,
    status: String,
    created_at: i64,
    updated_at: i64,
}

fn row(u: &User) -> UserRow {
    UserRow {
        id: u.id.to_string(),
        logon: u.logon.to_string(),
        email: u.email.to_string(),
        name: u.name.to_string(),
        status: u.status.as_str().to_owned(),
        created_at: u.created_at.as_secs(),
        updated_at: u.updated_at.as_secs(),
    }
}

fn user(r: UserRow) -> Result<User, StoreError> {
    let c = |e: ParseError| StoreError::Corrupt(format!("user: {e}"));
    Ok(User {
        id: UserId::parse(&r.id).map_err(c)?,
        logon: Logon::parse(&r.logon).map_err(c)?,
        email: Email::parse(&r.email).map_err(c)?,
        name: ClientName::parse(&r.name).map_err(c)?,
        status: UserStatus::parse(&r.status).map_err(c)?,
        created_at: UnixTime::from_secs(r.created_at),
        updated_at: UnixTime::from_secs(r.updated_at),
    })
}

#[async_trait]
impl UserRepository for DieselStore {
    async fn find(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        let id = id.to_string();
        self.run(move |conn| {
            users::table
                .find(&id)
                .select(UserRow::as_select())
                .first(conn)
                .optional()
                .map_err(from_diesel)?
                .map(user)
                .transpose()
        })
        .await
    }

    async fn find_by_logon(&self, logon: &Logon) -> Result<Option<User>, StoreError> {
        let logon = logon.to_string();
        self.run(move |conn| {
            users::table
                .filter(users::logon.eq(&logon))
                .select(UserRow::as_select())
                .first(conn)
                .optional()
                .map_err(from_diesel)?
                .map(user)
                .transpose()
        })
        .await
    }

    async fn insert(&self, u: &User) -> Result<(), StoreError> {
        let r = row(u);
        self.run(move |conn| {
            diesel::insert_into(users::table)
                .values(&r)
                .execute(conn)
                .map(|_| ())
                .map_err(from_diesel)
        })
        .await
    }

    async fn update(&self, u: &User) -> Result<(), StoreError> {
        let r = row(u);
        self.run(move |conn| {
            match diesel::update(users::table.find(&r.id))
                .set(&r)
                .execute(conn)
                .map_err(from_diesel)?
            {
                0 => Err(StoreError::NotFound),
                _ => Ok(()),
            }
        })
        .await
    }

    async fn list(&self) -> Result<Vec<User>, StoreError> {
        self.run(|conn| {
            users::table
                .order(users::id)
                .select(UserRow::as_select())
                .load(conn)
                .map_err(from_diesel)?
                .into_iter()
                .map(user)
                .collect()
        })
        .await
    }
}
