//! The browser's cookies: the session cookie and the double-submit anti-forgery token of
//! Tessera's own forms.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use subtle::ConstantTimeEq as _;

use crate::form::Form;
use crate::server::HttpState;

/// The session cookie.
pub const SESSION_COOKIE: &str = "tessera_session";
/// The anti-forgery cookie.
const CSRF_COOKIE: &str = "tessera_csrf";
/// The form field that carries the anti-forgery token.
pub const CSRF_FIELD: &str = "csrf";

/// The value of cookie `name`.
pub fn cookie<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// The session cookie's value, if the browser sent one.
pub fn session_cookie(req: &HttpRequest) -> Option<&str> {
    cookie(req, SESSION_COOKIE)
}

/// Whether cookies must be `Secure`: the issuer or this connection is https.
pub fn secure(req: &HttpRequest, state: &HttpState) -> bool {
    state.issuer.as_str().starts_with("https://")
        || req.connection_info().scheme().eq_ignore_ascii_case("https")
}

/// A `Set-Cookie` value: `HttpOnly; SameSite=Lax`, `Secure` when asked.
pub fn set_cookie(name: &str, value: &str, path: &str, max_age: i64, secure: bool) -> String {
    format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` that opens a session.
pub fn open_session(req: &HttpRequest, state: &HttpState, value: &str) -> String {
    set_cookie(
        SESSION_COOKIE,
        value,
        "/",
        i64::from(state.authorize.policy().session_ttl_secs),
        secure(req, state),
    )
}

/// The `Set-Cookie` that forgets the session.
pub fn clear_session(req: &HttpRequest, state: &HttpState) -> String {
    set_cookie(SESSION_COOKIE, "", "/", 0, secure(req, state))
}

/// The anti-forgery token of this browser, and the cookie to set when it is new.
pub fn csrf_token(req: &HttpRequest, state: &HttpState) -> (String, Option<String>) {
    match cookie(req, CSRF_COOKIE).filter(|v| v.len() == 43) {
        Some(v) => (v.to_owned(), None),
        None => {
            let token = state.authorize.random_token();
            let set = set_cookie(CSRF_COOKIE, &token, "/oauth2", 3600, secure(req, state));
            (token, Some(set))
        }
    }
}

/// Whether a posted form carries this browser's anti-forgery token (double submit, compared in
/// constant time).
pub fn csrf_matches(req: &HttpRequest, form: &Form) -> bool {
    match (form.get(CSRF_FIELD), cookie(req, CSRF_COOKIE)) {
        (Some(sent), Some(kept)) => bool::from(sent.as_bytes().ct_eq(kept.as_bytes())),
        _ => false,
    }
}

/// `res` with `cookies` set.
pub fn with_cookies(mut res: HttpResponse, cookies: &[String]) -> HttpResponse {
    for c in cookies {
        if let Ok(v) = header::HeaderValue::from_str(c) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}
