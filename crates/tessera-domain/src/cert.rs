//! Certificate binding and authentication (RFC 8705): a client certificate is known by its SHA-256
//! thumbprint, and a token issued to a holder of the certificate carries it as `cnf.x5t#S256`. A
//! certificate that chains to a trusted CA also vouches for its subject distinguished name, which
//! `tls_client_auth` clients are registered by (RFC 8705 §2.1).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::error::ParseError;

/// The `x5t#S256` of a certificate: base64url (no padding) of SHA-256 over its DER.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CertThumbprint(String);

impl CertThumbprint {
    /// The thumbprint of a DER-encoded certificate.
    #[must_use]
    pub fn of_der(der: &[u8]) -> Self {
        Self(URL_SAFE_NO_PAD.encode(Sha256::digest(der)))
    }

    /// Parses a stored thumbprint.
    ///
    /// # Errors
    /// When it is not 32 bytes of unpadded base64url.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        match URL_SAFE_NO_PAD.decode(s) {
            Ok(raw) if raw.len() == 32 => Ok(Self(s.to_owned())),
            _ => Err(ParseError::new(
                "x5t#S256",
                "must be the base64url SHA-256 of a certificate",
            )),
        }
    }

    /// The thumbprint text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CertThumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A certificate the client proved it holds: its thumbprint always, and its subject only when the
/// chain was validated against a trust anchor of the deployment (otherwise the subject is just
/// text anybody can put in a self-signed certificate).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresentedCertificate {
    /// `x5t#S256` of the end-entity certificate.
    pub thumbprint: CertThumbprint,
    /// The subject DN of a certificate that chains to a trusted CA.
    pub trusted_subject: Option<SubjectDn>,
}

impl PresentedCertificate {
    /// A certificate known only by its thumbprint (self-signed, or no CA configured).
    #[must_use]
    pub fn self_signed(thumbprint: CertThumbprint) -> Self {
        Self {
            thumbprint,
            trusted_subject: None,
        }
    }
}

/// One attribute of a distinguished name, normalised for comparison: the attribute type as its
/// upper-case RFC 4514 keyword (or dotted OID when it has none) and the value with escapes
/// resolved, surrounding and repeated white space removed, and case folded (the attributes used in
/// subject names compare with `caseIgnoreMatch`, RFC 4517 §4.2.11).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Ava {
    kind: String,
    value: String,
}

impl Ava {
    fn new(kind: &str, value: &str) -> Result<Self, ParseError> {
        let kind = kind.trim();
        let kind = match keyword_of(kind) {
            Some(k) => k.to_owned(),
            None if kind.chars().all(|c| c.is_ascii_digit() || c == '.') && !kind.is_empty() => {
                kind.to_owned()
            }
            None if kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && kind.starts_with(|c: char| c.is_ascii_alphabetic()) =>
            {
                kind.to_ascii_uppercase()
            }
            None => return Err(dn_error(format!("{kind:?} is not an attribute type"))),
        };
        let value = value
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        Ok(Self { kind, value })
    }
}

/// The RFC 4514 keyword of an attribute type given as a keyword or an OID.
fn keyword_of(kind: &str) -> Option<&'static str> {
    const KNOWN: [(&str, &str); 12] = [
        ("CN", "2.5.4.3"),
        ("SERIALNUMBER", "2.5.4.5"),
        ("C", "2.5.4.6"),
        ("L", "2.5.4.7"),
        ("ST", "2.5.4.8"),
        ("STREET", "2.5.4.9"),
        ("O", "2.5.4.10"),
        ("OU", "2.5.4.11"),
        ("TITLE", "2.5.4.12"),
        ("DC", "0.9.2342.19200300.100.1.25"),
        ("UID", "0.9.2342.19200300.100.1.1"),
        ("EMAILADDRESS", "1.2.840.113549.1.9.1"),
    ];
    let oid = kind
        .strip_prefix("OID.")
        .or_else(|| kind.strip_prefix("oid."))
        .unwrap_or(kind);
    KNOWN
        .iter()
        .find(|(k, o)| k.eq_ignore_ascii_case(kind) || *o == oid)
        .map(|(k, _)| *k)
}

fn dn_error(reason: impl Into<String>) -> ParseError {
    ParseError::new("subject_dn", reason)
}

/// A subject distinguished name, as `tls_client_auth_subject_dn` registers it (RFC 8705 §2.1.2:
/// the RFC 4514 string form, most specific RDN first, e.g. `CN=pix.example,O=Example,C=BR`).
/// Two names are equal when they have the same RDNs in the same order, attribute types compared
/// by keyword or OID and values compared ignoring case and repeated white space.
#[derive(Clone, Debug)]
pub struct SubjectDn {
    text: String,
    rdns: Vec<Vec<Ava>>,
}

impl PartialEq for SubjectDn {
    fn eq(&self, other: &Self) -> bool {
        self.rdns == other.rdns
    }
}
impl Eq for SubjectDn {}

