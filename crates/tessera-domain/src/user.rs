//! The user directory: the people tokens can be issued about (AuthMe's `USER` tokens today, the
//! sign-in flows later).

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
    /// When it was created.
    pub created_at: UnixTime,
    /// When it last changed.
    pub updated_at: UnixTime,
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
