//! Dynamic client registration over HTTP: `POST /oauth2/register` (RFC 7591 §3) and the client
//! configuration endpoint `/oauth2/register/{client_id}` (RFC 7592 §2: read, update, delete with
//! the registration access token). The adapter reads the JSON and renders the answers; who may
//! register and what a registration may hold are the domain's.

use actix_web::http::{StatusCode, header};
use actix_web::web::{Bytes, Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use tessera_domain::service::{
    ClientMetadata, MetadataError, RawMetadata, Registered, RegistrationError,
};
use tessera_domain::{Client, GrantType};
use utoipa::ToSchema;

use crate::context::bearer;
use crate::dialect::rfc6749::ErrorBody;
use crate::server::HttpState;

/// The largest registration request read.
const MAX_BODY: usize = 32 * 1024;

/// Client metadata (RFC 7591 §2) as a client sends it. Fields this server does not understand
/// are ignored, as RFC 7591 §2 requires.
#[derive(Deserialize, ToSchema, Default)]
pub(crate) struct MetadataBody {
    /// Required for the `authorization_code` grant; each an absolute URI without a fragment
    /// (`https`, or `http` on a loopback host, or a private-use scheme).
    redirect_uris: Option<Vec<String>>,
    /// Default `["authorization_code"]`; also `refresh_token`, `client_credentials`.
    grant_types: Option<Vec<String>>,
    /// Default `["code"]`; `[]` for a client without the authorization code grant.
    response_types: Option<Vec<String>>,
    /// `client_secret_basic` (default), `client_secret_post`, or `none` (a public client).
    token_endpoint_auth_method: Option<String>,
    /// Space-separated; at most the deployment's registration ceiling, which is the default.
    scope: Option<String>,
    client_name: Option<String>,
    post_logout_redirect_uris: Option<Vec<String>>,
    backchannel_logout_uri: Option<String>,
    id_token_signed_response_alg: Option<String>,
    /// RFC 8707 resources the client will ask tokens for (among the deployment's registrable
    /// resources).
    resources: Option<Vec<String>>,
    /// RFC 7592 §2.2: an update names the client it updates.
    client_id: Option<String>,
    /// RFC 7592 §2.2: an update MUST NOT send these (the server refuses them).
    registration_access_token: Option<String>,
    registration_client_uri: Option<String>,
    client_secret_expires_at: Option<serde_json::Value>,
    client_id_issued_at: Option<serde_json::Value>,
}

impl MetadataBody {
    fn raw(self) -> RawMetadata {
        RawMetadata {
            redirect_uris: self.redirect_uris,
            grant_types: self.grant_types,
            response_types: self.response_types,
            token_endpoint_auth_method: self.token_endpoint_auth_method,
            scope: self.scope,
            client_name: self.client_name,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            backchannel_logout_uri: self.backchannel_logout_uri,
            id_token_signed_response_alg: self.id_token_signed_response_alg,
            resources: self.resources,
        }
    }
}

/// A client ID metadata document's JSON object as the domain reads it: the same RFC 7591 fields
/// as a registration request (others ignored), its `client_id`, and whether it holds a secret.
///
/// # Errors
/// When it is not a JSON object of client metadata.
pub fn document_body(
    bytes: &[u8],
) -> Result<tessera_domain::metadata_document::DocumentBody, String> {
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let has_secret =
        object.contains_key("client_secret") || object.contains_key("client_secret_expires_at");
    // A `client_id` that is not a string names no URL: the domain refuses the document.
    let client_id = object
        .get("client_id")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    let mut fields = object;
    fields.remove("client_id");
    let body: MetadataBody =
        serde_json::from_value(serde_json::Value::Object(fields)).map_err(|e| e.to_string())?;
    Ok(tessera_domain::metadata_document::DocumentBody {
        client_id,
        has_secret,
        metadata: body.raw(),
    })
}

/// A registration (RFC 7591 §3.2.1; RFC 7592 §3).
#[derive(Serialize, ToSchema)]
pub(crate) struct RegistrationBody {
    client_id: String,
    /// At registration only, for a confidential client: shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
    /// `0`: the secret does not expire (present whenever `client_secret` is).
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret_expires_at: Option<i64>,
    client_id_issued_at: i64,
    /// Manages this registration at `registration_client_uri`; a new one after every update.
    registration_access_token: String,
    registration_client_uri: String,
    client_name: String,
    redirect_uris: Vec<String>,
    grant_types: Vec<String>,
    response_types: Vec<String>,
    token_endpoint_auth_method: String,
    scope: String,
    post_logout_redirect_uris: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    backchannel_logout_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token_signed_response_alg: Option<String>,
    resources: Vec<String>,
}

fn body_of(
    state: &HttpState,
    client: &Client,
    secret: Option<String>,
    token: &str,
) -> RegistrationBody {
    let v = tessera_domain::client::ClientView::of(client);
    let code = v
        .grant_types
        .iter()
        .any(|g| g == GrantType::AuthorizationCode.as_str());
    RegistrationBody {
        client_secret_expires_at: secret.as_ref().map(|_| 0),
        client_secret: secret,
        client_id_issued_at: v.client_id_issued_at,
        registration_access_token: token.to_owned(),
        registration_client_uri: format!(
            "{}/oauth2/register/{}",
            state.issuer.as_str(),
            v.client_id
        ),
        client_id: v.client_id,
        client_name: v.client_name,
        redirect_uris: v.redirect_uris,
        response_types: if code {
            vec!["code".into()]
        } else {
            Vec::new()
        },
        grant_types: v.grant_types,
        token_endpoint_auth_method: v
            .token_endpoint_auth_methods
            .first()
            .cloned()
            .unwrap_or_default(),
        scope: v.scope,
        post_logout_redirect_uris: v.post_logout_redirect_uris,
        backchannel_logout_uri: v.backchannel_logout_uri,
        id_token_signed_response_alg: v.id_token_signed_response_alg,
        resources: v.resources,
    }
}

fn answer(status: StatusCode, body: &impl Serialize) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body)
}

