//! Port contract suites: the obligations written on each port, as checks any implementation must
//! pass. Each suite expects an empty store.

use tessera_domain::keys::KeyState;
use tessera_domain::ports::{ClientRepository, KeyRepository, ServerSecretRepository};
use tessera_domain::secret::{SecretPepper, SecretVerifier};
use tessera_domain::{
    ClientAuthMethod, Role, RoleSet, ScopeSet, SigningAlgorithm, StoreError, TokenTtl,
};

use crate::fixtures::{client, client_id, client_spec, key_record, pepper};

/// [`ClientRepository`]'s contract.
pub async fn clients(repo: &dyn ClientRepository) {
    let v0 = repo.version().await.unwrap();
    assert_eq!(
        repo.find(&client_id("nobody")).await,
        Ok(None),
        "absence is Ok(None)"
    );
    assert_eq!(repo.list().await, Ok(vec![]));

    // Every field survives a round trip.
    let mut spec = client_spec("b-full");
    spec.roles = RoleSet::from_roles([
        Role::parse("ROLE_CLI-1STPARTY").unwrap(),
        Role::parse("ROLE_CLI-AUTH-BASIC").unwrap(),
    ]);
    spec.audience = Some(tessera_domain::Audience::parse("https://api.example").unwrap());
    spec.access_token_ttl = Some(TokenTtl::from_secs(120).unwrap());
    spec.signing_alg = Some(SigningAlgorithm::EdDsa);
    spec.secrets.push(
        SecretVerifier::argon2id(&crate::fixtures::secret_of("x"), [1; 16])
            .unwrap()
            .into(),
    );
    spec.secrets.push(tessera_domain::secret::ClientSecret {
        verifier: SecretVerifier::hmac(&pepper(), &crate::fixtures::secret_of("old")),
        expires_at: Some(tessera_domain::UnixTime::from_secs(1_900_000_000)),
    });
    spec.auth_methods = [ClientAuthMethod::ClientSecretPost].into();
    let full = tessera_domain::Client::new(spec).unwrap();
    repo.insert(&full).await.unwrap();
    assert_eq!(
        repo.find(full.id()).await,
        Ok(Some(full.clone())),
        "round trip"
    );
    let v1 = repo.version().await.unwrap();
    assert!(v1 > v0, "insert MUST grow the version");

    // A duplicate id is a conflict and leaves the first unchanged.
    let mut other = client_spec("b-full");
    other.allowed_scopes = ScopeSet::parse("other").unwrap();
    other.default_scopes = ScopeSet::empty();
    let other = tessera_domain::Client::new(other).unwrap();
    assert_eq!(repo.insert(&other).await, Err(StoreError::Conflict));
    assert_eq!(repo.find(full.id()).await, Ok(Some(full.clone())));

    // Update replaces everything, secrets included.
    let mut changed = client_spec("b-full");
    changed.enabled = false;
    changed.secrets =
        vec![SecretVerifier::hmac(&pepper(), &crate::fixtures::secret_of("new")).into()];
    let changed = tessera_domain::Client::new(changed).unwrap();
    repo.update(&changed).await.unwrap();
    assert_eq!(repo.find(full.id()).await, Ok(Some(changed.clone())));
    let v2 = repo.version().await.unwrap();
    assert!(v2 > v1, "update MUST grow the version");
    assert_eq!(
        repo.update(&client("ghost")).await,
        Err(StoreError::NotFound)
    );

    // List is ordered by id.
    repo.insert(&client("a-first")).await.unwrap();
    repo.insert(&client("c-last")).await.unwrap();
    let ids: Vec<String> = repo
        .list()
        .await
        .unwrap()
        .iter()
        .map(|c| c.id().to_string())
        .collect();
    assert_eq!(ids, ["a-first", "b-full", "c-last"]);
    assert_eq!(
        repo.list().await.unwrap()[1],
        changed,
        "list carries the secrets too"
    );

    // Delete removes the client and its secrets; the id can be registered again.
    let v3 = repo.version().await.unwrap();
    repo.delete(&client_id("b-full")).await.unwrap();
    assert!(
        repo.version().await.unwrap() > v3,
        "delete MUST grow the version"
    );
    assert_eq!(repo.find(&client_id("b-full")).await, Ok(None));
    assert_eq!(
        repo.delete(&client_id("b-full")).await,
        Err(StoreError::NotFound)
    );
    repo.insert(&client("b-full")).await.unwrap();
    assert_eq!(
        repo.find(&client_id("b-full")).await,
        Ok(Some(client("b-full")))
    );
}

/// [`KeyRepository`]'s contract.
pub async fn keys(repo: &dyn KeyRepository) {
    assert_eq!(repo.live_keys().await, Ok(vec![]));
    let v0 = repo.version().await.unwrap();
    let a = key_record("kid-a", SigningAlgorithm::Es256, KeyState::Active, 10);
    let b = key_record("kid-b", SigningAlgorithm::Rs256, KeyState::Published, 5);
    let gone = key_record("kid-gone", SigningAlgorithm::Es256, KeyState::Retired, 1);
    repo.insert(&a).await.unwrap();
    assert!(
        repo.version().await.unwrap() > v0,
        "insert MUST grow the version"
    );
    repo.insert(&b).await.unwrap();
    repo.insert(&gone).await.unwrap();
    assert_eq!(
        repo.live_keys().await,
        Ok(vec![b.clone(), a.clone()]),
        "live keys, oldest first"
    );
    assert_eq!(repo.insert(&a).await, Err(StoreError::Conflict));
}

/// [`ServerSecretRepository`]'s contract.
pub async fn server_secrets(repo: &dyn ServerSecretRepository) {
    let first = SecretPepper::from_bytes([1; 32]);
    let second = SecretPepper::from_bytes([2; 32]);
    let got = repo.pepper_or_insert(first).await.unwrap();
    assert_eq!(got.expose(), &[1; 32], "the first candidate is stored");
    let again = repo.pepper_or_insert(second).await.unwrap();
    assert_eq!(again.expose(), &[1; 32], "later candidates are dropped");
}
