//! The user directory over Diesel.

use async_trait::async_trait;
use diesel::prelude::*;
use tessera_domain::ports::{SignInThrottle, UserRepository};
use tessera_domain::user::{
    Email, Logon, PasswordHash, PhoneNumber, PostalAddress, Profile, User, UserId, UserStatus,
};
use tessera_domain::{ClientName, ParseError, StoreError, UnixTime};

use crate::error::from_diesel;
use crate::pool::AnyConnection;
use crate::repo::{Conn, DieselStore, keyed_tx};
use crate::schema::{sign_in_failures, users};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
struct UserRow {
    id: String,
    logon: String,
    email: String,
    name: String,
    status: String,
    created_at: i64,
    updated_at: i64,
    password_hash: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    locale: Option<String>,
    email_verified: bool,
    failed_sign_ins: i32,
    locked_until: Option<i64>,
    phone_number: Option<String>,
    phone_number_verified: bool,
    street_address: Option<String>,
    locality: Option<String>,
    region: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
}

/// What `update` writes: everything but the sign-in counters, which only the atomic sign-in
/// methods change (so an operator's edit cannot wipe a concurrent failure count).
#[derive(AsChangeset)]
#[diesel(table_name = users, treat_none_as_null = true)]
struct UserChanges<'a> {
    logon: &'a str,
    email: &'a str,
    name: &'a str,
    status: &'a str,
    updated_at: i64,
    password_hash: Option<&'a str>,
    given_name: Option<&'a str>,
    family_name: Option<&'a str>,
    locale: Option<&'a str>,
    email_verified: bool,
    phone_number: Option<&'a str>,
    phone_number_verified: bool,
    street_address: Option<&'a str>,
    locality: Option<&'a str>,
    region: Option<&'a str>,
    postal_code: Option<&'a str>,
    country: Option<&'a str>,
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
        password_hash: u.password.as_ref().map(|p| p.as_str().to_owned()),
        given_name: u.profile.given_name.as_ref().map(ToString::to_string),
        family_name: u.profile.family_name.as_ref().map(ToString::to_string),
        locale: u.profile.locale.as_ref().map(ToString::to_string),
        email_verified: u.profile.email_verified,
        failed_sign_ins: i32::try_from(u.failed_sign_ins).unwrap_or(i32::MAX),
        locked_until: u.locked_until.map(UnixTime::as_secs),
        phone_number: u.profile.phone_number.as_ref().map(ToString::to_string),
        phone_number_verified: u.profile.phone_number_verified,
        street_address: address_part(u, |a| &a.street_address),
        locality: address_part(u, |a| &a.locality),
        region: address_part(u, |a| &a.region),
        postal_code: address_part(u, |a| &a.postal_code),
        country: address_part(u, |a| &a.country),
    }
}

fn address_part(u: &User, part: impl Fn(&PostalAddress) -> &Option<ClientName>) -> Option<String> {
    u.profile
        .address
        .as_ref()
        .and_then(|a| part(a).as_ref())
        .map(ToString::to_string)
}

fn text(v: Option<&str>) -> Result<Option<ClientName>, ParseError> {
    v.map(ClientName::parse).transpose()
}

fn user(r: UserRow) -> Result<User, StoreError> {
    let c = |e: ParseError| StoreError::Corrupt(format!("user: {e}"));
    Ok(User {
        id: UserId::parse(&r.id).map_err(c)?,
        logon: Logon::parse(&r.logon).map_err(c)?,
        email: Email::parse(&r.email).map_err(c)?,
        name: ClientName::parse(&r.name).map_err(c)?,
        status: UserStatus::parse(&r.status).map_err(c)?,
        password: r
            .password_hash
            .as_deref()
            .map(PasswordHash::parse)
            .transpose()
            .map_err(c)?,
        profile: Profile {
            given_name: r
                .given_name
                .as_deref()
                .map(ClientName::parse)
                .transpose()
                .map_err(c)?,
            family_name: r
                .family_name
                .as_deref()
                .map(ClientName::parse)
                .transpose()
                .map_err(c)?,
            locale: r
                .locale
                .as_deref()
                .map(ClientName::parse)
                .transpose()
                .map_err(c)?,
            email_verified: r.email_verified,
            phone_number: r
                .phone_number
                .as_deref()
                .map(PhoneNumber::parse)
                .transpose()
                .map_err(c)?,
            phone_number_verified: r.phone_number_verified,
            address: PostalAddress {
                street_address: text(r.street_address.as_deref()).map_err(c)?,
                locality: text(r.locality.as_deref()).map_err(c)?,
                region: text(r.region.as_deref()).map_err(c)?,
                postal_code: text(r.postal_code.as_deref()).map_err(c)?,
                country: text(r.country.as_deref()).map_err(c)?,
            }
            .non_empty(),
        },
        failed_sign_ins: u32::try_from(r.failed_sign_ins).unwrap_or(0),
        locked_until: r.locked_until.map(UnixTime::from_secs),
        created_at: UnixTime::from_secs(r.created_at),
        updated_at: UnixTime::from_secs(r.updated_at),
    })
}

