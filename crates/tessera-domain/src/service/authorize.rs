//! The authorization endpoint's use cases (RFC 6749 §4.1, OpenID Connect Core §3.1.2): checking
//! a request against its client, browser sessions, remembered consent and issuing codes.

use std::sync::Arc;

use crate::audit::{AuditEvent, AuditKind, NoAudit};
use crate::authorize::{
    AuthorizationRequest, AuthorizeError, AuthorizeParams, CODE_PREFIX, CodeRecord,
    MAX_CODE_TTL_SECS, SESSION_PREFIX, Session,
};
use crate::cache::ClientCache;
use crate::client::{Client, ClientId};
use crate::error::StoreError;
use crate::interaction::{Done, IdTokenHint, Signed, Situation, Step, next_step};
use crate::issued::ReferenceToken;
use crate::policy::Issuer;
use crate::ports::{
    AuditLog, AuthorizationCodeStore, ConsentStore, RandomSource, SessionStore, TokenSigner,
    UserRepository,
};
use crate::service::users::{SignIn, SignInError};
use crate::time::UnixTime;
use crate::user::{SignInState, User};

/// How the authorization endpoint behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthorizePolicy {
    /// Whether every client must use PKCE (public clients always must).
    pub require_pkce: bool,
    /// How long a code may be redeemed, in seconds (at most 60).
    pub code_ttl_secs: u32,
    /// How long a browser session lasts, in seconds.
    pub session_ttl_secs: u32,
}

impl Default for AuthorizePolicy {
    fn default() -> Self {
        Self {
            require_pkce: true,
            code_ttl_secs: MAX_CODE_TTL_SECS,
            session_ttl_secs: 8 * 3600,
        }
    }
}

/// The ports the authorization endpoint needs.
pub struct AuthorizePorts {
    /// Clients, cached.
    pub clients: Arc<ClientCache>,
    /// Codes.
    pub codes: Arc<dyn AuthorizationCodeStore>,
    /// Browser sessions.
    pub sessions: Arc<dyn SessionStore>,
    /// Remembered consent.
    pub consents: Arc<dyn ConsentStore>,
    /// The user directory.
    pub users: Arc<dyn UserRepository>,
    /// Randomness.
    pub random: Arc<dyn RandomSource>,
    /// The signing keys, to recognise this server's own ID tokens presented as hints.
    pub signer: Arc<dyn TokenSigner>,
    /// The issuer this server signs as.
    pub issuer: Issuer,
    /// Who took part in which session, to tell them when it ends.
    pub backchannel: Arc<crate::service::Backchannel>,
}

/// The authorization endpoint's use cases.
pub struct AuthorizeService {
    pub(super) ports: AuthorizePorts,
    sign_in: SignIn,
    policy: AuthorizePolicy,
    pub(super) audit: Arc<dyn AuditLog>,
}

impl AuthorizeService {
    /// A service over the ports, with sign-in and the policy.
    #[must_use]
    pub fn new(ports: AuthorizePorts, sign_in: SignIn, mut policy: AuthorizePolicy) -> Self {
        policy.code_ttl_secs = policy.code_ttl_secs.clamp(1, MAX_CODE_TTL_SECS);
        Self {
            ports,
            sign_in,
            policy,
            audit: Arc::new(NoAudit),
        }
    }

    /// Records sign-ins in `audit`.
    #[must_use]
    pub fn with_audit(mut self, audit: Arc<dyn AuditLog>) -> Self {
        self.audit = audit;
        self
    }

    /// The policy.
    #[must_use]
    pub fn policy(&self) -> &AuthorizePolicy {
        &self.policy
    }

