//! Tessera's signing adapter: key generation, RFC 9068 access-token signing and the public JWKS,
//! over `jsonwebtoken` with its `aws_lc_rs` backend.
//!
//! Keys are parsed once, when installed, and kept in memory: the hot path serialises the claims,
//! signs with the parsed key through `jsonwebtoken`'s [`JwtSigner`] trait and base64url-encodes,
//! with the JWS header precomputed per key. (`jsonwebtoken::encode` re-parses the PKCS#8 key on
//! every call, which costs more than a third of an ES256 signature.)
//!
//! Implements the domain ports [`TokenSigner`], [`KeyGenerator`] and [`RandomSource`].

mod claims;
mod keypair;
mod seal;

use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::signature::Signer as _;
use tessera_domain::SigningAlgorithm;
use tessera_domain::backchannel::LogoutTokenClaims;
use tessera_domain::interaction::IdTokenHint;
use tessera_domain::keys::{KeyId, KeyState, PrivateKeyDer, PublicJwk, SigningKey};
use tessera_domain::ports::{KeyGenerator, RandomSource, SignError, TokenSigner};
use tessera_domain::token::{AccessToken, AccessTokenClaims, IdTokenClaims};

pub use keypair::{LoadedKey, generate_key};
pub use seal::{AesGcmSealer, MasterKey};

/// The JWS `typ` of an access token (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
/// The `typ` of ID tokens (OpenID Connect Core §2 leaves it to `JWT`).
pub const ID_TOKEN_TYP: &str = "JWT";
/// The `typ` of logout tokens (Back-Channel Logout 1.0 §2.4: explicit typing).
pub const LOGOUT_TOKEN_TYP: &str = "logout+jwt";

/// What is installed: the signing key per algorithm and the published public keys.
#[derive(Default)]
struct Installed {
    /// The newest active key for each algorithm, indexed like [`SigningAlgorithm::ALL`].
    active: [Option<Arc<LoadedKey>>; 4],
    published: Vec<PublicJwk>,
    by_kid: std::collections::HashMap<KeyId, Arc<LoadedKey>>,
}

/// The in-memory key ring: signs with the active keys and lists the published ones.
#[derive(Default)]
pub struct JwtKeyRing {
    installed: RwLock<Arc<Installed>>,
}

impl JwtKeyRing {
    /// An empty key ring; [`TokenSigner::install`] fills it.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn snapshot(&self) -> Arc<Installed> {
        self.installed
            .read()
            .map_or_else(|e| Arc::clone(e.get_ref()), |g| Arc::clone(&g))
    }

    /// The active key for `alg`.
    fn active(&self, alg: SigningAlgorithm) -> Result<Arc<LoadedKey>, SignError> {
        self.snapshot()
            .active
            .get(alg_index(alg))
            .and_then(Option::clone)
            .ok_or(SignError::NoActiveKey(alg))
    }
}

fn alg_index(alg: SigningAlgorithm) -> usize {
    match alg {
        SigningAlgorithm::Es256 => 0,
        SigningAlgorithm::Rs256 => 1,
        SigningAlgorithm::Ps256 => 2,
        SigningAlgorithm::EdDsa => 3,
    }
}

impl TokenSigner for JwtKeyRing {
    fn sign(
        &self,
        alg: SigningAlgorithm,
        claims: &AccessTokenClaims,
    ) -> Result<AccessToken, SignError> {
        sign_with(&*self.active(alg)?, claims)
    }

    fn sign_id_token(
        &self,
        alg: SigningAlgorithm,
        claims: &IdTokenClaims,
    ) -> Result<AccessToken, SignError> {
        let key = self.active(alg)?;
        let payload = serde_json::to_vec(&claims::IdClaims::from(claims))
            .map_err(|e| SignError::BadKey(format!("claims did not serialise: {e}")))?;
        compact(&key, key.encoded_id_header(), &payload)
    }

    fn sign_logout_token(
        &self,
        alg: SigningAlgorithm,
        claims: &LogoutTokenClaims,
    ) -> Result<AccessToken, SignError> {
        let key = self.active(alg)?;
        let payload = serde_json::to_vec(&claims::LogoutClaims::from(claims))
            .map_err(|e| SignError::BadKey(format!("claims did not serialise: {e}")))?;
        compact(&key, key.encoded_logout_header(), &payload)
    }

