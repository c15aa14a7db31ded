//! Scopes (RFC 6749 §3.3): `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`, space-delimited lists.

use std::collections::BTreeSet;
use std::fmt;

use crate::error::ParseError;

/// The longest scope token accepted; longer ones are almost certainly abuse.
const MAX_SCOPE_LEN: usize = 256;
/// The most scope tokens in one set.
const MAX_SCOPES: usize = 128;

/// One scope token, e.g. `openid` or `pix.read`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope(String);

impl Scope {
    /// Parses one scope token per RFC 6749 §3.3.
    ///
    /// # Errors
    /// When the token is empty, too long, or has a character outside `%x21 / %x23-5B / %x5D-7E`.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        if s.is_empty() {
            return Err(ParseError::new("scope", "a scope token may not be empty"));
        }
        if s.len() > MAX_SCOPE_LEN {
            return Err(ParseError::new(
                "scope",
                format!("longer than {MAX_SCOPE_LEN} bytes"),
            ));
        }
        if let Some(c) = s.chars().find(|&c| !is_scope_char(c)) {
            return Err(ParseError::new(
                "scope",
                format!("character {c:?} is not allowed in a scope token (RFC 6749 §3.3)"),
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// The scope token.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

const fn is_scope_char(c: char) -> bool {
    matches!(c, '\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A set of scopes: sorted, without duplicates, rendered space-delimited.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ScopeSet(BTreeSet<Scope>);

impl ScopeSet {
    /// The empty set.
    #[must_use]
    pub fn empty() -> Self {
        Self::default()
    }

    /// Parses a space-delimited scope list (RFC 6749 §3.3). Runs of spaces are tolerated; any other
    /// whitespace is an error, as is an over-long list. Duplicates collapse.
    ///
    /// # Errors
    /// When a token does not parse, or the list has more than 128 distinct tokens.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let mut set = BTreeSet::new();
        for token in s.split(' ').filter(|t| !t.is_empty()) {
            set.insert(Scope::parse(token)?);
            if set.len() > MAX_SCOPES {
                return Err(ParseError::new(
                    "scope",
                    format!("more than {MAX_SCOPES} scopes"),
                ));
            }
        }
        Ok(Self(set))
    }

    /// A set built from scopes that already parsed.
    pub fn from_scopes(scopes: impl IntoIterator<Item = Scope>) -> Self {
        Self(scopes.into_iter().collect())
    }

    /// Whether the set has no scope.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many scopes the set has.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether every scope of `self` is in `other`.
    #[must_use]
    pub fn is_subset(&self, other: &Self) -> bool {
        self.0.is_subset(&other.0)
    }

    /// The scopes of `self` that are not in `other`, in order.
    pub fn difference<'a>(&'a self, other: &'a Self) -> impl Iterator<Item = &'a Scope> + 'a {
        self.0.difference(&other.0)
    }

    /// Whether the set holds `scope`.
    #[must_use]
    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s.as_str() == scope)
    }

    /// The scopes, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }

    /// The set with only the scopes `keep` says yes to.
    #[must_use]
    pub fn retain(mut self, keep: impl Fn(&Scope) -> bool) -> Self {
        self.0.retain(|s| keep(s));
        self
    }

    /// The set without `scope`.
    #[must_use]
    pub fn without(self, scope: &str) -> Self {
        self.retain(|s| s.as_str() != scope)
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for scope in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(scope.as_str())?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, &str>) {
        let got = ScopeSet::parse(input)
            .map(|s| s.to_string())
            .map_err(|e| e.reason);
        match expected {
            Ok(rendered) => assert_eq!(got, Ok(rendered.to_owned()), "input {input:?}"),
            Err(fragment) => {
                let err = got.expect_err(input);
                assert!(
                    err.contains(fragment),
                    "{err:?} should mention {fragment:?}"
                );
            }
        }
    }

    #[test]
    fn scope_lists_parse_sorted_and_deduplicated() {
        check("b a b", Ok("a b"));
        check("  read   write ", Ok("read write"));
        check("", Ok(""));
        check(
            "pix.read cob:write urn:x-y",
            Ok("cob:write pix.read urn:x-y"),
        );
    }

    #[test]
    fn characters_outside_rfc_6749_section_3_3_are_refused() {
        check("a\"b", Err("not allowed"));
        check("a\\b", Err("not allowed"));
        check("a\tb", Err("not allowed"));
        check("é", Err("not allowed"));
        check("a\u{0}", Err("not allowed"));
    }

    #[test]
    fn oversized_scopes_are_refused() {
        check(&"x".repeat(257), Err("longer than"));
        let many: Vec<String> = (0..129).map(|i| format!("s{i}")).collect();
        check(&many.join(" "), Err("more than 128"));
    }

    #[test]
    fn subset_and_difference() {
        let small = ScopeSet::parse("a").unwrap_or_default();
        let big = ScopeSet::parse("a b").unwrap_or_default();
        assert!(small.is_subset(&big));
        assert!(!big.is_subset(&small));
        let extra: Vec<_> = big.difference(&small).map(Scope::as_str).collect();
        assert_eq!(extra, ["b"]);
    }
}
