//! The token service's grants on the in-memory fakes with a fixed clock: refresh rotation and
//! reuse detection (RFC 6749 §6, §10.4), code redemption with PKCE (RFC 6749 §4.1.3, RFC 7636
//! §4.6), the first-party user grant and its params, revocation (RFC 7009) and introspection (RFC 7662). The
//! black-box tests cover the same over HTTP; these pin the domain's rules without one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use tessera_domain::assurance::{AssuranceLevel, RoleRequirement};
use tessera_domain::authorize::{CODE_PREFIX, CodeChallenge, CodeRecord, RedirectUri};
use tessera_domain::cache::ClientCache;
use tessera_domain::client::{AccessTokenFormat, ClientName, GrantType, Role, RoleSet};
use tessera_domain::first_party::FirstPartyPolicy;
use tessera_domain::issued::ReferenceToken;
use tessera_domain::policy::{Issuer, TokenPolicy};
use tessera_domain::ports::{AuthorizationCodeStore, ClientRepository, UserRepository};
use tessera_domain::scope::ScopeSet;
use tessera_domain::service::{
    ApiProfile, ClientAuthentication, GrantRequest, ParamService, TokenPorts, TokenRequest,
    TokenService, UserSelector,
};
use tessera_domain::token::{Introspection, Issued};
use tessera_domain::user::{Email, Logon, User, UserId, UserStatus};
use tessera_domain::{
    Audience, Client, ClientAuthMethod, GrantFailure, SigningAlgorithm, TokenError, TokenTtl,
    UnixTime,
};
use tessera_testkit::fakes::{
    CountingRandom, InMemoryAuthz, InMemoryClients, InMemoryParams, InMemoryTokens, InMemoryUsers,
    InlineBlocking, StubSigner, Unlimited,
};
use tessera_testkit::fixtures::{client_spec, pepper, secret_of};

const NOW: i64 = 1_800_000_000;
const GRACE: u32 = 5;
const VERIFIER: &str = "dBjftJeZ4CVP-mJ92K9Ie6KUB2WzaTKWWo4hP6dWbn9K";
const CHALLENGE: &str = "sxXmUZGxDYX5C3W5LstM1eZtXErfxRlRRsXG_eqgo_g";

struct World {
    tokens: TokenService,
    params: ParamService,
    users: Arc<InMemoryUsers>,
    codes: Arc<InMemoryAuthz>,
}

/// A confidential client: client_credentials and refresh_token (a refresh token with
/// client_credentials opted in), opaque access tokens so introspection needs no signature.
fn refreshing(id: &str) -> Client {
    let mut spec = client_spec(id);
    spec.grant_types = [
        GrantType::ClientCredentials,
        GrantType::RefreshToken,
        GrantType::AuthorizationCode,
    ]
    .into();
    spec.access_token_format = AccessTokenFormat::Opaque;
    spec.options.refresh_with_client_credentials = true;
    spec.redirect_uris = vec![RedirectUri::parse("https://app.example/cb").unwrap()];
    spec.allowed_scopes = ScopeSet::parse("read write openid").unwrap();
    Client::new(spec).unwrap()
}

async fn world(clients: &[Client]) -> World {
    let repo = InMemoryClients::default();
    for c in clients {
        repo.insert(c).await.unwrap();
    }
    let store = Arc::new(InMemoryTokens::default());
    let users = Arc::new(InMemoryUsers::default());
    let codes = Arc::new(InMemoryAuthz::default());
    let params = Arc::new(InMemoryParams::default());
    let random = Arc::new(CountingRandom::default());
    let ports = TokenPorts {
        clients: Arc::new(ClientCache::new(Arc::new(repo))),
        signer: Arc::new(StubSigner::default()),
        random: random.clone(),
        blocking: Arc::new(InlineBlocking),
        refresh: store.clone(),
        opaque: store.clone(),
        revoked: store,
        users: users.clone(),
        params: params.clone(),
        codes: codes.clone(),
        limiter: Arc::new(Unlimited),
        audit: Arc::new(tessera_domain::audit::NoAudit),
    };
    let policy = TokenPolicy {
        issuer: Issuer::parse("https://id.example").unwrap(),
        default_audience: Audience::parse("https://api.example").unwrap(),
        default_ttl: TokenTtl::from_secs(600).unwrap(),
        default_alg: SigningAlgorithm::Es256,
        refresh_ttl_secs: 86_400,
        refresh_grace_secs: GRACE,
        introspection_role: Role::parse("ROLE_CLI-INTROSPECT").unwrap(),
        id_token_alg: SigningAlgorithm::Rs256,
    };
    World {
        params: ParamService::new(users.clone(), params, random),
        tokens: TokenService::new(ports, pepper(), policy),
        users,
        codes,
    }
}

