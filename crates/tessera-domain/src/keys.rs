//! Signing keys as the domain sees them: identity, algorithm, lifecycle state, and the public half
//! that resource servers fetch from the JWKS (RFC 7517).

use std::fmt;

use crate::client::SigningAlgorithm;
use crate::error::ParseError;
use crate::time::UnixTime;

/// A key identifier (`kid`, RFC 7515 §4.1.4): base64url characters, at most 128 bytes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// Parses a key identifier.
    ///
    /// # Errors
    /// When it is empty, too long, or not made of base64url characters.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        if s.is_empty() || s.len() > 128 {
            return Err(ParseError::new("kid", "must be 1 to 128 bytes"));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ParseError::new("kid", "must be base64url characters"));
        }
        Ok(Self(s.to_owned()))
    }

    /// The identifier.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a key is in its life. Only `Active` keys sign; `Published`, `Active` and `Retiring` keys
/// are in the JWKS, so no resource server ever meets an unknown `kid`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyState {
    /// In the JWKS, not yet signing.
    Published,
    /// Signing, and in the JWKS.
    Active,
    /// No longer signing; in the JWKS until every token it signed has expired.
    Retiring,
    /// Gone from the JWKS.
    Retired,
}

impl KeyState {
    /// The stored name of the state.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Published => "published",
            Self::Active => "active",
            Self::Retiring => "retiring",
            Self::Retired => "retired",
        }
    }

    /// Parses a stored state name.
    ///
    /// # Errors
    /// When the name is not one of the four states.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        match s {
            "published" => Ok(Self::Published),
            "active" => Ok(Self::Active),
            "retiring" => Ok(Self::Retiring),
            "retired" => Ok(Self::Retired),
            other => Err(ParseError::new(
                "key_state",
                format!("unknown state {other:?}"),
            )),
        }
    }

    /// Whether keys in this state appear in the JWKS.
    #[must_use]
    pub const fn is_published(self) -> bool {
        matches!(self, Self::Published | Self::Active | Self::Retiring)
    }
}

/// Private key material (PKCS#8 DER). Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKeyDer(Vec<u8>);

impl PrivateKeyDer {
    /// Wraps PKCS#8 DER bytes.
    #[must_use]
    pub const fn new(der: Vec<u8>) -> Self {
        Self(der)
    }

    /// The DER bytes, for the signer to parse and the store to persist.
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for PrivateKeyDer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKeyDer(<{} bytes redacted>)", self.0.len())
    }
}

/// A signing key as it is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningKey {
    /// Its identifier, the RFC 7638 thumbprint of its public half.
    pub kid: KeyId,
    /// The one algorithm it signs with.
    pub alg: SigningAlgorithm,
    /// Where it is in its life.
    pub state: KeyState,
    /// The private key.
    pub private_der: PrivateKeyDer,
    /// When it was made.
    pub created_at: UnixTime,
    /// When it started signing, if it has.
    pub activated_at: Option<UnixTime>,
}

/// The public half of a key, with its parameters as base64url strings (RFC 7518 §6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKeyParams {
    /// `kty: EC` (RFC 7518 §6.2).
    Ec {
        /// `crv`, e.g. `P-256`.
        crv: &'static str,
        /// `x` coordinate.
        x: String,
        /// `y` coordinate.
        y: String,
    },
    /// `kty: RSA` (RFC 7518 §6.3).
    Rsa {
        /// Modulus.
        n: String,
        /// Exponent.
        e: String,
    },
    /// `kty: OKP` (RFC 8037 §2).
    Okp {
        /// `crv`, e.g. `Ed25519`.
        crv: &'static str,
        /// Public key.
        x: String,
    },
}

/// One entry of the JWKS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicJwk {
    /// `kid`.
    pub kid: KeyId,
    /// `alg`.
    pub alg: SigningAlgorithm,
    /// The key parameters.
    pub params: PublicKeyParams,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_states_round_trip_and_only_live_ones_are_published() {
        for s in [
            KeyState::Published,
            KeyState::Active,
            KeyState::Retiring,
            KeyState::Retired,
        ] {
            assert_eq!(KeyState::parse(s.as_str()), Ok(s));
        }
        assert!(KeyState::parse("gone").is_err());
        assert!(!KeyState::Retired.is_published());
        assert!(KeyState::Retiring.is_published());
    }

    #[test]
    fn kids_are_base64url() {
        assert!(KeyId::parse("abc-DEF_123").is_ok());
        assert!(KeyId::parse("a/b").is_err());
        assert!(KeyId::parse("").is_err());
    }

    #[test]
    fn private_keys_never_print() {
        let printed = format!("{:?}", PrivateKeyDer::new(vec![1, 2, 3]));
        assert_eq!(printed, "PrivateKeyDer(<3 bytes redacted>)");
    }
}
