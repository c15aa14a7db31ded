//! The browser flow's contracts: AuthMe params, authorization codes, sessions and consents.

use tessera_domain::{ScopeSet, StoreError};

use crate::fixtures::client_id;

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
