//! The browser side of OpenID Connect: the authorization endpoint with its sign-in and consent
//! pages (RFC 6749 §4.1, OpenID Connect Core §3.1.2), the userinfo endpoint (Core §5.3) and
//! RP-initiated logout.
//!
//! The pages are server-rendered HTML that works without JavaScript. Every page is sent with
//! `frame-ancestors 'none'` (and `X-Frame-Options: DENY`) against clickjacking, `no-store`, and a
//! CSP that allows no script at all. Forms carry an anti-forgery token that must equal the value
//! of an `HttpOnly` cookie (double submit). The session cookie is `HttpOnly`, `SameSite=Lax`, and
//! `Secure` when the issuer or the connection is https. Errors that cannot be sent to a verified
//! redirect URI are shown on the page and never redirected.

use actix_web::http::{StatusCode, header};
use actix_web::web::{Data, Payload};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use subtle::ConstantTimeEq as _;
use tessera_domain::TokenError;
use tessera_domain::authorize::{
    AuthorizationRequest, AuthorizeError, AuthorizeParams, RedirectUri,
};
use tessera_domain::service::SignInError;
use tessera_domain::user::User;
use utoipa::ToSchema;

use crate::dialect::{BadForm, no_store, read_form};
use crate::form::Form;
use crate::server::HttpState;

/// The session cookie.
pub const SESSION_COOKIE: &str = "tessera_session";
/// The anti-forgery cookie.
const CSRF_COOKIE: &str = "tessera_csrf";
/// The request parameters a page carries from the authorization request to its form.
const CARRIED: [&str; 8] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
];

/// What is percent-encoded in a query component: everything but unreserved characters.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Escapes text for HTML content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The value of cookie `name`.
fn cookie<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// Whether cookies must be `Secure`: the issuer or this connection is https.
fn secure(req: &HttpRequest, state: &HttpState) -> bool {
    state.issuer.as_str().starts_with("https://")
        || req.connection_info().scheme().eq_ignore_ascii_case("https")
}

fn set_cookie(name: &str, value: &str, path: &str, max_age: i64, secure: bool) -> String {
    format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The security headers of every page.
fn page_headers(builder: &mut HttpResponseBuilder) -> &mut HttpResponseBuilder {
    builder
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#1b1b1b}\
label{display:block;margin-top:1rem;font-weight:600}\
input[type=text],input[type=password]{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}\
button{margin-top:1.25rem;padding:.6rem 1.2rem;font-size:1rem}\
.error{color:#a4000f;border-left:4px solid #a4000f;padding-left:.75rem}\
ul{padding-left:1.25rem}";

/// A complete page.
fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{} – Tessera</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n<h1>{}</h1>\n{body}\n</main>\n</body>\n</html>\n",
        esc(title),
        esc(title)
    );
    page_headers(&mut HttpResponse::build(status))
        .content_type("text/html; charset=utf-8")
        .body(html)
}

/// An error shown to the user (never redirected).
fn error_page(status: StatusCode, message: &str) -> HttpResponse {
    page(
        status,
        "Sign-in cannot continue",
        &format!(
            "<p class=\"error\" role=\"alert\">{}</p>\n<p>Return to the application and try again.</p>",
            esc(message)
        ),
    )
}

/// `uri` with `params` added to its query (RFC 6749 §3.1.2: keep the existing query).
fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    let mut out = uri.to_owned();
    let mut sep = if uri.contains('?') { '&' } else { '?' };
    for (k, v) in params {
        out.push(sep);
        out.push_str(k);
        out.push('=');
        out.extend(utf8_percent_encode(v, QUERY));
        sep = '&';
    }
    out
}

/// The redirect back to the client, with `iss` (RFC 9207) and `state`.
fn redirect(
    state: &HttpState,
    status: StatusCode,
    redirect_uri: &RedirectUri,
    params: &[(&str, &str)],
    client_state: Option<&str>,
) -> HttpResponse {
    let mut all: Vec<(&str, &str)> = params.to_vec();
    if let Some(s) = client_state {
        all.push(("state", s));
    }
    all.push(("iss", state.issuer.as_str()));
    page_headers(&mut HttpResponse::build(status))
        .insert_header((header::LOCATION, with_query(redirect_uri.as_str(), &all)))
        .finish()
}

