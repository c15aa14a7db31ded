//! Key pairs: generation, parsing once into aws-lc-rs key objects, their public JWK and `kid`.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    self as sig, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
    RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::crypto::JwtSigner;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters,
    EllipticCurveKeyType, Jwk, OctetKeyPairParameters, OctetKeyPairType, RSAKeyParameters,
    RSAKeyType, ThumbprintHash,
};
use jsonwebtoken::signature::{Error as SignatureError, Signer};
use jsonwebtoken::{Algorithm, Header};
use tessera_domain::SigningAlgorithm;
use tessera_domain::keys::{KeyId, PrivateKeyDer, PublicJwk, PublicKeyParams, SigningKey};
use tessera_domain::ports::SignError;

use crate::ACCESS_TOKEN_TYP;

/// A parsed private key, ready to sign.
enum Parsed {
    Ecdsa(EcdsaKeyPair),
    Rsa(RsaKeyPair, &'static dyn sig::RsaEncoding),
    Ed25519(Ed25519KeyPair),
}

/// A key parsed once, with its public JWK and its precomputed, encoded JWS header.
pub struct LoadedKey {
    alg: SigningAlgorithm,
    parsed: Parsed,
    decoding: jsonwebtoken::DecodingKey,
    public: PublicJwk,
    encoded_header: String,
    encoded_id_header: String,
    encoded_logout_header: String,
}

fn bad(e: impl std::fmt::Display) -> SignError {
    SignError::BadKey(e.to_string())
}

const fn jwt_alg(alg: SigningAlgorithm) -> Algorithm {
    match alg {
        SigningAlgorithm::Es256 => Algorithm::ES256,
        SigningAlgorithm::Rs256 => Algorithm::RS256,
        SigningAlgorithm::Ps256 => Algorithm::PS256,
        SigningAlgorithm::EdDsa => Algorithm::EdDSA,
    }
}

fn parse(alg: SigningAlgorithm, der: &[u8]) -> Result<Parsed, SignError> {
    Ok(match alg {
        SigningAlgorithm::Es256 => Parsed::Ecdsa(
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der).map_err(bad)?,
        ),
        SigningAlgorithm::Rs256 => Parsed::Rsa(
            RsaKeyPair::from_pkcs8(der).map_err(bad)?,
            &sig::RSA_PKCS1_SHA256,
        ),
        SigningAlgorithm::Ps256 => Parsed::Rsa(
            RsaKeyPair::from_pkcs8(der).map_err(bad)?,
            &sig::RSA_PSS_SHA256,
        ),
        SigningAlgorithm::EdDsa => Parsed::Ed25519(Ed25519KeyPair::from_pkcs8(der).map_err(bad)?),
    })
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn public_params(parsed: &Parsed) -> Result<PublicKeyParams, SignError> {
    Ok(match parsed {
        Parsed::Ecdsa(pair) => {
            // Uncompressed SEC1 point: 0x04 || x || y, 32 bytes each for P-256.
            let point = pair.public_key().as_ref();
            match (point.first(), point.get(1..33), point.get(33..65)) {
                (Some(4), Some(x), Some(y)) if point.len() == 65 => PublicKeyParams::Ec {
                    crv: "P-256",
                    x: b64(x),
                    y: b64(y),
                },
                _ => return Err(bad("unexpected P-256 public key encoding")),
            }
        }
        Parsed::Rsa(pair, _) => {
            let c = sig::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
            PublicKeyParams::Rsa {
                n: b64(&c.n),
                e: b64(&c.e),
            }
        }
        Parsed::Ed25519(pair) => PublicKeyParams::Okp {
            crv: "Ed25519",
            x: b64(pair.public_key().as_ref()),
        },
    })
}

/// The `jsonwebtoken` JWK of public parameters, for the RFC 7638 thumbprint.
fn to_jwk(alg: SigningAlgorithm, params: &PublicKeyParams) -> Jwk {
    let algorithm = match params {
        PublicKeyParams::Ec { x, y, .. } => {
            AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
                key_type: EllipticCurveKeyType::EC,
                curve: EllipticCurve::P256,
                x: x.clone(),
                y: y.clone(),
            })
        }
        PublicKeyParams::Rsa { n, e } => AlgorithmParameters::RSA(RSAKeyParameters {
            key_type: RSAKeyType::RSA,
            n: n.clone(),
            e: e.clone(),
        }),
        PublicKeyParams::Okp { x, .. } => {
            AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                key_type: OctetKeyPairType::OctetKeyPair,
                curve: EllipticCurve::Ed25519,
                x: x.clone(),
            })
        }
    };
    Jwk {
        common: CommonParameters {
            key_algorithm: Some(jwt_alg(alg).into()),
            ..Default::default()
        },
        algorithm,
    }
}

/// The key's `kid`: its RFC 7638 JWK SHA-256 thumbprint.
fn thumbprint(alg: SigningAlgorithm, params: &PublicKeyParams) -> Result<KeyId, SignError> {
    let print = to_jwk(alg, params)
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(bad)?;
    KeyId::parse(&print).map_err(bad)
}