    fn can_sign(&self, alg: SigningAlgorithm) -> bool {
        self.active(alg).is_ok()
    }

    fn install(&self, keys: &[SigningKey]) -> Result<(), SignError> {
        let mut next = Installed::default();
        // Oldest first, so a newer active key of the same algorithm wins.
        let mut ordered: Vec<&SigningKey> =
            keys.iter().filter(|k| k.state.is_published()).collect();
        ordered.sort_by_key(|k| (k.activated_at, k.created_at));
        for key in ordered {
            let loaded = Arc::new(LoadedKey::parse(key)?);
            next.published.push(loaded.public_jwk().clone());
            next.by_kid.insert(key.kid.clone(), Arc::clone(&loaded));
            if key.state == KeyState::Active
                && let Some(slot) = next.active.get_mut(alg_index(key.alg))
            {
                *slot = Some(loaded);
            }
        }
        next.published.sort_by(|a, b| a.kid.cmp(&b.kid));
        match self.installed.write() {
            Ok(mut guard) => *guard = Arc::new(next),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(next),
        }
        Ok(())
    }

    fn published(&self) -> Vec<PublicJwk> {
        self.snapshot().published.clone()
    }

    fn verify(&self, token: &str) -> Result<AccessTokenClaims, SignError> {
        self.published_key_for(token, ACCESS_TOKEN_TYP)?
            .verify(token)
    }

    fn verify_id_token(&self, token: &str) -> Result<IdTokenHint, SignError> {
        self.published_key_for(token, ID_TOKEN_TYP)?
            .verify_id_token(token)
    }
}

impl JwtKeyRing {
    /// The published key that signed `token`, when its header is one of ours: the `typ` given
    /// and a `kid` we publish, nothing else from the header (a `jku`, `x5u` or embedded `jwk` is
    /// never followed).
    fn published_key_for(&self, token: &str, typ: &str) -> Result<Arc<LoadedKey>, SignError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| SignError::Invalid)?;
        if header.typ.as_deref() != Some(typ) {
            return Err(SignError::Invalid);
        }
        let kid = header
            .kid
            .as_deref()
            .and_then(|k| KeyId::parse(k).ok())
            .ok_or(SignError::Invalid)?;
        self.snapshot()
            .by_kid
            .get(&kid)
            .cloned()
            .ok_or(SignError::Invalid)
    }
}

/// Signs `claims` with `key` as a compact JWS with the key's precomputed header.
///
/// # Errors
/// When the claims cannot be serialised or the signature fails.
pub fn sign_with(key: &LoadedKey, claims: &AccessTokenClaims) -> Result<AccessToken, SignError> {
    let payload = serde_json::to_vec(&claims::JwtClaims::from(claims))
        .map_err(|e| SignError::BadKey(format!("claims did not serialise: {e}")))?;
    compact(key, key.encoded_header(), &payload)
}

/// `header.payload.signature` with `key`.
fn compact(key: &LoadedKey, header: &str, payload: &[u8]) -> Result<AccessToken, SignError> {
    let mut token = String::with_capacity(header.len() + payload.len() * 4 / 3 + 360);
    token.push_str(header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut token);
    let signature = key
        .try_sign(token.as_bytes())
        .map_err(|e| SignError::BadKey(e.to_string()))?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
    Ok(AccessToken::new(token))
}

/// Generates keys with aws-lc-rs.
#[derive(Clone, Copy, Debug, Default)]
pub struct AwsLcKeyGenerator;

impl KeyGenerator for AwsLcKeyGenerator {
    fn generate(&self, alg: SigningAlgorithm) -> Result<(KeyId, PrivateKeyDer), SignError> {
        generate_key(alg)
    }
}

/// The operating system's CSPRNG, through aws-lc-rs.
#[derive(Clone, Copy, Debug, Default)]
pub struct AwsLcRandom;

impl RandomSource for AwsLcRandom {
    fn fill(&self, buf: &mut [u8]) {
        // aws-lc's generator fails only when the OS has no entropy source. Never go on with
        // predictable bytes: abort rather than issue guessable secrets or tokens.
        if aws_lc_rs::rand::fill(buf).is_err() {
            std::process::abort();
        }
    }
}

#[cfg(test)]
mod tests;