fn refuse(state: &HttpState, e: AuthorizeError, status: StatusCode) -> HttpResponse {
    match e {
        AuthorizeError::Page(message) => error_page(StatusCode::BAD_REQUEST, &message),
        AuthorizeError::Redirect {
            redirect_uri,
            state: client_state,
            error,
            description,
        } => redirect(
            state,
            status,
            &redirect_uri,
            &[("error", error), ("error_description", &description)],
            client_state.as_ref().map(|s| s.as_str()),
        ),
    }
}

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
    }
}

/// The hidden fields that carry the authorization request, and the anti-forgery token.
fn carried_fields(form: &Form, csrf: &str) -> String {
    let mut out = String::new();
    for name in CARRIED {
        if let Some(v) = form.get(name) {
            out.push_str(&format!(
                "<input type=\"hidden\" name=\"{name}\" value=\"{}\">\n",
                esc(v)
            ));
        }
    }
    out.push_str(&format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">\n",
        esc(csrf)
    ));
    out
}

/// The anti-forgery token of this browser, and the cookie to set when it is new.
fn csrf_token(req: &HttpRequest, state: &HttpState) -> (String, Option<String>) {
    match cookie(req, CSRF_COOKIE).filter(|v| v.len() == 43) {
        Some(v) => (v.to_owned(), None),
        None => {
            let token = state.authorize.random_token();
            let set = set_cookie(CSRF_COOKIE, &token, "/oauth2", 3600, secure(req, state));
            (token, Some(set))
        }
    }
}

