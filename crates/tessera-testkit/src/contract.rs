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

fn user(id: &str, logon: &str) -> tessera_domain::user::User {
    use tessera_domain::user::{Email, Logon, User, UserId, UserStatus};
    User {
        id: UserId::parse(id).unwrap(),
        logon: Logon::parse(logon).unwrap(),
        email: Email::parse(&format!("{logon}@example.com")).unwrap(),
        name: tessera_domain::ClientName::parse(&format!("User {logon}")).unwrap(),
        status: UserStatus::Active,
        password: None,
        profile: tessera_domain::user::Profile::default(),
        failed_sign_ins: 0,
        locked_until: None,
        created_at: tessera_domain::UnixTime::from_secs(10),
        updated_at: tessera_domain::UnixTime::from_secs(10),
    }
}

/// [`tessera_domain::ports::UserRepository`]'s contract.
pub async fn users(repo: &dyn tessera_domain::ports::UserRepository) {
    use tessera_domain::user::{Logon, UserId, UserStatus};
    let b = user("u-b", "B001");
    repo.insert(&b).await.unwrap();
    assert_eq!(repo.find(&b.id).await, Ok(Some(b.clone())), "round trip");
    assert_eq!(
        repo.find_by_logon(&Logon::parse("B001").unwrap()).await,
        Ok(Some(b.clone()))
    );
    assert_eq!(repo.find(&UserId::parse("nobody").unwrap()).await, Ok(None));
    assert_eq!(
        repo.insert(&user("u-b", "OTHER")).await,
        Err(StoreError::Conflict),
        "same id"
    );
    assert_eq!(
        repo.insert(&user("u-x", "B001")).await,
        Err(StoreError::Conflict),
        "same logon"
    );
    let a = user("u-a", "A001");
    repo.insert(&a).await.unwrap();
    let mut locked = b.clone();
    locked.status = UserStatus::Locked;
    locked.updated_at = tessera_domain::UnixTime::from_secs(20);
    repo.update(&locked).await.unwrap();
    assert_eq!(repo.find(&b.id).await, Ok(Some(locked.clone())));
    assert_eq!(
        repo.update(&user("ghost", "G001")).await,
        Err(StoreError::NotFound)
    );
    let mut clash = locked.clone();
    clash.logon = Logon::parse("A001").unwrap();
    assert_eq!(
        repo.update(&clash).await,
        Err(StoreError::Conflict),
        "logon taken"
    );
    assert_eq!(
        repo.list().await,
        Ok(vec![a.clone(), locked.clone()]),
        "by id"
    );

    // `replace` writes only over the state it was based on, and keeps the uniqueness rules.
    let mut renamed = locked.clone();
    renamed.name = tessera_domain::ClientName::parse("Renamed").unwrap();
    renamed.updated_at = tessera_domain::UnixTime::from_secs(30);
    assert_eq!(repo.replace(&renamed, &locked).await, Ok(true));
    assert_eq!(repo.find(&b.id).await, Ok(Some(renamed.clone())));
    let mut lost = locked.clone();
    lost.name = tessera_domain::ClientName::parse("Lost update").unwrap();
    assert_eq!(
        repo.replace(&lost, &locked).await,
        Ok(false),
        "based on a stale state"
    );
    assert_eq!(repo.find(&b.id).await, Ok(Some(renamed.clone())));
    let mut clash = renamed.clone();
    clash.logon = Logon::parse("A001").unwrap();
    assert_eq!(
        repo.replace(&clash, &renamed).await,
        Err(StoreError::Conflict),
        "logon taken"
    );
    assert_eq!(
        repo.replace(&user("ghost", "G002"), &user("ghost", "G002"))
            .await,
        Err(StoreError::NotFound)
    );

    // Passwords and profile claims round-trip.
    let mut full = a.clone();
    full.password = Some(
        tessera_domain::user::PasswordHash::parse(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFy",
        )
        .unwrap(),
    );
    full.profile = tessera_domain::user::Profile {
        given_name: Some(tessera_domain::ClientName::parse("Ana").unwrap()),
        family_name: Some(tessera_domain::ClientName::parse("Souza").unwrap()),
        locale: Some(tessera_domain::ClientName::parse("pt-BR").unwrap()),
        email_verified: true,
        phone_number: Some(tessera_domain::user::PhoneNumber::parse("+55 81 5555-0000").unwrap()),
        phone_number_verified: true,
        address: Some(tessera_domain::user::PostalAddress {
            street_address: Some(tessera_domain::ClientName::parse("Rua do Sol, 10").unwrap()),
            locality: Some(tessera_domain::ClientName::parse("Recife").unwrap()),
            region: None,
            postal_code: Some(tessera_domain::ClientName::parse("50000-000").unwrap()),
            country: Some(tessera_domain::ClientName::parse("BR").unwrap()),
        }),
    };
    repo.update(&full).await.unwrap();
    assert_eq!(repo.find(&a.id).await, Ok(Some(full.clone())));

    // Failed sign-ins count atomically; `update` leaves the counters alone; a lock resets them.
    assert_eq!(repo.record_failed_sign_in(&a.id).await, Ok(1));
    assert_eq!(repo.record_failed_sign_in(&a.id).await, Ok(2));
    repo.update(&full).await.unwrap();
    assert_eq!(
        repo.record_failed_sign_in(&a.id).await,
        Ok(3),
        "update MUST NOT reset the count"
    );
    let until = tessera_domain::UnixTime::from_secs(5000);
    repo.set_sign_in_lock(&a.id, Some(until)).await.unwrap();
    let found = repo.find(&a.id).await.unwrap().unwrap();
    assert_eq!(
        (found.failed_sign_ins, found.locked_until),
        (0, Some(until))
    );
    repo.set_sign_in_lock(&a.id, None).await.unwrap();
    let found = repo.find(&a.id).await.unwrap().unwrap();
    assert_eq!((found.failed_sign_ins, found.locked_until), (0, None));
    let ghost = UserId::parse("ghost").unwrap();
    assert_eq!(
        repo.record_failed_sign_in(&ghost).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        repo.set_sign_in_lock(&ghost, None).await,
        Err(StoreError::NotFound)
    );
}

