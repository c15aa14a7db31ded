//! The directory's contracts: users, the sign-in throttle, and dynamic registration's tokens.

use tessera_domain::StoreError;

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
