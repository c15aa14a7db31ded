//! Changing a user's profile (the admin API's `PATCH`): what may change, the invariants, and
//! optimistic concurrency on the user's revision.

use crate::client::ClientName;
use crate::error::{ParseError, StoreError};
use crate::time::UnixTime;
use crate::user::{Email, Logon, PasswordHash, PhoneNumber, PostalAddress, Profile, User, UserId};

use super::users::{UserAdmin, UserError, store};

/// What to change in a user: `None` leaves a field as it is; for the optional claims,
/// `Some(None)` removes the value. The status and the password have use cases of their own.
#[derive(Clone, Debug, Default)]
pub struct UserChanges {
    /// The logon name (unique).
    pub logon: Option<Logon>,
    /// The e-mail address.
    pub email: Option<Email>,
    /// The display name.
    pub name: Option<ClientName>,
    /// `given_name`.
    pub given_name: Option<Option<ClientName>>,
    /// `family_name`.
    pub family_name: Option<Option<ClientName>>,
    /// `locale`.
    pub locale: Option<Option<ClientName>>,
    /// `email_verified`.
    pub email_verified: Option<bool>,
    /// `phone_number`.
    pub phone_number: Option<Option<PhoneNumber>>,
    /// `phone_number_verified`.
    pub phone_number_verified: Option<bool>,
    /// `address`, replaced as a whole.
    pub address: Option<Option<PostalAddress>>,
}

impl UserChanges {
    /// `user` with the changes applied (not yet checked).
    fn apply(self, mut user: User) -> User {
        fn set<T>(slot: &mut T, value: Option<T>) {
            if let Some(v) = value {
                *slot = v;
            }
        }
        set(&mut user.logon, self.logon);
        set(&mut user.email, self.email);
        set(&mut user.name, self.name);
        let p = &mut user.profile;
        set(&mut p.given_name, self.given_name);
        set(&mut p.family_name, self.family_name);
        set(&mut p.locale, self.locale);
        set(&mut p.email_verified, self.email_verified);
        set(&mut p.phone_number, self.phone_number);
        set(&mut p.phone_number_verified, self.phone_number_verified);
        set(
            &mut p.address,
            self.address.map(|a| a.and_then(PostalAddress::non_empty)),
        );
        user
    }
}

/// The profile invariants: a phone number can only be verified when there is one.
///
/// # Errors
/// Names the field that breaks one.
pub(super) fn check_profile(profile: &Profile) -> Result<(), ParseError> {
    if profile.phone_number_verified && profile.phone_number.is_none() {
        return Err(ParseError::new(
            "phone_number_verified",
            "needs a phone_number",
        ));
    }
    Ok(())
}

