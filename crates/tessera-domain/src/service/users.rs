//! Managing the user directory: the use cases behind `tessera user …`.

use std::sync::Arc;

use crate::audit::{AuditEvent, AuditKind, NoAudit};
use crate::client::{ClientId, ClientName};
use crate::error::StoreError;
use crate::ports::{
    AuditLog, BlockingWork, RandomSource, SessionStore, SignInThrottle, UserRepository,
};
use crate::time::UnixTime;
use crate::user::{
    Email, LockoutPolicy, Logon, Password, PasswordHash, Profile, SignInState, User, UserId,
    UserStatus,
};

/// Why a user operation failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    /// A value does not parse.
    #[error(transparent)]
    Invalid(#[from] crate::error::ParseError),
    /// No user has this id.
    #[error("no user with id {0}")]
    NotFound(UserId),
    /// The id or the logon is taken.
    #[error("a user with this id or logon already exists")]
    Conflict,
    /// The user changed since the revision the change was based on.
    #[error("user {0} changed since it was read")]
    Stale(UserId),
    /// The store failed.
    #[error("store error: {0}")]
    Store(StoreError),
}

pub(super) fn store(e: StoreError) -> UserError {
    match e {
        StoreError::Conflict => UserError::Conflict,
        other => UserError::Store(other),
    }
}

/// The user administration use cases.
pub struct UserAdmin {
    repo: Arc<dyn UserRepository>,
    random: Arc<dyn RandomSource>,
    sign_out: Option<(Arc<dyn SessionStore>, Arc<crate::service::Backchannel>)>,
    audit: Arc<dyn AuditLog>,
    /// The admin client acting, named in every audit event (none for the command line).
    actor: Option<ClientId>,
}

impl UserAdmin {
    /// A service over the user store.
    #[must_use]
    pub fn new(repo: Arc<dyn UserRepository>, random: Arc<dyn RandomSource>) -> Self {
        Self {
            repo,
            random,
            sign_out: None,
            audit: Arc::new(NoAudit),
            actor: None,
        }
    }

    /// Records every change in `audit`.
    #[must_use]
    pub fn with_audit(mut self, audit: Arc<dyn AuditLog>) -> Self {
        self.audit = audit;
        self
    }

    /// The same use cases, acting for the admin client `actor`: its id is in every audit event.
    #[must_use]
    pub fn acting_as(&self, actor: &ClientId) -> Self {
        Self {
            repo: Arc::clone(&self.repo),
            random: Arc::clone(&self.random),
            sign_out: self.sign_out.clone(),
            audit: Arc::clone(&self.audit),
            actor: Some(actor.clone()),
        }
    }

    pub(super) fn repo(&self) -> &dyn UserRepository {
        self.repo.as_ref()
    }

    /// Records a change to user `id` (with the acting admin client, if any).
    pub(super) fn audited(&self, id: &UserId, now: UnixTime, detail: &str) {
        self.record(AuditKind::UserChanged, id, now, detail);
    }

    fn record(&self, kind: AuditKind, id: &UserId, now: UnixTime, detail: &str) {
        let detail = match &self.actor {
            Some(actor) => format!("{detail} by admin client {actor}"),
            None => detail.to_owned(),
        };
        self.audit
            .record(AuditEvent::new(kind, now, detail).subject(id.as_str()));
    }

    /// The user with this id.
    ///
    /// # Errors
    /// `NotFound` when there is none.
    pub async fn show(&self, id: &UserId) -> Result<User, UserError> {
        self.repo
            .find(id)
            .await
            .map_err(store)?
            .ok_or_else(|| UserError::NotFound(id.clone()))
    }

    /// Also ends a user's browser sessions (telling their clients) when the user is signed out,
    /// locked or disabled.
    #[must_use]
    pub fn with_sessions(
        mut self,
        sessions: Arc<dyn SessionStore>,
        backchannel: Arc<crate::service::Backchannel>,
    ) -> Self {
        self.sign_out = Some((sessions, backchannel));
        self
    }

    /// Ends every browser session of the user; each client that took part in one and
    /// registered a back-channel logout URI is told (Back-Channel Logout 1.0 §2.5). Returns how
    /// many sessions ended.
    ///
    /// # Errors
    /// `NotFound` when there is no such user; a store failure.
    pub async fn sign_out(&self, id: &UserId, now: UnixTime) -> Result<usize, UserError> {
        self.show(id).await?;
        let Some((sessions, backchannel)) = &self.sign_out else {
            return Ok(0);
        };
        // Notices first, then the sessions: a failure in between leaves them to be ended again.
        let ending = sessions.for_user(id).await.map_err(store)?;
        backchannel.ended(&ending, now).await.map_err(store)?;
        for session in &ending {
            sessions.delete(&session.hash).await.map_err(store)?;
        }
        if !ending.is_empty() {
            self.audited(id, now, &format!("{} sessions ended", ending.len()));
        }
        Ok(ending.len())
    }

