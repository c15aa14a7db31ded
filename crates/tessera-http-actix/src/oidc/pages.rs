//! The HTML Tessera shows a person: the sign-in, consent and logout pages, error pages, and the
//! auto-submitting form of the form-post response mode. Server-rendered, usable without
//! JavaScript; every page has `frame-ancestors 'none'`, `no-store` and a CSP that allows no
//! script (the form-post page allows exactly its one line).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, HttpResponseBuilder};
use tessera_domain::authorize::AuthorizationRequest;
use tessera_domain::user::User;

use crate::oidc::cookies::CSRF_FIELD;

/// The field that marks a form as one of Tessera's own pages (and says what it does). An
/// authorization request posted by a relying party (Core §3.1.2.1) never carries it.
pub const ACTION_FIELD: &str = "tessera_action";

/// The authorization request's parameters, carried by a page from the request to its form.
pub const CARRIED: [&str; 15] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "response_mode",
    "prompt",
    "max_age",
    "id_token_hint",
    "login_hint",
    "acr_values",
    // Repeatable (RFC 8707 §2.1): every value is carried.
    "resource",
];

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
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

const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The security headers of every page, with `csp` as its policy.
pub fn page_headers_with<'b>(
    builder: &'b mut HttpResponseBuilder,
    csp: &str,
) -> &'b mut HttpResponseBuilder {
    builder
        .insert_header((header::CONTENT_SECURITY_POLICY, csp.to_owned()))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
}

/// The security headers of every page.
pub fn page_headers(builder: &mut HttpResponseBuilder) -> &mut HttpResponseBuilder {
    page_headers_with(builder, CSP)
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#1b1b1b}\
label{display:block;margin-top:1rem;font-weight:600}\
input[type=text],input[type=password]{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}\
button{margin-top:1.25rem;padding:.6rem 1.2rem;font-size:1rem}\
.error{color:#a4000f;border-left:4px solid #a4000f;padding-left:.75rem}\
ul{padding-left:1.25rem}";

fn document(title: &str, body: &str, script: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{} – Tessera</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n<h1>{}</h1>\n{body}\n</main>\n{script}</body>\n</html>\n",
        esc(title),
        esc(title)
    )
}

/// A complete page.
pub fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    page_headers(&mut HttpResponse::build(status))
        .content_type("text/html; charset=utf-8")
        .body(document(title, body, ""))
}

/// An error shown to the user (never redirected).
pub fn error_page(status: StatusCode, message: &str) -> HttpResponse {
    page(
        status,
        "Sign-in cannot continue",
        &format!(
            "<p class=\"error\" role=\"alert\">{}</p>\n<p>Return to the application and try again.</p>",
            esc(message)
        ),
    )
}

/// The page of a database that does not answer.
pub fn unavailable() -> HttpResponse {
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "The service is temporarily unavailable.",
    )
}

/// A hidden field.
fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
        esc(name),
        esc(value)
    )
}

/// The hidden fields that carry `params` and the anti-forgery token.
pub fn carried_fields<'a>(params: impl Iterator<Item = (&'a str, &'a str)>, csrf: &str) -> String {
    let mut out = carried_fields_only(params);
    out.push_str(&hidden(CSRF_FIELD, csrf));
    out
}

/// The hidden fields that carry `params`.
pub fn carried_fields_only<'a>(params: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    params.map(|(k, v)| hidden(k, v)).collect()
}

/// What the sign-in page says and pre-fills.
pub struct SignInView<'a> {
    /// The client's display name.
    pub client_name: &'a str,
    /// The alert, with its status.
    pub error: Option<(StatusCode, &'a str)>,
    /// A note that is not an error (why the user signs in again).
    pub notice: Option<&'a str>,
    /// The logon field's value (`login_hint` or what was typed).
    pub logon: &'a str,
    /// The hidden fields.
    pub fields: String,
}

/// The sign-in page.
pub fn sign_in(view: &SignInView<'_>) -> HttpResponse {
    let alert = view
        .error
        .map(|(_, m)| {
            format!(
                "<p class=\"error\" role=\"alert\" id=\"error\">{}</p>\n",
                esc(m)
            )
        })
        .unwrap_or_default();
    let notice = view
        .notice
        .map(|m| format!("<p role=\"status\">{}</p>\n", esc(m)))
        .unwrap_or_default();
    let described = if view.error.is_some() {
        " aria-describedby=\"error\""
    } else {
        ""
    };
    let body = format!(
        "<p>to continue to <strong>{}</strong></p>\n{notice}{alert}<form method=\"post\" action=\"/oauth2/authorize\">\n{}<label for=\"logon\">Logon</label>\n<input type=\"text\" id=\"logon\" name=\"logon\" value=\"{}\" autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" required autofocus{described}>\n<label for=\"password\">Password</label>\n<input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required{described}>\n<button type=\"submit\" name=\"{ACTION_FIELD}\" value=\"login\">Sign in</button>\n</form>",
        esc(view.client_name),
        view.fields,
        esc(view.logon),
    );
    page(
        view.error.map_or(StatusCode::OK, |(s, _)| s),
        "Sign in",
        &body,
    )
}

