//! Authentication assurance and role requirements: the vocabulary AuthMe's API speaks
//! (`loginGrantedAuthorities`, client role sets), kept as data so every API can share it.

use std::fmt;

use crate::client::{Role, RoleSet};
use crate::error::ParseError;

/// How strongly a user was authenticated, in increasing order:
/// `AUTH-IDENTIFIED < AUTH_BASIC < AUTH_MFA < AUTH_SMART < AUTH_STRONG`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AssuranceLevel {
    /// The user is identified (e.g. by a device), not authenticated.
    Identified,
    /// Something the user knows.
    Basic,
    /// Two factors.
    Mfa,
    /// A smart credential.
    Smart,
    /// The strongest: e.g. a digital certificate.
    Strong,
}

impl AssuranceLevel {
    /// Every level, weakest first.
    pub const ALL: [Self; 5] = [
        Self::Identified,
        Self::Basic,
        Self::Mfa,
        Self::Smart,
        Self::Strong,
    ];

    /// The authority name as AuthMe writes it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Identified => "AUTH-IDENTIFIED",
            Self::Basic => "AUTH_BASIC",
            Self::Mfa => "AUTH_MFA",
            Self::Smart => "AUTH_SMART",
            Self::Strong => "AUTH_STRONG",
        }
    }

    /// Parses an authority name (exact).
    ///
    /// # Errors
    /// When it is not one of the five names.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        Self::ALL.into_iter().find(|l| l.as_str() == s).ok_or_else(|| {
            ParseError::new(
                "assurance_level",
                format!("{s:?} is not one of: AUTH-IDENTIFIED, AUTH_BASIC, AUTH_MFA, AUTH_SMART, AUTH_STRONG"),
            )
        })
    }

    /// The authorities a token at this level carries: this level and every weaker one.
    pub fn implied(self) -> impl Iterator<Item = Self> {
        Self::ALL.into_iter().filter(move |l| *l <= self)
    }
}

impl fmt::Display for AssuranceLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which roles a client needs for an operation: any one of several sets, each of which must be
/// held entirely. Written `ROLE_A+ROLE_B | ROLE_C` (AuthMe's "one of the following sets of roles").
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleRequirement(Vec<Vec<Role>>);

impl RoleRequirement {
    /// No requirement: every client satisfies it.
    #[must_use]
    pub const fn none() -> Self {
        Self(Vec::new())
    }

    /// Parses `SET | SET …` where a set is `ROLE+ROLE…`. An empty string is no requirement.
    ///
    /// # Errors
    /// When a role does not parse or a set is empty.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        if s.trim().is_empty() {
            return Ok(Self::none());
        }
        let sets = s
            .split('|')
            .map(|set| {
                let roles: Vec<Role> = set
                    .split('+')
                    .map(str::trim)
                    .map(Role::parse)
                    .collect::<Result<_, _>>()?;
                Ok(roles)
            })
            .collect::<Result<Vec<_>, ParseError>>()?;
        Ok(Self(sets))
    }

    /// Whether `roles` satisfy the requirement.
    #[must_use]
    pub fn is_met_by(&self, roles: &RoleSet) -> bool {
        self.0.is_empty()
            || self
                .0
                .iter()
                .any(|set| set.iter().all(|r| roles.contains(r.as_str())))
    }
}

impl fmt::Display for RoleRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sets: Vec<String> = self
            .0
            .iter()
            .map(|set| set.iter().map(Role::as_str).collect::<Vec<_>>().join("+"))
            .collect();
        f.write_str(&sets.join(" | "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assurance_levels_are_ordered_and_imply_the_weaker_ones() {
        assert!(AssuranceLevel::Identified < AssuranceLevel::Basic);
        assert!(AssuranceLevel::Smart < AssuranceLevel::Strong);
        for l in AssuranceLevel::ALL {
            assert_eq!(AssuranceLevel::parse(l.as_str()), Ok(l));
        }
        assert!(
            AssuranceLevel::parse("AUTH_IDENTIFIED").is_err(),
            "AuthMe spells it with a hyphen"
        );
        let implied: Vec<_> = AssuranceLevel::Mfa
            .implied()
            .map(AssuranceLevel::as_str)
            .collect();
        assert_eq!(implied, ["AUTH-IDENTIFIED", "AUTH_BASIC", "AUTH_MFA"]);
    }

    fn roles(names: &[&str]) -> RoleSet {
        RoleSet::from_roles(
            names
                .iter()
                .map(|n| Role::parse(n).unwrap_or_else(|_| unreachable!())),
        )
    }

    #[test]
    fn role_requirements_are_any_of_all_of() {
        let req = RoleRequirement::parse("ROLE_CLI-1STPARTY+ROLE_CLI-AUTH-BASIC | ROLE_CLI-ADMIN")
            .unwrap_or_else(|_| RoleRequirement::none());
        assert_eq!(
            req.to_string(),
            "ROLE_CLI-1STPARTY+ROLE_CLI-AUTH-BASIC | ROLE_CLI-ADMIN"
        );
        assert!(req.is_met_by(&roles(&["ROLE_CLI-1STPARTY", "ROLE_CLI-AUTH-BASIC"])));
        assert!(req.is_met_by(&roles(&["ROLE_CLI-ADMIN"])));
        assert!(!req.is_met_by(&roles(&["ROLE_CLI-1STPARTY"])));
        assert!(!req.is_met_by(&roles(&[])));
        assert!(RoleRequirement::none().is_met_by(&roles(&[])));
        assert!(RoleRequirement::parse("ROLE_A+ | ROLE_B").is_err());
        assert!(RoleRequirement::parse("BAD ROLE").is_err());
    }
}
