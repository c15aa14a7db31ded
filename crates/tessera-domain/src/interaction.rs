//! When the user must sign in or consent again, and how the answer travels: the OpenID Connect
//! request parameters `prompt`, `max_age`, `id_token_hint`, `login_hint` and
//! `response_mode` (Core 1.0 §3.1.2.1, OAuth 2.0 Multiple Response Type Encoding Practices §2.1,
//! OAuth 2.0 Form Post Response Mode), and the rule that decides the next step of an
//! authorization request.

use crate::client::ClientId;
use crate::error::ParseError;
use crate::policy::Issuer;
use crate::time::UnixTime;
use crate::user::UserId;

/// The `prompt` parameter (Core §3.1.2.1): a space-delimited set of `none`, `login`, `consent`
/// and `select_account`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prompt {
    /// `none`: no page may be shown.
    pub none: bool,
    /// `login`: sign in again even with a session.
    pub login: bool,
    /// `consent`: ask for consent even when it is remembered.
    pub consent: bool,
    /// `select_account`: let the user choose the account (one account per session here, so the
    /// sign-in page).
    pub select_account: bool,
}

impl Prompt {
    /// Parses the parameter; absent or empty is no prompt.
    ///
    /// # Errors
    /// An unknown value, or `none` with any other value (Core §3.1.2.1: "If this parameter
    /// contains none with any other value, an error is returned").
    pub fn parse(raw: Option<&str>) -> Result<Self, ParseError> {
        let mut p = Self::default();
        for value in raw.unwrap_or_default().split(' ').filter(|v| !v.is_empty()) {
            match value {
                "none" => p.none = true,
                "login" => p.login = true,
                "consent" => p.consent = true,
                "select_account" => p.select_account = true,
                _ => {
                    return Err(ParseError::new(
                        "prompt",
                        "must be none, login, consent or select_account",
                    ));
                }
            }
        }
        if p.none && (p.login || p.consent || p.select_account) {
            return Err(ParseError::new(
                "prompt",
                "none cannot be combined with another value",
            ));
        }
        Ok(p)
    }

    /// The parameter as sent, for carrying it through a page.
    #[must_use]
    pub fn to_param(self) -> String {
        let mut out: Vec<&str> = Vec::new();
        for (on, name) in [
            (self.none, "none"),
            (self.login, "login"),
            (self.consent, "consent"),
            (self.select_account, "select_account"),
        ] {
            if on {
                out.push(name);
            }
        }
        out.join(" ")
    }
}

/// `max_age` (Core §3.1.2.1): the longest time in seconds since the user last actively
/// authenticated; older sessions sign in again.
///
/// # Errors
/// When it is not a non-negative decimal integer.
pub fn parse_max_age(raw: Option<&str>) -> Result<Option<u32>, ParseError> {
    match raw.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) if s.len() <= 10 && s.bytes().all(|b| b.is_ascii_digit()) => s
            .parse::<u64>()
            .map(|n| Some(u32::try_from(n).unwrap_or(u32::MAX)))
            .map_err(|_| ParseError::new("max_age", "must be a non-negative integer")),
        Some(_) => Err(ParseError::new(
            "max_age",
            "must be a non-negative integer of seconds",
        )),
    }
}

/// `login_hint` (Core §3.1.2.1): what the user may use to sign in, pre-filled on the sign-in
/// page. Kept only when it is printable and at most 256 characters; otherwise ignored, as a hint
/// may be.
#[must_use]
pub fn parse_login_hint(raw: Option<&str>) -> Option<String> {
    raw.filter(|h| !h.is_empty() && h.chars().count() <= 256 && !h.chars().any(char::is_control))
        .map(str::to_owned)
}

/// How the authorization response reaches the client.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ResponseMode {
    /// In the redirect URI's query (the default for `response_type=code`, Multiple Response Type
    /// Encoding Practices §2.1).
    #[default]
    Query,
    /// As an HTML form posted by the browser to the redirect URI (OAuth 2.0 Form Post Response
    /// Mode §2).
    FormPost,
}

