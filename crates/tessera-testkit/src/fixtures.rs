//! Ready-made domain values for tests.

use tessera_domain::client::ClientSpec;
use tessera_domain::keys::{KeyId, KeyState, PrivateKeyDer, SigningKey};
use tessera_domain::secret::{PlainSecret, SecretPepper, SecretVerifier};
use tessera_domain::{
    Client, ClientAuthMethod, ClientId, ClientName, Role, RoleSet, ScopeSet, SigningAlgorithm,
    UnixTime,
};

/// The pepper the fixtures hash secrets under.
#[must_use]
pub fn pepper() -> SecretPepper {
    SecretPepper::from_bytes([0x5e; 32])
}

/// The generated secret of fixture client `id`.
#[must_use]
pub fn secret_of(id: &str) -> PlainSecret {
    let mut raw = [0u8; 32];
    for (i, b) in id.bytes().enumerate() {
        raw[i % 32] ^= b;
    }
    PlainSecret::generate(raw)
}

/// A parsed client id.
#[must_use]
pub fn client_id(id: &str) -> ClientId {
    ClientId::parse(id).unwrap()
}

/// A confidential client with a generated secret ([`secret_of`]), both secret methods, the
/// `client_credentials` grant, scopes `read write` (default `read`) and no roles.
#[must_use]
pub fn client_spec(id: &str) -> ClientSpec {
    ClientSpec {
        auth_methods: [
            ClientAuthMethod::ClientSecretBasic,
            ClientAuthMethod::ClientSecretPost,
        ]
        .into(),
        allowed_scopes: ScopeSet::parse("read write").unwrap(),
        default_scopes: ScopeSet::parse("read").unwrap(),
        ..ClientSpec::new(
            client_id(id),
            ClientName::parse(&format!("Client {id}")).unwrap(),
            vec![SecretVerifier::hmac(&pepper(), &secret_of(id)).into()],
            UnixTime::from_secs(1_700_000_000),
        )
    }
}

/// [`client_spec`] as a client.
#[must_use]
pub fn client(id: &str) -> Client {
    Client::new(client_spec(id)).unwrap()
}

/// A client with roles.
#[must_use]
pub fn client_with_roles(id: &str, roles: &[&str]) -> Client {
    let mut spec = client_spec(id);
    spec.roles = RoleSet::from_roles(roles.iter().map(|r| Role::parse(r).unwrap()));
    Client::new(spec).unwrap()
}

/// A stored-key record with fake key material (for store tests; it does not parse as a key).
#[must_use]
pub fn key_record(
    kid: &str,
    alg: SigningAlgorithm,
    state: KeyState,
    created_at: i64,
) -> SigningKey {
    SigningKey {
        kid: KeyId::parse(kid).unwrap(),
        alg,
        state,
        private_der: PrivateKeyDer::new(kid.as_bytes().to_vec()),
        created_at: UnixTime::from_secs(created_at),
        activated_at: (state == KeyState::Active).then(|| UnixTime::from_secs(created_at)),
        retire_at: None,
    }
}