fn with_cookies(mut res: HttpResponse, cookies: &[String]) -> HttpResponse {
    for c in cookies {
        if let Ok(v) = header::HeaderValue::from_str(c) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

async fn client_name(state: &HttpState, request: &AuthorizationRequest) -> String {
    match state.authorize.client(&request.client_id).await {
        Ok(Some(c)) => c.name().to_string(),
        _ => request.client_id.to_string(),
    }
}

/// The sign-in page.
async fn login_page(
    req: &HttpRequest,
    state: &HttpState,
    form: &Form,
    request: &AuthorizationRequest,
    error: Option<(StatusCode, &str)>,
    logon: &str,
) -> HttpResponse {
    let (csrf, new_cookie) = csrf_token(req, state);
    let name = client_name(state, request).await;
    let alert = error
        .map(|(_, m)| {
            format!(
                "<p class=\"error\" role=\"alert\" id=\"error\">{}</p>\n",
                esc(m)
            )
        })
        .unwrap_or_default();
    let described = if error.is_some() {
        " aria-describedby=\"error\""
    } else {
        ""
    };
    let body = format!(
        "<p>to continue to <strong>{}</strong></p>\n{alert}<form method=\"post\" action=\"/oauth2/authorize\">\n{}<label for=\"logon\">Logon</label>\n<input type=\"text\" id=\"logon\" name=\"logon\" value=\"{}\" autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" required autofocus{described}>\n<label for=\"password\">Password</label>\n<input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required{described}>\n<button type=\"submit\" name=\"action\" value=\"login\">Sign in</button>\n</form>",
        esc(&name),
        carried_fields(form, &csrf),
        esc(logon),
    );
    let status = error.map_or(StatusCode::OK, |(s, _)| s);
    let res = page(status, "Sign in", &body);
    with_cookies(res, &new_cookie.into_iter().collect::<Vec<_>>())
}

/// The consent page.
async fn consent_page(
    req: &HttpRequest,
    state: &HttpState,
    form: &Form,
    request: &AuthorizationRequest,
    user: &User,
) -> HttpResponse {
    let (csrf, new_cookie) = csrf_token(req, state);
    let name = client_name(state, request).await;
    let scopes: String = request
        .scope
        .iter()
        .map(|s| format!("<li>{}</li>", esc(&describe_scope(s.as_str()))))
        .collect();
    let body = format!(
        "<p>Signed in as <strong>{}</strong>.</p>\n<p><strong>{}</strong> asks to:</p>\n<ul>{scopes}</ul>\n<form method=\"post\" action=\"/oauth2/authorize\">\n{}<button type=\"submit\" name=\"action\" value=\"consent\">Allow</button>\n<button type=\"submit\" name=\"action\" value=\"deny\">Deny</button>\n</form>",
        esc(user.logon.as_str()),
        esc(&name),
        carried_fields(form, &csrf),
    );
    with_cookies(
        page(StatusCode::OK, "Allow access?", &body),
        &new_cookie.into_iter().collect::<Vec<_>>(),
    )
}

fn describe_scope(scope: &str) -> String {
    match scope {
        "openid" => "know who you are".into(),
        "profile" => "see your name and profile".into(),
        "email" => "see your e-mail address".into(),
        "offline_access" | "offline" => "keep access while you are away".into(),
        other => format!("use “{other}”"),
    }
}

/// Issues the code and redirects back to the client.
async fn finish(
    state: &HttpState,
    request: &AuthorizationRequest,
    session: &tessera_domain::authorize::Session,
    status: StatusCode,
) -> HttpResponse {
    match state
        .authorize
        .issue_code(request, session, state.clock.now())
        .await
    {
        Ok(code) => redirect(
            state,
            status,
            &request.redirect_uri,
            &[("code", code.expose())],
            request.state.as_ref().map(|s| s.as_str()),
        ),
        Err(e) => {
            tracing::error!(error = %e, "storing an authorization code failed");
            redirect(
                state,
                status,
                &request.redirect_uri,
                &[
                    ("error", "temporarily_unavailable"),
                    ("error_description", "try again in a moment"),
                ],
                request.state.as_ref().map(|s| s.as_str()),
            )
        }
    }
}

/// With a signed-in user: consent if needed, else the code.
async fn continue_signed_in(
    req: &HttpRequest,
    state: &HttpState,
    form: &Form,
    request: &AuthorizationRequest,
    session: &tessera_domain::authorize::Session,
    user: &User,
    status: StatusCode,
) -> HttpResponse {
    match state.authorize.needs_consent(request, user).await {
        Ok(true) => consent_page(req, state, form, request, user).await,
        Ok(false) => finish(state, request, session, status).await,
        Err(e) => {
            tracing::error!(error = %e, "reading consent failed");
            error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is temporarily unavailable.",
            )
        }
    }
}

async fn current_session(
    req: &HttpRequest,
    state: &HttpState,
) -> Result<Option<(tessera_domain::authorize::Session, User)>, HttpResponse> {
    let Some(value) = cookie(req, SESSION_COOKIE) else {
        return Ok(None);
    };
    state
        .authorize
        .session(value, state.clock.now())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "reading the session failed");
            error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is temporarily unavailable.",
            )
        })
}

/// What the sign-in and consent pages post.
#[derive(ToSchema)]
#[allow(dead_code)] // Describes the form `authorize_post` reads.
struct AuthorizeForm {
    /// `login`, `consent` or `deny`.
    action: String,
    /// The anti-forgery token of the page (it must equal this browser's cookie).
    csrf: String,
    /// With `login`.
    logon: Option<String>,
    /// With `login`.
    password: Option<String>,
    /// The authorization request, carried by the page.
    response_type: String,
    /// The authorization request, carried by the page.
    client_id: String,
    /// The authorization request, carried by the page.
    redirect_uri: String,
    /// The authorization request, carried by the page.
    scope: Option<String>,
    /// The authorization request, carried by the page.
    state: Option<String>,
    /// The authorization request, carried by the page.
    nonce: Option<String>,
    /// The authorization request, carried by the page.
    code_challenge: Option<String>,
    /// The authorization request, carried by the page.
    code_challenge_method: Option<String>,
}