impl ResponseMode {
    /// Every supported mode, as discovery lists them.
    pub const SUPPORTED: [&'static str; 2] = ["query", "form_post"];

    /// Parses `response_mode`; absent or empty is the default.
    ///
    /// # Errors
    /// Any other mode (`fragment` included: this server returns codes only, and never in a
    /// fragment).
    pub fn parse(raw: Option<&str>) -> Result<Self, ParseError> {
        match raw.filter(|s| !s.is_empty()) {
            None | Some("query") => Ok(Self::Query),
            Some("form_post") => Ok(Self::FormPost),
            Some(_) => Err(ParseError::new(
                "response_mode",
                "is not supported; use query or form_post",
            )),
        }
    }
}

/// The claims of an ID token this server issued, presented back as `id_token_hint` (Core
/// §3.1.2.1) or to the end-session endpoint (RP-Initiated Logout 1.0 §2). The signature was
/// checked by the signing port with one of the published keys; expiry is deliberately not
/// checked (an expired ID token is still a good hint).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdTokenHint {
    /// `iss`.
    pub iss: Issuer,
    /// `sub`: the user.
    pub sub: String,
    /// `aud`: the client it was issued to.
    pub aud: ClientId,
    /// `sid`, when it carries one.
    pub sid: Option<String>,
}

impl IdTokenHint {
    /// Whether the hint was issued by `issuer` (any other issuer's token is not a hint of ours,
    /// whatever key signed it).
    #[must_use]
    pub fn is_from(&self, issuer: &Issuer) -> bool {
        self.iss == *issuer
    }
}

/// What a signed-in browser brings to an authorization request.
#[derive(Clone, Copy, Debug)]
pub struct Signed<'a> {
    /// The user of the session.
    pub user: &'a UserId,
    /// When they last actively authenticated.
    pub auth_time: UnixTime,
    /// Whether that was in this very request (the sign-in form was just posted): `prompt=login`
    /// and `max_age` are then satisfied.
    pub just_now: bool,
}

/// Everything the next step of an authorization request depends on.
#[derive(Clone, Copy, Debug)]
pub struct Situation<'a> {
    /// The request's `prompt`.
    pub prompt: Prompt,
    /// The request's `max_age`.
    pub max_age: Option<u32>,
    /// The `sub` of a verified `id_token_hint`.
    pub hint_sub: Option<&'a str>,
    /// The session, if the browser has a live one.
    pub session: Option<Signed<'a>>,
    /// Whether the user has not yet consented to every requested scope (false for a first-party
    /// client).
    pub consent_missing: bool,
    /// Whether the user consented with this very request (the consent form was just posted).
    pub consent_given: bool,
    /// Now.
    pub now: UnixTime,
}

/// Why the sign-in page is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInReason {
    /// No session.
    NoSession,
    /// `prompt=login` or `select_account`.
    Prompted,
    /// The session is older than `max_age`.
    TooOld,
    /// The session's user is not the one `id_token_hint` names.
    OtherUser,
}

/// The next step of an authorization request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Show the sign-in page.
    SignIn(SignInReason),
    /// Show the consent page.
    Consent,
    /// Issue the code.
    Issue,
    /// Answer the client with this error (Core §3.1.2.6): `login_required` or
    /// `consent_required`, only ever for `prompt=none`.
    Refuse(&'static str),
}

