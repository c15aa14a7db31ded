//! The user directory: the people tokens can be issued about (AuthMe's `USER` tokens) and who
//! sign in with a password (argon2id), with the OpenID Connect profile claims they release.

use std::fmt;

use crate::client::ClientName;
use crate::error::ParseError;
use crate::time::UnixTime;

crate::string_newtype!(
    /// A user's stable identifier: visible ASCII, no spaces, at most 128 bytes.
    UserId,
    "user_id",
    128,
    |c| matches!(c, '\x21'..='\x7E'),
    "visible ASCII characters, no spaces"
);

crate::string_newtype!(
    /// A user's logon name (e.g. `A123321B`): letters, digits and `. _ - @`, at most 64 bytes.
    Logon,
    "logon",
    64,
    |c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'),
    "ASCII letters, digits and . _ - @"
);

/// An e-mail address, checked for shape only (one `@`, a dot in the domain, no spaces); whether
/// it exists is not this server's business.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Parses an address.
    ///
    /// # Errors
    /// When it is not `local@domain.tld`-shaped or longer than 254 bytes.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::new("email", format!("{s:?} is not an e-mail address"));
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
        {
            return Err(bad());
        }
        Ok(Self(s.to_owned()))
    }

    /// The address.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a user may obtain tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UserStatus {
    /// May sign in and obtain tokens.
    Active,
    /// Temporarily blocked (e.g. after failed sign-ins).
    Locked,
    /// Permanently blocked by an operator.
    Disabled,
}

impl UserStatus {
    /// The stored name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Locked => "locked",
            Self::Disabled => "disabled",
        }
    }

    /// Parses a stored name.
    ///
    /// # Errors
    /// When it is not one of the three.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        match s {
            "active" => Ok(Self::Active),
            "locked" => Ok(Self::Locked),
            "disabled" => Ok(Self::Disabled),
            other => Err(ParseError::new(
                "status",
                format!("{other:?} is not one of: active, locked, disabled"),
            )),
        }
    }
}

