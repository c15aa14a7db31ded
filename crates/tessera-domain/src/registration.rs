//! What a client registered beyond its OAuth core, named as OpenID Connect Dynamic Client
//! Registration 1.0 §2, RP-Initiated Logout 1.0 §3.1 and Back-Channel Logout 1.0 §2.2 name it:
//! post-logout redirect URIs, the back-channel logout URI, the ID-token algorithm, and whether
//! `client_credentials` also issues a refresh token.

use std::fmt;

use crate::authorize::RedirectUri;
use crate::client::SigningAlgorithm;
use crate::error::ParseError;

/// A client's `backchannel_logout_uri` (Back-Channel Logout 1.0 §2.2): an absolute `https` URL
/// (or `http` on a loopback host) without a fragment, where logout tokens are posted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackchannelUri(String);

impl BackchannelUri {
    /// Parses the URI.
    ///
    /// # Errors
    /// When it is not an `https` URL (`http` only on a loopback host) or has a fragment.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let checked = RedirectUri::parse(s)
            .map_err(|e| ParseError::new("backchannel_logout_uri", e.reason))?;
        let scheme = s.split(':').next().unwrap_or_default();
        if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
            return Err(ParseError::new(
                "backchannel_logout_uri",
                "must be an https URL",
            ));
        }
        Ok(Self(checked.as_str().to_owned()))
    }

    /// The URI.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BackchannelUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The optional registration metadata of a client.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientOptions {
    /// `post_logout_redirect_uris` (RP-Initiated Logout 1.0 §3.1): where the end-session
    /// endpoint may send the browser afterwards, matched exactly; its own list, apart from the
    /// redirect URIs.
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    /// `backchannel_logout_uri` (Back-Channel Logout 1.0 §2.2).
    pub backchannel_logout_uri: Option<BackchannelUri>,
    /// `id_token_signed_response_alg` (Registration §2): the deployment's default when absent.
    pub id_token_alg: Option<SigningAlgorithm>,
    /// Whether `client_credentials` also issues a refresh token. Off by default: RFC 6749 §4.4.3
    /// says a refresh token SHOULD NOT be included; an API that documents one (Screening Eagle)
    /// opts in per client.
    pub refresh_with_client_credentials: bool,
    /// The resources (RFC 8707) it may ask tokens for with `resource`; a request for any other
    /// is `invalid_target`.
    pub resources: Vec<crate::resource::Resource>,
}

impl ClientOptions {
    /// Whether `uri` is one of the registered post-logout redirect URIs (exact match).
    #[must_use]
    pub fn allows_post_logout(&self, uri: &str) -> Option<&RedirectUri> {
        self.post_logout_redirect_uris
            .iter()
            .find(|r| r.as_str() == uri)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backchannel_uris_are_web_urls() {
        assert!(BackchannelUri::parse("https://rp.example/logout").is_ok());
        assert!(BackchannelUri::parse("http://127.0.0.1:9000/bc?x=1").is_ok());
        for bad in [
            "http://rp.example/logout",
            "https://rp.example/logout#f",
            "com.example.app:/logout",
            "",
        ] {
            assert!(BackchannelUri::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn post_logout_uris_match_exactly() {
        let options = ClientOptions {
            post_logout_redirect_uris: vec![
                RedirectUri::parse("https://rp.example/bye").unwrap_or_else(|e| panic!("{e}")),
            ],
            ..ClientOptions::default()
        };
        assert!(
            options
                .allows_post_logout("https://rp.example/bye")
                .is_some()
        );
        assert!(
            options
                .allows_post_logout("https://rp.example/bye/")
                .is_none()
        );
        assert!(options.allows_post_logout("https://rp.example/").is_none());
    }
}