fn at(offset: i64) -> UnixTime {
    UnixTime::from_secs(NOW + offset)
}

fn basic(id: &str) -> ClientAuthentication {
    ClientAuthentication::from_raw(
        ClientAuthMethod::ClientSecretBasic,
        id,
        Some(secret_of(id).expose()),
    )
    .unwrap()
}

fn request(id: &str, grant: GrantRequest) -> TokenRequest {
    TokenRequest {
        auth: basic(id),
        grant,
        profile: ApiProfile::default(),
        certificate: None,
        source: None,
        gateway_token: None,
        resources: Vec::new(),
    }
}

fn refresh(token: &str) -> GrantRequest {
    GrantRequest::RefreshToken {
        refresh_token: token.to_owned(),
        scope: None,
    }
}

async fn issue(w: &World, id: &str, grant: GrantRequest, when: i64) -> Result<Issued, TokenError> {
    w.tokens.issue(request(id, grant), at(when)).await
}

async fn active(w: &World, caller: &str, token: &str, when: i64) -> bool {
    matches!(
        w.tokens
            .introspect(basic(caller), None, token, at(when))
            .await
            .unwrap(),
        Introspection::Active(_)
    )
}

fn refresh_token(issued: &Issued) -> String {
    issued
        .refresh_token
        .as_ref()
        .expect("a refresh token")
        .expose()
        .to_owned()
}

#[tokio::test]
async fn a_refresh_rotates_and_a_reuse_after_the_grace_revokes_the_family() {
    let w = world(&[refreshing("app")]).await;
    let first = issue(
        &w,
        "app",
        GrantRequest::ClientCredentials { scope: None },
        0,
    )
    .await
    .unwrap();
    let r0 = refresh_token(&first);
    let second = issue(&w, "app", refresh(&r0), 10).await.unwrap();
    let r1 = refresh_token(&second);
    assert_ne!(r0, r1, "every refresh rotates the refresh token");
    // Within the grace window a retry of the old token is answered, with the same successor.
    let retried = issue(&w, "app", refresh(&r0), 10 + i64::from(GRACE) - 1)
        .await
        .unwrap();
    assert_eq!(refresh_token(&retried), r1);
    // After it, the reuse is theft (RFC 6749 §10.4): refused, and the whole family with it.
    let reuse = issue(&w, "app", refresh(&r0), 10 + i64::from(GRACE) + 1).await;
    assert_eq!(
        reuse.unwrap_err(),
        TokenError::InvalidGrant(GrantFailure::RefreshToken)
    );
    let successor = issue(&w, "app", refresh(&r1), 30).await;
    assert_eq!(
        successor.unwrap_err(),
        TokenError::InvalidGrant(GrantFailure::RefreshToken)
    );
}

#[tokio::test]
async fn a_refresh_token_works_only_for_its_own_client_and_narrows_never_widens() {
    let w = world(&[refreshing("app"), refreshing("other")]).await;
    let first = issue(
        &w,
        "app",
        GrantRequest::ClientCredentials {
            scope: Some(ScopeSet::parse("read write").unwrap()),
        },
        0,
    )
    .await
    .unwrap();
    let r0 = refresh_token(&first);
    assert_eq!(
        issue(&w, "other", refresh(&r0), 1).await.unwrap_err(),
        TokenError::InvalidGrant(GrantFailure::RefreshToken)
    );
    let narrowed = issue(
        &w,
        "app",
        GrantRequest::RefreshToken {
            refresh_token: r0,
            scope: Some(ScopeSet::parse("read").unwrap()),
        },
        2,
    )
    .await
    .unwrap();
    assert_eq!(narrowed.scope.to_string(), "read");
    let widened = issue(
        &w,
        "app",
        GrantRequest::RefreshToken {
            refresh_token: refresh_token(&narrowed),
            scope: Some(ScopeSet::parse("read openid").unwrap()),
        },
        3,
    )
    .await;
    assert!(
        matches!(widened, Err(TokenError::InvalidScope(_))),
        "{widened:?}"
    );
}

