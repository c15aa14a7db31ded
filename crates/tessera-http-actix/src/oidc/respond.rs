//! How an authorization response reaches the client (RFC 6749 §4.1.2, RFC 9207 `iss`): a
//! redirect with the parameters in the query, or the form-post page.

use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tessera_domain::authorize::{AuthorizeError, RedirectUri};
use tessera_domain::interaction::ResponseMode;

use crate::oidc::pages;
use crate::server::HttpState;

/// What is percent-encoded in a query component: everything but unreserved characters.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `uri` with `params` added to its query (RFC 6749 §3.1.2: keep the existing query).
pub fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
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

/// A relying party's form POST answered with `303 See Other` to the same endpoint as a GET with
/// the same parameters. Browsers send `SameSite=Lax` cookies on a cross-site top-level GET but
/// not on a cross-site POST, so without this a posted authorization or logout request would not
/// see the browser's session (Core §3.1.2.1 allows POST; the session cookie stays `Lax`).
pub fn as_get(path: &str, form: &crate::form::Form) -> HttpResponse {
    let params: Vec<(&str, &str)> = form.pairs().collect();
    pages::page_headers(&mut HttpResponse::build(StatusCode::SEE_OTHER))
        .insert_header((header::LOCATION, with_query(path, &params)))
        .finish()
}

/// Where and how the answer goes.
pub struct Target<'a> {
    /// The verified redirect URI.
    pub redirect_uri: &'a RedirectUri,
    /// The response mode.
    pub mode: ResponseMode,
    /// The client's `state`.
    pub state: Option<&'a str>,
}

/// The answer to the client, with `state` and `iss` (RFC 9207) added to `params`. `status` is
/// the redirect's (302 after a GET, 303 after a form).
pub fn answer(
    state: &HttpState,
    status: StatusCode,
    target: &Target<'_>,
    params: &[(&str, &str)],
) -> HttpResponse {
    let mut all: Vec<(&str, &str)> = params.to_vec();
    if let Some(s) = target.state {
        all.push(("state", s));
    }
    all.push(("iss", state.issuer.as_str()));
    match target.mode {
        ResponseMode::Query => pages::page_headers(&mut HttpResponse::build(status))
            .insert_header((
                header::LOCATION,
                with_query(target.redirect_uri.as_str(), &all),
            ))
            .finish(),
        ResponseMode::FormPost => pages::form_post(target.redirect_uri.as_str(), &all),
    }
}

/// A refused request: an error page when the client cannot be trusted, else the error back to
/// the client. The description is cut to the characters RFC 6749 §4.1.2.1 allows.
pub fn refuse(state: &HttpState, e: AuthorizeError, status: StatusCode) -> HttpResponse {
    match e {
        AuthorizeError::Page(message) => pages::error_page(StatusCode::BAD_REQUEST, &message),
        AuthorizeError::Redirect {
            redirect_uri,
            mode,
            state: client_state,
            error,
            description,
        } => answer(
            state,
            status,
            &Target {
                redirect_uri: &redirect_uri,
                mode,
                state: client_state.as_ref().map(|s| s.as_str()),
            },
            &[
                ("error", error),
                (
                    "error_description",
                    &tessera_domain::error::wire_description(&description),
                ),
            ],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_encode_and_keep_the_query() {
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
