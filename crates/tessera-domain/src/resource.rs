//! Resource indicators (RFC 8707): the protected resources a token is for, which of them a client
//! may ask for, and the audience (`aud`) they give its access tokens.

use std::fmt;

use crate::client::Audience;
use crate::error::ParseError;

/// A resource indicator (RFC 8707 §2): an absolute URI (RFC 3986 §4.3) without a fragment, at
/// most 512 bytes of visible ASCII (so that it is also an [`Audience`]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Resource(String);

impl Resource {
    /// Parses a `resource` value.
    ///
    /// # Errors
    /// When it is not an absolute URI (`scheme:` then something), has a fragment, is longer than
    /// 512 bytes or holds a space or a control character.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let bad = |why: &str| ParseError::new("resource", why.to_owned());
        if s.is_empty() {
            return Err(bad("may not be empty"));
        }
        if s.len() > 512 {
            return Err(bad("longer than 512 bytes"));
        }
        if s.chars().any(|c| !matches!(c, '\x21'..='\x7E')) {
            return Err(bad("must be visible ASCII characters, no spaces"));
        }
        // RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then ":".
        let (scheme, rest) = s
            .split_once(':')
            .ok_or_else(|| bad("must be an absolute URI"))?;
        let mut chars = scheme.chars();
        let scheme_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !scheme_ok || rest.is_empty() {
            return Err(bad("must be an absolute URI"));
        }
        // RFC 8707 §2: "The URI MUST NOT include a fragment component."
        if s.contains('#') {
            return Err(bad("must not have a fragment"));
        }
        Ok(Self(s.to_owned()))
    }

    /// The URI.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The resources asked for in one request, each once, in the order first asked.
///
/// # Errors
/// The first value that is not a resource indicator.
pub fn parse_resources<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Resource>, ParseError> {
    let mut out: Vec<Resource> = Vec::new();
    for v in values {
        let r = Resource::parse(v)?;
        if !out.contains(&r) {
            out.push(r);
        }
    }
    Ok(out)
}

/// Why the resources asked for were refused (`invalid_target`, RFC 8707 §2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetRefused(pub Resource);

impl fmt::Display for TargetRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the resource {} is not available to this client", self.0)
    }
}

/// The resources a token is for (RFC 8707 §2.2): those `requested`, each of which must be one
/// the client is `allowed` and — for a refresh or a code exchange — one the grant was made for
/// (`granted`): a later request may narrow the resources, never widen them. Without a request,
/// every granted resource (none for a new grant: the client's default audience then applies).
///
/// # Errors
/// The first requested resource outside what is allowed or granted.
pub fn resources_for(
    requested: &[Resource],
    allowed: &[Resource],
    granted: Option<&[Resource]>,
) -> Result<Vec<Resource>, TargetRefused> {
    if requested.is_empty() {
        return Ok(granted.map(<[Resource]>::to_vec).unwrap_or_default());
    }
    for r in requested {
        if !allowed.contains(r) || granted.is_some_and(|g| !g.contains(r)) {
            return Err(TargetRefused(r.clone()));
        }
    }
    Ok(requested.to_vec())
}

/// The audience of an access token (RFC 7519 §4.1.3): one value, or several when it was asked
/// for several resources. Never empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Audiences(Vec<Audience>);

impl Audiences {
    /// A single audience.
    #[must_use]
    pub fn one(aud: Audience) -> Self {
        Self(vec![aud])
    }

    /// The audience of a token for `resources`, or `default` when there are none.
    #[must_use]
    pub fn for_resources(resources: &[Resource], default: &Audience) -> Self {
        let auds: Vec<Audience> = resources
            .iter()
            .filter_map(|r| Audience::parse(r.as_str()).ok())
            .collect();
        if auds.is_empty() {
            Self::one(default.clone())
        } else {
            Self(auds)
        }
    }

    /// Parses a list of audiences.
    ///
    /// # Errors
    /// When it is empty or a value is not an audience.
    pub fn parse_all<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Self, ParseError> {
        let auds = values
            .into_iter()
            .map(Audience::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if auds.is_empty() {
            return Err(ParseError::new("aud", "may not be empty"));
        }
        Ok(Self(auds))
    }

    /// The first (for a single-audience token, the only) value.
    #[must_use]
    pub fn first(&self) -> &Audience {
        // Never empty by construction; the fallback is unreachable.
        self.0
            .first()
            .unwrap_or_else(|| unreachable!("audiences are never empty"))
    }

    /// Every value.
    #[must_use]
    pub fn as_slice(&self) -> &[Audience] {
        &self.0
    }

    /// Whether `aud` is one of them.
    #[must_use]
    pub fn contains(&self, aud: &str) -> bool {
        self.0.iter().any(|a| a.as_str() == aud)
    }
}

impl fmt::Display for Audiences {
    /// Space-separated (audiences hold no spaces), as stored.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for a in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            f.write_str(a.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn r(s: &str) -> Resource {
        Resource::parse(s).unwrap()
    }

    #[test]
    fn resource_indicators_are_absolute_uris_without_fragments() {
        for ok in [
            "https://api.example.com/",
            "https://api.example.com/v1?tenant=a",
            "urn:example:calendar",
        ] {
            assert!(Resource::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/relative",
            "api.example.com",
            "https://api.example.com/#frag",
            "https://a b",
            "1https://x",
            "https:",
        ] {
            assert!(Resource::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Resource::parse(&format!("https://x/{}", "a".repeat(520))).is_err());
        assert_eq!(
            parse_resources(["https://a/", "https://b/", "https://a/"]).unwrap(),
            vec![r("https://a/"), r("https://b/")],
            "each once, in order"
        );
    }

    #[test]
    fn a_token_is_for_allowed_resources_and_a_later_request_only_narrows() {
        let (a, b, c) = (r("https://a/"), r("https://b/"), r("https://c/"));
        let allowed = [a.clone(), b.clone()];
        assert_eq!(resources_for(&[], &allowed, None), Ok(vec![]));
        assert_eq!(
            resources_for(std::slice::from_ref(&a), &allowed, None),
            Ok(vec![a.clone()])
        );
        assert_eq!(
            resources_for(std::slice::from_ref(&c), &allowed, None),
            Err(TargetRefused(c.clone())),
            "not the client's"
        );
        let granted = [a.clone()];
        assert_eq!(
            resources_for(&[], &allowed, Some(&granted)),
            Ok(vec![a.clone()])
        );
        assert_eq!(
            resources_for(std::slice::from_ref(&b), &allowed, Some(&granted)),
            Err(TargetRefused(b.clone())),
            "allowed, but not granted: never widened"
        );
        let both = [a.clone(), b.clone()];
        assert_eq!(
            resources_for(std::slice::from_ref(&b), &allowed, Some(&both)),
            Ok(vec![b])
        );
    }

    #[test]
    fn the_audience_is_the_resources_or_the_default() {
        let default = Audience::parse("https://issuer/").unwrap();
        assert_eq!(
            Audiences::for_resources(&[], &default),
            Audiences::one(default.clone())
        );
        let two = Audiences::for_resources(&[r("https://a/"), r("https://b/")], &default);
        assert_eq!(two.to_string(), "https://a/ https://b/");
        assert!(two.contains("https://b/") && !two.contains("https://issuer/"));
        assert_eq!(
            Audiences::parse_all("https://a/ https://b/".split(' ')).unwrap(),
            two
        );
    }
}