/// `GET /oauth2/authorize`.
///
/// The authorization endpoint (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2): shows the sign-in
/// page (or the consent page) and, once the user has signed in and consented, redirects to the
/// client with `code`, `state` and `iss` (RFC 9207).
#[utoipa::path(
    get,
    path = "/oauth2/authorize",
    tag = "OpenID Connect",
    operation_id = "authorize",
    params(
        ("response_type" = String, Query, description = "`code`"),
        ("client_id" = String, Query, description = "The client"),
        ("redirect_uri" = String, Query, description = "One of the client's registered redirect URIs, exactly"),
        ("scope" = Option<String>, Query, description = "Space-separated; `openid` for an ID token, `offline_access` for a refresh token"),
        ("state" = Option<String>, Query, description = "Returned unchanged to the client"),
        ("nonce" = Option<String>, Query, description = "Put into the ID token"),
        ("code_challenge" = Option<String>, Query, description = "PKCE (RFC 7636): required for public clients and, by default, for all"),
        ("code_challenge_method" = Option<String>, Query, description = "`S256`"),
    ),
    responses(
        (status = 200, description = "The sign-in or consent page", content_type = "text/html"),
        (status = 302, description = "Back to the client's redirect URI with `code` and `state`, or with `error` (`access_denied`, `invalid_request`, `invalid_scope`, `unsupported_response_type`, …)",
            headers(("Location" = String, description = "The client's redirect URI"))),
        (status = 400, description = "An unknown client or an unregistered redirect URI: an error page, never a redirect", content_type = "text/html"),
        (status = 503, description = "The database is unavailable", content_type = "text/html"),
    )
)]
pub async fn authorize_get(req: HttpRequest, state: Data<HttpState>) -> HttpResponse {
    let form = match Form::parse(req.query_string().as_bytes()) {
        Ok(f) => f,
        Err(crate::form::FormError::Repeated(name)) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                &format!("The parameter {name} was sent more than once."),
            );
        }
        Err(crate::form::FormError::NotUtf8) => {
            return error_page(StatusCode::BAD_REQUEST, "The request is not valid UTF-8.");
        }
    };
    let request = match state.authorize.check(&params(&form)).await {
        Ok(r) => r,
        Err(e) => return refuse(&state, e, StatusCode::FOUND),
    };
    match current_session(&req, &state).await {
        Err(res) => res,
        Ok(Some((session, user))) => {
            continue_signed_in(
                &req,
                &state,
                &form,
                &request,
                &session,
                &user,
                StatusCode::FOUND,
            )
            .await
        }
        Ok(None) => login_page(&req, &state, &form, &request, None, "").await,
    }
}

