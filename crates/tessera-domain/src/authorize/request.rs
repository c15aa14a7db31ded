//! The authorization request as checked against its client (RFC 6749 §4.1.1, OpenID Connect
//! Core §3.1.2.1): what makes its redirect URI trustworthy, then scope, PKCE and the OpenID
//! parameters; and how a refusal goes back.

use crate::client::{Client, ClientId, GrantType};
use crate::interaction::{
    Prompt, ResponseMode, offline_access_allowed, parse_login_hint, parse_max_age,
};
use crate::scope::ScopeSet;

use super::{CodeChallenge, Nonce, RedirectUri, State};

/// An authorization request whose client and redirect URI are verified, so that every further
/// error can be sent back to the client (RFC 6749 §4.1.2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationRequest {
    /// The client.
    pub client_id: ClientId,
    /// Where the answer goes: registered, matched exactly.
    pub redirect_uri: RedirectUri,
    /// Whether the request named `redirect_uri` (then the token request must repeat it).
    pub redirect_uri_explicit: bool,
    /// The scope asked for, or the client's default.
    pub scope: ScopeSet,
    /// `state`, echoed back.
    pub state: Option<State>,
    /// `nonce`, echoed into the ID token.
    pub nonce: Option<Nonce>,
    /// The PKCE challenge.
    pub challenge: Option<CodeChallenge>,
    /// How the answer is sent back.
    pub response_mode: ResponseMode,
    /// `prompt`.
    pub prompt: Prompt,
    /// `max_age`, in seconds.
    pub max_age: Option<u32>,
    /// `login_hint`, pre-filled on the sign-in page.
    pub login_hint: Option<String>,
    /// The raw `id_token_hint`, verified by the service before the request is used.
    pub id_token_hint: Option<String>,
    /// The `sub` of the verified `id_token_hint` (set by the service).
    pub hint_sub: Option<String>,
    /// Whether `scope` has `openid` (an OpenID Connect request).
    pub openid: bool,
    /// The resources the grant is for (RFC 8707 §2.1): each one the client may have.
    pub resources: Vec<crate::resource::Resource>,
}

/// Why an authorization request is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthorizeError {
    /// The client or the redirect URI cannot be trusted: the error is shown to the user and
    /// never redirected (RFC 6749 §4.1.2.1).
    Page(String),
    /// Sent back to the verified redirect URI as `error`, `error_description` and `state`.
    Redirect {
        /// Where.
        redirect_uri: RedirectUri,
        /// How.
        mode: ResponseMode,
        /// `state`, when the request had a valid one.
        state: Option<State>,
        /// The RFC 6749 §4.1.2.1 error code.
        error: &'static str,
        /// A description for the developer.
        description: String,
    },
}

/// The parameters of an authorization request.
#[derive(Clone, Debug, Default)]
pub struct AuthorizeParams<'a> {
    /// `response_type`.
    pub response_type: Option<&'a str>,
    /// `client_id`.
    pub client_id: Option<&'a str>,
    /// `redirect_uri`.
    pub redirect_uri: Option<&'a str>,
    /// `scope`.
    pub scope: Option<&'a str>,
    /// `state`.
    pub state: Option<&'a str>,
    /// `nonce`.
    pub nonce: Option<&'a str>,
    /// `code_challenge`.
    pub code_challenge: Option<&'a str>,
    /// `code_challenge_method`.
    pub code_challenge_method: Option<&'a str>,
    /// `response_mode`.
    pub response_mode: Option<&'a str>,
    /// `prompt`.
    pub prompt: Option<&'a str>,
    /// `max_age`.
    pub max_age: Option<&'a str>,
    /// `id_token_hint`.
    pub id_token_hint: Option<&'a str>,
    /// `login_hint`.
    pub login_hint: Option<&'a str>,
    /// `request` (a request object, Core §6.1).
    pub request: Option<&'a str>,
    /// `request_uri` (Core §6.2).
    pub request_uri: Option<&'a str>,
    /// Every `resource` (RFC 8707 §2.1), as sent.
    pub resources: Vec<&'a str>,
}

impl AuthorizeParams<'_> {
    /// Whether `scope` names `openid`: an OpenID Connect authentication request.
    #[must_use]
    pub fn is_openid(&self) -> bool {
        self.scope
            .is_some_and(|s| s.split(' ').any(|v| v == "openid"))
    }
}