/// Writes the editable columns of `r` (not the sign-in counters).
fn write(conn: &mut Conn, r: &UserRow) -> Result<(), diesel::result::Error> {
    let changes = UserChanges {
        logon: &r.logon,
        email: &r.email,
        name: &r.name,
        status: &r.status,
        updated_at: r.updated_at,
        password_hash: r.password_hash.as_deref(),
        given_name: r.given_name.as_deref(),
        family_name: r.family_name.as_deref(),
        locale: r.locale.as_deref(),
        email_verified: r.email_verified,
        phone_number: r.phone_number.as_deref(),
        phone_number_verified: r.phone_number_verified,
        street_address: r.street_address.as_deref(),
        locality: r.locality.as_deref(),
        region: r.region.as_deref(),
        postal_code: r.postal_code.as_deref(),
        country: r.country.as_deref(),
    };
    match diesel::update(users::table.find(&r.id))
        .set(&changes)
        .execute(conn)?
    {
        0 => Err(diesel::result::Error::NotFound),
        _ => Ok(()),
    }
}

/// The user row, locked for the transaction on PostgreSQL.
fn lock_user(conn: &mut Conn, id: &str) -> Result<Option<UserRow>, diesel::result::Error> {
    macro_rules! query {
        () => {
            users::table.find(id).select(UserRow::as_select())
        };
    }
    match conn {
        AnyConnection::Sqlite(c) => query!().first(c).optional(),
        AnyConnection::Postgres(c) => query!().for_update().first(c).optional(),
    }
}

#[async_trait]
impl UserRepository for DieselStore {
    async fn find(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        let id = id.to_string();
        self.read(move |conn| {
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
        self.read(move |conn| {
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
        self.run(move |conn| write(conn, &r).map_err(from_diesel))
            .await
    }

    async fn replace(&self, u: &User, expected: &User) -> Result<bool, StoreError> {
        let r = row(u);
        let expected = tessera_domain::service::user_revision(expected);
        self.run(move |conn| {
            let mut stale = false;
            let written = keyed_tx(conn, |conn| {
                // Lock the row (PostgreSQL; SQLite has its one writer), read it, compare, write.
                let current = lock_user(conn, &r.id)?.ok_or(diesel::result::Error::NotFound)?;
                let current =
                    user(current).map_err(|_| diesel::result::Error::RollbackTransaction)?;
                if tessera_domain::service::user_revision(&current) != expected {
                    stale = true;
                    return Err(diesel::result::Error::RollbackTransaction);
                }
                write(conn, &r)
            });
            if stale {
                return Ok(false);
            }
            written.map(|()| true)
        })
        .await
    }

    async fn list(&self) -> Result<Vec<User>, StoreError> {
        self.read(|conn| {
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

    async fn record_failed_sign_in(&self, id: &UserId) -> Result<u32, StoreError> {
        let id = id.to_string();
        self.run(move |conn| {
            let count: Option<i32> = diesel::update(users::table.find(&id))
                .set(users::failed_sign_ins.eq(users::failed_sign_ins + 1))
                .returning(users::failed_sign_ins)
                .get_result(conn)
                .optional()
                .map_err(from_diesel)?;
            count
                .map(|c| u32::try_from(c).unwrap_or(0))
                .ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn set_sign_in_lock(
        &self,
        id: &UserId,
        locked_until: Option<UnixTime>,
    ) -> Result<(), StoreError> {
        let id = id.to_string();
        self.run(move |conn| {
            match diesel::update(users::table.find(&id))
                .set((
                    users::failed_sign_ins.eq(0),
                    users::locked_until.eq(locked_until.map(UnixTime::as_secs)),
                ))
                .execute(conn)
                .map_err(from_diesel)?
            {
                0 => Err(StoreError::NotFound),
                _ => Ok(()),
            }
        })
        .await
    }
}

#[async_trait]
impl SignInThrottle for DieselStore {
    async fn failures(&self, address: &str, now: UnixTime) -> Result<u32, StoreError> {
        let address = address.to_owned();
        self.read(move |conn| {
            let count: Option<i32> = sign_in_failures::table
                .find(&address)
                .filter(sign_in_failures::window_ends.gt(now.as_secs()))
                .select(sign_in_failures::failures)
                .first(conn)
                .optional()
                .map_err(from_diesel)?;
            Ok(count.map_or(0, |c| u32::try_from(c).unwrap_or(0)))
        })
        .await
    }

    async fn record_failure(
        &self,
        address: &str,
        now: UnixTime,
        window_seconds: u32,
    ) -> Result<u32, StoreError> {
        let address = address.to_owned();
        let ends = now.as_secs() + i64::from(window_seconds);
        self.run(move |conn| {
            crate::repo::write_tx(conn, |conn| {
                // A window that has ended starts over; one that has not counts one more.
                diesel::delete(
                    sign_in_failures::table
                        .find(&address)
                        .filter(sign_in_failures::window_ends.le(now.as_secs())),
                )
                .execute(conn)?;
                let counted = diesel::update(sign_in_failures::table.find(&address))
                    .set(sign_in_failures::failures.eq(sign_in_failures::failures + 1))
                    .returning(sign_in_failures::failures)
                    .get_result::<i32>(conn)
                    .optional()?;
                match counted {
                    Some(failures) => Ok(failures),
                    None => diesel::insert_into(sign_in_failures::table)
                        .values((
                            sign_in_failures::address.eq(&address),
                            sign_in_failures::failures.eq(1),
                            sign_in_failures::window_ends.eq(ends),
                        ))
                        .execute(conn)
                        .map(|_| 1),
                }
            })
            .map(|c| u32::try_from(c).unwrap_or(0))
        })
        .await
    }

    async fn purge(&self, now: UnixTime) -> Result<u64, StoreError> {
        self.run(move |conn| {
            diesel::delete(
                sign_in_failures::table.filter(sign_in_failures::window_ends.le(now.as_secs())),
            )
            .execute(conn)
            .map(|n| n as u64)
            .map_err(from_diesel)
        })
        .await
    }
}