/// The consent page.
pub fn consent(
    client_name: &str,
    request: &AuthorizationRequest,
    user: &User,
    fields: &str,
) -> HttpResponse {
    let scopes: String = request
        .scope
        .iter()
        .map(|s| format!("<li>{}</li>", esc(&describe_scope(s.as_str()))))
        .collect();
    // A client that names itself by its metadata document is known only by where that is:
    // the host goes first, where no name it chose can hide it.
    let origin = tessera_domain::metadata_document::DocumentUrl::recognise(
        request.client_id.as_str(),
    )
    .map(|url| {
        format!(
            "<p class=\"origin\">From <strong>{}</strong>, which describes itself at {}.</p>\n",
            esc(url.host()),
            esc(url.as_str())
        )
    })
    .unwrap_or_default();
    let body = format!(
        "<p>Signed in as <strong>{}</strong>.</p>\n{origin}<p><strong>{}</strong> asks to:</p>\n<ul>{scopes}</ul>\n<form method=\"post\" action=\"/oauth2/authorize\">\n{fields}<button type=\"submit\" name=\"{ACTION_FIELD}\" value=\"consent\">Allow</button>\n<button type=\"submit\" name=\"{ACTION_FIELD}\" value=\"deny\">Deny</button>\n</form>",
        esc(user.logon.as_str()),
        esc(client_name),
    );
    page(StatusCode::OK, "Allow access?", &body)
}

fn describe_scope(scope: &str) -> String {
    match scope {
        "openid" => "know who you are".into(),
        "profile" => "see your name and profile".into(),
        "email" => "see your e-mail address".into(),
        "address" => "see your postal address".into(),
        "phone" => "see your phone number".into(),
        s if tessera_domain::interaction::OFFLINE_SCOPES.contains(&s) => {
            "keep access while you are away".into()
        }
        other => format!("use “{other}”"),
    }
}

/// The one script of the form-post page, and its CSP hash (a unit test keeps them in step).
const SUBMIT_SCRIPT: &str = "document.forms[0].submit();";
const SUBMIT_SCRIPT_HASH: &str = "sha256-8lDeP0UDwCO6/RhblgeH/ctdBzjVpJxrXizsnIk3cEQ=";

/// OAuth 2.0 Form Post Response Mode §2: an HTML form that posts `params` to `target`, submitted
/// by its one script, and by a visible button where scripts do not run. The CSP allows exactly
/// that script (by its hash) and nothing else the page could load. It sets no `form-action`:
/// browsers apply it to the redirects that follow the post too, and a relying party's callback
/// that redirects to another origin (an API sending the browser on to its app) would be blocked;
/// the page has nothing injected that could retarget the form.
pub fn form_post(target: &str, params: &[(&str, &str)]) -> HttpResponse {
    let fields: String = params.iter().map(|(k, v)| hidden(k, v)).collect();
    let body = format!(
        "<p>Returning to the application…</p>\n<form method=\"post\" action=\"{}\">\n{fields}<noscript><p>Scripts are off in this browser: press the button to continue.</p></noscript>\n<button type=\"submit\">Continue</button>\n</form>",
        esc(target)
    );
    let csp = format!(
        "default-src 'none'; script-src '{SUBMIT_SCRIPT_HASH}'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
    );
    page_headers_with(&mut HttpResponse::Ok(), &csp)
        .content_type("text/html; charset=utf-8")
        .body(document(
            "Continue",
            &body,
            &format!("<script>{SUBMIT_SCRIPT}</script>\n"),
        ))
}

/// RP-Initiated Logout 1.0 §2: the page that asks before ending a session that no valid
/// `id_token_hint` vouches for.
pub fn confirm_logout(fields: &str) -> HttpResponse {
    page(
        StatusCode::OK,
        "Sign out?",
        &format!(
            "<p>An application asks to sign you out of Tessera.</p>\n<form method=\"post\" action=\"/oauth2/logout\">\n{fields}<button type=\"submit\" name=\"{ACTION_FIELD}\" value=\"logout\">Sign out</button>\n</form>"
        ),
    )
}

/// The page after a logout without a place to return to.
pub fn signed_out() -> HttpResponse {
    page(
        StatusCode::OK,
        "Signed out",
        "<p>You are signed out of Tessera. You can close this window.</p>",
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use base64::Engine as _;
    use sha2::Digest as _;

    use super::*;

    #[test]
    fn pages_escape() {
        assert_eq!(
            esc("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
    }

    #[test]
    fn the_form_post_csp_allows_exactly_its_script() {
        let digest = sha2::Sha256::digest(SUBMIT_SCRIPT.as_bytes());
        assert_eq!(
            SUBMIT_SCRIPT_HASH,
            format!(
                "sha256-{}",
                base64::engine::general_purpose::STANDARD.encode(digest)
            )
        );
        let res = form_post(
            "https://rp.example/cb",
            &[("code", "a\"b"), ("state", "<s>")],
        );
        let csp = res
            .headers()
            .get(header::CONTENT_SECURITY_POLICY)
            .unwrap()
            .to_str()
            .unwrap();
        assert!(!csp.contains("form-action"), "{csp}");
        assert!(csp.contains(SUBMIT_SCRIPT_HASH), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    }
}
