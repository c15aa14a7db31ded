//! Port contract suites: the obligations written on each port, as checks any implementation must
//! pass. Each suite expects an empty store.

use tessera_domain::keys::KeyState;
use tessera_domain::ports::{ClientRepository, KeyRepository, ServerSecretRepository};
use tessera_domain::secret::{SecretPepper, SecretVerifier};
use tessera_domain::{
    ClientAuthMethod, Role, RoleSet, ScopeSet, SigningAlgorithm, StoreError, TokenTtl,
};

use crate::fixtures::{client, client_id, client_spec, key_record, pepper};

mod browser;
mod directory;

pub use browser::{authorization_codes, consents, params, sessions};
pub use directory::{registrations, sign_in_throttle, users};

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
    spec.max_assurance = Some(tessera_domain::assurance::AssuranceLevel::Smart);
    spec.cert_thumbprints = vec![
        tessera_domain::cert::CertThumbprint::of_der(b"one"),
        tessera_domain::cert::CertThumbprint::of_der(b"two"),
    ];
    spec.tls_subject_dn =
        Some(tessera_domain::cert::SubjectDn::parse(r"CN=pix\, one+UID=7,O=Example,C=BR").unwrap());
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
    let found = repo.find(full.id()).await.unwrap().unwrap();
    assert_eq!(
        found.tls_subject_dn().map(|d| d.as_str()),
        Some(r"CN=pix\, one+UID=7,O=Example,C=BR"),
        "the subject DN MUST keep its registered spelling"
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

    // Update replaces everything, secrets and registration options included.
    let mut changed = client_spec("b-full");
    changed.enabled = false;
    changed.grant_types = [
        tessera_domain::GrantType::ClientCredentials,
        tessera_domain::GrantType::RefreshToken,
        tessera_domain::GrantType::AuthorizationCode,
    ]
    .into();
    changed.redirect_uris =
        vec![tessera_domain::authorize::RedirectUri::parse("https://app.example/cb").unwrap()];
    changed.options = tessera_domain::registration::ClientOptions {
        post_logout_redirect_uris: vec![
            tessera_domain::authorize::RedirectUri::parse("https://app.example/bye").unwrap(),
        ],
        backchannel_logout_uri: Some(
            tessera_domain::registration::BackchannelUri::parse("https://app.example/bc").unwrap(),
        ),
        id_token_alg: Some(SigningAlgorithm::Es256),
        refresh_with_client_credentials: true,
        resources: vec![tessera_domain::resource::Resource::parse("https://api.example/").unwrap()],
    };
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

    // Replace applies only over the client it was read as.
    let mut renamed = changed.to_spec();
    renamed.name = tessera_domain::ClientName::parse("Renamed").unwrap();
    let renamed = tessera_domain::Client::new(renamed).unwrap();
    assert_eq!(
        repo.replace(&renamed, &full).await,
        Err(StoreError::Conflict),
        "a stale expectation changes nothing"
    );
    assert_eq!(repo.find(full.id()).await, Ok(Some(changed.clone())));
    repo.replace(&renamed, &changed).await.unwrap();
    assert_eq!(repo.find(full.id()).await, Ok(Some(renamed.clone())));
    assert_eq!(
        repo.replace(&client("ghost"), &client("ghost")).await,
        Err(StoreError::NotFound)
    );
    repo.update(&changed).await.unwrap();

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
    assert_eq!(
        repo.all_keys().await,
        Ok(vec![gone.clone(), b.clone(), a.clone()]),
        "all keys, oldest first"
    );

    // State changes are recorded and move the version.
    let v1 = repo.version().await.unwrap();
    let mut retiring = a.clone();
    retiring.state = KeyState::Retiring;
    retiring.retire_at = Some(tessera_domain::UnixTime::from_secs(99));
    repo.update(&retiring).await.unwrap();
    assert!(
        repo.version().await.unwrap() > v1,
        "update MUST grow the version"
    );
    assert_eq!(
        repo.live_keys().await,
        Ok(vec![b.clone(), retiring.clone()])
    );
    let mut retired = retiring.clone();
    retired.state = KeyState::Retired;
    repo.update(&retired).await.unwrap();
    assert_eq!(repo.live_keys().await, Ok(vec![b.clone()]));
    let ghost = key_record("ghost", SigningAlgorithm::Es256, KeyState::Active, 1);
    assert_eq!(repo.update(&ghost).await, Err(StoreError::NotFound));
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

fn family(id: &str, client: &str, expires_at: i64) -> tessera_domain::issued::RefreshFamily {
    tessera_domain::issued::RefreshFamily {
        id: id.to_owned(),
        client_id: client_id(client),
        subject: client.to_owned(),
        scope: ScopeSet::parse("a b").unwrap(),
        created_at: tessera_domain::UnixTime::from_secs(100),
        expires_at: tessera_domain::UnixTime::from_secs(expires_at),
        revoked_at: None,
        user: (id == "f1").then(|| tessera_domain::token::UserClaims {
            acr: tessera_domain::assurance::AssuranceLevel::Mfa,
            user_id: tessera_domain::user::UserId::parse("u-1").unwrap(),
            logon: Some(tessera_domain::user::Logon::parse("A123321B").unwrap()),
            device_id: Some("604b856442b4441b91c99fe4".into()),
            default_client_id: None,
        }),
        // Two resources on one family, none on the others: both round-trip.
        resources: if id == "f1" {
            ["https://api.example/", "urn:example:ledger"]
                .map(|r| tessera_domain::resource::Resource::parse(r).unwrap())
                .to_vec()
        } else {
            Vec::new()
        },
    }
}

fn refresh(token: &str, family: &str, at: i64) -> tessera_domain::issued::RefreshTokenRecord {
    tessera_domain::issued::RefreshTokenRecord {
        hash: tessera_domain::issued::TokenHash::of(token),
        family_id: family.to_owned(),
        issued_at: tessera_domain::UnixTime::from_secs(at),
        rotated_at: None,
        successor: None,
    }
}

/// [`tessera_domain::ports::RefreshTokenStore`]'s contract.
pub async fn refresh_tokens(store: &dyn tessera_domain::ports::RefreshTokenStore) {
    use tessera_domain::UnixTime;
    use tessera_domain::issued::{RotateOutcome, TokenHash};
    let t = |s: i64| UnixTime::from_secs(s);
    let h = TokenHash::of;
    let svc = tessera_domain::ClientId::parse("svc").unwrap();
    assert_eq!(store.find(&h("t0")).await, Ok(None));
    store
        .create_family(&family("f1", "svc", 1000), &refresh("t0", "f1", 100))
        .await
        .unwrap();
    assert_eq!(
        store
            .create_family(&family("f1", "svc", 1000), &refresh("other", "f1", 100))
            .await,
        Err(StoreError::Conflict)
    );
    let (tok, fam) = store.find(&h("t0")).await.unwrap().unwrap();
    assert_eq!(
        (tok, fam),
        (refresh("t0", "f1", 100), family("f1", "svc", 1000)),
        "round trip"
    );
    let other = tessera_domain::ClientId::parse("other").unwrap();
    assert_eq!(
        store.rotate(&h("t0"), &other, &h("t1"), t(105), 5).await,
        Ok(RotateOutcome::NotFound),
        "another client's token is no token"
    );
    assert_eq!(
        store.find(&h("t0")).await.unwrap().unwrap().0.rotated_at,
        None,
        "and stays as it was"
    );

    // Rotation, then a retry within the grace window, then reuse after it.
    assert_eq!(
        store.rotate(&h("t0"), &svc, &h("t1"), t(110), 5).await,
        Ok(RotateOutcome::Rotated(family("f1", "svc", 1000)))
    );
    let (t0, _) = store.find(&h("t0")).await.unwrap().unwrap();
    assert_eq!((t0.rotated_at, t0.successor), (Some(t(110)), Some(h("t1"))));
    assert_eq!(
        store.rotate(&h("t0"), &svc, &h("t1"), t(112), 5).await,
        Ok(RotateOutcome::Replayed(family("f1", "svc", 1000)))
    );
    assert_eq!(
        store
            .rotate(&h("t0"), &svc, &h("t1-other"), t(112), 5)
            .await,
        Ok(RotateOutcome::Reused),
        "a different successor is not a retry"
    );
    assert_eq!(
        store.find(&h("t1")).await.unwrap().unwrap().1.revoked_at,
        Some(t(112)),
        "the family is revoked"
    );
    assert_eq!(
        store.rotate(&h("t1"), &svc, &h("t2"), t(113), 5).await,
        Ok(RotateOutcome::Dead)
    );

    // Reuse after the grace window revokes too; a used successor ends the grace.
    store
        .create_family(&family("f2", "svc", 1000), &refresh("u0", "f2", 100))
        .await
        .unwrap();
    assert_eq!(
        store.rotate(&h("u0"), &svc, &h("u1"), t(100), 5).await,
        Ok(RotateOutcome::Rotated(family("f2", "svc", 1000)))
    );
    assert_eq!(
        store.rotate(&h("u1"), &svc, &h("u2"), t(101), 5).await,
        Ok(RotateOutcome::Rotated(family("f2", "svc", 1000)))
    );
    assert_eq!(
        store.rotate(&h("u0"), &svc, &h("u1"), t(102), 5).await,
        Ok(RotateOutcome::Reused)
    );
    store
        .create_family(&family("f3", "svc", 1000), &refresh("v0", "f3", 100))
        .await
        .unwrap();
    assert_eq!(
        store.rotate(&h("v0"), &svc, &h("v1"), t(100), 5).await,
        Ok(RotateOutcome::Rotated(family("f3", "svc", 1000)))
    );
    assert_eq!(
        store.rotate(&h("v0"), &svc, &h("v1"), t(106), 5).await,
        Ok(RotateOutcome::Reused)
    );

    // Expiry, unknown tokens, revocation, purge.
    store
        .create_family(&family("f4", "svc", 200), &refresh("w0", "f4", 100))
        .await
        .unwrap();
    assert_eq!(
        store.rotate(&h("w0"), &svc, &h("w1"), t(200), 5).await,
        Ok(RotateOutcome::Dead)
    );
    assert_eq!(
        store.rotate(&h("nope"), &svc, &h("x"), t(1), 5).await,
        Ok(RotateOutcome::NotFound)
    );
    store
        .create_family(&family("f5", "svc", 1000), &refresh("z0", "f5", 100))
        .await
        .unwrap();
    store.revoke_family("f5", t(150)).await.unwrap();
    store.revoke_family("f5", t(160)).await.unwrap();
    store.revoke_family("unknown", t(160)).await.unwrap();
    assert_eq!(
        store.find(&h("z0")).await.unwrap().unwrap().1.revoked_at,
        Some(t(150))
    );
    assert_eq!(store.purge(t(500)).await, Ok(1), "only f4 has expired");
    assert_eq!(store.find(&h("w0")).await, Ok(None));
    assert!(store.find(&h("z0")).await.unwrap().is_some());
}

fn opaque(token: &str, client: &str, exp: i64) -> tessera_domain::issued::OpaqueTokenRecord {
    tessera_domain::issued::OpaqueTokenRecord {
        hash: tessera_domain::issued::TokenHash::of(token),
        iss: tessera_domain::policy::Issuer::parse("https://id.example").unwrap(),
        sub: client.to_owned(),
        aud: tessera_domain::resource::Audiences::parse_all([
            "https://api.example",
            "https://other.example",
        ])
        .unwrap(),
        client_id: client_id(client),
        scope: ScopeSet::parse("a").unwrap(),
        roles: vec![Role::parse("ROLE_X").unwrap()],
        jti: format!("jti-{token}"),
        iat: tessera_domain::UnixTime::from_secs(100),
        exp: tessera_domain::UnixTime::from_secs(exp),
        revoked_at: None,
        cnf: (token == "a").then(|| tessera_domain::cert::CertThumbprint::of_der(b"cert")),
    }
}

/// [`tessera_domain::ports::OpaqueTokenStore`]'s contract.
pub async fn opaque_tokens(store: &dyn tessera_domain::ports::OpaqueTokenStore) {
    use tessera_domain::UnixTime;
    use tessera_domain::issued::TokenHash;
    let a = opaque("a", "svc", 200);
    store.insert(&a).await.unwrap();
    assert_eq!(store.insert(&a).await, Err(StoreError::Conflict));
    assert_eq!(
        store.find(&TokenHash::of("a")).await,
        Ok(Some(a.clone())),
        "round trip"
    );
    assert_eq!(store.find(&TokenHash::of("zz")).await, Ok(None));
    store
        .revoke(&TokenHash::of("a"), UnixTime::from_secs(150))
        .await
        .unwrap();
    store
        .revoke(&TokenHash::of("a"), UnixTime::from_secs(160))
        .await
        .unwrap();
    store
        .revoke(&TokenHash::of("zz"), UnixTime::from_secs(160))
        .await
        .unwrap();
    assert_eq!(
        store
            .find(&TokenHash::of("a"))
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(UnixTime::from_secs(150))
    );
    store.insert(&opaque("b", "svc", 900)).await.unwrap();
    assert_eq!(store.purge(UnixTime::from_secs(200)).await, Ok(1));
    assert_eq!(store.find(&TokenHash::of("a")).await, Ok(None));
    assert!(store.find(&TokenHash::of("b")).await.unwrap().is_some());
}

/// [`tessera_domain::ports::RevocationList`]'s contract.
pub async fn revocation_list(list: &dyn tessera_domain::ports::RevocationList) {
    use tessera_domain::UnixTime;
    assert_eq!(list.is_revoked("j1").await, Ok(false));
    let v0 = list.version().await.unwrap();
    list.revoke("j1", UnixTime::from_secs(200)).await.unwrap();
    let v1 = list.version().await.unwrap();
    assert_ne!(v0, v1, "a denial moves the version");
    list.revoke("j1", UnixTime::from_secs(200)).await.unwrap();
    list.revoke("j2", UnixTime::from_secs(900)).await.unwrap();
    assert_ne!(list.version().await.unwrap(), v1);
    assert_eq!(list.is_revoked("j1").await, Ok(true));
    let mut live = list.live(UnixTime::from_secs(100)).await.unwrap();
    live.sort();
    assert_eq!(live, ["j1", "j2"]);
    assert_eq!(list.live(UnixTime::from_secs(200)).await.unwrap(), ["j2"]);
    assert_eq!(list.purge(UnixTime::from_secs(200)).await, Ok(1));
    assert_eq!(list.is_revoked("j1").await, Ok(false));
    assert_eq!(list.is_revoked("j2").await, Ok(true));
}
