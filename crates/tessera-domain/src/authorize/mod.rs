//! The authorization code flow's values and rules (RFC 6749 §4.1, RFC 7636 PKCE, OpenID Connect
//! Core §3.1): redirect URIs, PKCE challenges and verifiers, nonces, codes and browser sessions;
//! the authorization request as checked against its client is in `request.rs`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::client::ClientId;
use crate::error::ParseError;
use crate::issued::TokenHash;
use crate::scope::ScopeSet;
use crate::time::UnixTime;
use crate::user::UserId;

mod request;
pub use request::{AuthorizationRequest, AuthorizeError, AuthorizeParams, STANDARD_SCOPES};

/// The prefix of authorization codes.
pub const CODE_PREFIX: &str = "tac_";
/// The prefix of browser session ids.
pub const SESSION_PREFIX: &str = "tss_";
/// The longest an authorization code lives (RFC 6749 §4.1.2 recommends at most 10 minutes; this
/// server allows at most 60 seconds).
pub const MAX_CODE_TTL_SECS: u32 = 60;

/// A registered redirection endpoint (RFC 6749 §3.1.2): an absolute URI without a fragment;
/// `https`, `http` only on a loopback host (RFC 8252 §7.3), or a private-use scheme of a native
/// app with a dot in it (RFC 8252 §7.1, e.g. `com.example.app:/callback`). Compared as exact
/// strings: no prefix, wildcard or normalisation.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RedirectUri(String);

impl RedirectUri {
    /// Parses a redirect URI.
    ///
    /// # Errors
    /// When it is not one of the shapes above, has a fragment, white space or control characters,
    /// or is longer than 2000 bytes.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let bad = |why: &str| ParseError::new("redirect_uri", format!("{s:?}: {why}"));
        if s.len() > 2000 {
            return Err(bad("longer than 2000 bytes"));
        }
        if !s.is_ascii() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad(
                "must be ASCII (percent-encode the rest) without white space or control characters",
            ));
        }
        if s.contains('#') {
            return Err(bad("must not have a fragment (RFC 6749 §3.1.2)"));
        }
        let (scheme, rest) = s
            .split_once(':')
            .ok_or_else(|| bad("is not an absolute URI"))?;
        let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !scheme_ok {
            return Err(bad("is not an absolute URI"));
        }
        let host = |rest: &str| -> Option<String> {
            let authority = rest.strip_prefix("//")?.split(['/', '?']).next()?;
            let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            let host = if let Some(v6) = host_port.strip_prefix('[') {
                format!("[{}]", v6.split(']').next()?)
            } else {
                host_port.split(':').next()?.to_owned()
            };
            (!host.is_empty()).then_some(host)
        };
        match scheme.to_ascii_lowercase().as_str() {
            "https" => {
                host(rest).ok_or_else(|| bad("has no host"))?;
            }
            "http" => {
                let h = host(rest).ok_or_else(|| bad("has no host"))?;
                if !matches!(h.as_str(), "localhost" | "127.0.0.1" | "[::1]") {
                    return Err(bad(
                        "http is allowed only on a loopback host; use https (RFC 6749 §3.1.2.1)",
                    ));
                }
            }
            other if other.contains('.') => {}
            _ => {
                return Err(bad(
                    "must be https, http on a loopback host, or a reverse-domain private-use scheme",
                ));
            }
        }
        Ok(Self(s.to_owned()))
    }

    /// The URI.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a character may appear in a PKCE verifier or an S256 challenge (RFC 7636 §4.1).
fn unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

/// A PKCE `code_challenge` with method `S256` (RFC 7636 §4.2): 43 base64url characters. `plain`
/// is not accepted (RFC 9700 §2.1.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    /// Parses a challenge and its method.
    ///
    /// # Errors
    /// When the method is not `S256` (absent means `plain`, RFC 7636 §4.3) or the challenge is
    /// not 43 base64url characters.
    pub fn parse(challenge: &str, method: Option<&str>) -> Result<Self, ParseError> {
        match method {
            Some("S256") => {}
            Some("plain") | None => {
                return Err(ParseError::new(
                    "code_challenge_method",
                    "only S256 is supported",
                ));
            }
            Some(_) => {
                return Err(ParseError::new(
                    "code_challenge_method",
                    "transform algorithm not supported; use S256",
                ));
            }
        }
        if challenge.len() != 43 || !challenge.chars().all(unreserved) || challenge.contains('.') {
            return Err(ParseError::new(
                "code_challenge",
                "must be the 43-character base64url SHA-256 of the verifier",
            ));
        }
        Ok(Self(challenge.to_owned()))
    }

    /// The stored challenge.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `verifier` is the one this challenge was made from, compared in constant time.
    #[must_use]
    pub fn is_met_by(&self, verifier: &CodeVerifier) -> bool {
        let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.0.as_bytes()));
        bool::from(computed.as_bytes().ct_eq(self.0.as_bytes()))
    }
}