    /// Creates an active user; the id is generated (`usr_` and 24 hex digits) when not given.
    ///
    /// # Errors
    /// `Conflict` when the id or logon is taken.
    pub async fn create(&self, new: NewUser, now: UnixTime) -> Result<User, UserError> {
        let NewUser {
            id,
            logon,
            email,
            name,
            password,
            profile,
        } = new;
        super::user_update::check_profile(&profile)?;
        let password = password.map(|p| self.hash(&p)).transpose()?;
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
            password,
            profile,
            failed_sign_ins: 0,
            locked_until: None,
            created_at: now,
            updated_at: now,
        };
        self.repo.insert(&user).await.map_err(store)?;
        self.record(AuditKind::UserCreated, &user.id, now, "created");
        Ok(user)
    }

    /// Every user, by id.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn list(&self) -> Result<Vec<User>, UserError> {
        self.repo.list().await.map_err(store)
    }

    fn hash(&self, password: &Password) -> Result<PasswordHash, UserError> {
        let mut salt = [0u8; 16];
        self.random.fill(&mut salt);
        Ok(PasswordHash::new(password, salt)?)
    }

    async fn change(
        &self,
        id: &UserId,
        now: UnixTime,
        f: impl FnOnce(&mut User),
    ) -> Result<User, UserError> {
        let mut user = self
            .repo
            .find(id)
            .await
            .map_err(store)?
            .ok_or_else(|| UserError::NotFound(id.clone()))?;
        f(&mut user);
        user.updated_at = now;
        self.repo.update(&user).await.map_err(|e| match e {
            StoreError::NotFound => UserError::NotFound(id.clone()),
            other => store(other),
        })?;
        Ok(user)
    }

    /// Sets a user's status (disable, lock, unlock). Idempotent. Unlocking (`Active`) also lifts
    /// a lock from failed sign-ins and forgets the failures.
    ///
    /// # Errors
    /// `NotFound` when there is none.
    pub async fn set_status(
        &self,
        id: &UserId,
        status: UserStatus,
        now: UnixTime,
    ) -> Result<User, UserError> {
        let user = self.change(id, now, |u| u.status = status).await?;
        self.audited(id, now, &format!("status {}", status.as_str()));
        if status != UserStatus::Active {
            self.sign_out(id, now).await?;
        }
        if status == UserStatus::Active && (user.locked_until.is_some() || user.failed_sign_ins > 0)
        {
            self.repo.set_sign_in_lock(id, None).await.map_err(store)?;
            return self
                .repo
                .find(id)
                .await
                .map_err(store)?
                .ok_or_else(|| UserError::NotFound(id.clone()));
        }
        Ok(user)
    }

    /// Sets a user's password (argon2id).
    ///
    /// # Errors
    /// `NotFound` when there is none.
    pub async fn set_password(
        &self,
        id: &UserId,
        password: &Password,
        now: UnixTime,
    ) -> Result<User, UserError> {
        let hash = self.hash(password)?;
        let user = self.change(id, now, |u| u.password = Some(hash)).await?;
        self.audited(id, now, "password set");
        Ok(user)
    }
}

/// A user to create.
#[derive(Clone, Debug)]
pub struct NewUser {
    /// The id; generated when absent.
    pub id: Option<UserId>,
    /// The logon name.
    pub logon: Logon,
    /// The e-mail address.
    pub email: Email,
    /// The display name.
    pub name: ClientName,
    /// The password; without one the user cannot sign in.
    pub password: Option<Password>,
    /// Profile claims.
    pub profile: Profile,
}

/// Why a sign-in was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// Unknown logon, wrong password, no password, or a disabled user with a wrong password: one
    /// answer, so the page does not tell which.
    #[error("the logon or the password is wrong")]
    InvalidCredentials,
    /// The user is locked (by an operator, or until `until` after failed sign-ins).
    #[error("the account is locked")]
    Locked {
        /// When the lock ends by itself.
        until: Option<UnixTime>,
    },
    /// The right password for a disabled user.
    #[error("the account is disabled")]
    Disabled,
    /// Too many failures from this address: try again after `retry_after` seconds.
    #[error("too many failed sign-ins from this address")]
    Throttled {
        /// Seconds until the address's window ends.
        retry_after: u32,
    },
    /// The store failed.
    #[error("the user directory is unavailable")]
    Unavailable,
}