/// `POST /oauth2/authorize`: the sign-in and consent forms.
///
/// What the sign-in and consent pages post: the authorization request's parameters again, the
/// anti-forgery token, and `action` = `login` (with `logon` and `password`), `consent` or `deny`.
#[utoipa::path(
    post,
    path = "/oauth2/authorize",
    tag = "OpenID Connect",
    operation_id = "authorize_form",
    request_body(content = AuthorizeForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The page again, with the reason (wrong password, …)", content_type = "text/html"),
        (status = 303, description = "Back to the client with `code` or `error`, or on to the consent page",
            headers(("Location" = String, description = "Where to go next"))),
        (status = 400, description = "A malformed form, an unknown client or redirect URI", content_type = "text/html"),
        (status = 403, description = "A form without this browser's anti-forgery token, or a locked user", content_type = "text/html"),
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
    // Double submit: the form's token must equal this browser's cookie.
    let forged = match (form.get("csrf"), cookie(&req, CSRF_COOKIE)) {
        (Some(sent), Some(kept)) => !bool::from(sent.as_bytes().ct_eq(kept.as_bytes())),
        _ => true,
    };
    if forged {
        return error_page(
            StatusCode::FORBIDDEN,
            "This form has expired or did not come from this site. Start again from the application.",
        );
    }
    let request = match state.authorize.check(&params(&form)).await {
        Ok(r) => r,
        Err(e) => return refuse(&state, e, StatusCode::SEE_OTHER),
    };
    let now = state.clock.now();
    match form.get("action") {
        Some("login") => {
            let logon = form.get("logon").unwrap_or_default();
            let password = form.get("password").unwrap_or_default();
            let address = crate::dialect::source(&req).unwrap_or_default();
            match state
                .authorize
                .sign_in(logon, password, &address, now)
                .await
            {
                Ok((cookie_value, session, user)) => {
                    let set = set_cookie(
                        SESSION_COOKIE,
                        cookie_value.expose(),
                        "/",
                        i64::from(state.authorize.policy().session_ttl_secs),
                        secure(&req, &state),
                    );
                    let res = continue_signed_in(
                        &req,
                        &state,
                        &form,
                        &request,
                        &session,
                        &user,
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
                        SignInError::Disabled => {
                            (StatusCode::FORBIDDEN, "This account is disabled.")
                        }
                        SignInError::Throttled { .. } => (
                            StatusCode::TOO_MANY_REQUESTS,
                            "Too many failed sign-ins from your network. Try again later.",
                        ),
                        SignInError::Unavailable => (
                            StatusCode::SERVICE_UNAVAILABLE,
                            "The service is temporarily unavailable.",
                        ),
                    };
                    let mut res = login_page(
                        &req,
                        &state,
                        &form,
                        &request,
                        Some((status, message)),
                        logon,
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
        Some(action @ ("consent" | "deny")) => {
            let (session, user) = match current_session(&req, &state).await {
                Err(res) => return res,
                Ok(Some(found)) => found,
                Ok(None) => return login_page(&req, &state, &form, &request, None, "").await,
            };
            if action == "deny" {
                return redirect(
                    &state,
                    StatusCode::SEE_OTHER,
                    &request.redirect_uri,
                    &[
                        ("error", "access_denied"),
                        ("error_description", "the user denied the request"),
                    ],
                    request.state.as_ref().map(|s| s.as_str()),
                );
            }
            if let Err(e) = state.authorize.consent(&request, &user, now).await {
                tracing::error!(error = %e, "storing consent failed");
                return error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The service is temporarily unavailable.",
                );
            }
            finish(&state, &request, &session, StatusCode::SEE_OTHER).await
        }
        _ => error_page(
            StatusCode::BAD_REQUEST,
            "The form is not one of this site's.",
        ),
    }
}

/// `GET` or `POST /oauth2/logout` (OpenID Connect RP-Initiated Logout): ends the session; with a
/// `client_id` and a `post_logout_redirect_uri` registered for that client (one of its redirect
/// URIs), returns there with `state`, otherwise shows that the user is signed out.
#[utoipa::path(
    method(get, post),
    path = "/oauth2/logout",
    tag = "OpenID Connect",
    operation_id = "logout",
    params(
        ("client_id" = Option<String>, Query, description = "The client asking"),
        ("post_logout_redirect_uri" = Option<String>, Query, description = "One of that client's redirect URIs"),
        ("state" = Option<String>, Query, description = "Returned unchanged"),
    ),
    responses(
        (status = 200, description = "Signed out (a page)", content_type = "text/html"),
        (status = 302, description = "Signed out, back to the client",
            headers(("Location" = String, description = "post_logout_redirect_uri with state"))),
        (status = 503, description = "The database is unavailable", content_type = "text/html"),
    )
)]
pub async fn end_session(req: HttpRequest, state: Data<HttpState>) -> HttpResponse {
    let form = Form::parse(req.query_string().as_bytes()).unwrap_or_default();
    if let Some(value) = cookie(&req, SESSION_COOKIE)
        && let Err(e) = state.authorize.end_session(value).await
    {
        tracing::error!(error = %e, "ending a session failed");
        return error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "The service is temporarily unavailable.",
        );
    }
    let clear = set_cookie(SESSION_COOKIE, "", "/", 0, secure(&req, &state));
    let target = match (
        form.get("client_id")
            .and_then(|id| tessera_domain::ClientId::parse(id).ok()),
        form.get("post_logout_redirect_uri"),
    ) {
        (Some(id), Some(uri)) => match state.authorize.client(&id).await {
            Ok(Some(client)) => client
                .redirect_uris()
                .iter()
                .find(|r| r.as_str() == uri)
                .cloned(),
            _ => None,
        },
        _ => None,
    };
    let res = match target {
        Some(uri) => {
            let mut params: Vec<(&str, &str)> = Vec::new();
            if let Some(s) = form.get("state") {
                params.push(("state", s));
            }
            page_headers(&mut HttpResponse::build(StatusCode::FOUND))
                .insert_header((header::LOCATION, with_query(uri.as_str(), &params)))
                .finish()
        }
        None => page(
            StatusCode::OK,
            "Signed out",
            "<p>You are signed out of Tessera. You can close this window.</p>",
        ),
    };
    with_cookies(res, &[clear])
}