fn user(id: &str, status: UserStatus) -> User {
    User {
        id: UserId::parse(id).unwrap(),
        logon: Logon::parse(id).unwrap(),
        email: Email::parse(&format!("{id}@example.com")).unwrap(),
        name: ClientName::parse("A User").unwrap(),
        status,
        password: None,
        profile: Default::default(),
        failed_sign_ins: 0,
        locked_until: None,
        created_at: at(-100),
        updated_at: at(-100),
    }
}

/// Stores a code for `client` and user `alice`, with the RFC 7636 appendix B challenge.
async fn code(w: &World, client: &str, raw: [u8; 32]) -> String {
    let code = ReferenceToken::generate(CODE_PREFIX, raw);
    w.codes
        .insert(&CodeRecord {
            hash: code.hash(),
            client_id: tessera_domain::ClientId::parse(client).unwrap(),
            user_id: UserId::parse("alice").unwrap(),
            redirect_uri: RedirectUri::parse("https://app.example/cb").unwrap(),
            redirect_uri_explicit: true,
            scope: ScopeSet::parse("openid read").unwrap(),
            nonce: None,
            challenge: Some(CodeChallenge::parse(CHALLENGE, Some("S256")).unwrap()),
            auth_time: at(-10),
            expires_at: at(60),
            issued: None,
            sid: Some("sid-1".into()),
            resources: Vec::new(),
        })
        .await
        .unwrap();
    code.expose().to_owned()
}

fn redeem(code: &str, verifier: Option<&str>) -> GrantRequest {
    GrantRequest::AuthorizationCode {
        code: code.to_owned(),
        redirect_uri: Some("https://app.example/cb".into()),
        code_verifier: verifier.map(str::to_owned),
    }
}

#[tokio::test]
async fn a_code_is_redeemed_once_with_its_verifier_and_a_second_redemption_revokes_its_tokens() {
    let w = world(&[refreshing("app"), refreshing("other")]).await;
    w.users
        .insert(&user("alice", UserStatus::Active))
        .await
        .unwrap();
    let wrong = code(&w, "app", [1; 32]).await;
    assert_eq!(
        issue(
            &w,
            "app",
            redeem(&wrong, Some(&VERIFIER.replace('d', "e"))),
            0
        )
        .await
        .unwrap_err(),
        TokenError::InvalidGrant(GrantFailure::PkceFailed)
    );
    let missing = code(&w, "app", [2; 32]).await;
    assert_eq!(
        issue(&w, "app", redeem(&missing, None), 0)
            .await
            .unwrap_err(),
        TokenError::InvalidGrant(GrantFailure::VerifierRequired)
    );
    let stolen = code(&w, "app", [3; 32]).await;
    assert_eq!(
        issue(&w, "other", redeem(&stolen, Some(VERIFIER)), 0)
            .await
            .unwrap_err(),
        TokenError::InvalidGrant(GrantFailure::CodeOfAnotherClient)
    );

    let good = code(&w, "app", [4; 32]).await;
    let issued = issue(&w, "app", redeem(&good, Some(VERIFIER)), 0)
        .await
        .unwrap();
    assert!(issued.id_token.is_some(), "openid was granted");
    let access = issued.access_token.expose().to_owned();
    assert!(active(&w, "app", &access, 1).await);
    // RFC 6749 §4.1.2: a second redemption is refused and what the first issued is revoked.
    assert_eq!(
        issue(&w, "app", redeem(&good, Some(VERIFIER)), 2)
            .await
            .unwrap_err(),
        TokenError::InvalidGrant(GrantFailure::CodeReused)
    );
    assert!(!active(&w, "app", &access, 3).await);
    assert!(
        issued.refresh_token.is_none(),
        "no refresh token without offline_access"
    );
}

#[tokio::test]
async fn a_code_for_a_user_who_may_no_longer_sign_in_is_refused() {
    let w = world(&[refreshing("app")]).await;
    w.users
        .insert(&user("alice", UserStatus::Disabled))
        .await
        .unwrap();
    let c = code(&w, "app", [5; 32]).await;
    assert_eq!(
        issue(&w, "app", redeem(&c, Some(VERIFIER)), 0)
            .await
            .unwrap_err(),
        TokenError::InvalidGrant(GrantFailure::UserNotActive)
    );
}