    /// The enabled client with this id, for display.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn client(&self, id: &ClientId) -> Result<Option<Arc<Client>>, StoreError> {
        Ok(self.ports.clients.get(id).await?.filter(|c| c.is_enabled()))
    }

    /// Checks a request against its client, and its `id_token_hint` (Core §3.1.2.1): an ID
    /// token this server issued to this client, expired or not.
    ///
    /// # Errors
    /// See [`AuthorizationRequest::check`]; a hint that is not such a token is `invalid_request`;
    /// a store failure is a page error.
    pub async fn check(
        &self,
        params: &AuthorizeParams<'_>,
    ) -> Result<AuthorizationRequest, AuthorizeError> {
        let client = match params.client_id.map(ClientId::parse) {
            Some(Ok(id)) => self.ports.clients.get(&id).await.map_err(|e| {
                tracing::error!(error = %e, "client lookup failed");
                AuthorizeError::Page("The service is temporarily unavailable.".into())
            })?,
            _ => None,
        };
        let clients = &self.ports.clients;
        let mut request = AuthorizationRequest::check(
            params,
            client.as_deref(),
            self.policy.require_pkce,
            &|scope| clients.knows_scope(scope),
        )?;
        if let Some(raw) = &request.id_token_hint {
            match self.verify_hint(raw) {
                Some(hint) if hint.aud == request.client_id => request.hint_sub = Some(hint.sub),
                _ => {
                    return Err(request.refusal(
                        "invalid_request",
                        "id_token_hint is not an ID token this server issued to this client",
                    ));
                }
            }
        }
        Ok(request)
    }

    /// The claims of `raw` when it is an ID token this server signed with one of its published
    /// keys, under its own issuer; its expiry is not checked (an expired ID token is still a
    /// good hint, Core §3.1.2.1 and RP-Initiated Logout 1.0 §2).
    #[must_use]
    pub fn verify_hint(&self, raw: &str) -> Option<IdTokenHint> {
        self.ports
            .signer
            .verify_id_token(raw)
            .ok()
            .filter(|h| h.is_from(&self.ports.issuer))
    }

    /// The next step of `request` in this browser (see [`next_step`]): `signed` is its session
    /// and user, `done` what the browser just posted. A consent that leads to the code is
    /// remembered here.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn next(
        &self,
        request: &AuthorizationRequest,
        signed: Option<(&Session, &User)>,
        done: Done,
        now: UnixTime,
    ) -> Result<Step, StoreError> {
        let consent_missing = match signed {
            Some((_, user)) => self.needs_consent(request, user).await?,
            None => true,
        };
        let consent_given = matches!(done, Done::Consented { .. });
        let step = next_step(&Situation {
            prompt: request.prompt,
            max_age: request.max_age,
            hint_sub: request.hint_sub.as_deref(),
            session: signed.map(|(session, user)| Signed {
                user: &user.id,
                auth_time: session.auth_time,
                just_now: done.signed_in_now(session.auth_time, now),
            }),
            consent_missing,
            consent_given,
            now,
        });
        if let (Step::Issue, Some((_, user)), true) = (step, signed, consent_given) {
            self.consent(request, user, now).await?;
        }
        Ok(step)
    }

    /// The signed-in user of a session cookie, if the session is live and the user may still
    /// sign in.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn session(
        &self,
        cookie: &str,
        now: UnixTime,
    ) -> Result<Option<(Session, User)>, StoreError> {
        let Some(token) = ReferenceToken::recognise(SESSION_PREFIX, cookie) else {
            return Ok(None);
        };
        let Some(session) = self.ports.sessions.find(&token.hash(), now).await? else {
            return Ok(None);
        };
        let user = self.ports.users.find(&session.user_id).await?;
        Ok(user
            .filter(|u| u.sign_in_state(now) == SignInState::Open)
            .map(|u| (session, u)))
    }

    /// Signs a user in and opens a session; returns the cookie value.
    ///
    /// # Errors
    /// See [`SignInError`].
    pub async fn sign_in(
        &self,
        logon: &str,
        password: &str,
        address: &str,
        previous: Option<&str>,
        now: UnixTime,
    ) -> Result<(ReferenceToken, Session, User), SignInError> {
        let outcome = self.sign_in.sign_in(logon, password, address, now).await;
        // The logon only if it is one: a password typed into the wrong field must not be kept.
        let named = crate::user::Logon::parse(logon).ok();
        let event = match &outcome {
            Ok(user) => {
                AuditEvent::new(AuditKind::SignedIn, now, "password").subject(user.id.as_str())
            }
            Err(e) => {
                let event = AuditEvent::new(AuditKind::SignInFailed, now, e.to_string());
                match &named {
                    Some(l) => event.subject(l.as_str()),
                    None => event,
                }
            }
        };
        self.audit.record(event.source(Some(address)));
        let user = outcome?;
        // The browser's previous session is replaced by a new cookie (no fixation). The same
        // user signing in again (prompt=login, max_age) keeps the session's sid; another
        // account ends the old session, and its clients are told (Back-Channel Logout).
        let previous = match previous.and_then(|c| ReferenceToken::recognise(SESSION_PREFIX, c)) {
            Some(token) => self
                .ports
                .sessions
                .find(&token.hash(), now)
                .await
                .map_err(|_| SignInError::Unavailable)?,
            None => None,
        };
        let same_user = previous.as_ref().is_some_and(|old| old.user_id == user.id);
        if let Some(old) = previous.as_ref().filter(|_| !same_user) {
            self.ports
                .backchannel
                .ended(std::slice::from_ref(old), now)
                .await
                .map_err(|_| SignInError::Unavailable)?;
        }
        let cookie = ReferenceToken::generate(SESSION_PREFIX, self.random_32());
        let session = Session {
            hash: cookie.hash(),
            user_id: user.id.clone(),
            auth_time: now,
            expires_at: now.plus_secs(i64::from(self.policy.session_ttl_secs)),
            sid: match &previous {
                Some(old) if same_user => old.sid.clone(),
                _ => self.new_sid(),
            },
        };
        let unavailable = |_| SignInError::Unavailable;
        self.ports
            .sessions
            .insert(&session)
            .await
            .map_err(unavailable)?;
        if let Some(old) = &previous {
            self.ports
                .sessions
                .delete(&old.hash)
                .await
                .map_err(unavailable)?;
            if same_user {
                self.ports
                    .backchannel
                    .renewed(&session)
                    .await
                    .map_err(unavailable)?;
            }
        }
        Ok((cookie, session, user))
    }

    /// Ends the session of a cookie (RP-initiated logout); its clients are told.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn end_session(&self, cookie: &str, now: UnixTime) -> Result<(), StoreError> {
        let Some(token) = ReferenceToken::recognise(SESSION_PREFIX, cookie) else {
            return Ok(());
        };
        // Notices first, then the session: a failure in between leaves it to be ended again.
        if let Some(live) = self.ports.sessions.find(&token.hash(), now).await? {
            self.ports.backchannel.ended(&[live], now).await?;
        }
        self.ports.sessions.delete(&token.hash()).await.map(|_| ())
    }

    fn new_sid(&self) -> String {
        let mut raw = [0u8; 16];
        self.ports.random.fill(&mut raw);
        crate::authorize::new_sid(raw)
    }

    /// Whether `user` must be asked to consent to `request`: never for a first-party client,
    /// otherwise unless they granted every requested scope to this client before.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn needs_consent(
        &self,
        request: &AuthorizationRequest,
        user: &User,
    ) -> Result<bool, StoreError> {
        let first_party = self
            .ports
            .clients
            .get(&request.client_id)
            .await?
            .is_some_and(|c| c.is_first_party());
        if first_party {
            return Ok(false);
        }
        let granted = self
            .ports
            .consents
            .granted(&user.id, &request.client_id)
            .await?;
        Ok(!request.scope.is_subset(&granted))
    }

    /// Remembers that `user` granted `request`'s scopes to its client.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn consent(
        &self,
        request: &AuthorizationRequest,
        user: &User,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        self.ports
            .consents
            .grant(&user.id, &request.client_id, &request.scope, now)
            .await
    }

    /// Issues a code for `request`, signed in as `session`.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn issue_code(
        &self,
        request: &AuthorizationRequest,
        session: &Session,
        now: UnixTime,
    ) -> Result<ReferenceToken, StoreError> {
        let code = ReferenceToken::generate(CODE_PREFIX, self.random_32());
        let record = CodeRecord {
            hash: code.hash(),
            client_id: request.client_id.clone(),
            user_id: session.user_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            redirect_uri_explicit: request.redirect_uri_explicit,
            scope: request.scope.clone(),
            nonce: request.nonce.clone(),
            challenge: request.challenge.clone(),
            auth_time: session.auth_time,
            expires_at: now.plus_secs(i64::from(self.policy.code_ttl_secs)),
            issued: None,
            sid: Some(session.sid.clone()),
            resources: request.resources.clone(),
        };
        self.ports.codes.insert(&record).await?;
        self.ports
            .backchannel
            .participated(session, &request.client_id)
            .await?;
        Ok(code)
    }

    /// An unguessable value (256 bits, base64url) for the sign-in page's anti-forgery token.
    #[must_use]
    pub fn random_token(&self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.random_32())
    }

    fn random_32(&self) -> [u8; 32] {
        let mut raw = [0u8; 32];
        self.ports.random.fill(&mut raw);
        raw
    }
}