/// A password as typed at sign-in or set by an operator: 8 to 256 characters, no control
/// characters. It is never displayed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Parses a password.
    ///
    /// # Errors
    /// When it is shorter than 8 or longer than 256 characters, or holds a control character.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let n = s.chars().count();
        if n < 8 {
            return Err(ParseError::new("password", "must be at least 8 characters"));
        }
        if n > 256 {
            return Err(ParseError::new(
                "password",
                "must be at most 256 characters",
            ));
        }
        if s.chars().any(char::is_control) {
            return Err(ParseError::new(
                "password",
                "must not contain control characters",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A password's argon2id hash, in PHC string format.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Hashes `password` with 16 random bytes of salt.
    ///
    /// # Errors
    /// Only if argon2 refuses its own parameters, which would be a bug.
    pub fn new(password: &Password, salt: [u8; 16]) -> Result<Self, ParseError> {
        crate::secret::argon2id_hash("password", password.0.as_bytes(), salt).map(Self)
    }

    /// Parses a stored hash.
    ///
    /// # Errors
    /// When it is not an argon2id PHC string.
    pub fn parse(phc: &str) -> Result<Self, ParseError> {
        crate::secret::check_argon2id("password_hash", phc)?;
        Ok(Self(phc.to_owned()))
    }

    /// Whether `password` matches (slow by design: run it off the request threads).
    #[must_use]
    pub fn verify(&self, password: &Password) -> bool {
        crate::secret::argon2id_matches(&self.0, password.0.as_bytes())
    }

    /// The PHC string, for the store.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// The OpenID Connect profile claims a user releases (Core §5.1) besides `name` and `email`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    /// `given_name`.
    pub given_name: Option<ClientName>,
    /// `family_name`.
    pub family_name: Option<ClientName>,
    /// `locale` (a BCP 47 tag such as `pt-BR`).
    pub locale: Option<ClientName>,
    /// `email_verified`.
    pub email_verified: bool,
    /// `phone_number` (scope `phone`).
    pub phone_number: Option<PhoneNumber>,
    /// `phone_number_verified` (scope `phone`).
    pub phone_number_verified: bool,
    /// `address` (scope `address`).
    pub address: Option<PostalAddress>,
}

crate::string_newtype!(
    /// A telephone number (Core §5.1 `phone_number`), E.164 recommended: `+`, digits, and the
    /// separators people write (space, `-`, `(`, `)`, `.`), an extension after `;ext=`.
    PhoneNumber,
    "phone_number",
    40,
    |c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.' | ';' | 'e' | 'x' | 't' | '='),
    "+, digits, spaces, - ( ) . and ;ext="
);

/// A postal address (Core §5.1.1): its components, each optional, as the user gave them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PostalAddress {
    /// `street_address` (one line).
    pub street_address: Option<ClientName>,
    /// `locality`: the city.
    pub locality: Option<ClientName>,
    /// `region`: the state or province.
    pub region: Option<ClientName>,
    /// `postal_code`.
    pub postal_code: Option<ClientName>,
    /// `country`.
    pub country: Option<ClientName>,
}

impl PostalAddress {
    /// The address when it has at least one component.
    #[must_use]
    pub fn non_empty(self) -> Option<Self> {
        (self != Self::default()).then_some(self)
    }

    /// `formatted` (Core §5.1.1): the street, then the locality, region and postal code on one
    /// line, then the country, separated by line breaks.
    #[must_use]
    pub fn formatted(&self) -> String {
        fn text(v: &Option<ClientName>) -> Option<&str> {
            v.as_ref().map(ClientName::as_str)
        }
        let middle: Vec<&str> = [
            text(&self.locality),
            text(&self.region),
            text(&self.postal_code),
        ]
        .into_iter()
        .flatten()
        .collect();
        let middle = middle.join(" ");
        [
            text(&self.street_address),
            (!middle.is_empty()).then_some(middle.as_str()),
            text(&self.country),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n")
    }
}

/// A user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Identifier.
    pub id: UserId,
    /// Logon name, unique.
    pub logon: Logon,
    /// E-mail address.
    pub email: Email,
    /// Display name.
    pub name: ClientName,
    /// Whether it may obtain tokens.
    pub status: UserStatus,
    /// The password hash; a user without one cannot sign in.
    pub password: Option<PasswordHash>,
    /// OpenID Connect profile claims.
    pub profile: Profile,
    /// Failed sign-ins since the last success or lock.
    pub failed_sign_ins: u32,
    /// Until when sign-in is refused after too many failures.
    pub locked_until: Option<UnixTime>,
    /// When it was created.
    pub created_at: UnixTime,
    /// When it last changed.
    pub updated_at: UnixTime,
}

impl User {
    /// Whether it may sign in at `now`: active, and not locked out after failed sign-ins.
    #[must_use]
    pub fn sign_in_state(&self, now: UnixTime) -> SignInState {
        match (self.status, self.locked_until) {
            (UserStatus::Disabled, _) => SignInState::Disabled,
            (UserStatus::Locked, _) => SignInState::Locked { until: None },
            (UserStatus::Active, Some(until)) if until > now => {
                SignInState::Locked { until: Some(until) }
            }
            (UserStatus::Active, _) => SignInState::Open,
        }
    }
}

/// Whether a user may sign in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInState {
    /// Yes.
    Open,
    /// Locked, by an operator (`until: None`) or after failed sign-ins.
    Locked {
        /// When the lock ends by itself.
        until: Option<UnixTime>,
    },
    /// Disabled by an operator.
    Disabled,
}

/// How failed sign-ins are answered (AuthMe's "Lock/Unlock an user credential").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failures of one user's password before the user is locked.
    pub max_user_failures: u32,
    /// How long such a lock lasts, in seconds.
    pub lock_seconds: u32,
    /// Failures from one source address (any user) before the address is refused.
    pub max_address_failures: u32,
    /// The window those are counted in, and how long the address is then refused, in seconds.
    pub address_window_seconds: u32,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            max_user_failures: 5,
            lock_seconds: 900,
            max_address_failures: 20,
            address_window_seconds: 900,
        }
    }
}

impl LockoutPolicy {
    /// A lockout policy; every count and window must be at least 1 (zero would lock on no
    /// failure, or never end a window).
    ///
    /// # Errors
    /// Names the first setting that is zero.
    pub fn new(
        max_user_failures: u32,
        lock_seconds: u32,
        max_address_failures: u32,
        address_window_seconds: u32,
    ) -> Result<Self, ParseError> {
        for (what, v) in [
            ("max_failed_sign_ins", max_user_failures),
            ("lockout_seconds", lock_seconds),
            ("max_failed_sign_ins_per_address", max_address_failures),
            ("address_window_seconds", address_window_seconds),
        ] {
            if v == 0 {
                return Err(ParseError::new(what, "must be at least 1"));
            }
        }
        Ok(Self {
            max_user_failures,
            lock_seconds,
            max_address_failures,
            address_window_seconds,
        })
    }

