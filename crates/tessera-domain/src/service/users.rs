//! Managing the user directory: the use cases behind `tessera user …`.

use std::sync::Arc;

use crate::client::ClientName;
use crate::error::StoreError;
use crate::ports::{RandomSource, UserRepository};
use crate::time::UnixTime;
use crate::user::{Email, Logon, User, UserId, UserStatus};

/// Why a user operation failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    /// A value does not parse.
    #[error("{0}")]
    Invalid(#[from] crate::error::ParseError),
    /// No user has this id.
    #[error("no user with id {0}")]
    NotFound(UserId),
    /// The id or the logon is taken.
    #[error("a user with this id or logon already exists")]
    Conflict,
    /// The store failed.
    #[error("store error: {0}")]
    Store(StoreError),
}

fn store(e: StoreError) -> UserError {
    match e {
        StoreError::Conflict => UserError::Conflict,
        other => UserError::Store(other),
    }
}

/// The user administration use cases.
pub struct UserAdmin {
    repo: Arc<dyn UserRepository>,
    random: Arc<dyn RandomSource>,
}

impl UserAdmin {
    /// A service over the user store.
    #[must_use]
    pub fn new(repo: Arc<dyn UserRepository>, random: Arc<dyn RandomSource>) -> Self {
        Self { repo, random }
    }

    /// Creates an active user; the id is generated (`usr_` and 24 hex digits) when not given.
    ///
    /// # Errors
    /// `Conflict` when the id or logon is taken.
    pub async fn create(
        &self,
        id: Option<UserId>,
        logon: Logon,
        email: Email,
        name: ClientName,
        now: UnixTime,
    ) -> Result<User, UserError> {
        let id = match id {
            Some(id) => id,
            None => {
                let mut raw = [0u8; 12];
                self.random.fill(&mut raw);
                let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
                UserId::parse(&format!("usr_{hex}"))?
            }
        };
        let user = User {
            id,
            logon,
            email,
            name,
            status: UserStatus::Active,
            created_at: now,
            updated_at: now,
        };
        self.repo.insert(&user).await.map_err(store)?;
        Ok(user)
    }

    /// Every user, by id.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn list(&self) -> Result<Vec<User>, UserError> {
        self.repo.list().await.map_err(store)
    }

    /// Sets a user's status (disable, lock, unlock). Idempotent.
    ///
    /// # Errors
    /// `NotFound` when there is none.
    pub async fn set_status(
        &self,
        id: &UserId,
        status: UserStatus,
        now: UnixTime,
    ) -> Result<User, UserError> {
        let mut user = self
            .repo
            .find(id)
            .await
            .map_err(store)?
            .ok_or_else(|| UserError::NotFound(id.clone()))?;
        user.status = status;
        user.updated_at = now;
        self.repo.update(&user).await.map_err(|e| match e {
            StoreError::NotFound => UserError::NotFound(id.clone()),
            other => store(other),
        })?;
        Ok(user)
    }
}
