//! The Banco Semear Pix dialect: `POST /oauth-apipix/oauth/token` (by default), a form body with
//! `client_id`, `client_secret`, `grant_type=client_credentials` and the Pix `scope` list, and two
//! headers: `client-cert` (the client's PEM certificate as a TLS-terminating gateway forwards it,
//! raw or URL-encoded) and `access_token` (a token this server issued to the gateway).
//!
//! The certificate must be one registered for the client, and the token is bound to it
//! (RFC 8705: `cnf.x5t#S256`), signed with the seed's algorithm (RS256) and carrying `cid`. The
//! `client-cert` header is believed only when configuration says the listener sits behind a
//! gateway that sets it; otherwise no certificate is presented and every request is refused.
//! Errors are RFC 6749 §5.2 JSON, as the seed is a plain OAuth 2.0 token endpoint.

use actix_web::web::Payload;
use actix_web::{HttpRequest, HttpResponse};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::percent_decode_str;
use serde::Serialize;
use tessera_domain::service::{
    Admitted, ApiProfile, ClientAuthentication, Credential, GrantRequest, IssueRequest,
};
use tessera_domain::token::Issued;
use tessera_domain::{AccessTokenFormat, ClientAuthMethod, TokenError};
use utoipa::ToSchema;

use super::frame::{self, BadBody, Dialect, TokenDialect, WireError};
use super::rfc6749::Rfc6749;
use super::{BadForm, invalid_request, no_store};
use crate::context::RequestContext;
use crate::form::Form;

/// The DER of a certificate forwarded in a header: PEM (with newlines, or with them turned into
/// spaces as headers require), URL-encoded or not; or bare base64 DER.
#[must_use]
pub fn certificate_from_header(value: &str) -> Option<Vec<u8>> {
    let decoded = if value.contains('%') {
        percent_decode_str(value).decode_utf8().ok()?.into_owned()
    } else {
        value.to_owned()
    };
    let body = match decoded.split_once("-----BEGIN CERTIFICATE-----") {
        Some((_, rest)) => rest.split_once("-----END CERTIFICATE-----")?.0.to_owned(),
        None => decoded,
    };
    let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let der = STANDARD.decode(compact).ok()?;
    // An X.509 certificate is a DER SEQUENCE.
    (der.first() == Some(&0x30) && der.len() > 64).then_some(der)
}

/// A Pix token.
#[derive(Serialize, ToSchema)]
#[schema(as = PixToken)]
struct TokenBody<'a> {
    /// An RS256 JWT bound to the client's certificate (`cnf.x5t#S256`), with `cid`.
    access_token: &'a str,
    /// `Bearer`.
    token_type: &'static str,
    /// Seconds until it expires.
    expires_in: u32,
}

/// The Pix token request.
#[derive(ToSchema)]
#[schema(as = PixTokenRequest)]
#[allow(dead_code)] // Describes the form `parse` reads.
struct TokenForm {
    /// The Pix client (registered with its certificates and `client_secret_post`).
    client_id: String,
    /// Its secret.
    client_secret: String,
    /// `client_credentials`.
    #[schema(inline, example = "client_credentials")]
    grant_type: super::serproid::ClientCredentialsOnly,
    /// The Pix scopes, space-separated, e.g. `cob.write cob.read pix.write pix.read`.
    scope: Option<String>,
}

fn header_str<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}

/// The Pix dialect: RFC 6749's wire with the gateway's headers.
pub struct Semear;

impl Dialect for Semear {
    const NAME: &'static str = "semear";
    const CHALLENGE: Option<&'static str> = Rfc6749::CHALLENGE;

    fn from_token_error(e: &TokenError) -> WireError {
        Rfc6749::from_token_error(e)
    }

    fn bad_body(e: BadBody) -> WireError {
        let description = match e {
            BadBody::Form(BadForm::TooLarge) => {
                return Rfc6749::bad_body(e);
            }
            BadBody::Form(BadForm::NotForm) | BadBody::NotJson => {
                "the body must be application/x-www-form-urlencoded".to_owned()
            }
            BadBody::Form(BadForm::Repeated(name)) => format!("parameter {name:?} is repeated"),
            BadBody::Form(BadForm::NotUtf8 | BadForm::Broken) | BadBody::InvalidJson => {
                "the body is not valid UTF-8 form data".to_owned()
            }
        };
        Rfc6749::from_token_error(&invalid_request(description))
    }

    fn method_not_allowed() -> WireError {
        Rfc6749::from_token_error(&invalid_request("this endpoint accepts only POST"))
    }

    fn body(e: &WireError) -> impl Serialize + '_ {
        Rfc6749::body(e)
    }
}

impl TokenDialect for Semear {
    type Body = Form;

    /// `client_id` and `client_secret` from the form (`client_secret_post`).
    async fn credentials(
        ctx: &RequestContext,
        payload: Payload,
    ) -> Result<(ClientAuthentication, Form), WireError> {
        let req = &ctx.req;
        let form = frame::form::<Self>(req, payload).await?;
        let (Some(id), Some(secret)) = (form.get("client_id"), form.get("client_secret")) else {
            return Err(Self::from_token_error(&invalid_request(
                "client_id and client_secret are required",
            )));
        };
        let auth =
            ClientAuthentication::from_raw(ClientAuthMethod::ClientSecretPost, id, Some(secret))
                .map_err(|e| Self::from_token_error(&e))?;
        Ok((auth, form))
    }