/// Decides the next step (Core §3.1.2.1-§3.1.2.4): sign in when there is no session, when
/// `prompt` asks for it, when the session is older than `max_age`, or when `id_token_hint` names
/// another user; then consent when it is missing or `prompt=consent` asks for it; then issue.
/// With `prompt=none` nothing is shown: the would-be page becomes `login_required` or
/// `consent_required`.
#[must_use]
pub fn next_step(s: &Situation<'_>) -> Step {
    let sign_in = match s.session {
        None => Some(SignInReason::NoSession),
        Some(signed) if signed.just_now => {
            // A user who just signed in as someone else than the hint names signs in again.
            s.hint_sub
                .filter(|sub| *sub != signed.user.as_str())
                .map(|_| SignInReason::OtherUser)
        }
        Some(signed) => {
            let age = s.now.as_secs().saturating_sub(signed.auth_time.as_secs());
            if s.prompt.login || s.prompt.select_account {
                Some(SignInReason::Prompted)
            } else if s.max_age.is_some_and(|max| age > i64::from(max)) {
                Some(SignInReason::TooOld)
            } else if s.hint_sub.is_some_and(|sub| sub != signed.user.as_str()) {
                Some(SignInReason::OtherUser)
            } else {
                None
            }
        }
    };
    if let Some(reason) = sign_in {
        return if s.prompt.none {
            Step::Refuse("login_required")
        } else {
            Step::SignIn(reason)
        };
    }
    if (s.consent_missing || s.prompt.consent) && !s.consent_given {
        return if s.prompt.none {
            Step::Refuse("consent_required")
        } else {
            Step::Consent
        };
    }
    Step::Issue
}

/// How long after a sign-in its consent page still counts as part of that sign-in: a consent
/// posted later must satisfy `prompt=login` and `max_age` again.
pub const CONSENT_AFTER_SIGN_IN_SECS: i64 = 600;

/// What the browser just did with this request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Done {
    /// Nothing: the request itself (GET, or the relying party's POST).
    Nothing,
    /// Posted the sign-in form.
    SignedIn,
    /// Posted the consent form, shown right after a sign-in (`after_sign_in`) or not.
    Consented {
        /// The page was shown right after the sign-in form was posted.
        after_sign_in: bool,
    },
}

impl Done {
    /// Whether the session's authentication happened with this request: just signed in, or
    /// consented on the page that followed a sign-in at `auth_time`, within
    /// [`CONSENT_AFTER_SIGN_IN_SECS`].
    #[must_use]
    pub fn signed_in_now(self, auth_time: UnixTime, now: UnixTime) -> bool {
        match self {
            Self::Nothing => false,
            Self::SignedIn => true,
            Self::Consented { after_sign_in } => {
                after_sign_in
                    && now.as_secs().saturating_sub(auth_time.as_secs())
                        <= CONSENT_AFTER_SIGN_IN_SECS
            }
        }
    }
}

/// The scope values that ask for a refresh token: OpenID Connect Core §11's `offline_access`,
/// and `offline`, which some clients send for it.
pub const OFFLINE_SCOPES: [&str; 2] = ["offline_access", "offline"];

/// Whether a granted scope asks for a refresh token (one of [`OFFLINE_SCOPES`]).
#[must_use]
pub fn grants_offline_access(scope: &crate::scope::ScopeSet) -> bool {
    OFFLINE_SCOPES.iter().any(|s| scope.contains(s))
}

