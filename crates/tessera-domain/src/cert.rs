//! Certificate binding (RFC 8705): a client certificate is known by its SHA-256 thumbprint, and a
//! token issued to a holder of the certificate carries it as `cnf.x5t#S256`.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprints_are_base64url_sha256() {
        let t = CertThumbprint::of_der(b"der");
        assert_eq!(t.as_str().len(), 43);
        assert_eq!(CertThumbprint::parse(t.as_str()), Ok(t));
        assert!(CertThumbprint::parse("short").is_err());
    }
}
