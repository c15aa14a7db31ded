//! The authorization endpoint (RFC 6749 §4.1.1, OpenID Connect Core 1.0 §3.1.2): a request by GET
//! or by a form the relying party posts (§3.1.2.1), and the sign-in and consent forms of
//! Tessera's own pages, told apart by their marker field and guarded by the anti-forgery token.
//! Every decision (the next step, `prompt`, `max_age`, the hint) is the domain's; this file reads
//! parameters and renders.

use actix_web::http::{StatusCode, header};
use actix_web::web::{Data, Payload};
use actix_web::{HttpRequest, HttpResponse};
use tessera_domain::authorize::{AuthorizationRequest, AuthorizeParams, Session};
use tessera_domain::interaction::{Done, SignInReason, Step};
use tessera_domain::service::SignInError;
use tessera_domain::user::User;
use utoipa::ToSchema;

use crate::dialect::{BadForm, read_form};
use crate::form::{Form, FormError};
use crate::oidc::cookies::{self, csrf_matches, csrf_token, session_cookie, with_cookies};
use crate::oidc::pages::{self, ACTION_FIELD, CARRIED, SignInView, error_page, unavailable};
use crate::oidc::respond::{Target, answer, refuse};
use crate::server::HttpState;

/// The consent form's session (its `sid`).
const SID_FIELD: &str = "tessera_sid";
/// Whether the consent form followed a sign-in (`1`).
const FRESH_FIELD: &str = "tessera_fresh";

/// The parameters of an authorization request from a parsed query or form.
fn params(form: &Form) -> AuthorizeParams<'_> {
    AuthorizeParams {
        response_type: form.get("response_type"),
        client_id: form.get("client_id"),
        redirect_uri: form.get("redirect_uri"),
        scope: form.get("scope"),
        state: form.get("state"),
        nonce: form.get("nonce"),
        code_challenge: form.get("code_challenge"),
        code_challenge_method: form.get("code_challenge_method"),
        response_mode: form.get("response_mode"),
        prompt: form.get("prompt"),
        max_age: form.get("max_age"),
        id_token_hint: form.get("id_token_hint"),
        login_hint: form.get("login_hint"),
        request: form.get("request"),
        request_uri: form.get("request_uri"),
        resources: form.get_all("resource").collect(),
    }
}

/// Where the answer to `request` goes.
fn target(request: &AuthorizationRequest) -> Target<'_> {
    Target {
        redirect_uri: &request.redirect_uri,
        mode: request.response_mode,
        state: request.state.as_ref().map(|s| s.as_str()),
    }
}

/// The hidden fields of a page: the request's parameters and this browser's anti-forgery token,
/// with the cookie to set when the token is new.
fn fields(req: &HttpRequest, state: &HttpState, form: &Form) -> (String, Vec<String>) {
    let (csrf, new_cookie) = csrf_token(req, state);
    let carried = CARRIED
        .iter()
        .flat_map(|name| form.get_all(name).map(move |v| (*name, v)));
    (
        pages::carried_fields(carried, &csrf),
        new_cookie.into_iter().collect(),
    )
}

async fn client_name(state: &HttpState, request: &AuthorizationRequest) -> String {
    match state.authorize.client(&request.client_id).await {
        Ok(Some(c)) => c.name().to_string(),
        _ => request.client_id.to_string(),
    }
}

/// Why the page asks to sign in again, in words.
fn notice(reason: SignInReason) -> Option<&'static str> {
    match reason {
        SignInReason::NoSession => None,
        SignInReason::Prompted => Some("The application asks you to sign in again."),
        SignInReason::TooOld => {
            Some("You signed in a while ago; the application asks you to sign in again.")
        }
        SignInReason::OtherUser => {
            Some("The application expects another account: sign in with that one.")
        }
    }
}

