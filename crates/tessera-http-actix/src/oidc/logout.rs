//! The end-session endpoint (RP-Initiated Logout 1.0): reads the request from the query or a
//! form, asks the domain for the plan, and renders it — an error page, the confirmation page, or
//! the session's end with the way back.

use actix_web::http::{Method, StatusCode, header};
use actix_web::web::{Data, Payload};
use actix_web::{HttpRequest, HttpResponse};
use tessera_domain::logout::LogoutPlan;
use tessera_domain::service::LogoutParams;

use crate::dialect::read_form;
use crate::form::Form;
use crate::oidc::cookies::{clear_session, csrf_matches, csrf_token, session_cookie, with_cookies};
use crate::oidc::pages::{self, ACTION_FIELD, error_page, unavailable};
use crate::oidc::respond::with_query;
use crate::server::HttpState;

/// The logout parameters a confirmation page carries.
const CARRIED: [&str; 4] = [
    "id_token_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
];

/// `GET` or `POST /oauth2/logout` (OpenID Connect RP-Initiated Logout 1.0).
///
/// With an `id_token_hint` this server issued (expired is fine) for the signed-in user, the
/// session ends at once; otherwise the user confirms on a page first. The browser returns to
/// `post_logout_redirect_uri` (with `state`) only when it is registered as a post-logout URI of
/// the client the hint or `client_id` names; a forged or foreign hint never redirects.
#[utoipa::path(
    method(get, post),
    path = "/oauth2/logout",
    tag = "OpenID Connect",
    operation_id = "logout",
    params(
        ("id_token_hint" = Option<String>, Query, description = "An ID token this server issued: names the client and the user"),
        ("client_id" = Option<String>, Query, description = "The client asking; must agree with the hint"),
        ("post_logout_redirect_uri" = Option<String>, Query, description = "One of that client's registered post-logout redirect URIs"),
        ("state" = Option<String>, Query, description = "Returned unchanged"),
        ("ui_locales" = Option<String>, Query, description = "Ignored: the pages are in English"),
    ),
    responses(
        (status = 200, description = "Signed out, or the page that asks to confirm", content_type = "text/html"),
        (status = 302, description = "Signed out, back to the client (after a GET)",
            headers(("Location" = String, description = "post_logout_redirect_uri with state"))),
        (status = 303, description = "Signed out, back to the client (after a form); or a relying party's POST that brought no session cookie sent again as a GET",
            headers(("Location" = String, description = "post_logout_redirect_uri with state"))),
        (status = 400, description = "A hint this server did not issue, an unregistered return address, disagreeing parameters: an error page, never a redirect", content_type = "text/html"),
        (status = 403, description = "A confirmation without this browser's anti-forgery token", content_type = "text/html"),
        (status = 503, description = "The database is unavailable", content_type = "text/html"),
    )
)]
pub async fn end_session(
    req: HttpRequest,
    payload: Payload,
    state: Data<HttpState>,
) -> HttpResponse {
    let posted = req.method() == Method::POST;
    let form = if posted {
        match read_form(&req, payload).await {
            Ok(f) => f,
            Err(_) => return error_page(StatusCode::BAD_REQUEST, "The form could not be read."),
        }
    } else {
        match Form::parse(req.query_string().as_bytes()) {
            Ok(f) => f,
            Err(_) => return error_page(StatusCode::BAD_REQUEST, "The request could not be read."),
        }
    };
    let confirmed = posted && form.get(ACTION_FIELD) == Some("logout");
    // A relying party's POST without the session cookie (cross-site POSTs do not carry Lax
    // cookies) goes again as a GET, which carries them: else the session would not end.
    if posted && !confirmed && session_cookie(&req).is_none() {
        return crate::oidc::respond::as_get("/oauth2/logout", &form);
    }
    if confirmed && !csrf_matches(&req, &form) {
        return error_page(
            StatusCode::FORBIDDEN,
            "This form has expired or did not come from this site.",
        );
    }
    let params = LogoutParams {
        id_token_hint: form.get("id_token_hint"),
        client_id: form.get("client_id"),
        post_logout_redirect_uri: form.get("post_logout_redirect_uri"),
        state: form.get("state"),
    };
    let plan = state
        .authorize
        .logout(&params, session_cookie(&req), confirmed, state.clock.now())
        .await;
    match plan {
        Err(e) => {
            tracing::error!(error = %e, "ending a session failed");
            unavailable()
        }
        Ok(LogoutPlan::Refuse(message)) => error_page(StatusCode::BAD_REQUEST, message),
        Ok(LogoutPlan::Confirm) => {
            let (csrf, new_cookie) = csrf_token(&req, &state);
            let carried = CARRIED
                .iter()
                .filter_map(|name| form.get(name).map(|v| (*name, v)));
            let fields = pages::carried_fields(carried, &csrf);
            with_cookies(
                pages::confirm_logout(&fields),
                &new_cookie.into_iter().collect::<Vec<_>>(),
            )
        }
        Ok(LogoutPlan::End(back)) => {
            let res = match back {
                Some(back) => {
                    let mut query: Vec<(&str, &str)> = Vec::new();
                    if let Some(s) = &back.state {
                        query.push(("state", s.as_str()));
                    }
                    let status = if posted {
                        StatusCode::SEE_OTHER
                    } else {
                        StatusCode::FOUND
                    };
                    pages::page_headers(&mut HttpResponse::build(status))
                        .insert_header((header::LOCATION, with_query(back.uri.as_str(), &query)))
                        .finish()
                }
                None => pages::signed_out(),
            };
            with_cookies(res, &[clear_session(&req, &state)])
        }
    }
}