    /// `client_credentials` with the Pix scopes, the gateway's token and the forwarded
    /// certificate; the domain checks both (the profile asks it to).
    async fn request(
        ctx: &RequestContext,
        form: Form,
        _: &Admitted,
    ) -> Result<IssueRequest, WireError> {
        let req = &ctx.req;
        let state = &ctx.state;
        let route = state
            .dialects
            .semear
            .as_ref()
            .ok_or_else(|| Self::from_token_error(&TokenError::ServerError))?;
        let grant = GrantRequest::parse(form.get("grant_type"), form.get("scope"), None)
            .map_err(|e| Self::from_token_error(&e))?;
        if !matches!(grant, GrantRequest::ClientCredentials { .. }) {
            return Err(Self::from_token_error(&TokenError::UnsupportedGrantType(
                "only client_credentials is served here".into(),
            )));
        }
        let profile = ApiProfile {
            default_ttl: route.default_ttl,
            require_certificate: true,
            require_gateway_token: true,
            alg: Some(route.algorithm),
            cid_claim: true,
            format: Some(AccessTokenFormat::Jwt),
            ..ApiProfile::default()
        };
        let mut request = ctx.issue_request(grant, profile);
        request.gateway_token = header_str(req, "access_token").map(Credential::new);
        // A certificate proven by the TLS handshake wins; a forwarded header counts only behind a
        // gateway that configuration says sets it.
        if request.certificate.is_none() && route.trust_cert_header {
            request.certificate = match header_str(req, "client-cert") {
                Some(value) => {
                    let der = certificate_from_header(value)
                        .ok_or_else(|| Self::from_token_error(&TokenError::InvalidClient))?;
                    // The gateway forwards the end-entity certificate; its subject counts only if
                    // it was issued directly by a trusted CA.
                    state
                        .client_cert_trust
                        .present(&[rustls::pki_types::CertificateDer::from(der)])
                }
                None => None,
            };
        }
        Ok(request)
    }

    fn issued(issued: &Issued) -> HttpResponse {
        no_store(HttpResponse::Ok().json(TokenBody {
            access_token: issued.access_token.expose(),
            token_type: "Bearer",
            expires_in: issued.expires_in,
        }))
    }
}

/// `POST` on the Semear token path.
///
/// Banco Semear's Pix token: a certificate-bound token (RFC 8705) for a client presenting one of
/// its registered certificates, through the mutual-TLS listener or a trusted gateway's
/// `client-cert` header.
#[utoipa::path(
    post,
    path = "/oauth-apipix/oauth/token",
    tag = "Banco Semear Pix",
    operation_id = "pix_token",
    params(
        ("client-cert" = Option<String>, Header, description = "The client's PEM certificate as the gateway forwards it (newlines as spaces, URL-encoded, or bare base64 DER); believed only behind a gateway configured as trusted"),
        ("access_token" = String, Header, description = "An active access token this server issued to the gateway"),
    ),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Issued; `Cache-Control: no-store`", body = TokenBody),
        (status = 400, description = "`invalid_request`, `invalid_scope`, `unsupported_grant_type`, …", body = super::rfc6749::ErrorBody),
        (status = 401, description = "`invalid_client`: wrong secret, no certificate or not one of the client's, a missing or inactive `access_token`", body = super::rfc6749::ErrorBody),
        (status = 405, description = "A method other than POST", body = super::rfc6749::ErrorBody),
        (status = 413, description = "A body over 64 KiB", body = super::rfc6749::ErrorBody),
        (status = 429, description = "`too_many_requests`", body = super::rfc6749::ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
        (status = 500, description = "`server_error`", body = super::rfc6749::ErrorBody),
        (status = 503, description = "`temporarily_unavailable`", body = super::rfc6749::ErrorBody),
    )
)]
pub async fn token(ctx: RequestContext, payload: Payload) -> HttpResponse {
    frame::token::<Semear>(ctx, payload).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_certificates_are_read_in_every_usual_shape() {
        let der: Vec<u8> = std::iter::once(0x30)
            .chain((0..100).map(|i| i as u8))
            .collect();
        let b64 = STANDARD.encode(&der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap_or_default())
            .collect();
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        );
        let spaced = pem.replace('\n', " ");
        let encoded: String =
            percent_encoding::utf8_percent_encode(&pem, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        for shape in [
            pem.as_str(),
            spaced.as_str(),
            encoded.as_str(),
            b64.as_str(),
        ] {
            assert_eq!(
                certificate_from_header(shape).as_deref(),
                Some(der.as_slice()),
                "{shape:.40}"
            );
        }
        assert_eq!(certificate_from_header("not a certificate"), None);
        assert_eq!(certificate_from_header(&STANDARD.encode([1, 2, 3])), None);
    }
}