/// [`tessera_domain::ports::SignInThrottle`]'s contract.
pub async fn sign_in_throttle(throttle: &dyn tessera_domain::ports::SignInThrottle) {
    use tessera_domain::UnixTime;
    let t = UnixTime::from_secs;
    assert_eq!(throttle.failures("10.0.0.1", t(100)).await, Ok(0));
    assert_eq!(throttle.record_failure("10.0.0.1", t(100), 60).await, Ok(1));
    assert_eq!(throttle.record_failure("10.0.0.1", t(130), 60).await, Ok(2));
    assert_eq!(throttle.record_failure("10.0.0.2", t(130), 60).await, Ok(1));
    assert_eq!(throttle.failures("10.0.0.1", t(159)).await, Ok(2));
    assert_eq!(
        throttle.failures("10.0.0.1", t(160)).await,
        Ok(0),
        "the window ended"
    );
    assert_eq!(
        throttle.record_failure("10.0.0.1", t(160), 60).await,
        Ok(1),
        "a new window starts over"
    );
    assert_eq!(throttle.failures("10.0.0.1", t(219)).await, Ok(1));
    assert_eq!(throttle.failures("10.0.0.2", t(150)).await, Ok(1));
    assert_eq!(
        throttle.purge(t(190)).await,
        Ok(1),
        "10.0.0.2's window ended at 190"
    );
    assert_eq!(throttle.failures("10.0.0.1", t(200)).await, Ok(1), "kept");
}

/// [`tessera_domain::ports::ParamStore`]'s contract.
pub async fn params(store: &dyn tessera_domain::ports::ParamStore) {
    use tessera_domain::UnixTime;
    use tessera_domain::issued::{ParamRecord, TokenHash};
    let record = |p: &str, client: &str, exp: i64| ParamRecord {
        hash: TokenHash::of(p),
        client_id: client_id(client),
        user_id: tessera_domain::user::UserId::parse("u-1").unwrap(),
        expires_at: UnixTime::from_secs(exp),
    };
    let p1 = record("p1", "svc", 100);
    store.insert(&p1).await.unwrap();
    assert_eq!(store.insert(&p1).await, Err(StoreError::Conflict));
    assert_eq!(
        store
            .consume(&p1.hash, &client_id("other"), UnixTime::from_secs(50))
            .await,
        Ok(None),
        "another client's"
    );
    assert_eq!(
        store
            .consume(&p1.hash, &client_id("svc"), UnixTime::from_secs(50))
            .await,
        Ok(Some(p1.clone()))
    );
    assert_eq!(
        store
            .consume(&p1.hash, &client_id("svc"), UnixTime::from_secs(51))
            .await,
        Ok(None),
        "single use"
    );
    let p2 = record("p2", "svc", 100);
    store.insert(&p2).await.unwrap();
    assert_eq!(
        store
            .consume(&p2.hash, &client_id("svc"), UnixTime::from_secs(100))
            .await,
        Ok(None),
        "expired"
    );
}

