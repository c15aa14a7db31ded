//! The admin API's representations, typed so that the OpenAPI document describes exactly what
//! the handlers send: clients in RFC 7591 §2 metadata names (plus Tessera's own fields), users in
//! OpenID Connect Core §5.1 claim names, keys, audit events and RFC 9457 problems.

use serde::Serialize;
use tessera_domain::client::ClientView;
use tessera_domain::keys::SigningKey;
use tessera_domain::user::{PhoneNumber, PostalAddress, User};
use tessera_domain::{Client, ClientName, UnixTime};
use utoipa::ToSchema;

/// A client's registration. `client_secret` only in the answer that generated it.
#[derive(Serialize, ToSchema)]
pub(crate) struct ClientResource {
    pub(crate) client_id: String,
    pub(crate) client_name: String,
    /// Seconds since the epoch.
    pub(crate) client_id_issued_at: i64,
    pub(crate) redirect_uris: Vec<String>,
    pub(crate) post_logout_redirect_uris: Vec<String>,
    pub(crate) grant_types: Vec<String>,
    /// The first of `token_endpoint_auth_methods` (RFC 7591 names one).
    pub(crate) token_endpoint_auth_method: Option<String>,
    pub(crate) token_endpoint_auth_methods: Vec<String>,
    /// What it may be granted, space-separated.
    pub(crate) scope: String,
    pub(crate) backchannel_logout_uri: Option<String>,
    pub(crate) id_token_signed_response_alg: Option<String>,
    /// What it gets when it asks for no scope.
    pub(crate) default_scope: String,
    pub(crate) roles: Vec<String>,
    /// The resources (RFC 8707) it may ask tokens for.
    pub(crate) resources: Vec<String>,
    /// The `aud` of its tokens, when not the deployment's.
    pub(crate) audience: Option<String>,
    /// Seconds, when not the deployment's.
    pub(crate) access_token_ttl: Option<u32>,
    /// `jwt` or `opaque`.
    pub(crate) access_token_format: String,
    pub(crate) access_token_signed_response_alg: Option<String>,
    pub(crate) enabled: bool,
    /// The `x5t#S256` thumbprints of its certificates (RFC 8705 §2.2).
    pub(crate) cert_thumbprints: Vec<String>,
    /// RFC 8705 §2.1.2.
    pub(crate) tls_client_auth_subject_dn: Option<String>,
    /// The strongest assurance level (`acr`) it may put in a user token.
    pub(crate) max_assurance: Option<String>,
    /// The secret, shown this once (create and rotate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) client_secret: Option<String>,
}

impl ClientResource {
    /// The representation of `c` (the domain's view).
    pub(crate) fn of(c: &Client) -> Self {
        let v = ClientView::of(c);
        Self {
            client_id: v.client_id,
            client_name: v.client_name,
            client_id_issued_at: v.client_id_issued_at,
            redirect_uris: v.redirect_uris,
            post_logout_redirect_uris: v.post_logout_redirect_uris,
            grant_types: v.grant_types,
            token_endpoint_auth_method: v.token_endpoint_auth_methods.first().cloned(),
            token_endpoint_auth_methods: v.token_endpoint_auth_methods,
            scope: v.scope,
            backchannel_logout_uri: v.backchannel_logout_uri,
            id_token_signed_response_alg: v.id_token_signed_response_alg,
            default_scope: v.default_scope,
            roles: v.roles,
            resources: v.resources,
            audience: v.audience,
            access_token_ttl: v.access_token_ttl,
            access_token_format: v.access_token_format,
            access_token_signed_response_alg: v.access_token_signed_response_alg,
            enabled: v.enabled,
            cert_thumbprints: v.cert_thumbprints,
            tls_client_auth_subject_dn: v.tls_client_auth_subject_dn,
            max_assurance: v.max_assurance,
            client_secret: None,
        }
    }
}

/// A page of clients, by id.
#[derive(Serialize, ToSchema)]
pub(crate) struct ClientPage {
    pub(crate) clients: Vec<ClientResource>,
    /// The `after` of the next page; absent on the last.
    pub(crate) next: Option<String>,
}

/// A postal address (Core §5.1.1).
#[derive(Serialize, ToSchema)]
pub(crate) struct AddressResource {
    pub(crate) street_address: Option<String>,
    pub(crate) locality: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) postal_code: Option<String>,
    pub(crate) country: Option<String>,
    /// Derived from the components.
    pub(crate) formatted: String,
}

fn text(v: Option<&ClientName>) -> Option<String> {
    v.map(|n| n.as_str().to_owned())
}

impl AddressResource {
    fn of(a: &PostalAddress) -> Self {
        Self {
            street_address: text(a.street_address.as_ref()),
            locality: text(a.locality.as_ref()),
            region: text(a.region.as_ref()),
            postal_code: text(a.postal_code.as_ref()),
            country: text(a.country.as_ref()),
            formatted: a.formatted(),
        }
    }
}