/// The sign-in page for `request`.
async fn sign_in_page(
    req: &HttpRequest,
    state: &HttpState,
    form: &Form,
    request: &AuthorizationRequest,
    reason: SignInReason,
    error: Option<(StatusCode, &str)>,
    typed: Option<&str>,
) -> HttpResponse {
    let (hidden, set) = fields(req, state, form);
    let name = client_name(state, request).await;
    let res = pages::sign_in(&SignInView {
        client_name: &name,
        error,
        notice: notice(reason),
        logon: typed.or(request.login_hint.as_deref()).unwrap_or_default(),
        fields: hidden,
    });
    with_cookies(res, &set)
}

/// The sign-in page with nothing to explain and nothing typed.
async fn fresh_sign_in(
    req: &HttpRequest,
    state: &HttpState,
    form: &Form,
    request: &AuthorizationRequest,
) -> HttpResponse {
    sign_in_page(
        req,
        state,
        form,
        request,
        SignInReason::NoSession,
        None,
        None,
    )
    .await
}

/// Issues the code and answers the client.
async fn finish(
    state: &HttpState,
    request: &AuthorizationRequest,
    session: &Session,
    status: StatusCode,
) -> HttpResponse {
    match state
        .authorize
        .issue_code(request, session, state.clock.now())
        .await
    {
        Ok(code) => answer(state, status, &target(request), &[("code", code.expose())]),
        Err(e) => {
            tracing::error!(error = %e, "storing an authorization code failed");
            answer(
                state,
                status,
                &target(request),
                &[
                    ("error", "temporarily_unavailable"),
                    ("error_description", "try again in a moment"),
                ],
            )
        }
    }
}

/// Takes the step the domain decides for `request` in this browser.
#[allow(clippy::too_many_arguments)]
async fn proceed(
    req: &HttpRequest,
    state: &HttpState,
    form: &Form,
    request: &AuthorizationRequest,
    signed: Option<(&Session, &User)>,
    done: Done,
    status: StatusCode,
) -> HttpResponse {
    let step = match state
        .authorize
        .next(request, signed, done, state.clock.now())
        .await
    {
        Ok(step) => step,
        Err(e) => {
            tracing::error!(error = %e, "reading or storing consent failed");
            return unavailable();
        }
    };
    match (step, signed) {
        (Step::Issue, Some((session, _))) => finish(state, request, session, status).await,
        (Step::Consent, Some((session, user))) => {
            let (mut hidden, set) = fields(req, state, form);
            // The consent form names the session it was shown in, and whether it follows a
            // sign-in: the domain checks both when it is posted.
            let fresh = if done == Done::SignedIn { "1" } else { "0" };
            hidden.push_str(&pages::carried_fields_only(
                [(SID_FIELD, session.sid.as_str()), (FRESH_FIELD, fresh)].into_iter(),
            ));
            let name = client_name(state, request).await;
            with_cookies(pages::consent(&name, request, user, &hidden), &set)
        }
        (Step::Refuse(error), _) => refuse(
            state,
            request.refusal(error, refusal_description(error)),
            status,
        ),
        (Step::SignIn(reason), _) => {
            sign_in_page(req, state, form, request, reason, None, None).await
        }
        // Issue and consent need a session; without one the user signs in.
        (Step::Issue | Step::Consent, None) => fresh_sign_in(req, state, form, request).await,
    }
}

fn refusal_description(error: &str) -> &'static str {
    match error {
        "login_required" => "the user must sign in, and prompt=none forbids a page",
        "consent_required" => "the user must consent, and prompt=none forbids a page",
        _ => "the user must interact, and prompt=none forbids a page",
    }
}

/// The browser's live session and its user.
async fn current_session(
    req: &HttpRequest,
    state: &HttpState,
) -> Result<Option<(Session, User)>, HttpResponse> {
    let Some(value) = session_cookie(req) else {
        return Ok(None);
    };
    state
        .authorize
        .session(value, state.clock.now())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "reading the session failed");
            unavailable()
        })
}