/// The scope values of OpenID Connect Core 1.0 §5.4 and §11, always known to this server.
pub const STANDARD_SCOPES: [&str; 6] = [
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "offline_access",
];

/// The redirect URI a request may be answered at: registered for the client and matched
/// exactly; left out only when the client has exactly one and the request is not an OpenID
/// request (Core §3.1.2.1 makes `redirect_uri` REQUIRED there). Returns it and whether the
/// request named it.
fn trusted_redirect(
    params: &AuthorizeParams<'_>,
    client: &Client,
) -> Result<(RedirectUri, bool), AuthorizeError> {
    let page = |s: &str| AuthorizeError::Page(s.to_owned());
    let registered = client.redirect_uris();
    match params.redirect_uri.filter(|r| !r.is_empty()) {
        Some(given) => registered
            .iter()
            .find(|r| r.as_str() == given)
            .map(|r| (r.clone(), true))
            .ok_or_else(|| {
                page("The redirect address of this request is not registered for the application.")
            }),
        None if params.is_openid() => Err(page(
            "The request does not say where to return to (redirect_uri is required in an OpenID Connect request).",
        )),
        None => match registered {
            [only] => Ok((only.clone(), false)),
            _ => Err(page(
                "The request does not say where to return to (redirect_uri).",
            )),
        },
    }
}

/// The scope granted for `raw`: the client's default when absent; otherwise every value must be
/// allowed for the client (RFC 6749 §3.3), except that an OpenID Connect request ignores the
/// values this server does not know at all (Core §3.1.2.1: "Scope values used that are not
/// understood by an implementation SHOULD be ignored").
fn requested_scope(
    raw: Option<&str>,
    client: &Client,
    openid: bool,
    known: &dyn Fn(&str) -> bool,
) -> Result<ScopeSet, (&'static str, String)> {
    let Some(raw) = raw.filter(|s| !s.is_empty()) else {
        return Ok(client.default_scopes().clone());
    };
    let asked = ScopeSet::parse(raw).map_err(|e| ("invalid_scope", e.reason))?;
    let asked = if openid {
        asked.retain(|s| STANDARD_SCOPES.contains(&s.as_str()) || known(s.as_str()))
    } else {
        asked
    };
    if asked.is_subset(client.allowed_scopes()) {
        Ok(asked)
    } else {
        Err((
            "invalid_scope",
            "a requested scope is not allowed for this client".into(),
        ))
    }
}

/// The PKCE challenge (RFC 7636 §4.3): S256 only; required for public clients and, by policy,
/// for all.
fn requested_challenge(
    params: &AuthorizeParams<'_>,
    client: &Client,
    require_pkce: bool,
) -> Result<Option<CodeChallenge>, String> {
    match (
        params.code_challenge.filter(|c| !c.is_empty()),
        params.code_challenge_method,
    ) {
        (Some(c), method) => CodeChallenge::parse(c, method)
            .map(Some)
            .map_err(|e| e.to_string()),
        (None, Some(_)) => Err("code_challenge_method without code_challenge".into()),
        (None, None) if require_pkce || client.is_public() => {
            Err("code_challenge is required (PKCE, RFC 7636, method S256)".into())
        }
        (None, None) => Ok(None),
    }
}

