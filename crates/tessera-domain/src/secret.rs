//! Client secrets: generation, keyed hashing, constant-time verification.
//!
//! A generated secret is `tsec_` followed by the unpadded base64url encoding of 32 random bytes
//! and a 4-byte checksum (the first four bytes of SHA-256 over the random bytes), so a leak scanner
//! can recognise one by its prefix and confirm it offline without false positives. The server keeps
//! only HMAC-SHA-256 of the secret under a server-wide key (the *pepper*) that is stored apart from
//! the clients, so a stolen clients table is worthless and a check costs about a microsecond.
//!
//! A secret imported from another provider was chosen by someone else and may be weak, so it is
//! kept as an argon2id hash instead (RFC 9106, OWASP parameters). Checking it costs tens of
//! milliseconds; the service runs that check off the request threads through
//! [`crate::ports::BlockingWork`].

use std::fmt;

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ParseError;
use crate::time::UnixTime;

/// The prefix of every secret Tessera generates.
pub const SECRET_PREFIX: &str = "tsec_";
/// The length of a generated secret's encoded body: base64url of 32 + 4 bytes.
const SECRET_BODY_LEN: usize = 48;
/// The longest secret accepted at all; longer input is refused before any hashing.
const MAX_SECRET_LEN: usize = 512;

/// A secret as the client presented it (or as the server just generated it). Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainSecret(String);

impl PlainSecret {
    /// Wraps a presented secret.
    ///
    /// # Errors
    /// When it is empty or longer than 512 bytes.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        if s.is_empty() {
            return Err(ParseError::new("client_secret", "may not be empty"));
        }
        if s.len() > MAX_SECRET_LEN {
            return Err(ParseError::new("client_secret", "longer than 512 bytes"));
        }
        Ok(Self(s.to_owned()))
    }

    /// Generates a new secret from 32 bytes of randomness.
    #[must_use]
    pub fn generate(random: [u8; 32]) -> Self {
        let mut raw = [0u8; 36];
        let (body, check) = raw.split_at_mut(32);
        body.copy_from_slice(&random);
        let digest = Sha256::digest(random);
        check.copy_from_slice(digest.get(..4).unwrap_or_default());
        Self(format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(raw)))
    }

    /// The secret itself: to be shown once to whoever registered the client, and to nobody else.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether this looks like a secret Tessera generated: the prefix, the length, and a checksum
    /// that matches. What leak scanners check.
    #[must_use]
    pub fn has_valid_checksum(&self) -> bool {
        let Some(body) = self.0.strip_prefix(SECRET_PREFIX) else {
            return false;
        };
        if body.len() != SECRET_BODY_LEN {
            return false;
        }
        let Ok(raw) = URL_SAFE_NO_PAD.decode(body) else {
            return false;
        };
        let (random, check) = raw.split_at(32.min(raw.len()));
        Sha256::digest(random).get(..4) == Some(check)
    }
}

impl fmt::Debug for PlainSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainSecret(<redacted>)")
    }
}

/// The server-wide HMAC key under which generated secrets are hashed. Never printed.
#[derive(Clone)]
pub struct SecretPepper([u8; 32]);

impl SecretPepper {
    /// A pepper from 32 bytes of key material.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The key material, for the store to persist.
    #[must_use]
    pub const fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    /// HMAC-SHA-256 of `secret` under this key.
    #[must_use]
    pub fn mac(&self, secret: &PlainSecret) -> [u8; 32] {
        // HMAC accepts keys of any length, so this cannot fail; the fallback is never taken.
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&self.0) else {
            return [0; 32];
        };
        mac.update(secret.0.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for SecretPepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretPepper(<redacted>)")
    }
}

/// What the server keeps to check a secret: never the secret itself.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretVerifier {
    /// HMAC-SHA-256 under the server's pepper: for secrets the server generated.
    HmacSha256([u8; 32]),
    /// An argon2id hash in PHC string format: for secrets imported from elsewhere.
    Argon2id(String),
}

impl fmt::Debug for SecretVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HmacSha256(_) => f.write_str("HmacSha256(<redacted>)"),
            Self::Argon2id(_) => f.write_str("Argon2id(<redacted>)"),
        }
    }
}

/// OWASP's argon2id recommendation: 19 MiB, 2 passes, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, Some(32)).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// An argon2id PHC string of `bytes` salted with `salt`; `what` names the value in errors.
pub(crate) fn argon2id_hash(
    what: &'static str,
    bytes: &[u8],
    salt: [u8; 16],
) -> Result<String, ParseError> {
    let salt = SaltString::encode_b64(&salt).map_err(|e| ParseError::new(what, e.to_string()))?;
    argon2()
        .hash_password(bytes, &salt)
        .map(|h| h.to_string())
        .map_err(|e| ParseError::new(what, e.to_string()))
}