/// An authorization request, from a query or a relying party's form.
async fn authorization_request(
    req: &HttpRequest,
    state: &HttpState,
    form: &Form,
    status: StatusCode,
) -> HttpResponse {
    let request = match state.authorize.check(&params(form)).await {
        Ok(r) => r,
        Err(e) => return refuse(state, e, status),
    };
    match current_session(req, state).await {
        Err(res) => res,
        Ok(found) => {
            let signed = found.as_ref().map(|(s, u)| (s, u));
            proceed(req, state, form, &request, signed, Done::Nothing, status).await
        }
    }
}

/// What the sign-in and consent pages post, or a relying party's authorization request.
#[derive(ToSchema)]
#[allow(dead_code)] // Describes the form `authorize_post` reads.
struct AuthorizeForm {
    /// On Tessera's own pages only: `login`, `consent` or `deny`. Without it the form is an
    /// authorization request posted by the relying party (OpenID Connect Core §3.1.2.1).
    tessera_action: Option<String>,
    /// With `tessera_action`: the page's anti-forgery token (it must equal this browser's
    /// cookie).
    csrf: Option<String>,
    /// With `login`.
    logon: Option<String>,
    /// With `login`.
    password: Option<String>,
    /// The authorization request.
    response_type: String,
    /// The authorization request.
    client_id: String,
    /// The authorization request.
    redirect_uri: String,
    /// The authorization request.
    scope: Option<String>,
    /// The authorization request.
    state: Option<String>,
    /// The authorization request.
    nonce: Option<String>,
    /// The authorization request.
    code_challenge: Option<String>,
    /// The authorization request.
    code_challenge_method: Option<String>,
    /// The authorization request: `query` or `form_post`.
    response_mode: Option<String>,
    /// The authorization request: `none`, `login`, `consent`, `select_account`.
    prompt: Option<String>,
    /// The authorization request.
    max_age: Option<String>,
    /// The authorization request.
    id_token_hint: Option<String>,
    /// The authorization request.
    login_hint: Option<String>,
    /// The authorization request.
    acr_values: Option<String>,
}

/// `GET /oauth2/authorize`.
///
/// The authorization endpoint (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2): shows the sign-in
/// page (or the consent page) and, once the user has signed in and consented, answers the
/// client with `code`, `state` and `iss` (RFC 9207) in the redirect's query or, with
/// `response_mode=form_post`, in a form the browser posts.
#[utoipa::path(
    get,
    path = "/oauth2/authorize",
    tag = "OpenID Connect",
    operation_id = "authorize",
    params(
        ("response_type" = String, Query, description = "`code`"),
        ("client_id" = String, Query, description = "The client"),
        ("redirect_uri" = String, Query, description = "One of the client's registered redirect URIs, exactly; required with `openid`"),
        ("scope" = Option<String>, Query, description = "Space-separated; `openid` for an ID token, `offline_access` for a refresh token (with consent for it); unknown values are ignored in OpenID requests"),
        ("state" = Option<String>, Query, description = "Returned unchanged to the client"),
        ("nonce" = Option<String>, Query, description = "Put into the ID token"),
        ("code_challenge" = Option<String>, Query, description = "PKCE (RFC 7636): required for public clients and, by default, for all"),
        ("code_challenge_method" = Option<String>, Query, description = "`S256`"),
        ("response_mode" = Option<String>, Query, description = "`query` (default) or `form_post`"),
        ("prompt" = Option<String>, Query, description = "`none`, `login`, `consent`, `select_account`"),
        ("max_age" = Option<u32>, Query, description = "Seconds since the last sign-in beyond which the user signs in again"),
        ("id_token_hint" = Option<String>, Query, description = "An ID token this server issued to the client (expired is fine)"),
        ("login_hint" = Option<String>, Query, description = "Pre-fills the logon field"),
        ("acr_values" = Option<String>, Query, description = "Voluntary (Core §3.1.2.1): the ID token's `acr` says what the sign-in achieved"),
        ("request" = Option<String>, Query, description = "Not supported: `request_not_supported`"),
        ("request_uri" = Option<String>, Query, description = "Not supported: `request_uri_not_supported`"),
    ),
    responses(
        (status = 200, description = "The sign-in or consent page, or the form-post page", content_type = "text/html"),
        (status = 302, description = "Back to the client's redirect URI with `code` and `state`, or with `error` (`access_denied`, `invalid_request`, `invalid_scope`, `login_required`, `consent_required`, `request_not_supported`, `unsupported_response_type`, …)",
            headers(("Location" = String, description = "The client's redirect URI"))),
        (status = 400, description = "An unknown client, an unregistered or missing redirect URI, an unsupported response mode: an error page, never a redirect", content_type = "text/html"),
        (status = 503, description = "The database is unavailable", content_type = "text/html"),
    )
)]
pub async fn authorize_get(req: HttpRequest, state: Data<HttpState>) -> HttpResponse {
    let form = match Form::parse(req.query_string().as_bytes()) {
        Ok(f) => f,
        Err(FormError::Repeated(name)) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                &format!("The parameter {name} was sent more than once."),
            );
        }
        Err(FormError::NotUtf8) => {
            return error_page(StatusCode::BAD_REQUEST, "The request is not valid UTF-8.");
        }
    };
    authorization_request(&req, &state, &form, StatusCode::FOUND).await
}