/// The signed-in user's claims (OpenID Connect Core §5.3.2), by the token's scopes: `profile`
/// and `email`.
#[derive(Serialize, ToSchema)]
#[schema(as = UserInfo)]
struct UserInfoBody<'a> {
    /// The user.
    sub: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    given_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    family_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    preferred_username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locale: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email_verified: Option<bool>,
}

/// RFC 6750 §3 errors of the userinfo endpoint.
fn bearer_error(status: StatusCode, error: &str, description: &str) -> HttpResponse {
    let challenge = if error.is_empty() {
        format!("Bearer realm=\"{}\"", crate::dialect::rfc6749::REALM)
    } else {
        format!(
            "Bearer realm=\"{}\", error=\"{error}\", error_description=\"{description}\"",
            crate::dialect::rfc6749::REALM
        )
    };
    let mut builder = HttpResponse::build(status);
    builder.insert_header((header::WWW_AUTHENTICATE, challenge));
    if error.is_empty() {
        return no_store(builder.finish());
    }
    no_store(builder.json(serde_json::json!({"error": error, "error_description": description})))
}

/// `GET` or `POST /oauth2/userinfo` with `Authorization: Bearer` (OpenID Connect Core §5.3).
#[utoipa::path(
    method(get, post),
    path = "/oauth2/userinfo",
    tag = "OpenID Connect",
    operation_id = "userinfo",
    responses(
        (status = 200, description = "The user's claims", body = UserInfoBody),
        (status = 401, description = "No token (no body), or `invalid_token`: invalid, expired or revoked", body = crate::dialect::rfc6749::ErrorBody,
            headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"tessera\"`, with the error"))),
        (status = 403, description = "`insufficient_scope`: the token has no `openid` scope", body = crate::dialect::rfc6749::ErrorBody),
        (status = 500, description = "`server_error`", body = crate::dialect::rfc6749::ErrorBody),
        (status = 503, description = "`temporarily_unavailable`", body = crate::dialect::rfc6749::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn userinfo(req: HttpRequest, state: Data<HttpState>) -> HttpResponse {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        })
        .map(|(_, t)| t.trim())
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        // RFC 6750 §3.1: no credentials, no error code.
        return bearer_error(StatusCode::UNAUTHORIZED, "", "");
    };
    match state.tokens.userinfo(token, state.clock.now()).await {
        Ok(u) => no_store(HttpResponse::Ok().json(UserInfoBody {
            sub: &u.sub,
            name: u.name.as_deref(),
            given_name: u.given_name.as_deref(),
            family_name: u.family_name.as_deref(),
            preferred_username: u.preferred_username.as_deref(),
            locale: u.locale.as_deref(),
            updated_at: u.updated_at.map(tessera_domain::UnixTime::as_secs),
            email: u.email.as_deref(),
            email_verified: u.email_verified,
        })),
        Err(TokenError::InvalidScope(_)) => bearer_error(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "the access token does not carry the openid scope",
        ),
        Err(TokenError::TemporarilyUnavailable) => {
            let mut res = bearer_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "try again in a moment",
            );
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            res
        }
        Err(TokenError::ServerError) => bearer_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the server failed",
        ),
        Err(_) => bearer_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the access token is invalid, expired or revoked",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_and_redirects_encode() {
        assert_eq!(
            esc("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
        assert_eq!(
            with_query(
                "https://app.example/cb",
                &[("code", "a b&c"), ("state", "x=y")]
            ),
            "https://app.example/cb?code=a%20b%26c&state=x%3Dy"
        );
        assert_eq!(
            with_query("https://app.example/cb?keep=1", &[("code", "c")]),
            "https://app.example/cb?keep=1&code=c"
        );
    }
}
