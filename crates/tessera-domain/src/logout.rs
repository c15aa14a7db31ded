//! RP-Initiated Logout 1.0 §2-§3: what the end-session endpoint does with a request — which
//! client and user the `id_token_hint` names, whether the `post_logout_redirect_uri` may be
//! used, and when the user is asked first.

use crate::authorize::{RedirectUri, State};
use crate::client::{Client, ClientId};
use crate::interaction::IdTokenHint;
use crate::user::UserId;

/// What the `id_token_hint` of a logout request turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HintCheck {
    /// None was sent.
    Absent,
    /// Not an ID token this server issued (a forged signature, another issuer, garbage).
    Invalid,
    /// One of ours (expiry ignored, §2).
    Valid(IdTokenHint),
}

/// A logout request, its hint already checked and its client looked up.
#[derive(Clone, Copy, Debug)]
pub struct LogoutRequest<'a> {
    /// The hint.
    pub hint: &'a HintCheck,
    /// `client_id`, parsed.
    pub client_id: Option<&'a ClientId>,
    /// The client the hint or `client_id` names, when it exists and is enabled.
    pub client: Option<&'a Client>,
    /// `post_logout_redirect_uri`.
    pub post_logout_redirect_uri: Option<&'a str>,
    /// `state`.
    pub state: Option<&'a str>,
    /// The user of this browser's session, if it has one.
    pub session_user: Option<&'a UserId>,
    /// That session's `sid`.
    pub session_sid: Option<&'a str>,
    /// Whether the user confirmed on Tessera's page.
    pub confirmed: bool,
}

/// Where the browser goes after the logout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Return {
    /// A registered post-logout redirect URI of the client.
    pub uri: RedirectUri,
    /// `state`, returned unchanged.
    pub state: Option<State>,
}

/// What the end-session endpoint does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogoutPlan {
    /// Show this error and change nothing: never a redirect.
    Refuse(&'static str),
    /// Ask the user before ending the session (no valid hint vouches for the request, or it
    /// names another user than the session's): a cross-site link must not sign anyone out.
    Confirm,
    /// End the session (if any), then return there, or show that the user is signed out.
    End(Option<Return>),
}

/// The client a logout request is from: the hint's audience, or `client_id`.
#[must_use]
pub fn client_of<'a>(hint: &'a HintCheck, client_id: Option<&'a ClientId>) -> Option<&'a ClientId> {
    match hint {
        HintCheck::Valid(h) => Some(&h.aud),
        _ => client_id,
    }
}