    /// After the `failures`-th failure in a row: until when the user is locked, if at all.
    #[must_use]
    pub fn lock_after(&self, failures: u32, now: UnixTime) -> Option<UnixTime> {
        (failures >= self.max_user_failures.max(1))
            .then(|| now.plus_secs(i64::from(self.lock_seconds)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lockout_policy_has_no_zero_count_or_window() {
        assert!(LockoutPolicy::new(5, 900, 20, 300).is_ok());
        assert_eq!(
            LockoutPolicy::new(5, 900, 0, 300).unwrap_err().what,
            "max_failed_sign_ins_per_address"
        );
    }

    #[test]
    fn passwords_are_bounded_hashed_and_never_shown() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse(&"x".repeat(257)).is_err());
        assert!(Password::parse("has a\nnewline").is_err());
        let pw = Password::parse("correct horse battery").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(format!("{pw:?}"), "Password(<redacted>)");
        let hash = PasswordHash::new(&pw, [9; 16]).unwrap_or_else(|e| panic!("{e}"));
        assert!(hash.as_str().starts_with("$argon2id$"));
        assert_eq!(format!("{hash:?}"), "PasswordHash(<redacted>)");
        assert!(hash.verify(&pw));
        let wrong = Password::parse("correct horse battery!").unwrap_or_else(|e| panic!("{e}"));
        assert!(!hash.verify(&wrong));
        assert_eq!(PasswordHash::parse(hash.as_str()), Ok(hash));
        assert!(PasswordHash::parse("$argon2i$v=19$m=16,t=2,p=1$c2FsdHNhbHQ$aGFzaA").is_err());
    }

    #[test]
    fn lockout_follows_failures_status_and_time() {
        let policy = LockoutPolicy::default();
        let now = UnixTime::from_secs(1000);
        assert_eq!(policy.lock_after(4, now), None);
        assert_eq!(policy.lock_after(5, now), Some(UnixTime::from_secs(1900)));
        let mut user = User {
            id: UserId::parse("u").unwrap_or_else(|e| panic!("{e}")),
            logon: Logon::parse("u").unwrap_or_else(|e| panic!("{e}")),
            email: Email::parse("u@example.com").unwrap_or_else(|e| panic!("{e}")),
            name: ClientName::parse("U").unwrap_or_else(|e| panic!("{e}")),
            status: UserStatus::Active,
            password: None,
            profile: Profile::default(),
            failed_sign_ins: 0,
            locked_until: Some(UnixTime::from_secs(1900)),
            created_at: now,
            updated_at: now,
        };
        assert_eq!(
            user.sign_in_state(now),
            SignInState::Locked {
                until: Some(UnixTime::from_secs(1900))
            }
        );
        assert_eq!(
            user.sign_in_state(UnixTime::from_secs(1900)),
            SignInState::Open
        );
        user.status = UserStatus::Locked;
        assert_eq!(
            user.sign_in_state(UnixTime::from_secs(5000)),
            SignInState::Locked { until: None }
        );
        user.status = UserStatus::Disabled;
        assert_eq!(user.sign_in_state(now), SignInState::Disabled);
    }

    #[test]
    fn user_values_parse_their_shapes() {
        assert!(Logon::parse("A123321B").is_ok());
        assert!(Logon::parse("has space").is_err());
        assert!(UserId::parse("5ef904d4b91ac90414895f3c").is_ok());
        for good in ["a@b.co", "first.last+tag@example.com.br"] {
            assert!(Email::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "nobody",
            "@example.com",
            "a@b",
            "a@b@c.com",
            "a @b.com",
            "a@.com",
            "a@com.",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        for s in [UserStatus::Active, UserStatus::Locked, UserStatus::Disabled] {
            assert_eq!(UserStatus::parse(s.as_str()), Ok(s));
        }
    }

    #[test]
    fn phone_numbers_and_addresses_take_what_people_write() {
        for good in [
            "+55 11 91234-5678",
            "+1 (555) 010-9999;ext=42",
            "+4930123456",
        ] {
            assert!(PhoneNumber::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "call me", "+55 11 <script>", &"1".repeat(41)] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad}");
        }
        let text = |s: &str| Some(ClientName::parse(s).unwrap_or_else(|e| panic!("{e}")));
        let full = PostalAddress {
            street_address: text("Av. Paulista, 1000"),
            locality: text("São Paulo"),
            region: text("SP"),
            postal_code: text("01310-100"),
            country: text("BR"),
        };
        assert_eq!(
            full.formatted(),
            "Av. Paulista, 1000\nSão Paulo SP 01310-100\nBR"
        );
        let city = PostalAddress {
            locality: text("Recife"),
            ..PostalAddress::default()
        };
        assert_eq!(city.formatted(), "Recife");
        assert_eq!(PostalAddress::default().non_empty(), None);
        assert!(city.non_empty().is_some());
    }
}