/// The sign-in use case: a logon and password checked against the directory, with failures
/// counted per user (locking the user for a while) and per source address (refusing it for a
/// while).
pub struct SignIn {
    users: Arc<dyn UserRepository>,
    throttle: Arc<dyn SignInThrottle>,
    blocking: Arc<dyn BlockingWork>,
    policy: LockoutPolicy,
    /// Checked when the logon is unknown, so that it costs what a wrong password costs.
    decoy: PasswordHash,
}

impl SignIn {
    /// A sign-in service.
    ///
    /// # Errors
    /// Only if argon2 refuses its own parameters.
    pub fn new(
        users: Arc<dyn UserRepository>,
        throttle: Arc<dyn SignInThrottle>,
        blocking: Arc<dyn BlockingWork>,
        random: &dyn RandomSource,
        policy: LockoutPolicy,
    ) -> Result<Self, crate::error::ParseError> {
        let (mut salt, mut raw) = ([0u8; 16], [0u8; 24]);
        random.fill(&mut salt);
        random.fill(&mut raw);
        let decoy_password: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        let decoy = PasswordHash::new(&Password::parse(&decoy_password)?, salt)?;
        Ok(Self {
            users,
            throttle,
            blocking,
            policy,
            decoy,
        })
    }

    /// The lockout policy.
    #[must_use]
    pub fn policy(&self) -> &LockoutPolicy {
        &self.policy
    }

    async fn check(&self, hash: PasswordHash, password: Password) -> bool {
        self.blocking
            .run(Box::new(move || hash.verify(&password)))
            .await
    }

    /// Signs `logon` in with `password` from source `address`.
    ///
    /// # Errors
    /// See [`SignInError`]. Every failure except `Throttled` and `Unavailable` counts against the
    /// address; a wrong password also counts against the user, and the failure that reaches
    /// `max_user_failures` locks the user for `lock_seconds`. A locked user's password is not
    /// checked at all, so a lock cannot be used to test passwords.
    pub async fn sign_in(
        &self,
        logon: &str,
        password: &str,
        address: &str,
        now: UnixTime,
    ) -> Result<User, SignInError> {
        let unavailable = |_| SignInError::Unavailable;
        let failures = self
            .throttle
            .failures(address, now)
            .await
            .map_err(unavailable)?;
        if failures >= self.policy.max_address_failures.max(1) {
            return Err(SignInError::Throttled {
                retry_after: self.policy.address_window_seconds,
            });
        }
        let user = match Logon::parse(logon) {
            Ok(logon) => self
                .users
                .find_by_logon(&logon)
                .await
                .map_err(unavailable)?,
            Err(_) => None,
        };
        let outcome = self.verify(user.as_ref(), password, now).await;
        if outcome.is_err() {
            self.throttle
                .record_failure(address, now, self.policy.address_window_seconds)
                .await
                .map_err(unavailable)?;
        }
        if let (Err(SignInError::InvalidCredentials), Some(user)) = (&outcome, &user)
            && user.sign_in_state(now) == SignInState::Open
        {
            let count = self
                .users
                .record_failed_sign_in(&user.id)
                .await
                .map_err(unavailable)?;
            if let Some(until) = self.policy.lock_after(count, now) {
                self.users
                    .set_sign_in_lock(&user.id, Some(until))
                    .await
                    .map_err(unavailable)?;
            }
        }
        let user = outcome?;
        if user.failed_sign_ins > 0 || user.locked_until.is_some() {
            self.users
                .set_sign_in_lock(&user.id, None)
                .await
                .map_err(unavailable)?;
        }
        Ok(user)
    }

    async fn verify(
        &self,
        user: Option<&User>,
        password: &str,
        now: UnixTime,
    ) -> Result<User, SignInError> {
        let password = Password::parse(password);
        let Some(user) = user else {
            if let Ok(p) = password {
                let _ = self.check(self.decoy.clone(), p).await;
            }
            return Err(SignInError::InvalidCredentials);
        };
        let state = user.sign_in_state(now);
        if let SignInState::Locked { until } = state {
            return Err(SignInError::Locked { until });
        }
        let (Ok(password), Some(hash)) = (password, user.password.clone()) else {
            return Err(SignInError::InvalidCredentials);
        };
        if !self.check(hash, password).await {
            return Err(SignInError::InvalidCredentials);
        }
        if state == SignInState::Disabled {
            return Err(SignInError::Disabled);
        }
        Ok(user.clone())
    }
}