/// A PKCE `code_verifier` (RFC 7636 §4.1): 43 to 128 unreserved characters.
#[derive(Clone, PartialEq, Eq)]
pub struct CodeVerifier(String);

impl CodeVerifier {
    /// Parses a verifier.
    ///
    /// # Errors
    /// When it is shorter than 43 or longer than 128 characters or has a reserved character.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        if !(43..=128).contains(&s.len()) || !s.chars().all(unreserved) {
            return Err(ParseError::new(
                "code_verifier",
                "must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.1)",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeVerifier(<redacted>)")
    }
}

crate::string_newtype!(
    /// An OpenID Connect `nonce` (Core §3.1.2.1), echoed into the ID token: visible ASCII.
    Nonce,
    "nonce",
    512,
    |c| matches!(c, '\x21'..='\x7E'),
    "visible ASCII characters"
);

crate::string_newtype!(
    /// The client's opaque `state` (RFC 6749 §4.1.1), echoed back on the redirect.
    State,
    "state",
    1024,
    |c| matches!(c, '\x20'..='\x7E'),
    "printable ASCII characters"
);

/// What a redemption of a code issued, so that a second redemption can revoke it
/// (RFC 6749 §4.1.2). Chosen before the code is redeemed and stored in the same write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeIssue {
    /// The refresh-token family started, if any.
    pub family_id: Option<String>,
    /// The access token's `jti`.
    pub jti: String,
    /// When the access token expires.
    pub expires_at: UnixTime,
}

/// A stored authorization code (only its hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeRecord {
    /// SHA-256 of the code.
    pub hash: TokenHash,
    /// The client it was issued to.
    pub client_id: ClientId,
    /// The user who signed in.
    pub user_id: UserId,
    /// The request it answers.
    pub redirect_uri: RedirectUri,
    /// Whether the request named the redirect URI.
    pub redirect_uri_explicit: bool,
    /// The scope granted.
    pub scope: ScopeSet,
    /// The OpenID Connect nonce.
    pub nonce: Option<Nonce>,
    /// The PKCE challenge.
    pub challenge: Option<CodeChallenge>,
    /// When the user signed in.
    pub auth_time: UnixTime,
    /// When it stops being redeemable.
    pub expires_at: UnixTime,
    /// What its redemption issued; `None` while unredeemed.
    pub issued: Option<CodeIssue>,
    /// The `sid` of the browser session it came from, for the ID token.
    pub sid: Option<String>,
    /// The resources (RFC 8707 §2.1) the authorization request asked for: the grant is for
    /// them, and the code exchange may narrow them.
    pub resources: Vec<crate::resource::Resource>,
}

/// The outcome of redeeming a code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Redemption {
    /// First redemption, in time: the record, now marked with what it issues.
    Fresh(CodeRecord),
    /// Redeemed before: the record with what the first redemption issued.
    Reused(CodeRecord),
    /// Unknown, or expired unredeemed.
    Invalid,
}

/// A signed-in browser session (only the hash of its cookie value is stored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 of the cookie value.
    pub hash: TokenHash,
    /// Who signed in.
    pub user_id: UserId,
    /// When (`auth_time`).
    pub auth_time: UnixTime,
    /// When it ends.
    pub expires_at: UnixTime,
    /// The session id (`sid`, Back-Channel Logout 1.0 §2.1) put into ID and logout tokens:
    /// random, never the cookie or its hash, and kept when the same user signs in again in the
    /// same browser (`prompt=login`, `max_age`).
    pub sid: String,
}

/// A new random `sid`: 128 bits, base64url.
#[must_use]
pub fn new_sid(random: [u8; 16]) -> String {
    URL_SAFE_NO_PAD.encode(random)
}