fn code(name: &str, expires: i64) -> tessera_domain::authorize::CodeRecord {
    use tessera_domain::authorize::{CodeChallenge, CodeRecord, Nonce, RedirectUri};
    CodeRecord {
        hash: tessera_domain::issued::TokenHash::of(name),
        client_id: client_id("web"),
        user_id: tessera_domain::user::UserId::parse("u-1").unwrap(),
        redirect_uri: RedirectUri::parse("https://app.example/cb").unwrap(),
        redirect_uri_explicit: true,
        scope: ScopeSet::parse("openid email").unwrap(),
        nonce: Some(Nonce::parse("n-0S6_WzA2Mj").unwrap()),
        challenge: Some(
            CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", Some("S256"))
                .unwrap(),
        ),
        auth_time: tessera_domain::UnixTime::from_secs(90),
        expires_at: tessera_domain::UnixTime::from_secs(expires),
        issued: None,
        sid: Some("sid-of-the-session".into()),
        resources: vec![tessera_domain::resource::Resource::parse("https://api.example/").unwrap()],
    }
}

/// [`tessera_domain::ports::AuthorizationCodeStore`]'s contract.
pub async fn authorization_codes(store: &dyn tessera_domain::ports::AuthorizationCodeStore) {
    use tessera_domain::UnixTime;
    use tessera_domain::authorize::{CodeIssue, Redemption};
    let t = UnixTime::from_secs;
    let issue = |jti: &str| CodeIssue {
        family_id: Some(format!("fam-{jti}")),
        jti: jti.to_owned(),
        expires_at: t(5000),
    };
    let c1 = code("c1", 160);
    store.insert(&c1).await.unwrap();
    assert_eq!(store.insert(&c1).await, Err(StoreError::Conflict));
    let Redemption::Fresh(fresh) = store.redeem(&c1.hash, &issue("j1"), t(100)).await.unwrap()
    else {
        panic!("the first redemption MUST be fresh")
    };
    assert_eq!(fresh.issued, Some(issue("j1")));
    assert_eq!(
        fresh,
        tessera_domain::authorize::CodeRecord {
            issued: Some(issue("j1")),
            ..c1.clone()
        },
        "round trip"
    );
    let Redemption::Reused(again) = store.redeem(&c1.hash, &issue("j2"), t(101)).await.unwrap()
    else {
        panic!("a second redemption MUST be reported as reuse")
    };
    assert_eq!(
        again.issued,
        Some(issue("j1")),
        "with what the FIRST issued"
    );

    let c2 = code("c2", 160);
    store.insert(&c2).await.unwrap();
    assert_eq!(
        store.redeem(&c2.hash, &issue("j3"), t(160)).await,
        Ok(Redemption::Invalid),
        "expired"
    );
    assert_eq!(
        store
            .redeem(
                &tessera_domain::issued::TokenHash::of("nope"),
                &issue("j4"),
                t(100)
            )
            .await,
        Ok(Redemption::Invalid)
    );
    // Kept a day after expiry, then purged.
    assert_eq!(store.purge(t(160 + 86_400)).await, Ok(0));
    assert_eq!(store.purge(t(161 + 86_400)).await, Ok(2));
    assert_eq!(
        store.redeem(&c1.hash, &issue("j5"), t(100)).await,
        Ok(Redemption::Invalid)
    );
}

/// [`tessera_domain::ports::SessionStore`]'s contract.
pub async fn sessions(store: &dyn tessera_domain::ports::SessionStore) {
    use tessera_domain::UnixTime;
    use tessera_domain::authorize::Session;
    let s = Session {
        hash: tessera_domain::issued::TokenHash::of("s1"),
        user_id: tessera_domain::user::UserId::parse("u-1").unwrap(),
        auth_time: UnixTime::from_secs(100),
        expires_at: UnixTime::from_secs(200),
        sid: "sid-1".into(),
    };
    store.insert(&s).await.unwrap();
    assert_eq!(store.insert(&s).await, Err(StoreError::Conflict));
    assert_eq!(
        store.find(&s.hash, UnixTime::from_secs(199)).await,
        Ok(Some(s.clone()))
    );
    assert_eq!(
        store.find(&s.hash, UnixTime::from_secs(200)).await,
        Ok(None),
        "ended"
    );
    assert_eq!(
        store.delete(&s.hash).await,
        Ok(Some(s.clone())),
        "delete MUST return what it ended, sid included"
    );
    assert_eq!(store.delete(&s.hash).await, Ok(None), "idempotent");
    assert_eq!(
        store.find(&s.hash, UnixTime::from_secs(150)).await,
        Ok(None)
    );
    let mut old = s.clone();
    old.hash = tessera_domain::issued::TokenHash::of("s2");
    store.insert(&old).await.unwrap();
    assert_eq!(store.purge(UnixTime::from_secs(200)).await, Ok(1));

    // Every session of one user, and no other user's.
    let session = |name: &str, user: &str| Session {
        hash: tessera_domain::issued::TokenHash::of(name),
        user_id: tessera_domain::user::UserId::parse(user).unwrap(),
        auth_time: UnixTime::from_secs(100),
        expires_at: UnixTime::from_secs(900),
        sid: format!("sid-{name}"),
    };
    for (name, user) in [("a1", "ana"), ("a2", "ana"), ("b1", "bia")] {
        store.insert(&session(name, user)).await.unwrap();
    }
    let ana = tessera_domain::user::UserId::parse("ana").unwrap();
    let mut theirs: Vec<String> = store
        .for_user(&ana)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.sid)
        .collect();
    theirs.sort();
    assert_eq!(theirs, ["sid-a1", "sid-a2"]);
    let bia = tessera_domain::user::UserId::parse("bia").unwrap();
    assert_eq!(store.for_user(&bia).await, Ok(vec![session("b1", "bia")]));
}

