//! Black-box tests shaped like the RP-Initiated Logout OP certification modules: logout with
//! valid, foreign and forged hints, by GET and by POST (same-site and cross-site), and with
//! confirmation when no hint vouches for the request.

use crate::harness::Server;
use crate::oidc::{Browser, POST_LOGOUT, REDIRECT, enc, form_fields, setup};
use crate::oidc_conformance::{first_id_token, redirect_error, signed_in, url_with};

fn logout_url(server: &Server, query: &str) -> String {
    format!("{}?{query}", server.url("/oauth2/logout"))
}

#[test]
fn logout_with_a_valid_hint_returns_and_a_forged_or_foreign_one_never_redirects() {
    let (s, server, mut browser, _, id_token) = signed_in();
    let back = format!("post_logout_redirect_uri={}&state=bye", enc(POST_LOGOUT));
    // A forged signature: an error page, the session stays.
    let mut forged = id_token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let page = browser.get(&logout_url(
        &server,
        &format!("id_token_hint={forged}&{back}"),
    ));
    assert_eq!(page.status, 400);
    assert!(page.header("location").is_none());
    assert!(browser.has_cookie("tessera_session"));
    // A foreign hint: another server's ID token for a client of the same name.
    let other = setup(&["--role", "ROLE_CLI-1STPARTY"]);
    let other_server = other.t.serve(&[]);
    let foreign = first_id_token(&other, &other_server, &mut Browser::new(), "foreign");
    let page = browser.get(&logout_url(
        &server,
        &format!("id_token_hint={foreign}&{back}"),
    ));
    assert_eq!(page.status, 400);
    assert!(page.header("location").is_none());
    // The redirect URI is not a post-logout URI.
    let page = browser.get(&logout_url(
        &server,
        &format!(
            "id_token_hint={id_token}&post_logout_redirect_uri={}",
            enc(REDIRECT)
        ),
    ));
    assert_eq!(page.status, 400);
    // client_id must agree with the hint.
    let page = browser.get(&logout_url(
        &server,
        &format!("id_token_hint={id_token}&client_id=someone-else&{back}"),
    ));
    assert_eq!(page.status, 400);
    assert!(browser.has_cookie("tessera_session"));
    // The valid hint posted cross-site (no cookie): the same request again as a GET, which
    // carries the cookie and ends the session.
    let hinted = [
        ("id_token_hint".to_owned(), id_token.clone()),
        (
            "post_logout_redirect_uri".to_owned(),
            POST_LOGOUT.to_owned(),
        ),
    ];
    let cross_site = crate::harness::send(
        ureq::AgentBuilder::new()
            .redirects(0)
            .build()
            .post(&server.url("/oauth2/logout"))
            .set("Content-Type", "application/x-www-form-urlencoded"),
        Some(
            hinted
                .iter()
                .map(|(k, v)| format!("{k}={}", enc(v)))
                .collect::<Vec<_>>()
                .join("&")
                .as_bytes(),
        ),
    );
    assert_eq!(cross_site.status, 303);
    let location = cross_site.header("location").unwrap().to_owned();
    assert!(location.starts_with("/oauth2/logout?"), "{location}");
    assert!(browser.has_cookie("tessera_session"), "nothing ended yet");
    // The valid hint, by POST with the cookie (a same-site form): signed out, back with state.
    let fields = vec![
        ("id_token_hint".to_owned(), id_token.clone()),
        (
            "post_logout_redirect_uri".to_owned(),
            POST_LOGOUT.to_owned(),
        ),
        ("state".to_owned(), "bye".to_owned()),
    ];
    let out = browser.post_form(&server.url("/oauth2/logout"), &fields);
    assert_eq!(out.status, 303, "{}", String::from_utf8_lossy(&out.body));
    assert_eq!(
        out.header("location"),
        Some(format!("{POST_LOGOUT}?state=bye").as_str())
    );
    assert!(!browser.has_cookie("tessera_session"));
    let reply = browser.get(&url_with(&server, &s, "after", "prompt=none"));
    assert_eq!(redirect_error(&server, &reply), "login_required");
}

#[test]
fn logout_without_a_hint_asks_first() {
    let (s, server, mut browser, _, _) = signed_in();
    let url = logout_url(
        &server,
        &format!(
            "client_id={}&post_logout_redirect_uri={}&state=bye",
            s.client,
            enc(POST_LOGOUT)
        ),
    );
    let page = browser.get(&url);
    assert_eq!(page.status, 200, "a page, not a silent sign-out");
    assert!(browser.has_cookie("tessera_session"));
    let html = String::from_utf8(page.body).unwrap();
    assert!(html.contains("Sign out?"), "{html}");
    let mut fields = form_fields(&html);
    // Without this browser's anti-forgery token the confirmation is refused.
    let forged: Vec<(String, String)> = fields
        .iter()
        .filter(|(k, _)| k != "csrf")
        .cloned()
        .chain([("tessera_action".to_owned(), "logout".to_owned())])
        .collect();
    assert_eq!(
        browser
            .post_form(&server.url("/oauth2/logout"), &forged)
            .status,
        403
    );
    assert!(browser.has_cookie("tessera_session"));
    fields.push(("tessera_action".into(), "logout".into()));
    let out = browser.post_form(&server.url("/oauth2/logout"), &fields);
    assert_eq!(out.status, 303, "{}", String::from_utf8_lossy(&out.body));
    assert_eq!(
        out.header("location"),
        Some(format!("{POST_LOGOUT}?state=bye").as_str())
    );
    assert!(!browser.has_cookie("tessera_session"));
}