/// Whether a refresh token may come out of this request's code (Core §11): `offline_access` is
/// honoured only when consent covers it — a first-party client's implicit consent, or the
/// consent page shown because `prompt=consent` asked for it — and when the client may use
/// refresh tokens at all. Otherwise the scope value is ignored, never an error.
#[must_use]
pub fn offline_access_allowed(first_party: bool, prompt: Prompt, may_refresh: bool) -> bool {
    may_refresh && (first_party || prompt.consent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(s: &str) -> UserId {
        UserId::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    fn situation<'a>(session: Option<Signed<'a>>) -> Situation<'a> {
        Situation {
            prompt: Prompt::default(),
            max_age: None,
            hint_sub: None,
            session,
            consent_missing: false,
            consent_given: false,
            now: UnixTime::from_secs(1_000),
        }
    }

    #[test]
    fn prompt_takes_the_four_values_and_refuses_none_with_another() {
        let p = Prompt::parse(Some("login consent")).unwrap_or_else(|e| panic!("{e}"));
        assert!(p.login && p.consent && !p.none && !p.select_account);
        assert_eq!(p.to_param(), "login consent");
        assert_eq!(Prompt::parse(None), Ok(Prompt::default()));
        assert_eq!(Prompt::parse(Some("")), Ok(Prompt::default()));
        assert!(Prompt::parse(Some("none")).is_ok_and(|p| p.none));
        assert!(Prompt::parse(Some("select_account")).is_ok_and(|p| p.select_account));
        assert!(Prompt::parse(Some("none login")).is_err());
        assert!(Prompt::parse(Some("consent none")).is_err());
        assert!(Prompt::parse(Some("sometimes")).is_err());
    }

    #[test]
    fn max_age_is_a_non_negative_integer() {
        assert_eq!(parse_max_age(Some("0")), Ok(Some(0)));
        assert_eq!(parse_max_age(Some("10000")), Ok(Some(10_000)));
        assert_eq!(parse_max_age(Some("9999999999")), Ok(Some(u32::MAX)));
        assert_eq!(parse_max_age(None), Ok(None));
        for bad in ["-1", "1.5", "ten", " 1", "99999999999"] {
            assert!(parse_max_age(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn response_modes_query_and_form_post_only() {
        assert_eq!(ResponseMode::parse(None), Ok(ResponseMode::Query));
        assert_eq!(ResponseMode::parse(Some("query")), Ok(ResponseMode::Query));
        assert_eq!(
            ResponseMode::parse(Some("form_post")),
            Ok(ResponseMode::FormPost)
        );
        assert!(ResponseMode::parse(Some("fragment")).is_err());
        assert!(ResponseMode::parse(Some("jwt")).is_err());
    }

    #[test]
    fn login_hints_keep_printable_ones() {
        assert_eq!(parse_login_hint(Some("ana")).as_deref(), Some("ana"));
        assert_eq!(parse_login_hint(Some("a\nb")), None);
        assert_eq!(parse_login_hint(Some(&"a".repeat(257))), None);
    }

    #[test]
    fn without_a_session_sign_in_or_login_required() {
        assert_eq!(
            next_step(&situation(None)),
            Step::SignIn(SignInReason::NoSession)
        );
        let none = Situation {
            prompt: Prompt {
                none: true,
                ..Prompt::default()
            },
            ..situation(None)
        };
        assert_eq!(next_step(&none), Step::Refuse("login_required"));
    }

    #[test]
    fn a_session_issues_unless_prompt_max_age_or_the_hint_say_otherwise() {
        let ana = user("usr_ana");
        let signed = Signed {
            user: &ana,
            auth_time: UnixTime::from_secs(900),
            just_now: false,
        };
        assert_eq!(next_step(&situation(Some(signed))), Step::Issue);
        let login = Situation {
            prompt: Prompt {
                login: true,
                ..Prompt::default()
            },
            ..situation(Some(signed))
        };
        assert_eq!(next_step(&login), Step::SignIn(SignInReason::Prompted));
        let select = Situation {
            prompt: Prompt {
                select_account: true,
                ..Prompt::default()
            },
            ..situation(Some(signed))
        };
        assert_eq!(next_step(&select), Step::SignIn(SignInReason::Prompted));
        // 100 s old: max_age 100 is still fine, 99 is not.
        let at = |max| Situation {
            max_age: Some(max),
            ..situation(Some(signed))
        };
        assert_eq!(next_step(&at(100)), Step::Issue);
        assert_eq!(next_step(&at(99)), Step::SignIn(SignInReason::TooOld));
        assert_eq!(next_step(&at(0)), Step::SignIn(SignInReason::TooOld));
        let other = Situation {
            hint_sub: Some("usr_bob"),
            ..situation(Some(signed))
        };
        assert_eq!(next_step(&other), Step::SignIn(SignInReason::OtherUser));
        let same = Situation {
            hint_sub: Some("usr_ana"),
            ..situation(Some(signed))
        };
        assert_eq!(next_step(&same), Step::Issue);
        // prompt=none turns every page into an error.
        let none = |s: Situation<'_>| {
            next_step(&Situation {
                prompt: Prompt {
                    none: true,
                    ..Prompt::default()
                },
                ..s
            })
        };
        assert_eq!(none(at(99)), Step::Refuse("login_required"));
        assert_eq!(none(other), Step::Refuse("login_required"));
        assert_eq!(none(situation(Some(signed))), Step::Issue);
        assert_eq!(
            none(Situation {
                consent_missing: true,
                ..situation(Some(signed))
            }),
            Step::Refuse("consent_required")
        );
    }

    #[test]
    fn a_sign_in_just_now_satisfies_prompt_login_and_max_age_but_not_another_user() {
        let ana = user("usr_ana");
        let now = UnixTime::from_secs(1_000);
        let signed = Signed {
            user: &ana,
            auth_time: now,
            just_now: true,
        };
        let s = Situation {
            prompt: Prompt {
                login: true,
                ..Prompt::default()
            },
            max_age: Some(0),
            ..situation(Some(signed))
        };
        assert_eq!(next_step(&s), Step::Issue);
        assert_eq!(
            next_step(&Situation {
                hint_sub: Some("usr_bob"),
                ..s
            }),
            Step::SignIn(SignInReason::OtherUser)
        );
    }

    #[test]
    fn consent_when_missing_or_prompted() {
        let ana = user("usr_ana");
        let signed = Signed {
            user: &ana,
            auth_time: UnixTime::from_secs(999),
            just_now: false,
        };
        assert_eq!(
            next_step(&Situation {
                consent_missing: true,
                ..situation(Some(signed))
            }),
            Step::Consent
        );
        assert_eq!(
            next_step(&Situation {
                prompt: Prompt {
                    consent: true,
                    ..Prompt::default()
                },
                ..situation(Some(signed))
            }),
            Step::Consent,
            "remembered consent is asked again when prompt=consent"
        );
    }

    #[test]
    fn offline_access_needs_consent_for_it() {
        let consent = Prompt {
            consent: true,
            ..Prompt::default()
        };
        assert!(offline_access_allowed(true, Prompt::default(), true));
        assert!(offline_access_allowed(false, consent, true));
        assert!(!offline_access_allowed(false, Prompt::default(), true));
        assert!(!offline_access_allowed(true, consent, false));
    }

    #[test]
    fn a_posted_consent_issues_but_still_honours_prompt_login_and_max_age() {
        let ana = user("usr_ana");
        let now = UnixTime::from_secs(1_000);
        let consented = |auth_time: i64, after_sign_in: bool, prompt: Prompt, max_age| {
            let done = Done::Consented { after_sign_in };
            let at = UnixTime::from_secs(auth_time);
            next_step(&Situation {
                prompt,
                max_age,
                session: Some(Signed {
                    user: &ana,
                    auth_time: at,
                    just_now: done.signed_in_now(at, now),
                }),
                consent_missing: true,
                consent_given: true,
                ..situation(None)
            })
        };
        let login = Prompt {
            login: true,
            consent: true,
            ..Prompt::default()
        };
        assert_eq!(
            consented(990, true, login, None),
            Step::Issue,
            "right after the sign-in"
        );
        assert_eq!(
            consented(990, false, login, None),
            Step::SignIn(SignInReason::Prompted),
            "a consent form that did not follow a sign-in cannot stand in for one"
        );
        assert_eq!(
            consented(1_000 - CONSENT_AFTER_SIGN_IN_SECS - 1, true, login, None),
            Step::SignIn(SignInReason::Prompted),
            "nor one posted long after it"
        );
        assert_eq!(
            consented(900, false, Prompt::default(), Some(50)),
            Step::SignIn(SignInReason::TooOld)
        );
        assert_eq!(consented(900, false, Prompt::default(), None), Step::Issue);
        assert!(Done::SignedIn.signed_in_now(UnixTime::from_secs(0), now));
        assert!(!Done::Nothing.signed_in_now(now, now));
    }
}