/// Checks that `phc` is an argon2id PHC string.
pub(crate) fn check_argon2id(what: &'static str, phc: &str) -> Result<(), ParseError> {
    let parsed = PasswordHash::new(phc).map_err(|e| ParseError::new(what, e.to_string()))?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(ParseError::new(what, "not an argon2id hash"));
    }
    Ok(())
}

/// The most memory a stored argon2id hash may ask for (64 MiB, in KiB): a hash is ours or an
/// operator's import, but a crafted one must not make a check allocate without bound.
const MAX_ARGON2_KIB: u32 = 64 * 1024;

std::thread_local! {
    /// The argon2 working memory of this thread, kept between checks. Allocated afresh for each
    /// check (19 MiB), it ended up retained in whichever allocator arena served it, so memory
    /// grew with every thread that had ever checked a password; kept here, a thread holds one
    /// buffer for good and the process as many as the threads that check (see the app's
    /// hashing threads).
    static ARGON2_MEMORY: std::cell::RefCell<Vec<argon2::Block>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Whether `bytes` match the argon2id PHC string `phc` (slow by design; constant-time compare).
pub(crate) fn argon2id_matches(phc: &str, bytes: &[u8]) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    let version = hash
        .version
        .map_or(Ok(Version::V0x13), Version::try_from)
        .unwrap_or(Version::V0x13);
    if hash.algorithm != argon2::ARGON2ID_IDENT || params.m_cost() > MAX_ARGON2_KIB {
        return false;
    }
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(Algorithm::Argon2id, version, params.clone());
    let hashed = ARGON2_MEMORY.with_borrow_mut(|memory| {
        memory.resize(params.block_count(), argon2::Block::default());
        argon.hash_password_into_with_memory(bytes, salt, &mut out, memory.as_mut_slice())
    });
    hashed.is_ok() && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
}

impl SecretVerifier {
    /// The verifier of a generated secret.
    #[must_use]
    pub fn hmac(pepper: &SecretPepper, secret: &PlainSecret) -> Self {
        Self::HmacSha256(pepper.mac(secret))
    }

    /// The verifier of an imported secret, salted with 16 random bytes.
    ///
    /// # Errors
    /// Only if argon2 refuses its own parameters, which would be a bug.
    pub fn argon2id(secret: &PlainSecret, salt: [u8; 16]) -> Result<Self, ParseError> {
        argon2id_hash("client_secret", secret.0.as_bytes(), salt).map(Self::Argon2id)
    }

    /// Parses a stored argon2id PHC string (as the store reads it back).
    ///
    /// # Errors
    /// When it is not an argon2id PHC string.
    pub fn parse_argon2id(phc: &str) -> Result<Self, ParseError> {
        check_argon2id("secret_verifier", phc)?;
        Ok(Self::Argon2id(phc.to_owned()))
    }

    /// Whether checking this verifier is slow (argon2id) and belongs off the request threads.
    #[must_use]
    pub const fn is_slow(&self) -> bool {
        matches!(self, Self::Argon2id(_))
    }

    /// Whether `secret` matches, in time independent of where the bytes differ.
    #[must_use]
    pub fn verify(&self, pepper: &SecretPepper, secret: &PlainSecret) -> bool {
        match self {
            Self::HmacSha256(expected) => bool::from(pepper.mac(secret).ct_eq(expected)),
            Self::Argon2id(phc) => argon2id_matches(phc, secret.0.as_bytes()),
        }
    }
}

/// A secret a client may present: its verifier and, during a rotation, when it stops working.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientSecret {
    /// How to check it.
    pub verifier: SecretVerifier,
    /// When it stops being accepted; `None` for as long as it is not rotated.
    pub expires_at: Option<UnixTime>,
}

impl ClientSecret {
    /// Whether it is still accepted at `now`.
    #[must_use]
    pub fn is_live(&self, now: UnixTime) -> bool {
        self.expires_at.is_none_or(|at| now < at)
    }
}

impl From<SecretVerifier> for ClientSecret {
    fn from(verifier: SecretVerifier) -> Self {
        Self {
            verifier,
            expires_at: None,
        }
    }
}

