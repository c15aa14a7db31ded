//! AES-256-GCM sealing of the server's secrets at rest (aws-lc-rs): `magic ‖ nonce ‖ ciphertext ‖
//! tag`, a fresh random 96-bit nonce per value, the value's context as associated data.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use tessera_domain::ports::{RandomSource, SealError, Sealer};

use crate::AwsLcRandom;

/// The prefix of a sealed value (format version 1).
const MAGIC: &[u8] = b"tsl1";

/// A 256-bit master key. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey([u8; 32]);

impl MasterKey {
    /// A new random key.
    #[must_use]
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        AwsLcRandom.fill(&mut key);
        Self(key)
    }

    /// The key from its 32 bytes.
    #[must_use]
    pub const fn from_bytes(key: [u8; 32]) -> Self {
        Self(key)
    }

    /// Parses the text form: 32 bytes in standard or URL-safe base64 (padding optional).
    ///
    /// # Errors
    /// When it is not base64 of exactly 32 bytes.
    pub fn parse(text: &str) -> Result<Self, String> {
        use base64::Engine as _;
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        let text = text.trim();
        let raw = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .map_err(|_| "a master key is 32 bytes in base64".to_owned())?;
        let bytes: [u8; 32] = raw
            .try_into()
            .map_err(|_| "a master key is 32 bytes in base64".to_owned())?;
        Ok(Self(bytes))
    }

    /// The text form (standard base64), to store in a file or a secret manager.
    #[must_use]
    pub fn to_text(&self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// Seals with AES-256-GCM under a master key.
pub struct AesGcmSealer {
    key: LessSafeKey,
}

impl AesGcmSealer {
    /// A sealer under `master`.
    ///
    /// # Panics
    /// Never: a 32-byte key is always a valid AES-256 key.
    #[must_use]
    pub fn new(master: &MasterKey) -> Self {
        #[allow(clippy::expect_used)]
        let unbound = UnboundKey::new(&AES_256_GCM, &master.0).expect("32 bytes is an AES-256 key");
        Self {
            key: LessSafeKey::new(unbound),
        }
    }
}

impl Sealer for AesGcmSealer {
    fn seal(&self, context: &str, plain: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        AwsLcRandom.fill(&mut nonce);
        let mut buf = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut buf,
            )
            .map_err(|_| SealError::Failed)?;
        let mut out = Vec::with_capacity(MAGIC.len() + NONCE_LEN + buf.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buf);
        Ok(out)
    }

    fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        let rest = sealed.strip_prefix(MAGIC).ok_or(SealError::NotSealed)?;
        if rest.len() < NONCE_LEN {
            return Err(SealError::WrongKey);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::WrongKey)?;
        let mut buf = ciphertext.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf)
            .map_err(|_| SealError::WrongKey)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let key = MasterKey::generate();
        let sealer = AesGcmSealer::new(&key);
        let sealed = sealer.seal("signing_key:k1", b"private key").unwrap();
        assert!(sealed.starts_with(MAGIC));
        assert!(
            !sealed.windows(11).any(|w| w == b"private key"),
            "no plaintext inside"
        );
        assert_ne!(
            sealer.seal("signing_key:k1", b"private key").unwrap(),
            sealed,
            "fresh nonces"
        );
        assert_eq!(
            sealer.open("signing_key:k1", &sealed).unwrap(),
            b"private key"
        );
        assert_eq!(
            sealer.open("signing_key:k2", &sealed),
            Err(SealError::WrongKey),
            "context"
        );
        let other = AesGcmSealer::new(&MasterKey::generate());
        assert_eq!(
            other.open("signing_key:k1", &sealed),
            Err(SealError::WrongKey),
            "key"
        );
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(
            sealer.open("signing_key:k1", &tampered),
            Err(SealError::WrongKey)
        );
        assert_eq!(
            sealer.open("x", b"0\x81\x87plain DER"),
            Err(SealError::NotSealed)
        );
        assert_eq!(sealer.open("x", b"tsl1short"), Err(SealError::WrongKey));
    }

    #[test]
    fn master_keys_parse_from_base64_and_never_print() {
        let key = MasterKey::generate();
        assert_eq!(MasterKey::parse(&key.to_text()), Ok(key.clone()));
        assert_eq!(format!("{key:?}"), "MasterKey(<redacted>)");
        assert!(MasterKey::parse("too short").is_err());
        assert!(MasterKey::parse(&"A".repeat(60)).is_err());
    }
}