impl AuthorizationRequest {
    // Longer than most: the checks in the order RFC 6749 §4.1.2.1 needs (page errors before the
    // redirect URI is trusted, redirect errors after), which splitting would obscure.
    /// Checks an authorization request against its client (`None` when no client has that id):
    /// first what makes the redirect URI trustworthy, then the rest. `known` says whether a
    /// scope value is known to this server (any client may have it).
    ///
    /// # Errors
    /// `Page` for a missing or unknown client, a disabled client, a redirect URI that is missing
    /// (with several registered, or in an OpenID request) or not registered, or an unsupported
    /// `response_mode`; `Redirect` for everything else.
    pub fn check(
        params: &AuthorizeParams<'_>,
        client: Option<&Client>,
        require_pkce: bool,
        known: &dyn Fn(&str) -> bool,
    ) -> Result<Self, AuthorizeError> {
        let page = |s: &str| AuthorizeError::Page(s.to_owned());
        if params.client_id.is_none_or(str::is_empty) {
            return Err(page("The request does not name a client (client_id)."));
        }
        let client = client
            .filter(|c| c.is_enabled())
            .ok_or_else(|| page("The application that sent you here is not known."))?;
        let (redirect_uri, explicit) = trusted_redirect(params, client)?;
        // Without a mode it understands, the server cannot answer the client at all.
        let mode = ResponseMode::parse(params.response_mode).map_err(|_| {
            page("The application asked for a response mode this server does not support.")
        })?;
        let redirect = |state: Option<State>, error: &'static str, description: String| {
            AuthorizeError::Redirect {
                redirect_uri: redirect_uri.clone(),
                mode,
                state,
                error,
                description,
            }
        };
        let state = match params
            .state
            .filter(|s| !s.is_empty())
            .map(State::parse)
            .transpose()
        {
            Ok(s) => s,
            Err(e) => return Err(redirect(None, "invalid_request", e.to_string())),
        };
        let refuse = |error: &'static str, d: String| redirect(state.clone(), error, d);
        let invalid = |d: String| refuse("invalid_request", d);
        // Core §6: request objects are not supported (yet); say so with the codes of §3.1.2.6.
        if params.request.is_some_and(|r| !r.is_empty()) {
            return Err(refuse(
                "request_not_supported",
                "request objects are not supported".into(),
            ));
        }
        if params.request_uri.is_some_and(|r| !r.is_empty()) {
            return Err(refuse(
                "request_uri_not_supported",
                "request_uri is not supported".into(),
            ));
        }
        match params.response_type {
            Some("code") => {}
            None | Some("") => return Err(invalid("response_type is required".into())),
            Some(_) => {
                return Err(refuse(
                    "unsupported_response_type",
                    "only response_type=code is supported".into(),
                ));
            }
        }
        if !client.grant_types().contains(&GrantType::AuthorizationCode) {
            return Err(refuse(
                "unauthorized_client",
                "the client may not use the authorization code grant".into(),
            ));
        }
        let openid = params.is_openid();
        let scope = requested_scope(params.scope, client, openid, known)
            .map_err(|(error, d)| refuse(error, d))?;
        let nonce = params
            .nonce
            .filter(|n| !n.is_empty())
            .map(Nonce::parse)
            .transpose()
            .map_err(|e| invalid(e.to_string()))?;
        let challenge = requested_challenge(params, client, require_pkce).map_err(invalid)?;
        let prompt = Prompt::parse(params.prompt).map_err(|e| invalid(e.to_string()))?;
        // Core §11: offline_access (and its older spelling `offline`) is ignored unless consent
        // covers it.
        let may_refresh = client.grant_types().contains(&GrantType::RefreshToken);
        let scope = if offline_access_allowed(client.is_first_party(), prompt, may_refresh) {
            scope
        } else {
            crate::interaction::OFFLINE_SCOPES
                .iter()
                .fold(scope, |scope, s| scope.without(s))
        };
        let max_age = parse_max_age(params.max_age).map_err(|e| invalid(e.to_string()))?;
        // RFC 8707 §2: an unparsable or unacceptable resource is `invalid_target`.
        let resources = crate::resource::parse_resources(params.resources.iter().copied())
            .map_err(|e| refuse("invalid_target", e.to_string()))
            .and_then(|requested| {
                crate::resource::resources_for(&requested, &client.options().resources, None)
                    .map_err(|e| refuse("invalid_target", e.to_string()))
            })?;
        Ok(Self {
            client_id: client.id().clone(),
            redirect_uri,
            redirect_uri_explicit: explicit,
            scope,
            state,
            nonce,
            challenge,
            response_mode: mode,
            prompt,
            max_age,
            login_hint: parse_login_hint(params.login_hint),
            id_token_hint: params
                .id_token_hint
                .filter(|h| !h.is_empty())
                .map(str::to_owned),
            hint_sub: None,
            openid,
            resources,
        })
    }

    /// A refusal of this request, sent back to its client.
    #[must_use]
    pub fn refusal(&self, error: &'static str, description: &str) -> AuthorizeError {
        AuthorizeError::Redirect {
            redirect_uri: self.redirect_uri.clone(),
            mode: self.response_mode,
            state: self.state.clone(),
            error,
            description: description.to_owned(),
        }
    }
}