/// Checks `secret` against all of `verifiers` (a client may hold several during a rotation) without
/// stopping at the first match, so the time taken does not tell which one matched. With no
/// verifiers at all (an unknown client) it still computes one HMAC and compares it against a dummy,
/// so an unknown client costs what a wrong secret costs.
#[must_use]
pub fn verify_any<'a>(
    verifiers: impl IntoIterator<Item = &'a SecretVerifier>,
    pepper: &SecretPepper,
    secret: &PlainSecret,
) -> bool {
    let (checked, ok) = verifiers.into_iter().fold((0_usize, false), |(n, ok), v| {
        (n + 1, v.verify(pepper, secret) | ok)
    });
    if checked == 0 {
        let dummy = SecretVerifier::HmacSha256([0; 32]);
        let _ = dummy.verify(pepper, secret);
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> PlainSecret {
        PlainSecret::parse(s).unwrap_or_else(|_| PlainSecret(String::new()))
    }

    #[test]
    fn generated_secrets_carry_prefix_length_and_checksum() {
        let s = PlainSecret::generate([42; 32]);
        assert!(s.expose().starts_with("tsec_"));
        assert_eq!(s.expose().len(), 5 + 48);
        assert!(s.has_valid_checksum());
        // One flipped character breaks the checksum.
        let mut tampered = s.expose().to_owned();
        let last = if tampered.ends_with('A') { "B" } else { "A" };
        tampered.replace_range(10..11, last);
        assert!(!secret(&tampered).has_valid_checksum());
        assert!(!secret("tsec_short").has_valid_checksum());
        assert!(!secret("not-a-tessera-secret").has_valid_checksum());
        assert_ne!(
            PlainSecret::generate([1; 32]),
            PlainSecret::generate([2; 32])
        );
    }

    /// The check reuses its thread's memory and agrees with the standard verifier; a hash asking
    /// for more memory than any Tessera writes, or of another argon2 variant, never matches.
    #[test]
    fn argon2id_checks_match_the_standard_verifier_and_bound_memory() {
        use argon2::PasswordVerifier as _;
        let phc = argon2id_hash("t", b"correct horse", [5; 16]).unwrap();
        let parsed = PasswordHash::new(&phc).unwrap();
        assert!(argon2().verify_password(b"correct horse", &parsed).is_ok());
        for _ in 0..2 {
            assert!(argon2id_matches(&phc, b"correct horse"));
            assert!(!argon2id_matches(&phc, b"correct horsf"));
        }
        let greedy = phc.replace("m=19456", "m=1048576");
        assert_ne!(greedy, phc);
        assert!(!argon2id_matches(&greedy, b"correct horse"));
        assert!(!argon2id_matches(
            &phc.replace("$argon2id$", "$argon2i$"),
            b"correct horse"
        ));
    }

    #[test]
    fn hmac_verifier_accepts_only_the_secret_under_the_same_pepper() {
        let pepper = SecretPepper::from_bytes([9; 32]);
        let s = PlainSecret::generate([1; 32]);
        let v = SecretVerifier::hmac(&pepper, &s);
        assert!(v.verify(&pepper, &s));
        assert!(!v.verify(&pepper, &PlainSecret::generate([2; 32])));
        assert!(!v.verify(&SecretPepper::from_bytes([8; 32]), &s));
    }

    #[test]
    fn argon2id_verifier_round_trips_through_its_phc_string() {
        let s = secret("imported-from-elsewhere");
        let v =
            SecretVerifier::argon2id(&s, [3; 16]).unwrap_or(SecretVerifier::HmacSha256([0; 32]));
        let SecretVerifier::Argon2id(phc) = &v else {
            unreachable!("argon2id expected")
        };
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        let parsed = SecretVerifier::parse_argon2id(phc);
        assert_eq!(parsed.as_ref(), Ok(&v));
        let pepper = SecretPepper::from_bytes([0; 32]);
        assert!(v.verify(&pepper, &s));
        assert!(!v.verify(&pepper, &secret("imported-from-elsewherE")));
        assert!(
            SecretVerifier::parse_argon2id("$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA").is_err()
        );
    }

    #[test]
    fn verify_any_checks_every_verifier_and_refuses_an_empty_list() {
        let pepper = SecretPepper::from_bytes([5; 32]);
        let old = PlainSecret::generate([1; 32]);
        let new = PlainSecret::generate([2; 32]);
        let both = [
            SecretVerifier::hmac(&pepper, &old),
            SecretVerifier::hmac(&pepper, &new),
        ];
        assert!(verify_any(&both, &pepper, &old));
        assert!(verify_any(&both, &pepper, &new));
        assert!(!verify_any(&both, &pepper, &PlainSecret::generate([3; 32])));
        assert!(!verify_any(&[], &pepper, &old));
    }

    #[test]
    fn secrets_never_print() {
        let s = PlainSecret::generate([1; 32]);
        let pepper = SecretPepper::from_bytes([1; 32]);
        let printed = format!("{s:?} {pepper:?} {:?}", SecretVerifier::hmac(&pepper, &s));
        assert!(!printed.contains(s.expose()));
        assert!(printed.contains("redacted"));
    }

    #[test]
    fn oversized_or_empty_secrets_are_refused_before_hashing() {
        assert!(PlainSecret::parse("").is_err());
        assert!(PlainSecret::parse(&"x".repeat(513)).is_err());
        assert!(PlainSecret::parse(&"x".repeat(512)).is_ok());
    }
}