/// Generates a new key for `alg`: P-256 for ES256, RSA-2048 for RS256 and PS256, Ed25519 for
/// EdDSA. Returns its `kid` and its PKCS#8 v1 DER.
///
/// # Errors
/// When aws-lc-rs fails.
pub fn generate_key(alg: SigningAlgorithm) -> Result<(KeyId, PrivateKeyDer), SignError> {
    let der: Vec<u8> = match alg {
        SigningAlgorithm::Es256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .and_then(|k| k.to_pkcs8v1())
            .map_err(bad)?
            .as_ref()
            .to_vec(),
        SigningAlgorithm::Rs256 | SigningAlgorithm::Ps256 => {
            let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(bad)?;
            let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).map_err(bad)?;
            der.as_ref().to_vec()
        }
        SigningAlgorithm::EdDsa => Ed25519KeyPair::generate()
            .and_then(|k| k.to_pkcs8v1())
            .map_err(bad)?
            .as_ref()
            .to_vec(),
    };
    let parsed = parse(alg, &der)?;
    let kid = thumbprint(alg, &public_params(&parsed)?)?;
    Ok((kid, PrivateKeyDer::new(der)))
}

impl LoadedKey {
    /// Parses a stored key once, checks that its `kid` is its thumbprint, and precomputes its
    /// header.
    ///
    /// # Errors
    /// When the key does not parse for its algorithm or its `kid` does not match.
    pub fn parse(key: &SigningKey) -> Result<Self, SignError> {
        let parsed = parse(key.alg, key.private_der.expose())?;
        let params = public_params(&parsed)?;
        if thumbprint(key.alg, &params)? != key.kid {
            return Err(bad(format!(
                "kid {} is not the thumbprint of its key",
                key.kid
            )));
        }
        let mut header = Header::new(jwt_alg(key.alg));
        header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
        header.kid = Some(key.kid.as_str().to_owned());
        let header_json = serde_json::to_vec(&header).map_err(bad)?;
        header.typ = Some(crate::ID_TOKEN_TYP.to_owned());
        let id_header_json = serde_json::to_vec(&header).map_err(bad)?;
        header.typ = Some(crate::LOGOUT_TOKEN_TYP.to_owned());
        let logout_header_json = serde_json::to_vec(&header).map_err(bad)?;
        let decoding = match &params {
            PublicKeyParams::Ec { x, y, .. } => jsonwebtoken::DecodingKey::from_ec_components(x, y),
            PublicKeyParams::Rsa { n, e } => jsonwebtoken::DecodingKey::from_rsa_components(n, e),
            PublicKeyParams::Okp { x, .. } => jsonwebtoken::DecodingKey::from_ed_components(x),
        }
        .map_err(bad)?;
        Ok(Self {
            alg: key.alg,
            parsed,
            decoding,
            public: PublicJwk {
                kid: key.kid.clone(),
                alg: key.alg,
                params,
            },
            encoded_header: b64(&header_json),
            encoded_id_header: b64(&id_header_json),
            encoded_logout_header: b64(&logout_header_json),
        })
    }

    /// The public half, for the JWKS.
    #[must_use]
    pub fn public_jwk(&self) -> &PublicJwk {
        &self.public
    }

    /// Checks `token`'s signature with this key's public half and its `alg`, returning the claims.
    /// No time-based check: the caller compares `exp` with its own clock.
    ///
    /// # Errors
    /// `Invalid` for a bad signature, another algorithm or unparsable claims.
    pub fn verify(
        &self,
        token: &str,
    ) -> Result<tessera_domain::token::AccessTokenClaims, SignError> {
        let mut validation = jsonwebtoken::Validation::new(jwt_alg(self.alg));
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let data =
            jsonwebtoken::decode::<crate::claims::OwnedClaims>(token, &self.decoding, &validation)
                .map_err(|_| SignError::Invalid)?;
        data.claims.into_domain().ok_or(SignError::Invalid)
    }

    /// Checks an ID token's signature with this key (expiry, audience and issuer unchecked) and
    /// returns the claims a hint carries.
    ///
    /// # Errors
    /// `Invalid` for a bad signature, another algorithm or unparsable claims.
    pub fn verify_id_token(
        &self,
        token: &str,
    ) -> Result<tessera_domain::interaction::IdTokenHint, SignError> {
        let mut validation = jsonwebtoken::Validation::new(jwt_alg(self.alg));
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let data =
            jsonwebtoken::decode::<crate::claims::HintClaims>(token, &self.decoding, &validation)
                .map_err(|_| SignError::Invalid)?;
        data.claims.into_domain().ok_or(SignError::Invalid)
    }

    /// The base64url-encoded JWS header: `{"typ":"at+jwt","alg":…,"kid":…}`.
    #[must_use]
    pub fn encoded_header(&self) -> &str {
        &self.encoded_header
    }

    /// The base64url-encoded JWS header of ID tokens: `{"typ":"JWT","alg":…,"kid":…}`.
    #[must_use]
    pub fn encoded_id_header(&self) -> &str {
        &self.encoded_id_header
    }

    /// The base64url-encoded JWS header of logout tokens: `{"typ":"logout+jwt","alg":…,"kid":…}`.
    #[must_use]
    pub fn encoded_logout_header(&self) -> &str {
        &self.encoded_logout_header
    }
}

impl Signer<Vec<u8>> for LoadedKey {
    fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, SignatureError> {
        match &self.parsed {
            Parsed::Ecdsa(pair) => pair
                .sign(&SystemRandom::new(), msg)
                .map(|s| s.as_ref().to_vec())
                .map_err(SignatureError::from_source),
            Parsed::Rsa(pair, encoding) => {
                let mut out = vec![0; pair.public_modulus_len()];
                pair.sign(*encoding, &SystemRandom::new(), msg, &mut out)
                    .map_err(SignatureError::from_source)?;
                Ok(out)
            }
            Parsed::Ed25519(pair) => Ok(pair.sign(msg).as_ref().to_vec()),
        }
    }
}

impl JwtSigner for LoadedKey {
    fn algorithm(&self) -> Algorithm {
        jwt_alg(self.alg)
    }
}