/// The `sid` of a session stored before sessions had one: derived one-way from its hash, so it
/// reveals nothing that would let anyone present the cookie.
#[must_use]
pub fn legacy_sid(hash: &TokenHash) -> String {
    let digest = Sha256::new()
        .chain_update(b"tessera sid\0")
        .chain_update(hash.as_bytes())
        .finalize();
    URL_SAFE_NO_PAD.encode(digest.get(..16).unwrap_or_default())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::client::{Client, GrantType};
    use crate::interaction::ResponseMode;

    #[test]
    fn redirect_uris_take_only_safe_shapes() {
        for good in [
            "https://app.example/cb",
            "https://app.example:8443/cb?x=1",
            "http://127.0.0.1:53120/callback",
            "http://localhost/cb",
            "http://[::1]:8080/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert!(RedirectUri::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "/relative",
            "https://app.example/cb#frag",
            "http://app.example/cb",
            "http://127.0.0.1.evil.example/cb",
            "javascript:alert(1)",
            "https:///nohost",
            "https://app.example/a b",
            "data:text/html,hi",
            "https://app.example/çallback",
        ] {
            assert!(RedirectUri::parse(bad).is_err(), "{bad}");
        }
    }

    pub(crate) fn client(uris: &[&str], grants: &[crate::client::GrantType]) -> Client {
        use crate::client::{ClientName, ClientSpec};
        Client::new(ClientSpec {
            grant_types: grants.iter().copied().collect(),
            allowed_scopes: ScopeSet::parse("openid email").unwrap_or_default(),
            default_scopes: ScopeSet::parse("openid").unwrap_or_default(),
            redirect_uris: uris
                .iter()
                .map(|u| RedirectUri::parse(u).unwrap_or_else(|e| panic!("{e}")))
                .collect(),
            ..ClientSpec::new(
                ClientId::parse("web").unwrap_or_else(|e| panic!("{e}")),
                ClientName::parse("Web").unwrap_or_else(|e| panic!("{e}")),
                vec![crate::secret::SecretVerifier::HmacSha256([1; 32]).into()],
                UnixTime::from_secs(0),
            )
        })
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn check_all_known(
        p: &AuthorizeParams<'_>,
        c: Option<&Client>,
        pkce: bool,
    ) -> Result<AuthorizationRequest, AuthorizeError> {
        AuthorizationRequest::check(p, c, pkce, &|_| true)
    }

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn params<'a>() -> AuthorizeParams<'a> {
        AuthorizeParams {
            response_type: Some("code"),
            client_id: Some("web"),
            redirect_uri: Some("https://app.example/cb"),
            state: Some("xyz"),
            code_challenge: Some(CHALLENGE),
            code_challenge_method: Some("S256"),
            ..AuthorizeParams::default()
        }
    }

    #[test]
    fn untrusted_clients_and_redirects_stay_on_the_page_and_the_rest_go_back() {
        use crate::client::GrantType::AuthorizationCode;
        let web = client(&["https://app.example/cb"], &[AuthorizationCode]);
        let ok = check_all_known(&params(), Some(&web), true).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(ok.scope.to_string(), "openid", "the client's default scope");
        assert!(ok.redirect_uri_explicit);
        let page = |p: &AuthorizeParams<'_>, c: Option<&Client>| {
            matches!(check_all_known(p, c, true), Err(AuthorizeError::Page(_)))
        };
        assert!(page(&params(), None), "unknown client");
        assert!(page(
            &AuthorizeParams {
                client_id: None,
                ..params()
            },
            Some(&web)
        ));
        assert!(
            page(
                &AuthorizeParams {
                    redirect_uri: Some("https://app.example/cb/x"),
                    ..params()
                },
                Some(&web)
            ),
            "no prefix matching"
        );
        let two = client(
            &["https://a.example/cb", "https://b.example/cb"],
            &[AuthorizationCode],
        );
        assert!(page(
            &AuthorizeParams {
                redirect_uri: None,
                ..params()
            },
            Some(&two)
        ));
        // With one registered URI it may be left out, and then the token request need not repeat it.
        let implicit = check_all_known(
            &AuthorizeParams {
                redirect_uri: None,
                ..params()
            },
            Some(&web),
            true,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(!implicit.redirect_uri_explicit);

        let back = |p: &AuthorizeParams<'_>, c: &Client, pkce: bool| match check_all_known(
            p,
            Some(c),
            pkce,
        ) {
            Err(AuthorizeError::Redirect { error, state, .. }) => {
                assert_eq!(state.map(|s| s.to_string()).as_deref(), Some("xyz"));
                error
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(
            back(
                &AuthorizeParams {
                    response_type: Some("token"),
                    ..params()
                },
                &web,
                true
            ),
            "unsupported_response_type"
        );
        assert_eq!(
            back(
                &AuthorizeParams {
                    scope: Some("admin"),
                    ..params()
                },
                &web,
                true
            ),
            "invalid_scope"
        );
        assert_eq!(
            back(
                &AuthorizeParams {
                    code_challenge: None,
                    code_challenge_method: None,
                    ..params()
                },
                &web,
                true
            ),
            "invalid_request"
        );
        assert_eq!(
            back(
                &AuthorizeParams {
                    code_challenge_method: Some("plain"),
                    ..params()
                },
                &web,
                true
            ),
            "invalid_request"
        );
        let cc_only = client(
            &["https://app.example/cb"],
            &[crate::client::GrantType::ClientCredentials],
        );
        assert_eq!(back(&params(), &cc_only, true), "unauthorized_client");
        // PKCE may be optional for confidential clients by configuration.
        assert!(
            check_all_known(
                &AuthorizeParams {
                    code_challenge: None,
                    code_challenge_method: None,
                    ..params()
                },
                Some(&web),
                false
            )
            .is_ok()
        );
    }

    #[test]
    fn pkce_s256_matches_rfc_7636_appendix_b() {
        let verifier = CodeVerifier::parse("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
            .unwrap_or_else(|e| panic!("{e}"));
        let challenge =
            CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", Some("S256"))
                .unwrap_or_else(|e| panic!("{e}"));
        assert!(challenge.is_met_by(&verifier));
        let other = CodeVerifier::parse(&"a".repeat(43)).unwrap_or_else(|e| panic!("{e}"));
        assert!(!challenge.is_met_by(&other));
        assert!(CodeChallenge::parse(challenge.as_str(), Some("plain")).is_err());
        assert!(CodeChallenge::parse(challenge.as_str(), None).is_err());
        assert!(CodeChallenge::parse("short", Some("S256")).is_err());
        assert!(CodeVerifier::parse("short").is_err());
        assert!(CodeVerifier::parse(&"a".repeat(129)).is_err());
        assert!(CodeVerifier::parse(&format!("{}+", "a".repeat(43))).is_err());
        assert_eq!(format!("{verifier:?}"), "CodeVerifier(<redacted>)");
    }

    fn error_of(r: Result<AuthorizationRequest, AuthorizeError>) -> &'static str {
        match r {
            Err(AuthorizeError::Redirect { error, .. }) => error,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn openid_requests_need_redirect_uri_and_ignore_unknown_scopes() {
        use crate::client::GrantType::AuthorizationCode;
        let web = client(&["https://app.example/cb"], &[AuthorizationCode]);
        let openid = AuthorizeParams {
            scope: Some("openid email"),
            redirect_uri: None,
            ..params()
        };
        assert!(
            matches!(
                check_all_known(&openid, Some(&web), true),
                Err(AuthorizeError::Page(_))
            ),
            "Core §3.1.2.1: redirect_uri is REQUIRED even with one registered"
        );
        let known = |s: &str| s == "payments";
        let unknown = AuthorizeParams {
            scope: Some("openid email frobnicate"),
            ..params()
        };
        let ok = AuthorizationRequest::check(&unknown, Some(&web), true, &known)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            ok.scope.to_string(),
            "email openid",
            "the unknown value is ignored"
        );
        assert!(ok.openid);
        // A known scope the client may not have is still refused, as is anything outside OpenID.
        let not_allowed = AuthorizeParams {
            scope: Some("openid payments"),
            ..params()
        };
        assert_eq!(
            error_of(AuthorizationRequest::check(
                &not_allowed,
                Some(&web),
                true,
                &known
            )),
            "invalid_scope"
        );
        let oauth = AuthorizeParams {
            scope: Some("email frobnicate"),
            ..params()
        };
        assert_eq!(
            error_of(AuthorizationRequest::check(
                &oauth,
                Some(&web),
                true,
                &known
            )),
            "invalid_scope"
        );
    }

    #[test]
    fn request_objects_modes_and_prompts_are_checked() {
        use crate::client::GrantType::AuthorizationCode;
        let web = client(&["https://app.example/cb"], &[AuthorizationCode]);
        let with = |p: AuthorizeParams<'static>| check_all_known(&p, Some(&web), true);
        assert_eq!(
            error_of(with(AuthorizeParams {
                request: Some("eyJhbGciOiJub25lIn0.e30."),
                ..params()
            })),
            "request_not_supported"
        );
        assert_eq!(
            error_of(with(AuthorizeParams {
                request_uri: Some("https://rp.example/req"),
                ..params()
            })),
            "request_uri_not_supported"
        );
        assert!(matches!(
            with(AuthorizeParams {
                response_mode: Some("fragment"),
                ..params()
            }),
            Err(AuthorizeError::Page(_))
        ));
        match with(AuthorizeParams {
            response_mode: Some("form_post"),
            response_type: Some("token"),
            ..params()
        }) {
            Err(AuthorizeError::Redirect { mode, error, .. }) => {
                assert_eq!(mode, ResponseMode::FormPost, "errors go back the same way");
                assert_eq!(error, "unsupported_response_type");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            error_of(with(AuthorizeParams {
                prompt: Some("none login"),
                ..params()
            })),
            "invalid_request"
        );
        assert_eq!(
            error_of(with(AuthorizeParams {
                max_age: Some("-5"),
                ..params()
            })),
            "invalid_request"
        );
        let ok = with(AuthorizeParams {
            prompt: Some("login"),
            max_age: Some("60"),
            login_hint: Some("ana"),
            id_token_hint: Some("eyJ.x.y"),
            ..params()
        })
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(ok.prompt.login);
        assert_eq!(ok.max_age, Some(60));
        assert_eq!(ok.login_hint.as_deref(), Some("ana"));
        assert_eq!(ok.id_token_hint.as_deref(), Some("eyJ.x.y"));
        assert_eq!(ok.hint_sub, None, "verified by the service, not here");
    }

    #[test]
    fn offline_access_is_dropped_without_consent_for_it() {
        use crate::client::GrantType::{AuthorizationCode, RefreshToken};
        use crate::client::{ClientAuthMethod, RoleSet};
        let spec = |roles: RoleSet, grants: &[GrantType]| {
            let mut spec = client(&["https://app.example/cb"], grants).to_spec();
            spec.allowed_scopes = ScopeSet::parse("openid offline_access").unwrap_or_default();
            spec.roles = roles;
            spec.auth_methods = [ClientAuthMethod::ClientSecretBasic].into();
            Client::new(spec).unwrap_or_else(|e| panic!("{e}"))
        };
        let first_party = RoleSet::from_roles(vec![
            crate::client::Role::parse(crate::client::FIRST_PARTY_ROLE)
                .unwrap_or_else(|e| panic!("{e}")),
        ]);
        let asked = |c: &Client, prompt: Option<&'static str>| {
            check_all_known(
                &AuthorizeParams {
                    scope: Some("openid offline_access"),
                    prompt,
                    ..params()
                },
                Some(c),
                true,
            )
            .unwrap_or_else(|e| panic!("{e:?}"))
            .scope
            .to_string()
        };
        let other = spec(RoleSet::default(), &[AuthorizationCode, RefreshToken]);
        assert_eq!(asked(&other, None), "openid");
        let mut with_alias = other.to_spec();
        with_alias.allowed_scopes =
            ScopeSet::parse("openid offline offline_access").unwrap_or_default();
        let with_alias = Client::new(with_alias).unwrap_or_else(|e| panic!("{e}"));
        let alias = check_all_known(
            &AuthorizeParams {
                scope: Some("openid offline"),
                ..params()
            },
            Some(&with_alias),
            true,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(alias.scope.to_string(), "openid", "the alias too");
        assert_eq!(asked(&other, Some("consent")), "offline_access openid");
        let own = spec(first_party.clone(), &[AuthorizationCode, RefreshToken]);
        assert_eq!(asked(&own, None), "offline_access openid");
        let no_refresh = spec(first_party, &[AuthorizationCode]);
        assert_eq!(asked(&no_refresh, Some("consent")), "openid");
    }

    #[test]
    fn sids_are_random_or_derived_one_way_for_old_sessions() {
        assert_eq!(new_sid([7; 16]).len(), 22);
        assert_ne!(new_sid([7; 16]), new_sid([8; 16]));
        let hash = TokenHash::of("tss_a");
        assert_eq!(legacy_sid(&hash), legacy_sid(&TokenHash::of("tss_a")));
        assert_ne!(legacy_sid(&hash), legacy_sid(&TokenHash::of("tss_b")));
        assert!(!hash.to_text().contains(&legacy_sid(&hash)));
    }
}