/// A user's revision: changes whenever an operator's change does (the sign-in counters, which
/// sign-ins change, are not part of it). The admin API's `ETag`.
#[must_use]
pub fn user_revision(user: &User) -> String {
    use sha2::Digest as _;
    let edited = (
        &user.id,
        &user.logon,
        &user.email,
        &user.name,
        user.status,
        // Hashed, never shown: a new password is a new revision.
        user.password.as_ref().map(PasswordHash::as_str),
        &user.profile,
        user.updated_at,
    );
    let digest = sha2::Sha256::digest(format!("{edited:?}").as_bytes());
    digest.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

impl UserAdmin {
    /// Changes a user's profile. With `if_revision`, only when the user is still at that
    /// [`user_revision`]; the check and the write are one atomic step.
    ///
    /// # Errors
    /// `Invalid` when the result breaks an invariant, `NotFound`, `Conflict` when the new logon
    /// is taken, `Stale` when the user is no longer at `if_revision`.
    pub async fn update(
        &self,
        id: &UserId,
        changes: UserChanges,
        if_revision: Option<&str>,
        now: UnixTime,
    ) -> Result<User, UserError> {
        let current = self.show(id).await?;
        if if_revision.is_some_and(|r| r != user_revision(&current)) {
            return Err(UserError::Stale(id.clone()));
        }
        let mut changed = changes.apply(current.clone());
        check_profile(&changed.profile)?;
        changed.updated_at = now;
        let written = self
            .repo()
            .replace(&changed, &current)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => UserError::NotFound(id.clone()),
                other => store(other),
            })?;
        if !written {
            return Err(UserError::Stale(id.clone()));
        }
        self.audited(id, now, "profile updated");
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::audit::{AuditEvent, AuditKind};
    use crate::ports::{AuditLog, MockUserRepository};
    use crate::service::tests::Counter;
    use crate::user::UserStatus;

    #[derive(Default)]
    struct Kept(Mutex<Vec<AuditEvent>>);

    impl AuditLog for Kept {
        fn record(&self, event: AuditEvent) {
            self.0.lock().unwrap().push(event);
        }
    }

    fn alice() -> User {
        User {
            id: UserId::parse("usr_1").unwrap(),
            logon: Logon::parse("alice").unwrap(),
            email: Email::parse("alice@example.com").unwrap(),
            name: ClientName::parse("Alice").unwrap(),
            status: UserStatus::Active,
            password: None,
            profile: Profile::default(),
            failed_sign_ins: 0,
            locked_until: None,
            created_at: UnixTime::from_secs(1),
            updated_at: UnixTime::from_secs(1),
        }
    }

    /// A repository holding alice whose `replace` answers `written`.
    fn repo(written: bool) -> MockUserRepository {
        let mut repo = MockUserRepository::new();
        repo.expect_find().returning(|_| Ok(Some(alice())));
        repo.expect_replace().returning(move |new, expected| {
            assert_eq!(expected, &alice());
            assert_eq!(new.id, alice().id);
            Ok(written)
        });
        repo
    }

    fn admin(repo: MockUserRepository, audit: Arc<Kept>) -> UserAdmin {
        UserAdmin::new(Arc::new(repo), Arc::new(Counter::default()))
            .with_audit(audit)
            .acting_as(&crate::ClientId::parse("ops").unwrap())
    }

    #[tokio::test]
    async fn an_update_changes_what_it_names_and_is_audited_with_the_acting_client() {
        let audit = Arc::new(Kept::default());
        let changes = UserChanges {
            email: Some(Email::parse("a@example.org").unwrap()),
            given_name: Some(Some(ClientName::parse("Alice").unwrap())),
            ..UserChanges::default()
        };
        let now = UnixTime::from_secs(50);
        let user = admin(repo(true), audit.clone())
            .update(&alice().id, changes, Some(&user_revision(&alice())), now)
            .await
            .unwrap();
        assert_eq!(user.email.as_str(), "a@example.org");
        assert_eq!(user.logon, alice().logon);
        assert_eq!(user.updated_at, now);
        assert_ne!(user_revision(&user), user_revision(&alice()));
        let events = audit.0.lock().unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, AuditKind::UserChanged);
        assert_eq!(events[0].subject.as_deref(), Some("usr_1"));
        assert!(
            events[0].detail.ends_with("by admin client ops"),
            "{}",
            events[0].detail
        );
    }

    #[tokio::test]
    async fn a_stale_revision_is_refused_before_and_during_the_write() {
        let audit = Arc::new(Kept::default());
        let before = admin(repo(true), audit.clone())
            .update(
                &alice().id,
                UserChanges::default(),
                Some("old"),
                UnixTime::from_secs(2),
            )
            .await;
        assert_eq!(before, Err(UserError::Stale(alice().id)));
        let during = admin(repo(false), audit.clone())
            .update(
                &alice().id,
                UserChanges::default(),
                Some(&user_revision(&alice())),
                UnixTime::from_secs(2),
            )
            .await;
        assert_eq!(during, Err(UserError::Stale(alice().id)));
        assert!(audit.0.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_verified_phone_needs_a_phone_number() {
        let changes = UserChanges {
            phone_number_verified: Some(true),
            ..UserChanges::default()
        };
        let mut repo = MockUserRepository::new();
        repo.expect_find().returning(|_| Ok(Some(alice())));
        repo.expect_replace().never();
        let got = admin(repo, Arc::default())
            .update(&alice().id, changes, None, UnixTime::from_secs(2))
            .await;
        assert!(matches!(got, Err(UserError::Invalid(e)) if e.to_string().contains("phone")));
    }

    #[test]
    fn the_revision_ignores_sign_in_counters_and_follows_the_password() {
        let mut counted = alice();
        counted.failed_sign_ins = 3;
        counted.locked_until = Some(UnixTime::from_secs(9));
        assert_eq!(user_revision(&counted), user_revision(&alice()));
        let mut with_password = alice();
        with_password.password = Some(
            crate::user::PasswordHash::new(
                &crate::user::Password::parse("correct horse battery").unwrap(),
                [7; 16],
            )
            .unwrap(),
        );
        assert_ne!(user_revision(&with_password), user_revision(&alice()));
    }
}