/// Decides a logout request (RP-Initiated Logout 1.0 §2 and §3).
#[must_use]
pub fn plan(r: &LogoutRequest<'_>) -> LogoutPlan {
    let hint = match r.hint {
        HintCheck::Invalid => {
            return LogoutPlan::Refuse(
                "The sign-out request carries an ID token this server did not issue.",
            );
        }
        HintCheck::Valid(h) => Some(h),
        HintCheck::Absent => None,
    };
    if let (Some(h), Some(given)) = (hint, r.client_id)
        && h.aud != *given
    {
        return LogoutPlan::Refuse("The sign-out request names two different applications.");
    }
    let state = match r.state.filter(|s| !s.is_empty()).map(State::parse) {
        None => None,
        Some(Ok(s)) => Some(s),
        Some(Err(_)) => return LogoutPlan::Refuse("The sign-out request has an invalid state."),
    };
    let back = match r.post_logout_redirect_uri.filter(|u| !u.is_empty()) {
        None => None,
        Some(uri) => {
            // §3: only a URI registered for the client the request is from, matched exactly.
            let Some(client) = r
                .client
                .filter(|c| client_of(r.hint, r.client_id) == Some(c.id()))
            else {
                return LogoutPlan::Refuse(
                    "The application that asks to sign you out is not known.",
                );
            };
            match client.options().allows_post_logout(uri) {
                Some(registered) => Some(Return {
                    uri: registered.clone(),
                    state,
                }),
                None => {
                    return LogoutPlan::Refuse(
                        "The address to return to after signing out is not registered for the application.",
                    );
                }
            }
        }
    };
    // §2: a hint vouches for this browser's session when it names its user and, carrying a
    // sid, this very session; otherwise the request is suspect and the user is asked.
    let vouched = hint.is_some_and(|h| {
        r.session_user.is_some_and(|u| u.as_str() == h.sub)
            && h.sid
                .as_deref()
                .is_none_or(|sid| r.session_sid == Some(sid))
    });
    if r.session_user.is_some() && !vouched && !r.confirmed {
        return LogoutPlan::Confirm;
    }
    LogoutPlan::End(back)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Issuer;

    fn web() -> Client {
        let mut spec = crate::authorize::tests::client(
            &["https://app.example/cb"],
            &[crate::client::GrantType::AuthorizationCode],
        )
        .to_spec();
        spec.options.post_logout_redirect_uris =
            vec![RedirectUri::parse("https://app.example/bye").unwrap_or_else(|e| panic!("{e}"))];
        Client::new(spec).unwrap_or_else(|e| panic!("{e}"))
    }

    fn hint(sub: &str, aud: &str) -> HintCheck {
        HintCheck::Valid(IdTokenHint {
            iss: Issuer::parse("https://id.example").unwrap_or_else(|e| panic!("{e}")),
            sub: sub.into(),
            aud: ClientId::parse(aud).unwrap_or_else(|e| panic!("{e}")),
            sid: None,
        })
    }

    fn id(s: &str) -> ClientId {
        ClientId::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_valid_hint_for_the_session_user_ends_it_and_returns_with_state() {
        let client = web();
        let ana = UserId::parse("ana").unwrap_or_else(|e| panic!("{e}"));
        let h = hint("ana", "web");
        let r = LogoutRequest {
            hint: &h,
            client_id: None,
            client: Some(&client),
            post_logout_redirect_uri: Some("https://app.example/bye"),
            state: Some("s1"),
            session_user: Some(&ana),
            session_sid: Some("sid-1"),
            confirmed: false,
        };
        match plan(&r) {
            LogoutPlan::End(Some(back)) => {
                assert_eq!(back.uri.as_str(), "https://app.example/bye");
                assert_eq!(back.state.map(|s| s.to_string()).as_deref(), Some("s1"));
            }
            other => panic!("{other:?}"),
        }
        // The redirect URIs are not post-logout URIs.
        let cb = LogoutRequest {
            post_logout_redirect_uri: Some("https://app.example/cb"),
            ..r
        };
        assert!(matches!(plan(&cb), LogoutPlan::Refuse(_)));
        // client_id must agree with the hint.
        let other = id("other");
        let two = LogoutRequest {
            client_id: Some(&other),
            ..r
        };
        assert!(matches!(plan(&two), LogoutPlan::Refuse(_)));
        let same = id("web");
        assert!(matches!(
            plan(&LogoutRequest {
                client_id: Some(&same),
                ..r
            }),
            LogoutPlan::End(Some(_))
        ));
        // A hint for another user than the session's: ask first.
        let bob = hint("bob", "web");
        assert_eq!(
            plan(&LogoutRequest { hint: &bob, ..r }),
            LogoutPlan::Confirm
        );
        // A hint from another session of the same user: ask first; from this one: at once.
        let with_sid = |sid: &str| match hint("ana", "web") {
            HintCheck::Valid(mut h) => {
                h.sid = Some(sid.into());
                HintCheck::Valid(h)
            }
            other => other,
        };
        let other_session = with_sid("sid-2");
        assert_eq!(
            plan(&LogoutRequest {
                hint: &other_session,
                ..r
            }),
            LogoutPlan::Confirm
        );
        let this_session = with_sid("sid-1");
        assert!(matches!(
            plan(&LogoutRequest {
                hint: &this_session,
                ..r
            }),
            LogoutPlan::End(Some(_))
        ));
    }

    #[test]
    fn forged_hints_never_redirect_and_no_hint_asks_first() {
        let client = web();
        let ana = UserId::parse("ana").unwrap_or_else(|e| panic!("{e}"));
        let web_id = id("web");
        let forged = HintCheck::Invalid;
        let r = LogoutRequest {
            hint: &forged,
            client_id: Some(&web_id),
            client: Some(&client),
            post_logout_redirect_uri: Some("https://app.example/bye"),
            state: None,
            session_user: Some(&ana),
            session_sid: Some("sid-1"),
            confirmed: true,
        };
        assert!(matches!(plan(&r), LogoutPlan::Refuse(_)));
        let absent = HintCheck::Absent;
        let unconfirmed = LogoutRequest {
            hint: &absent,
            confirmed: false,
            ..r
        };
        assert_eq!(plan(&unconfirmed), LogoutPlan::Confirm);
        assert!(matches!(
            plan(&LogoutRequest {
                confirmed: true,
                ..unconfirmed
            }),
            LogoutPlan::End(Some(_))
        ));
        // Without a session there is nothing to end and nothing to confirm.
        assert!(matches!(
            plan(&LogoutRequest {
                session_user: None,
                session_sid: None,
                ..unconfirmed
            }),
            LogoutPlan::End(Some(_))
        ));
        // A return address with no client to check it against is refused.
        assert!(matches!(
            plan(&LogoutRequest {
                client_id: None,
                client: None,
                ..unconfirmed
            }),
            LogoutPlan::Refuse(_)
        ));
        // Without a return address: signed out, a page.
        assert_eq!(
            plan(&LogoutRequest {
                post_logout_redirect_uri: None,
                confirmed: true,
                ..unconfirmed
            }),
            LogoutPlan::End(None)
        );
    }
}