/// A refusal: RFC 7591 §3.2.2 codes for metadata, RFC 6750 §3 for a token.
fn refuse(e: &RegistrationError) -> HttpResponse {
    let detail = e.to_string();
    let (status, code) = match e {
        RegistrationError::Metadata(MetadataError::InvalidRedirectUri(_)) => {
            (StatusCode::BAD_REQUEST, "invalid_redirect_uri")
        }
        RegistrationError::Metadata(MetadataError::InvalidClientMetadata(_)) => {
            (StatusCode::BAD_REQUEST, "invalid_client_metadata")
        }
        RegistrationError::Closed => (StatusCode::FORBIDDEN, "access_denied"),
        RegistrationError::InvalidToken => {
            return HttpResponse::Unauthorized()
                .insert_header((header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\""))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .json(ErrorBody::new("invalid_token", detail));
        }
        RegistrationError::SlowDown(wait) => {
            return HttpResponse::TooManyRequests()
                .insert_header((header::RETRY_AFTER, wait.to_string()))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .json(ErrorBody::new("too_many_requests", detail));
        }
        RegistrationError::Store(_) => {
            return HttpResponse::ServiceUnavailable()
                .insert_header((header::RETRY_AFTER, "5"))
                .json(ErrorBody::new("temporarily_unavailable", "retry later"));
        }
    };
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(ErrorBody::new(code, detail))
}

/// The metadata in `body`: a JSON object, at most [`MAX_BODY`] bytes.
fn metadata(body: &[u8]) -> Result<MetadataBody, RegistrationError> {
    let invalid = |d: String| RegistrationError::Metadata(MetadataError::InvalidClientMetadata(d));
    if body.len() > MAX_BODY {
        return Err(invalid(format!("the metadata is over {MAX_BODY} bytes")));
    }
    serde_json::from_slice(body).map_err(|e| invalid(format!("not client metadata: {e}")))
}

/// Registers a client (RFC 7591).
///
/// `POST /oauth2/register`: client metadata as JSON; with an initial access token as `Bearer`
/// when the deployment asks for one. Answers 201 with the client, its secret (confidential
/// clients, shown once) and the registration access token.
#[utoipa::path(
    post,
    path = "/oauth2/register",
    tag = "OAuth 2.0",
    operation_id = "register_client",
    request_body(content = MetadataBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Registered", body = RegistrationBody),
        (status = 400, description = "`invalid_redirect_uri` or `invalid_client_metadata` (RFC 7591 §3.2.2)", body = ErrorBody),
        (status = 401, description = "The initial access token is missing or not valid", body = ErrorBody),
        (status = 403, description = "Registration is closed (`access_denied`)", body = ErrorBody),
        (status = 429, description = "Too many registrations from this address", body = ErrorBody),
        (status = 503, description = "The store is unavailable", body = ErrorBody),
    ),
    security((), ("bearer" = []))
)]
pub(crate) async fn register(
    req: HttpRequest,
    state: Data<HttpState>,
    body: Bytes,
) -> HttpResponse {
    let now = state.clock.now();
    let source = crate::dialect::source(&req);
    let result = async {
        let m = ClientMetadata::parse(metadata(&body)?.raw())?;
        state
            .registration
            .register(bearer(&req), m, source.as_deref(), now)
            .await
    }
    .await;
    match result {
        Ok(Registered {
            client,
            secret,
            registration_access_token,
        }) => answer(
            StatusCode::CREATED,
            &body_of(
                &state,
                &client,
                secret.map(|s| s.expose().to_owned()),
                registration_access_token.expose(),
            ),
        ),
        Err(e) => refuse(&e),
    }
}