fn first_party(id: &str) -> Client {
    let mut spec = client_spec(id);
    spec.roles = RoleSet::from_roles(["ROLE_CLI-1STPARTY"].map(|r| Role::parse(r).unwrap()));
    Client::new(spec).unwrap()
}

#[tokio::test]
async fn the_user_grant_takes_a_param_once_for_its_client_and_an_active_user() {
    let w = world(&[first_party("web"), first_party("other")]).await;
    w.users
        .insert(&user("bob", UserStatus::Active))
        .await
        .unwrap();
    w.users
        .insert(&user("carol", UserStatus::Active))
        .await
        .unwrap();
    let policy = FirstPartyPolicy::new(
        RoleRequirement::parse("ROLE_CLI-1STPARTY").unwrap(),
        None,
        TokenTtl::from_secs(600).unwrap(),
        60,
    )
    .unwrap();
    let admitted = w
        .tokens
        .admit_client(basic("web"), None, at(0))
        .await
        .unwrap();
    let param = |who: &str| {
        let who = UserSelector::Id(UserId::parse(who).unwrap());
        let (params, policy, admitted) = (&w.params, &policy, &admitted);
        async move {
            let (p, ttl) = params
                .generate(admitted, &who, policy, at(0))
                .await
                .unwrap();
            assert_eq!(ttl, 60);
            p.expose().to_owned()
        }
    };
    let grant = |param: String, user: &str, remember_me: bool| GrantRequest::User {
        user: UserSelector::Id(UserId::parse(user).unwrap()),
        param,
        level: AssuranceLevel::Identified,
        remember_me,
        device_id: None,
        default_client_id: None,
    };
    let profile =
        policy.profile(tessera_domain::first_party::FirstPartyRequest::User { remember_me: true });
    let user_request = |id: &str, grant: GrantRequest| TokenRequest {
        profile: profile.clone(),
        ..request(id, grant)
    };

    let p = param("bob").await;
    let issued = w
        .tokens
        .issue(user_request("web", grant(p.clone(), "bob", true)), at(1))
        .await
        .unwrap();
    assert!(
        issued.refresh_token.is_some(),
        "remember-me gives a refresh token"
    );
    assert_eq!(issued.expires_in, 600, "the remember-me lifetime");
    // Once only.
    assert_eq!(
        w.tokens
            .issue(user_request("web", grant(p, "bob", false)), at(2))
            .await
            .unwrap_err(),
        TokenError::InvalidGrant(GrantFailure::Param)
    );
    // Only by the client it was made for, and only for the user it names.
    let p = param("bob").await;
    assert_eq!(
        w.tokens
            .issue(user_request("other", grant(p.clone(), "bob", false)), at(2))
            .await
            .unwrap_err(),
        TokenError::InvalidGrant(GrantFailure::Param)
    );
    let p = param("bob").await;
    assert_eq!(
        w.tokens
            .issue(user_request("web", grant(p, "carol", false)), at(2))
            .await
            .unwrap_err(),
        TokenError::InvalidGrant(GrantFailure::Param)
    );
    // A user disabled after the param was made is refused with its own reason.
    let p = param("carol").await;
    let mut carol = user("carol", UserStatus::Disabled);
    carol.updated_at = at(2);
    w.users.update(&carol).await.unwrap();
    assert_eq!(
        w.tokens
            .issue(user_request("web", grant(p, "carol", false)), at(3))
            .await
            .unwrap_err(),
        TokenError::InvalidGrant(GrantFailure::UserNotActive)
    );
    // And no param is made for an inactive or unknown user.
    let none = w
        .params
        .generate(
            &admitted,
            &UserSelector::Id(UserId::parse("carol").unwrap()),
            &policy,
            at(3),
        )
        .await;
    assert_eq!(
        none.unwrap_err(),
        TokenError::InvalidGrant(GrantFailure::NoSuchUser)
    );
}

