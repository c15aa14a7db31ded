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
    /// For a retiring key: when every token it signed has expired and it may leave the JWKS.
    pub retire_at: Option<UnixTime>,
}

/// How keys move through their states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyPolicy {
    /// How long a new key is published before it signs: at least the JWKS cache lifetime, so a
    /// resource server that caches the JWKS has seen the key before it meets a token signed by it.
    pub publish_lead_secs: u32,
    /// How long a key signs before a successor is published automatically; `None` disables
    /// automatic rotation.
    pub rotation_period_secs: Option<u32>,
    /// How long a key stays published after it stops signing: at least the longest access-token
    /// lifetime, so every token it signed can still be verified.
    pub retire_after_secs: u32,
}

impl KeyPolicy {
    /// A key policy checked against what resource servers and tokens need: a new key is
    /// published at least one JWKS cache lifetime (`jwks_max_age_secs`) before it signs, and a
    /// retired key stays published at least as long as the longest access-token lifetime
    /// (`longest_token_secs`), so no token outlives the key that verifies it.
    ///
    /// # Errors
    /// Names the setting (`publish_lead_seconds`, `retire_after_seconds`) that breaks a rule.
    pub fn new(
        publish_lead_secs: u32,
        rotation_period_secs: Option<u32>,
        retire_after_secs: u32,
        jwks_max_age_secs: u32,
        longest_token_secs: u32,
    ) -> Result<Self, crate::ParseError> {
        if publish_lead_secs < jwks_max_age_secs {
            return Err(crate::ParseError::new(
                "publish_lead_seconds",
                format!(
                    "must be at least the JWKS max-age ({jwks_max_age_secs}), or a resource server could meet a kid it has not fetched"
                ),
            ));
        }
        if retire_after_secs < longest_token_secs {
            return Err(crate::ParseError::new(
                "retire_after_seconds",
                format!(
                    "must be at least the longest default access-token lifetime ({longest_token_secs} s), or tokens would outlive their key"
                ),
            ));
        }
        Ok(Self {
            publish_lead_secs,
            rotation_period_secs,
            retire_after_secs,
        })
    }
}

/// One change the key policy asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyChange {
    /// A published key has been visible long enough: it starts signing.
    Activate(KeyId),
    /// A key stops signing (a successor was activated) and stays published until `retire_at`.
    Retire {
        /// The key.
        kid: KeyId,
        /// When it may leave the JWKS.
        retire_at: UnixTime,
    },
    /// A retiring key's tokens have all expired: it leaves the JWKS.
    Remove(KeyId),
    /// A new key for this algorithm should be published (automatic rotation).
    Publish(SigningAlgorithm),
}

