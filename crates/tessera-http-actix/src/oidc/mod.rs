//! The browser side of OpenID Connect: the authorization endpoint with its sign-in and consent
//! pages (RFC 6749 §4.1, OpenID Connect Core §3.1.2), the userinfo endpoint (Core §5.3) and
//! RP-Initiated Logout.
//!
//! The pages are server-rendered HTML that works without JavaScript. Every page is sent with
//! `frame-ancestors 'none'` (and `X-Frame-Options: DENY`) against clickjacking, `no-store`, and a
//! CSP that allows no script at all (the form-post page allows exactly its one line). Tessera's
//! own forms carry an anti-forgery token that must equal the value of an `HttpOnly` cookie
//! (double submit). The session cookie is `HttpOnly`, `SameSite=Lax`, and `Secure` when the
//! issuer or the connection is https. Errors that cannot be sent to a verified redirect URI are
//! shown on the page and never redirected.

mod authorize;
pub mod cookies;
mod logout;
mod pages;
mod respond;
mod userinfo;

pub use authorize::{__path_authorize_get, __path_authorize_post, authorize_get, authorize_post};
pub use cookies::SESSION_COOKIE;
pub use logout::{__path_end_session, end_session};
pub use userinfo::{__path_userinfo, userinfo};