#[tokio::test]
async fn introspection_shows_own_tokens_privileged_callers_all_and_revoked_ones_as_inactive() {
    let mut auditor = client_spec("auditor");
    auditor.roles = RoleSet::from_roles([Role::parse("ROLE_CLI-INTROSPECT").unwrap()]);
    let w = world(&[
        refreshing("app"),
        refreshing("other"),
        Client::new(auditor).unwrap(),
    ])
    .await;
    let issued = issue(
        &w,
        "app",
        GrantRequest::ClientCredentials { scope: None },
        0,
    )
    .await
    .unwrap();
    let access = issued.access_token.expose().to_owned();
    assert!(active(&w, "app", &access, 1).await);
    assert!(
        !active(&w, "other", &access, 1).await,
        "another client sees nothing"
    );
    assert!(
        active(&w, "auditor", &access, 1).await,
        "the introspection role sees all"
    );
    assert!(!active(&w, "app", &access, 601).await, "expired");
    assert!(!active(&w, "app", "nonsense", 1).await);
    // RFC 7009: another client's revocation is refused and changes nothing; the owner's works.
    assert_eq!(
        w.tokens.revoke(basic("other"), None, &access, at(2)).await,
        Err(TokenError::UnauthorizedClient)
    );
    assert!(active(&w, "app", &access, 2).await);
    w.tokens
        .revoke(basic("app"), None, &access, at(3))
        .await
        .unwrap();
    assert!(!active(&w, "app", &access, 4).await);
    // Revoking the refresh token takes its family.
    let r0 = refresh_token(&issued);
    w.tokens
        .revoke(basic("app"), None, &r0, at(5))
        .await
        .unwrap();
    assert_eq!(
        issue(&w, "app", refresh(&r0), 6).await.unwrap_err(),
        TokenError::InvalidGrant(GrantFailure::RefreshToken)
    );
    // A request without a token is invalid, but only once the caller is authenticated.
    assert!(matches!(
        w.tokens.introspect(basic("app"), None, "", at(7)).await,
        Err(TokenError::InvalidRequest(_))
    ));
    let stranger =
        ClientAuthentication::from_raw(ClientAuthMethod::ClientSecretBasic, "app", Some("wrong"))
            .unwrap();
    assert_eq!(
        w.tokens.introspect(stranger, None, "", at(7)).await,
        Err(TokenError::InvalidClient)
    );
}

/// The `aud` an opaque token reports at introspection.
async fn audience_of(w: &World, caller: &str, token: &str, when: i64) -> Vec<String> {
    match w
        .tokens
        .introspect(basic(caller), None, token, at(when))
        .await
        .unwrap()
    {
        Introspection::Active(info) => info
            .aud
            .expect("an access token has an audience")
            .as_slice()
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect(),
        Introspection::Inactive => Vec::new(),
    }
}

/// RFC 8707: a token is for the resources asked for, each of them the client's; without a
/// request, for the client's audience; a refresh narrows what was granted and never widens it;
/// anything else is `invalid_target`, and a refused refresh consumes nothing.
#[tokio::test]
async fn resource_indicators_set_the_audience_and_a_refresh_only_narrows() {
    use tessera_domain::resource::Resource;
    let r = |s: &str| Resource::parse(s).unwrap();
    let mut spec = client_spec("app");
    spec.grant_types = [GrantType::ClientCredentials, GrantType::RefreshToken].into();
    spec.access_token_format = AccessTokenFormat::Opaque;
    spec.options.refresh_with_client_credentials = true;
    spec.options.resources = vec![r("https://a.example/"), r("https://b.example/")];
    let w = world(&[Client::new(spec).unwrap()]).await;
    let asking = |resources: &[&str]| {
        let mut req = request("app", GrantRequest::ClientCredentials { scope: None });
        req.resources = resources.iter().map(|s| r(s)).collect();
        req
    };

    let plain = issue(
        &w,
        "app",
        GrantRequest::ClientCredentials { scope: None },
        0,
    )
    .await
    .unwrap();
    assert_eq!(
        audience_of(&w, "app", plain.access_token.expose(), 1).await,
        ["https://api.example"],
        "no resource asked for: the default audience"
    );
    let both = w
        .tokens
        .issue(asking(&["https://a.example/", "https://b.example/"]), at(0))
        .await
        .unwrap();
    assert_eq!(
        audience_of(&w, "app", both.access_token.expose(), 1).await,
        ["https://a.example/", "https://b.example/"]
    );
    assert!(matches!(
        w.tokens.issue(asking(&["https://c.example/"]), at(0)).await,
        Err(TokenError::InvalidTarget(m)) if m.contains("https://c.example/")
    ));

    // The refresh token of the two-resource grant narrows to one, and cannot widen back.
    let mut narrow = request("app", refresh(&refresh_token(&both)));
    narrow.resources = vec![r("https://b.example/")];
    let narrowed = w.tokens.issue(narrow, at(2)).await.unwrap();
    assert_eq!(
        audience_of(&w, "app", narrowed.access_token.expose(), 3).await,
        ["https://b.example/"]
    );
    let one = w
        .tokens
        .issue(asking(&["https://a.example/"]), at(4))
        .await
        .unwrap();
    let mut widen = request("app", refresh(&refresh_token(&one)));
    widen.resources = vec![r("https://b.example/")];
    assert!(matches!(
        w.tokens.issue(widen, at(5)).await,
        Err(TokenError::InvalidTarget(_))
    ));
    // The refused refresh consumed nothing: the same token still refreshes, to its grant.
    let again = issue(&w, "app", refresh(&refresh_token(&one)), 6)
        .await
        .unwrap();
    assert_eq!(
        audience_of(&w, "app", again.access_token.expose(), 7).await,
        ["https://a.example/"]
    );
}