/// [`tessera_domain::ports::ConsentStore`]'s contract.
pub async fn consents(store: &dyn tessera_domain::ports::ConsentStore) {
    use tessera_domain::UnixTime;
    let user = tessera_domain::user::UserId::parse("u-1").unwrap();
    let web = client_id("web");
    assert_eq!(store.granted(&user, &web).await, Ok(ScopeSet::empty()));
    store
        .grant(
            &user,
            &web,
            &ScopeSet::parse("openid email").unwrap(),
            UnixTime::from_secs(1),
        )
        .await
        .unwrap();
    store
        .grant(
            &user,
            &web,
            &ScopeSet::parse("profile").unwrap(),
            UnixTime::from_secs(2),
        )
        .await
        .unwrap();
    assert_eq!(
        store.granted(&user, &web).await,
        Ok(ScopeSet::parse("email openid profile").unwrap()),
        "grants accumulate"
    );
    assert_eq!(
        store.granted(&user, &client_id("other")).await,
        Ok(ScopeSet::empty()),
        "per client"
    );
}

/// [`tessera_domain::ports::RegistrationStore`]'s contract: registration access tokens replaced
/// and forgotten, initial access tokens spent exactly as many times as they allow, never after
/// they expire, and revoked.
pub async fn registrations(store: &dyn tessera_domain::ports::RegistrationStore) {
    use tessera_domain::issued::TokenHash;
    use tessera_domain::ports::InitialAccessToken;
    use tessera_domain::{ClientId, UnixTime};
    let now = UnixTime::from_secs(1_000);
    let app = ClientId::parse("reg-app").unwrap();
    assert_eq!(store.registration_token(&app).await, Ok(None));
    store
        .set_registration_token(&app, &TokenHash::of("one"), now)
        .await
        .unwrap();
    store
        .set_registration_token(&app, &TokenHash::of("two"), now)
        .await
        .unwrap();
    assert_eq!(
        store.registration_token(&app).await,
        Ok(Some(TokenHash::of("two"))),
        "a rotation replaces"
    );
    store.delete_registration_token(&app).await.unwrap();
    assert_eq!(store.registration_token(&app).await, Ok(None));

    let token = |id: &str, uses: Option<u32>| InitialAccessToken {
        id: id.into(),
        hash: TokenHash::of(id),
        uses_left: uses,
        expires_at: UnixTime::from_secs(2_000),
        created_at: now,
        note: format!("note {id}"),
    };
    store
        .insert_initial_token(&token("b", Some(2)))
        .await
        .unwrap();
    store.insert_initial_token(&token("a", None)).await.unwrap();
    assert_eq!(
        store.insert_initial_token(&token("a", None)).await,
        Err(StoreError::Conflict)
    );
    let b = TokenHash::of("b");
    assert_eq!(store.use_initial_token(&b, now).await, Ok(true));
    assert_eq!(store.use_initial_token(&b, now).await, Ok(true));
    assert_eq!(store.use_initial_token(&b, now).await, Ok(false), "spent");
    let a = TokenHash::of("a");
    for _ in 0..3 {
        assert_eq!(
            store.use_initial_token(&a, now).await,
            Ok(true),
            "unlimited"
        );
    }
    assert_eq!(
        store
            .use_initial_token(&a, UnixTime::from_secs(2_000))
            .await,
        Ok(false),
        "expired"
    );
    assert_eq!(
        store.use_initial_token(&TokenHash::of("zz"), now).await,
        Ok(false)
    );
    let listed = store.initial_tokens().await.unwrap();
    assert_eq!(
        listed.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(listed[1].uses_left, Some(0));
    assert_eq!(listed[0], token("a", None));
    assert_eq!(store.delete_initial_token("b").await, Ok(true));
    assert_eq!(store.delete_initial_token("b").await, Ok(false));
}