/// A user; never the password, only whether there is one.
#[derive(Serialize, ToSchema)]
pub(crate) struct UserResource {
    pub(crate) id: String,
    pub(crate) logon: String,
    pub(crate) email: String,
    pub(crate) name: String,
    /// `active`, `locked` or `disabled`.
    pub(crate) status: String,
    pub(crate) given_name: Option<String>,
    pub(crate) family_name: Option<String>,
    pub(crate) locale: Option<String>,
    pub(crate) email_verified: bool,
    pub(crate) phone_number: Option<String>,
    pub(crate) phone_number_verified: bool,
    pub(crate) address: Option<AddressResource>,
    pub(crate) has_password: bool,
    /// Failed sign-ins since the last success or lock.
    pub(crate) failed_sign_ins: u32,
    /// Until when sign-in is refused after failed sign-ins (seconds since the epoch).
    pub(crate) locked_until: Option<i64>,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

impl UserResource {
    pub(crate) fn of(u: &User) -> Self {
        let p = &u.profile;
        Self {
            id: u.id.to_string(),
            logon: u.logon.to_string(),
            email: u.email.to_string(),
            name: u.name.to_string(),
            status: u.status.as_str().to_owned(),
            given_name: text(p.given_name.as_ref()),
            family_name: text(p.family_name.as_ref()),
            locale: text(p.locale.as_ref()),
            email_verified: p.email_verified,
            phone_number: p
                .phone_number
                .as_ref()
                .map(|n| PhoneNumber::as_str(n).to_owned()),
            phone_number_verified: p.phone_number_verified,
            address: p.address.as_ref().map(AddressResource::of),
            has_password: u.password.is_some(),
            failed_sign_ins: u.failed_sign_ins,
            locked_until: u.locked_until.map(UnixTime::as_secs),
            created_at: u.created_at.as_secs(),
            updated_at: u.updated_at.as_secs(),
        }
    }
}

/// A page of users, by id.
#[derive(Serialize, ToSchema)]
pub(crate) struct UserPage {
    pub(crate) users: Vec<UserResource>,
    /// The `after` of the next page; absent on the last.
    pub(crate) next: Option<String>,
}

/// How many browser sessions a sign-out ended.
#[derive(Serialize, ToSchema)]
pub(crate) struct SessionsEnded {
    pub(crate) id: String,
    pub(crate) sessions_ended: usize,
}

/// A signing key (never its private part).
#[derive(Serialize, ToSchema)]
pub(crate) struct KeyResource {
    pub(crate) kid: String,
    pub(crate) alg: String,
    /// `published`, `active` or `retired`.
    pub(crate) state: String,
    pub(crate) created_at: i64,
    pub(crate) activated_at: Option<i64>,
    pub(crate) retire_at: Option<i64>,
}

impl KeyResource {
    pub(crate) fn of(k: &SigningKey) -> Self {
        Self {
            kid: k.kid.as_str().to_owned(),
            alg: k.alg.as_str().to_owned(),
            state: k.state.as_str().to_owned(),
            created_at: k.created_at.as_secs(),
            activated_at: k.activated_at.map(UnixTime::as_secs),
            retire_at: k.retire_at.map(UnixTime::as_secs),
        }
    }
}

/// Every signing key, retired ones included.
#[derive(Serialize, ToSchema)]
pub(crate) struct KeyList {
    pub(crate) keys: Vec<KeyResource>,
}

/// One audit event: identifiers only, never a secret or a token.
#[derive(Serialize, ToSchema)]
pub(crate) struct AuditEventResource {
    /// Increases with every event; the cursor of `after` and `before`.
    pub(crate) id: u64,
    pub(crate) at: i64,
    pub(crate) kind: String,
    pub(crate) client_id: Option<String>,
    pub(crate) subject: Option<String>,
    pub(crate) source: Option<String>,
    pub(crate) detail: String,
}

/// A page of the audit trail, oldest first.
#[derive(Serialize, ToSchema)]
pub(crate) struct AuditPage {
    pub(crate) events: Vec<AuditEventResource>,
    /// The id of the first event (`before` of the page before).
    pub(crate) first: Option<u64>,
    /// The id of the last event (`after` of the page after).
    pub(crate) last: Option<u64>,
}

/// An RFC 9457 problem: `type` is stable per domain error (`urn:tessera:problem:…`).
#[derive(Serialize, ToSchema)]
pub(crate) struct Problem {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) title: String,
    pub(crate) status: u16,
    pub(crate) detail: String,
}

/// What any admin operation may answer besides its own outcomes.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Describes what `caller` and the store answer.
pub(crate) enum Refusals {
    /// The body or the query is not valid (a problem naming what), or a change would leave an
    /// invalid client or user.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// No Bearer access token, or not an active one of this server (RFC 6750 §3.1
    /// `invalid_token`).
    #[response(
        status = 401,
        content_type = "application/problem+json",
        headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"tessera-admin\"`"))
    )]
    Unauthorized(Problem),
    /// The token's client lacks `ROLE_TESSERA-ADMIN` or the scope (RFC 6750 §3.1
    /// `insufficient_scope`).
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// The store is unavailable; retry.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(Problem),
}
