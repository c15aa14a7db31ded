//! Strict parsing of what arrives on the wire: `application/x-www-form-urlencoded` bodies and
//! HTTP Basic credentials. Stricter than the usual lossy decoders, because a token endpoint must
//! refuse repeated parameters (RFC 6749 §3.2) and must not silently repair invalid UTF-8.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::percent_decode;

/// Why a request could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FormError {
    /// A parameter appears more than once (RFC 6749 §3.2).
    Repeated(String),
    /// A name or value is not valid UTF-8 once decoded.
    NotUtf8,
}

/// A parsed form: names to values, each name once but for [`REPEATABLE`] ones. Empty values count
/// as absent (RFC 6749 §3.2).
#[derive(Debug, Default)]
pub struct Form(Vec<(String, String)>);

/// The parameters a request may repeat: `resource` (RFC 8707 §2: "may be used multiple times to
/// indicate that the requested token is intended to be used at multiple resources"). RFC 6749
/// §3.1 and §3.2 forbid repeating any other.
pub const REPEATABLE: &[&str] = &["resource"];

/// The most parameters a form may have; a token request needs a handful.
const MAX_PARAMS: usize = 64;

impl Form {
    /// Parses a form body.
    ///
    /// # Errors
    /// `Repeated` for a repeated name, `NotUtf8` for an undecodable name or value.
    pub fn parse(body: &[u8]) -> Result<Self, FormError> {
        let mut params: Vec<(String, String)> = Vec::new();
        for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (
                    pair.get(..i).unwrap_or_default(),
                    pair.get(i + 1..).unwrap_or_default(),
                ),
                None => (pair, &[][..]),
            };
            let name = decode_component(name)?;
            let value = decode_component(value)?;
            if !REPEATABLE.contains(&name.as_str()) && params.iter().any(|(n, _)| *n == name) {
                return Err(FormError::Repeated(name));
            }
            if params.len() >= MAX_PARAMS {
                return Err(FormError::Repeated("(too many parameters)".into()));
            }
            params.push((name, value));
        }
        Ok(Self(params))
    }

    /// Every parameter, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Every non-empty value of the repeatable parameter `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// The value of `name`, or `None` when absent or empty.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }
}

/// Decodes one `application/x-www-form-urlencoded` component: `+` is a space, `%XX` a byte, and
/// the result must be UTF-8.
pub fn decode_component(raw: &[u8]) -> Result<String, FormError> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_decode(&plus_as_space)
        .decode_utf8()
        .map(std::borrow::Cow::into_owned)
        .map_err(|_| FormError::NotUtf8)
}

/// What an `Authorization` header holds, as far as client authentication goes.
#[derive(Debug, PartialEq, Eq)]
pub enum Authorization {
    /// No header.
    Absent,
    /// `Basic` credentials, decoded per RFC 6749 §2.3.1 (form-urlencoded, then base64).
    Basic {
        /// The client id.
        id: String,
        /// The secret.
        secret: String,
    },
    /// A header that is not valid Basic credentials (another scheme, bad base64, no colon, …).
    Malformed,
}

impl Authorization {
    /// Reads the header value (`None` when absent).
    #[must_use]
    pub fn parse(header: Option<&[u8]>) -> Self {
        let Some(raw) = header else {
            return Self::Absent;
        };
        let Ok(value) = std::str::from_utf8(raw) else {
            return Self::Malformed;
        };
        let value = value.trim();
        let Some((scheme, creds)) = value.split_once(' ') else {
            return Self::Malformed;
        };
        if !scheme.eq_ignore_ascii_case("basic") {
            return Self::Malformed;
        }
        let Ok(decoded) = STANDARD.decode(creds.trim()) else {
            return Self::Malformed;
        };
        let Some(colon) = decoded.iter().position(|&b| b == b':') else {
            return Self::Malformed;
        };
        let (id, secret) = (
            decoded.get(..colon).unwrap_or_default(),
            decoded.get(colon + 1..).unwrap_or_default(),
        );
        match (decode_component(id), decode_component(secret)) {
            (Ok(id), Ok(secret)) if !id.is_empty() => Self::Basic { id, secret },
            _ => Self::Malformed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_plus_and_percent_and_treat_empty_as_absent() {
        let f = Form::parse(b"grant_type=client_credentials&scope=a+b%20c&client_id=&x")
            .unwrap_or_default();
        assert_eq!(f.get("grant_type"), Some("client_credentials"));
        assert_eq!(f.get("scope"), Some("a b c"));
        assert_eq!(f.get("client_id"), None);
        assert_eq!(f.get("x"), None);
        assert_eq!(f.get("missing"), None);
    }

    #[test]
    fn repeated_parameters_are_refused_even_when_empty() {
        assert_eq!(
            Form::parse(b"a=1&a=2").map(|_| ()),
            Err(FormError::Repeated("a".into()))
        );
        assert_eq!(
            Form::parse(b"a=&a=2").map(|_| ()),
            Err(FormError::Repeated("a".into()))
        );
        assert_eq!(
            Form::parse(b"a=1&%61=2").map(|_| ()),
            Err(FormError::Repeated("a".into()))
        );
    }

    #[test]
    fn invalid_utf8_is_refused_not_repaired() {
        assert_eq!(Form::parse(b"a=%FF").map(|_| ()), Err(FormError::NotUtf8));
        assert_eq!(Form::parse(b"a=\xff").map(|_| ()), Err(FormError::NotUtf8));
        assert_eq!(Form::parse(b"%C3=1").map(|_| ()), Err(FormError::NotUtf8));
    }

    #[test]
    fn too_many_parameters_are_refused() {
        let body: Vec<String> = (0..65).map(|i| format!("p{i}=1")).collect();
        assert!(Form::parse(body.join("&").as_bytes()).is_err());
    }

    fn basic(raw: &str) -> Authorization {
        Authorization::parse(Some(raw.as_bytes()))
    }

    #[test]
    fn basic_credentials_are_form_urldecoded_after_base64() {
        // RFC 6749 §2.3.1: "a:b c" / "s%" encode as "a%3Ab+c" / "s%25".
        let header = format!("Basic {}", STANDARD.encode("a%3Ab+c:s%25:x"));
        assert_eq!(
            basic(&header),
            Authorization::Basic {
                id: "a:b c".into(),
                secret: "s%:x".into()
            }
        );
        let lower = format!("basic {}", STANDARD.encode("id:secret"));
        assert_eq!(
            basic(&lower),
            Authorization::Basic {
                id: "id".into(),
                secret: "secret".into()
            }
        );
        assert_eq!(Authorization::parse(None), Authorization::Absent);
    }

    #[test]
    fn malformed_basic_headers_are_recognised() {
        for bad in [
            "Basic".to_owned(),
            "Basic !!!".to_owned(),
            format!("Bearer {}", STANDARD.encode("a:b")),
            format!("Basic {}", STANDARD.encode("no-colon")),
            format!("Basic {}", STANDARD.encode(":secret-without-id")),
            format!("Basic {}", STANDARD.encode(b"a:\xff")),
        ] {
            assert_eq!(basic(&bad), Authorization::Malformed, "{bad}");
        }
        assert_eq!(
            Authorization::parse(Some(b"Basic \xff")),
            Authorization::Malformed
        );
    }
}
