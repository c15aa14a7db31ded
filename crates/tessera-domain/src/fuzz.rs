//! Property-based fuzzing of the domain's parsers ("parse, don't validate"): any text either
//! parses into a value that keeps its invariants or is refused with a `ParseError` — never a
//! panic — and what parses prints back to something that parses to the same value.

use proptest::prelude::*;

use crate::authorize::{
    AuthorizationRequest, AuthorizeParams, CodeChallenge, CodeVerifier, Nonce, RedirectUri, State,
};
use crate::cert::SubjectDn;
use crate::client::{ClientId, Role};
use crate::scope::ScopeSet;
use crate::service::GrantRequest;
use crate::user::{Email, Logon, Password};

proptest! {
    #[test]
    fn scope_lists_parse_or_are_refused_and_round_trip(s in "\\PC{0,200}") {
        if let Ok(set) = ScopeSet::parse(&s) {
            prop_assert_eq!(ScopeSet::parse(&set.to_string()), Ok(set));
        }
    }

    #[test]
    fn identifiers_parse_or_are_refused(s in "\\PC{0,300}") {
        if let Ok(id) = ClientId::parse(&s) {
            prop_assert_eq!(id.as_str(), s.as_str());
        }
        let _ = Role::parse(&s);
        let _ = Logon::parse(&s);
        let _ = Email::parse(&s);
        let _ = Password::parse(&s);
        let _ = Nonce::parse(&s);
        let _ = State::parse(&s);
    }

    #[test]
    fn redirect_uris_are_ascii_absolute_and_fragment_free(s in "\\PC{0,120}") {
        if let Ok(uri) = RedirectUri::parse(&s) {
            prop_assert!(uri.as_str().is_ascii() && !uri.as_str().contains('#'));
            prop_assert!(uri.as_str().contains(':'));
        }
    }

    #[test]
    fn subject_names_parse_or_are_refused_and_round_trip(s in "\\PC{0,120}") {
        if let Ok(dn) = SubjectDn::parse(&s) {
            prop_assert_eq!(SubjectDn::parse(dn.as_str()), Ok(dn));
        }
    }

    #[test]
    fn pkce_values_parse_or_are_refused(c in "\\PC{0,80}", m in proptest::option::of("\\PC{0,10}")) {
        if let (Ok(challenge), Ok(verifier)) = (CodeChallenge::parse(&c, m.as_deref()), CodeVerifier::parse(&c)) {
            // A verifier is never its own S256 challenge.
            prop_assert!(!challenge.is_met_by(&verifier));
        }
    }

    #[test]
    fn grant_requests_parse_or_get_an_oauth_error(
        grant in proptest::option::of("\\PC{0,30}"),
        scope in proptest::option::of("\\PC{0,60}"),
        refresh in proptest::option::of("\\PC{0,60}"),
        code in proptest::option::of("\\PC{0,60}"),
    ) {
        let _ = GrantRequest::parse_with_code(
            grant.as_deref(),
            scope.as_deref(),
            refresh.as_deref(),
            Some((code.as_deref(), None, None)),
        );
    }

    #[test]
    fn authorization_requests_are_checked_without_panicking(
        response_type in proptest::option::of("\\PC{0,12}"),
        redirect in proptest::option::of("\\PC{0,60}"),
        scope in proptest::option::of("\\PC{0,40}"),
        state in proptest::option::of("\\PC{0,40}"),
        nonce in proptest::option::of("\\PC{0,40}"),
        challenge in proptest::option::of("\\PC{0,60}"),
        method in proptest::option::of("\\PC{0,8}"),
        prompt in proptest::option::of("(none|login|consent|select_account| |x){0,4}"),
        max_age in proptest::option::of("\\PC{0,12}"),
        mode in proptest::option::of("(query|form_post|fragment|\\PC{0,8})"),
        hint in proptest::option::of("\\PC{0,40}"),
    ) {
        let params = AuthorizeParams {
            response_type: response_type.as_deref(),
            client_id: Some("web"),
            redirect_uri: redirect.as_deref(),
            scope: scope.as_deref(),
            state: state.as_deref(),
            nonce: nonce.as_deref(),
            code_challenge: challenge.as_deref(),
            code_challenge_method: method.as_deref(),
            prompt: prompt.as_deref(),
            max_age: max_age.as_deref(),
            response_mode: mode.as_deref(),
            login_hint: hint.as_deref(),
            id_token_hint: hint.as_deref(),
            ..AuthorizeParams::default()
        };
        let web = crate::authorize::tests::client(
            &["https://app.example/cb"],
            &[crate::client::GrantType::AuthorizationCode],
        );
        let _ = AuthorizationRequest::check(&params, None, true, &|_| true);
        if let Ok(request) = AuthorizationRequest::check(&params, Some(&web), true, &|_| false) {
            // prompt=none never travels with another value.
            prop_assert!(!request.prompt.none || request.prompt.to_param() == "none");
            // What passes is what the client registered and allows, with S256 PKCE.
            prop_assert_eq!(request.redirect_uri.as_str(), "https://app.example/cb");
            prop_assert!(request.scope.is_subset(web.allowed_scopes()));
            prop_assert!(request.challenge.is_some());
        }
    }
}