/// Reads a registration (RFC 7592 §2.1).
///
/// `GET /oauth2/register/{client_id}` with the registration access token as `Bearer`.
#[utoipa::path(
    get,
    path = "/oauth2/register/{client_id}",
    tag = "OAuth 2.0",
    operation_id = "read_registration",
    params(("client_id" = String, Path, description = "The registered client")),
    responses(
        (status = 200, description = "The registration", body = RegistrationBody),
        (status = 401, description = "Not this client's registration access token (or no such client)", body = ErrorBody),
        (status = 503, description = "The store is unavailable", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn read(
    req: HttpRequest,
    state: Data<HttpState>,
    id: Path<String>,
) -> HttpResponse {
    let token = bearer(&req);
    match state.registration.read(&id, token).await {
        Ok(client) => answer(
            StatusCode::OK,
            &body_of(&state, &client, None, token.unwrap_or_default()),
        ),
        Err(e) => refuse(&e),
    }
}

/// Updates a registration (RFC 7592 §2.2).
///
/// `PUT /oauth2/register/{client_id}` with the registration access token as `Bearer` and the
/// whole metadata (omitted fields are reset); answers with a new registration access token.
#[utoipa::path(
    put,
    path = "/oauth2/register/{client_id}",
    tag = "OAuth 2.0",
    operation_id = "update_registration",
    params(("client_id" = String, Path, description = "The registered client")),
    request_body(content = MetadataBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Updated; `registration_access_token` is new", body = RegistrationBody),
        (status = 400, description = "`invalid_redirect_uri` or `invalid_client_metadata`", body = ErrorBody),
        (status = 401, description = "Not this client's registration access token (or no such client)", body = ErrorBody),
        (status = 503, description = "The store is unavailable", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn update(
    req: HttpRequest,
    state: Data<HttpState>,
    id: Path<String>,
    body: Bytes,
) -> HttpResponse {
    let now = state.clock.now();
    let source = crate::dialect::source(&req);
    let result = async {
        let sent = metadata(&body)?;
        let invalid =
            |d: &str| RegistrationError::Metadata(MetadataError::InvalidClientMetadata(d.into()));
        // RFC 7592 §2.2: the body names this client and none of the server-issued fields.
        if sent.client_id.as_deref() != Some(id.as_str()) {
            // Authenticate first: a stranger learns nothing about the metadata rules.
            state.registration.read(&id, bearer(&req)).await?;
            return Err(invalid("client_id must be this registration's client_id"));
        }
        if sent.registration_access_token.is_some()
            || sent.registration_client_uri.is_some()
            || sent.client_secret_expires_at.is_some()
            || sent.client_id_issued_at.is_some()
        {
            state.registration.read(&id, bearer(&req)).await?;
            return Err(invalid(
                "registration_access_token, registration_client_uri, client_secret_expires_at \
                 and client_id_issued_at are the server's",
            ));
        }
        let m = ClientMetadata::parse(sent.raw())?;
        state
            .registration
            .update(&id, bearer(&req), m, source.as_deref(), now)
            .await
    }
    .await;
    match result {
        Ok((client, token)) => answer(
            StatusCode::OK,
            &body_of(&state, &client, None, token.expose()),
        ),
        Err(e) => refuse(&e),
    }
}

/// Deletes a registration (RFC 7592 §2.3).
///
/// `DELETE /oauth2/register/{client_id}` with the registration access token as `Bearer`: the
/// client and the token stop working; 204.
#[utoipa::path(
    delete,
    path = "/oauth2/register/{client_id}",
    tag = "OAuth 2.0",
    operation_id = "delete_registration",
    params(("client_id" = String, Path, description = "The registered client")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not this client's registration access token (or no such client)", body = ErrorBody),
        (status = 503, description = "The store is unavailable", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn delete(
    req: HttpRequest,
    state: Data<HttpState>,
    id: Path<String>,
) -> HttpResponse {
    let now = state.clock.now();
    let source = crate::dialect::source(&req);
    match state
        .registration
        .delete(&id, bearer(&req), source.as_deref(), now)
        .await
    {
        Ok(()) => HttpResponse::NoContent()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
        Err(e) => refuse(&e),
    }
}