/// `POST /oauth2/authorize`: an authorization request posted by the relying party, or the
/// sign-in and consent forms.
///
/// A form without `tessera_action` is an authorization request (OpenID Connect Core
/// §3.1.2.1), exactly like the GET. Tessera's own pages post the request's parameters again,
/// the anti-forgery token, and `tessera_action` = `login` (with `logon` and `password`),
/// `consent` or `deny`.
#[utoipa::path(
    post,
    path = "/oauth2/authorize",
    tag = "OpenID Connect",
    operation_id = "authorize_form",
    request_body(content = AuthorizeForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A page: sign-in, consent, form post, or the sign-in page again with the reason (wrong password, …)", content_type = "text/html"),
        (status = 302, description = "A relying party's request answered at once (a session, `prompt=none`, an error)",
            headers(("Location" = String, description = "The client's redirect URI"))),
        (status = 303, description = "Back to the client with `code` or `error` after a form, or a relying party's POST that brought no session cookie sent again as a GET (which carries the SameSite=Lax cookie)",
            headers(("Location" = String, description = "Where to go next"))),
        (status = 400, description = "A malformed form, an unknown client or redirect URI", content_type = "text/html"),
        (status = 401, description = "The sign-in page again: the logon or the password is wrong", content_type = "text/html"),
        (status = 403, description = "A page's form without this browser's anti-forgery token, or a locked user", content_type = "text/html"),
        (status = 413, description = "A form over 64 KiB", content_type = "text/html"),
        (status = 429, description = "Too many failed sign-ins from this address", content_type = "text/html",
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
        (status = 503, description = "The database is unavailable", content_type = "text/html"),
    )
)]
pub async fn authorize_post(
    req: HttpRequest,
    payload: Payload,
    state: Data<HttpState>,
) -> HttpResponse {
    let form = match read_form(&req, payload).await {
        Ok(f) => f,
        Err(BadForm::TooLarge) => {
            return error_page(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.");
        }
        Err(_) => return error_page(StatusCode::BAD_REQUEST, "The form could not be read."),
    };
    let Some(action) = form.get(ACTION_FIELD) else {
        // A relying party's POST: without the session cookie (a cross-site POST does not carry
        // a Lax cookie), go again as a GET, which does.
        if session_cookie(&req).is_none() {
            return crate::oidc::respond::as_get("/oauth2/authorize", &form);
        }
        return authorization_request(&req, &state, &form, StatusCode::FOUND).await;
    };
    // Double submit: the form's token must equal this browser's cookie.
    if !csrf_matches(&req, &form) {
        return error_page(
            StatusCode::FORBIDDEN,
            "This form has expired or did not come from this site. Start again from the application.",
        );
    }
    let request = match state.authorize.check(&params(&form)).await {
        Ok(r) => r,
        Err(e) => return refuse(&state, e, StatusCode::SEE_OTHER),
    };
    match action {
        "login" => login(&req, &state, &form, &request).await,
        "consent" | "deny" => consent(&req, &state, &form, &request, action == "consent").await,
        _ => error_page(
            StatusCode::BAD_REQUEST,
            "The form is not one of this site's.",
        ),
    }
}

/// The sign-in form: a new session (replacing this browser's old one), then the next step.
async fn login(
    req: &HttpRequest,
    state: &HttpState,
    form: &Form,
    request: &AuthorizationRequest,
) -> HttpResponse {
    let logon = form.get("logon").unwrap_or_default();
    let password = form.get("password").unwrap_or_default();
    let address = crate::dialect::source(req).unwrap_or_default();
    match state
        .authorize
        .sign_in(
            logon,
            password,
            &address,
            session_cookie(req),
            state.clock.now(),
        )
        .await
    {
        Ok((cookie_value, session, user)) => {
            let set = cookies::open_session(req, state, cookie_value.expose());
            let res = proceed(
                req,
                state,
                form,
                request,
                Some((&session, &user)),
                Done::SignedIn,
                StatusCode::SEE_OTHER,
            )
            .await;
            with_cookies(res, &[set])
        }
        Err(e) => {
            let (status, message) = match e {
                SignInError::InvalidCredentials => (
                    StatusCode::UNAUTHORIZED,
                    "The logon or the password is wrong.",
                ),
                SignInError::Locked { .. } => (
                    StatusCode::FORBIDDEN,
                    "This account is locked. Try again later or contact support.",
                ),
                SignInError::Disabled => (StatusCode::FORBIDDEN, "This account is disabled."),
                SignInError::Throttled { .. } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many failed sign-ins from your network. Try again later.",
                ),
                SignInError::Unavailable => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The service is temporarily unavailable.",
                ),
            };
            let mut res = sign_in_page(
                req,
                state,
                form,
                request,
                SignInReason::NoSession,
                Some((status, message)),
                Some(logon),
            )
            .await;
            if let SignInError::Throttled { retry_after } = e
                && let Ok(v) = header::HeaderValue::from_str(&retry_after.to_string())
            {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            res
        }
    }
}

/// The consent form: deny (`access_denied`), or allow — the domain then decides again with the
/// consent given (remembered when it leads to the code), so a posted consent cannot skip a
/// `prompt=login`, `max_age` or hint the request still needs.
async fn consent(
    req: &HttpRequest,
    state: &HttpState,
    form: &Form,
    request: &AuthorizationRequest,
    allowed: bool,
) -> HttpResponse {
    let (session, user) = match current_session(req, state).await {
        Err(res) => return res,
        // Only the session the page was shown in: another tab may have switched accounts.
        Ok(Some(found)) if form.get(SID_FIELD) == Some(found.0.sid.as_str()) => found,
        Ok(_) => return fresh_sign_in(req, state, form, request).await,
    };
    if !allowed {
        return answer(
            state,
            StatusCode::SEE_OTHER,
            &target(request),
            &[
                ("error", "access_denied"),
                ("error_description", "the user denied the request"),
            ],
        );
    }
    let done = Done::Consented {
        after_sign_in: form.get(FRESH_FIELD) == Some("1"),
    };
    proceed(
        req,
        state,
        form,
        request,
        Some((&session, &user)),
        done,
        StatusCode::SEE_OTHER,
    )
    .await
}