/// The admin API's caller: an active access token of a client that holds the admin role now,
/// with the admin scope (the read scope for reads); a refresh token, an unknown token, a client
/// without the role or a disabled one are refused.
#[tokio::test]
async fn the_admin_caller_needs_an_access_token_the_role_and_the_scope() {
    use tessera_domain::service::{AdminAccess, AdminDenied};
    let admin_client = |id: &str, roles: &[&str], scope: &str| {
        let mut spec = client_spec(id);
        spec.grant_types = [GrantType::ClientCredentials, GrantType::RefreshToken].into();
        spec.access_token_format = AccessTokenFormat::Opaque;
        spec.options.refresh_with_client_credentials = true;
        spec.roles = RoleSet::from_roles(roles.iter().map(|r| Role::parse(r).unwrap()));
        spec.allowed_scopes = ScopeSet::parse(scope).unwrap();
        spec.default_scopes = ScopeSet::parse(scope).unwrap();
        Client::new(spec).unwrap()
    };
    let w = world(&[
        admin_client("ops", &["ROLE_TESSERA-ADMIN"], "tessera:admin"),
        admin_client("reader", &["ROLE_TESSERA-ADMIN"], "tessera:admin.read"),
        admin_client("pretender", &[], "tessera:admin"),
    ])
    .await;
    let token = |id: &'static str| {
        let w = &w;
        async move {
            issue(w, id, GrantRequest::ClientCredentials { scope: None }, 0)
                .await
                .unwrap()
        }
    };
    let ops = token("ops").await;
    let caller = |raw: Option<String>, access| {
        let w = &w;
        async move {
            w.tokens
                .admin_caller(raw.as_deref(), access, at(1))
                .await
                .map(|c| c.to_string())
        }
    };
    let raw = |i: &Issued| Some(i.access_token.expose().to_owned());
    assert_eq!(
        caller(raw(&ops), AdminAccess::Write).await,
        Ok("ops".into())
    );
    let reader = token("reader").await;
    assert_eq!(
        caller(raw(&reader), AdminAccess::Read).await,
        Ok("reader".into())
    );
    assert_eq!(
        caller(raw(&reader), AdminAccess::Write).await,
        Err(AdminDenied::InsufficientScope("tessera:admin"))
    );
    let pretender = token("pretender").await;
    assert!(matches!(
        caller(raw(&pretender), AdminAccess::Read).await,
        Err(AdminDenied::InsufficientScope(_))
    ));
    assert_eq!(
        caller(Some(refresh_token(&ops)), AdminAccess::Read).await,
        Err(AdminDenied::InvalidToken),
        "a refresh token is not an access token"
    );
    assert_eq!(
        caller(None, AdminAccess::Read).await,
        Err(AdminDenied::InvalidToken)
    );
    assert_eq!(
        caller(Some("tat_nonsense".into()), AdminAccess::Read).await,
        Err(AdminDenied::InvalidToken)
    );
    assert_eq!(
        w.tokens
            .admin_caller(raw(&ops).as_deref(), AdminAccess::Write, at(100_000))
            .await,
        Err(AdminDenied::InvalidToken),
        "expired"
    );
}