/// What should change in `keys` (the live ones) at `now`. Pure: the service applies the result.
///
/// Durations are compared strictly (`now > start + lead`) because stored instants are whole
/// seconds: the real wait is then never shorter than the configured one.
#[must_use]
pub fn plan_key_changes(keys: &[SigningKey], now: UnixTime, policy: &KeyPolicy) -> Vec<KeyChange> {
    let mut changes = Vec::new();
    for &alg in SigningAlgorithm::ALL {
        let of_alg: Vec<&SigningKey> = keys.iter().filter(|k| k.alg == alg).collect();
        let ready = of_alg
            .iter()
            .filter(|k| k.state == KeyState::Published)
            .filter(|k| now > k.created_at.plus_secs(i64::from(policy.publish_lead_secs)))
            .min_by_key(|k| (k.created_at, k.kid.clone()));
        if let Some(next) = ready {
            changes.push(KeyChange::Activate(next.kid.clone()));
            for old in of_alg.iter().filter(|k| k.state == KeyState::Active) {
                changes.push(KeyChange::Retire {
                    kid: old.kid.clone(),
                    retire_at: now.plus_secs(i64::from(policy.retire_after_secs)),
                });
            }
        } else if let Some(period) = policy.rotation_period_secs {
            let due = of_alg
                .iter()
                .filter(|k| k.state == KeyState::Active)
                .any(|k| {
                    now > k
                        .activated_at
                        .unwrap_or(k.created_at)
                        .plus_secs(i64::from(period))
                });
            let pending = of_alg.iter().any(|k| k.state == KeyState::Published);
            if due && !pending {
                changes.push(KeyChange::Publish(alg));
            }
        }
        for gone in of_alg
            .iter()
            .filter(|k| k.state == KeyState::Retiring && k.retire_at.is_some_and(|at| now > at))
        {
            changes.push(KeyChange::Remove(gone.kid.clone()));
        }
    }
    changes
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

    fn key(kid: &str, alg: SigningAlgorithm, state: KeyState, created: i64) -> SigningKey {
        SigningKey {
            kid: KeyId::parse(kid).unwrap_or_else(|_| unreachable!()),
            alg,
            state,
            private_der: PrivateKeyDer::new(vec![]),
            created_at: UnixTime::from_secs(created),
            activated_at: (state == KeyState::Active).then(|| UnixTime::from_secs(created)),
            retire_at: (state == KeyState::Retiring).then(|| UnixTime::from_secs(created + 50)),
        }
    }

    fn id(s: &str) -> KeyId {
        KeyId::parse(s).unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn a_key_policy_publishes_before_caches_expire_and_outlives_its_tokens() {
        assert!(KeyPolicy::new(300, None, 3600, 300, 3600).is_ok());
        let early = KeyPolicy::new(299, None, 3600, 300, 600).unwrap_err();
        assert_eq!(early.what, "publish_lead_seconds");
        let short = KeyPolicy::new(300, Some(86_400), 599, 300, 600).unwrap_err();
        assert_eq!(short.what, "retire_after_seconds");
    }

    const POLICY: KeyPolicy = KeyPolicy {
        publish_lead_secs: 10,
        rotation_period_secs: Some(100),
        retire_after_secs: 30,
    };

    #[test]
    fn a_published_key_signs_only_after_the_lead_and_its_predecessor_retires() {
        let es = SigningAlgorithm::Es256;
        let keys = [
            key("old", es, KeyState::Active, 0),
            key("new", es, KeyState::Published, 20),
        ];
        let plan = |now| plan_key_changes(&keys, UnixTime::from_secs(now), &POLICY);
        assert_eq!(plan(30), vec![], "exactly the lead is not yet enough");
        assert_eq!(
            plan(31),
            vec![
                KeyChange::Activate(id("new")),
                KeyChange::Retire {
                    kid: id("old"),
                    retire_at: UnixTime::from_secs(61)
                }
            ]
        );
    }

    #[test]
    fn retiring_keys_leave_after_their_tokens_expire_and_rotation_is_automatic() {
        let es = SigningAlgorithm::Es256;
        let keys = [
            key("gone", es, KeyState::Retiring, 0),
            key("cur", es, KeyState::Active, 0),
        ];
        assert_eq!(
            plan_key_changes(&keys, UnixTime::from_secs(50), &POLICY),
            vec![]
        );
        assert_eq!(
            plan_key_changes(&keys, UnixTime::from_secs(51), &POLICY),
            vec![KeyChange::Remove(id("gone"))]
        );
        assert_eq!(
            plan_key_changes(&keys, UnixTime::from_secs(101), &POLICY),
            vec![KeyChange::Publish(es), KeyChange::Remove(id("gone"))]
        );
        // A successor already pending: no second one.
        let pending = [
            key("cur", es, KeyState::Active, 0),
            key("next", es, KeyState::Published, 100),
        ];
        assert_eq!(
            plan_key_changes(&pending, UnixTime::from_secs(105), &POLICY),
            vec![]
        );
        let manual = KeyPolicy {
            rotation_period_secs: None,
            ..POLICY
        };
        assert_eq!(
            plan_key_changes(&keys[1..], UnixTime::from_secs(10_000), &manual),
            vec![]
        );
    }

    #[test]
    fn algorithms_rotate_independently() {
        let keys = [
            key("es", SigningAlgorithm::Es256, KeyState::Active, 0),
            key("rs-next", SigningAlgorithm::Rs256, KeyState::Published, 0),
            key("rs", SigningAlgorithm::Rs256, KeyState::Active, 0),
        ];
        let manual = KeyPolicy {
            rotation_period_secs: None,
            ..POLICY
        };
        assert_eq!(
            plan_key_changes(&keys, UnixTime::from_secs(11), &manual),
            vec![
                KeyChange::Activate(id("rs-next")),
                KeyChange::Retire {
                    kid: id("rs"),
                    retire_at: UnixTime::from_secs(41)
                }
            ]
        );
    }

    #[test]
    fn private_keys_never_print() {
        let printed = format!("{:?}", PrivateKeyDer::new(vec![1, 2, 3]));
        assert_eq!(printed, "PrivateKeyDer(<3 bytes redacted>)");
    }
}