impl SubjectDn {
    /// Parses the RFC 4514 string form.
    ///
    /// # Errors
    /// When it is empty, longer than 1024 bytes, or not `type=value` RDNs separated by `,` (with
    /// `+` joining the parts of a multi-valued RDN and `\` escapes).
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        if s.trim().is_empty() {
            return Err(dn_error("is empty"));
        }
        if s.len() > 1024 {
            return Err(dn_error("is longer than 1024 bytes"));
        }
        let mut rdns = Vec::new();
        let mut rdn = Vec::new();
        let (mut kind, mut value) = (String::new(), Vec::<u8>::new());
        let mut in_value = false;
        let mut bytes = s.bytes().peekable();
        let finish = |kind: &mut String, value: &mut Vec<u8>| -> Result<Ava, ParseError> {
            let text = String::from_utf8(std::mem::take(value))
                .map_err(|_| dn_error("an escaped value is not UTF-8"))?;
            if text.trim().is_empty() {
                return Err(dn_error(format!("{kind} has no value")));
            }
            Ava::new(&std::mem::take(kind), &text)
        };
        while let Some(b) = bytes.next() {
            match (in_value, b) {
                (false, b'=') => in_value = true,
                (false, b',' | b'+') => return Err(dn_error("an RDN has no \"=\"")),
                (false, _) => kind.push(char::from(b)),
                (true, b'\\') => {
                    let first = bytes.next().ok_or_else(|| dn_error("ends in an escape"))?;
                    let hex = |c: u8| char::from(c).to_digit(16);
                    match (hex(first), bytes.peek().copied().and_then(hex)) {
                        (Some(hi), Some(lo)) => {
                            bytes.next();
                            value.push(u8::try_from(hi * 16 + lo).unwrap_or(0));
                        }
                        _ => value.push(first),
                    }
                }
                (true, b'+') => {
                    rdn.push(finish(&mut kind, &mut value)?);
                    in_value = false;
                }
                (true, b',') => {
                    rdn.push(finish(&mut kind, &mut value)?);
                    rdn.sort();
                    rdns.push(std::mem::take(&mut rdn));
                    in_value = false;
                }
                (true, _) => value.push(b),
            }
        }
        if !in_value {
            return Err(dn_error("the last RDN has no \"=\""));
        }
        rdn.push(finish(&mut kind, &mut value)?);
        rdn.sort();
        rdns.push(rdn);
        Ok(Self {
            text: s.trim().to_owned(),
            rdns,
        })
    }

    /// The name of a certificate's subject, from its RDNs in the order the certificate encodes
    /// them (least specific first, the reverse of the string form), each a list of
    /// (attribute type OID or keyword, value).
    ///
    /// # Errors
    /// When there are no RDNs or an attribute is empty.
    pub fn from_der_order(rdns: &[Vec<(String, String)>]) -> Result<Self, ParseError> {
        let mut parsed = Vec::with_capacity(rdns.len());
        for rdn in rdns.iter().rev() {
            let mut avas = rdn
                .iter()
                .map(|(k, v)| Ava::new(k, v))
                .collect::<Result<Vec<_>, _>>()?;
            if avas.is_empty() || avas.iter().any(|a| a.value.is_empty()) {
                return Err(dn_error("has an empty RDN"));
            }
            avas.sort();
            parsed.push(avas);
        }
        if parsed.is_empty() {
            return Err(dn_error("is empty"));
        }
        let text = parsed
            .iter()
            .map(|rdn| {
                rdn.iter()
                    .map(|a| format!("{}={}", a.kind, escape(&a.value)))
                    .collect::<Vec<_>>()
                    .join("+")
            })
            .collect::<Vec<_>>()
            .join(",");
        Ok(Self { text, rdns: parsed })
    }

    /// The string form (as registered, or rendered from a certificate).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && matches!(c, '#' | ' '))
        {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl fmt::Display for SubjectDn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dn(s: &str) -> SubjectDn {
        SubjectDn::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn from_cert(rdns: &[&[(&str, &str)]]) -> SubjectDn {
        let owned: Vec<Vec<(String, String)>> = rdns
            .iter()
            .map(|r| {
                r.iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect()
            })
            .collect();
        SubjectDn::from_der_order(&owned).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn subject_names_compare_as_rfc4514_says() {
        let cert = from_cert(&[
            &[("2.5.4.6", "BR")],
            &[("2.5.4.10", "Banco  Semear")],
            &[("2.5.4.3", "pix.example")],
        ]);
        assert_eq!(cert.as_str(), "CN=pix.example,O=banco semear,C=br");
        assert_eq!(dn("CN=pix.example,O=Banco Semear,C=BR"), cert);
        assert_eq!(dn("cn=PIX.example, o=Banco Semear , c=BR"), cert);
        assert_eq!(
            dn("2.5.4.3=pix.example,OID.2.5.4.10=Banco Semear,C=BR"),
            cert
        );
        // Order matters, and so does every RDN.
        assert_ne!(dn("C=BR,O=Banco Semear,CN=pix.example"), cert);
        assert_ne!(dn("CN=pix.example,O=Banco Semear"), cert);
        assert_ne!(dn("CN=pix.example,O=Banco Semear,C=BR,DC=x"), cert);
    }

    #[test]
    fn escapes_and_multi_valued_rdns_parse() {
        let name = dn(r"CN=Smith\, J.+UID=42,O=A\2B B");
        let cert = from_cert(&[&[("O", "A+ B")], &[("UID", "42"), ("CN", "Smith, J.")]]);
        assert_eq!(name, cert);
        assert_eq!(SubjectDn::parse(&cert.to_string()), Ok(cert));
    }

    #[test]
    fn malformed_names_are_refused() {
        for bad in [
            "",
            "  ",
            "CN",
            "CN=",
            "CN=a,",
            "=a",
            "CN=a,O",
            "C N=a",
            "CN=a\\",
            "CN=a,+O=b",
        ] {
            assert!(SubjectDn::parse(bad).is_err(), "{bad:?} parsed");
        }
        assert!(SubjectDn::parse(&format!("CN={}", "a".repeat(1100))).is_err());
    }

    #[test]
    fn thumbprints_are_base64url_sha256() {
        let t = CertThumbprint::of_der(b"der");
        assert_eq!(t.as_str().len(), 43);
        assert_eq!(CertThumbprint::parse(t.as_str()), Ok(t));
        assert!(CertThumbprint::parse("short").is_err());
    }
}
