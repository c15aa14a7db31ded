//! `/admin/v1/clients`: list, show, change (`PATCH` with `If-Match`), delete and rotate the
//! secret of clients, in RFC 7591's metadata names where one exists plus Tessera's own fields.

use actix_web::http::{StatusCode, header};
use actix_web::web::{Bytes, Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use tessera_domain::authorize::RedirectUri;
use tessera_domain::service::{
    AdminAccess, ClientAdmin, ClientChanges, NewClient, SecretSource, revision,
};
use tessera_domain::{
    AccessTokenFormat, Audience, Client, ClientAuthMethod, ClientId, ClientName, GrantType, Role,
    RoleSet, ScopeSet, SigningAlgorithm, TokenTtl, UnixTime,
};
use utoipa::{IntoParams, ToSchema};

use super::schema::{ClientPage, ClientResource, Problem, Refusals};
use super::{
    AdminState, admin_problem, caller, if_match, nullable, nullable_of, parse_body, problem,
};

/// The client with its revision as the `ETag` (RFC 9110 §8.8.3), strong.
fn with_etag(status: StatusCode, c: &Client) -> HttpResponse {
    super::tagged(status, &revision(c), &ClientResource::of(c))
}

/// The client use cases acting for the caller of `req`, the client `raw` names, and now — or
/// the early answer (401/403 from [`caller`], 404 for an id that cannot be a client's).
// The error is the early answer itself, built at most once per request.
#[allow(clippy::result_large_err)]
async fn target(
    state: &AdminState,
    req: &HttpRequest,
    access: AdminAccess,
    raw: &str,
) -> Result<(ClientAdmin, ClientId, UnixTime), HttpResponse> {
    let (acting, now) = caller(state, req, access).await?;
    let id = ClientId::parse(raw).map_err(|e| {
        problem(
            StatusCode::NOT_FOUND,
            "not-found",
            "No such client",
            &e.to_string(),
        )
    })?;
    Ok((state.clients.acting_as(&acting), id, now))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Only enabled (`true`) or disabled (`false`) clients.
    enabled: Option<bool>,
    /// Only clients holding this role.
    role: Option<String>,
    /// At most this many (default 100, at most 1000).
    limit: Option<usize>,
    /// The last `client_id` of the previous page.
    after: Option<String>,
}

/// Lists clients.
///
/// `GET /admin/v1/clients[?enabled=…&role=…&limit=…&after=…]`: by id, a page at a time; `next`
/// is the `after` of the following page (absent on the last).
#[utoipa::path(
    get,
    path = "/admin/v1/clients",
    tag = "Admin",
    operation_id = "admin_list_clients",
    params(ListQuery),
    responses((status = 200, description = "A page of clients", body = ClientPage), Refusals),
    security(("bearer" = ["tessera:admin.read"]))
)]
pub(crate) async fn list(
    state: Data<AdminState>,
    req: HttpRequest,
    query: Query<ListQuery>,
) -> HttpResponse {
    if let Err(denied) = caller(&state, &req, AdminAccess::Read).await {
        return denied;
    }
    let all = match state.clients.list().await {
        Ok(all) => all,
        Err(e) => return admin_problem(&e),
    };
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let mut page: Vec<&Client> = all
        .iter()
        .filter(|c| {
            let v = tessera_domain::client::ClientView::of(c);
            query.enabled.is_none_or(|e| v.enabled == e)
                && query
                    .role
                    .as_deref()
                    .is_none_or(|r| v.roles.iter().any(|have| have == r))
        })
        .filter(|c| query.after.as_deref().is_none_or(|a| c.id().as_str() > a))
        .take(limit + 1)
        .collect();
    let next = (page.len() > limit).then(|| {
        page.truncate(limit);
        page.last().map(|c| c.id().to_string())
    });
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(ClientPage {
            clients: page.iter().map(|c| ClientResource::of(c)).collect(),
            next: next.flatten(),
        })
}

/// Shows a client.
///
/// `GET /admin/v1/clients/{id}`, with its `ETag` (what a `PATCH` names in `If-Match`).
#[utoipa::path(
    get,
    path = "/admin/v1/clients/{id}",
    tag = "Admin",
    operation_id = "admin_show_client",
    params(("id" = String, Path, description = "The client id")),
    responses(
        (status = 200, description = "The client", body = ClientResource,
            headers(("ETag" = String, description = "Its revision"))),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        Refusals,
    ),
    security(("bearer" = ["tessera:admin.read"]))
)]
pub(crate) async fn show(
    state: Data<AdminState>,
    req: HttpRequest,
    id: Path<String>,
) -> HttpResponse {
    let (clients, id, _) = match target(&state, &req, AdminAccess::Read, &id).await {
        Ok(t) => t,
        Err(answer) => return answer,
    };
    match clients.show(&id).await {
        Ok(c) => with_etag(StatusCode::OK, &c),
        Err(e) => admin_problem(&e),
    }
}

/// A client to create, or the fields to change, in the representation's names (anything else is
/// refused). At creation `client_name` is required and `enabled` refused (a new client is
/// enabled); a change may not name `client_id`.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClientBody {
    /// At creation only; generated when absent.
    client_id: Option<String>,
    client_name: Option<String>,
    scope: Option<String>,
    default_scope: Option<String>,
    roles: Option<Vec<String>>,
    grant_types: Option<Vec<String>>,
    token_endpoint_auth_methods: Option<Vec<String>>,
    redirect_uris: Option<Vec<String>>,
    post_logout_redirect_uris: Option<Vec<String>>,
    resources: Option<Vec<String>>,
    /// Seconds; `null` returns to the deployment's default.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u64>)]
    access_token_ttl: Option<Option<u64>>,
    /// `jwt` or `opaque`.
    access_token_format: Option<String>,
    /// `null` returns to the deployment's default.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    access_token_signed_response_alg: Option<Option<String>>,
    /// `null` returns to the deployment's default.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    audience: Option<Option<String>>,
    enabled: Option<bool>,
    /// `null` removes it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    backchannel_logout_uri: Option<Option<String>>,
    /// `null` returns to the deployment's default.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    id_token_signed_response_alg: Option<Option<String>>,
    /// The `x5t#S256` thumbprints of its certificates (the whole list).
    cert_thumbprints: Option<Vec<String>>,
    /// `null` removes it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    tls_client_auth_subject_dn: Option<Option<String>>,
    /// `null` removes the cap.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    max_assurance: Option<Option<String>>,
}

fn list_of<T>(
    values: Option<Vec<String>>,
    parse: impl Fn(&str) -> Result<T, tessera_domain::ParseError>,
) -> Result<Option<Vec<T>>, tessera_domain::ParseError> {
    values
        .map(|v| v.iter().map(|s| parse(s)).collect::<Result<Vec<_>, _>>())
        .transpose()
}

impl ClientBody {
    /// The domain's changes (parsing each value; the invariants are the use case's).
    fn parsed_changes(self) -> Result<ClientChanges, tessera_domain::ParseError> {
        Ok(ClientChanges {
            name: self
                .client_name
                .as_deref()
                .map(ClientName::parse)
                .transpose()?,
            allowed_scopes: self.scope.as_deref().map(ScopeSet::parse).transpose()?,
            default_scopes: self
                .default_scope
                .as_deref()
                .map(ScopeSet::parse)
                .transpose()?,
            roles: list_of(self.roles, Role::parse)?.map(RoleSet::from_roles),
            grant_types: list_of(self.grant_types, GrantType::parse)?
                .map(|g| g.into_iter().collect()),
            auth_methods: list_of(self.token_endpoint_auth_methods, ClientAuthMethod::parse)?
                .map(|m| m.into_iter().collect()),
            redirect_uris: list_of(self.redirect_uris, RedirectUri::parse)?,
            post_logout_redirect_uris: list_of(self.post_logout_redirect_uris, RedirectUri::parse)?,
            resources: list_of(self.resources, tessera_domain::resource::Resource::parse)?,
            access_token_ttl: nullable_of(self.access_token_ttl, TokenTtl::from_secs)?,
            signing_alg: nullable_of(self.access_token_signed_response_alg, |a| {
                SigningAlgorithm::parse(&a)
            })?,
            access_token_format: self
                .access_token_format
                .as_deref()
                .map(AccessTokenFormat::parse)
                .transpose()?,
            audience: nullable_of(self.audience, |a| Audience::parse(&a))?,
            enabled: self.enabled,
            backchannel_logout_uri: nullable_of(self.backchannel_logout_uri, |u| {
                tessera_domain::registration::BackchannelUri::parse(&u)
            })?,
            id_token_alg: nullable_of(self.id_token_signed_response_alg, |a| {
                SigningAlgorithm::parse(&a)
            })?,
            cert_thumbprints: list_of(
                self.cert_thumbprints,
                tessera_domain::cert::CertThumbprint::parse,
            )?,
            tls_subject_dn: nullable_of(self.tls_client_auth_subject_dn, |d| {
                tessera_domain::cert::SubjectDn::parse(&d)
            })?,
            max_assurance: nullable_of(self.max_assurance, |l| {
                tessera_domain::assurance::AssuranceLevel::parse(&l)
            })?,
        })
    }
}

impl ClientBody {
    /// The registration the domain checks (defaults and invariants are the use case's).
    fn into_new_client(self) -> Result<NewClient, String> {
        if self.enabled.is_some() {
            return Err("a new client is enabled; disable it with PATCH".into());
        }
        let e = |e: tessera_domain::ParseError| e.to_string();
        let id = self
            .client_id
            .as_deref()
            .map(ClientId::parse)
            .transpose()
            .map_err(e)?;
        let name = ClientName::parse(
            self.client_name
                .as_deref()
                .ok_or("client_name is required")?,
        )
        .map_err(e)?;
        let changes = self.parsed_changes().map_err(e)?;
        let auth_methods = changes.auth_methods.unwrap_or_default();
        Ok(NewClient {
            id,
            name,
            allowed_scopes: changes.allowed_scopes.unwrap_or_default(),
            default_scopes: changes.default_scopes,
            roles: changes.roles.unwrap_or_default(),
            grant_types: changes.grant_types.unwrap_or_default(),
            secret: SecretSource::for_methods(&auth_methods),
            auth_methods,
            audience: changes.audience.flatten(),
            access_token_ttl: changes.access_token_ttl.flatten(),
            signing_alg: changes.signing_alg.flatten(),
            access_token_format: changes
                .access_token_format
                .unwrap_or(AccessTokenFormat::Jwt),
            max_assurance: changes.max_assurance.flatten(),
            cert_thumbprints: changes.cert_thumbprints.unwrap_or_default(),
            tls_subject_dn: changes.tls_subject_dn.flatten(),
            redirect_uris: changes.redirect_uris.unwrap_or_default(),
            options: tessera_domain::registration::ClientOptions {
                post_logout_redirect_uris: changes.post_logout_redirect_uris.unwrap_or_default(),
                resources: changes.resources.unwrap_or_default(),
                backchannel_logout_uri: changes.backchannel_logout_uri.flatten(),
                id_token_alg: changes.id_token_alg.flatten(),
                ..Default::default()
            },
        })
    }
}

/// Creates a client.
///
/// `POST /admin/v1/clients`: 201 with the client, its `Location` and `ETag`, and its secret
/// (shown this once; none for a public client). Usable at once on this node, on the others
/// within their cache refresh interval. Disabled only by a later `PATCH`.
#[utoipa::path(
    post,
    path = "/admin/v1/clients",
    tag = "Admin",
    operation_id = "admin_create_client",
    request_body(content = ClientBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Created; `client_secret` shown this once", body = ClientResource,
            headers(("Location" = String), ("ETag" = String))),
        (status = 409, description = "The id is taken", body = Problem, content_type = "application/problem+json"),
        Refusals,
    ),
    security(("bearer" = ["tessera:admin"]))
)]
pub(crate) async fn create(state: Data<AdminState>, req: HttpRequest, body: Bytes) -> HttpResponse {
    let (acting, now) = match caller(&state, &req, AdminAccess::Write).await {
        Ok(c) => c,
        Err(denied) => return denied,
    };
    let body: ClientBody = match parse_body(&body) {
        Ok(b) => b,
        Err(answer) => return answer,
    };
    let request = match body.into_new_client() {
        Ok(r) => r,
        Err(detail) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "invalid-client-metadata",
                "The client is not valid",
                &detail,
            );
        }
    };
    match state.clients.acting_as(&acting).create(request, now).await {
        Ok((client, secret)) => {
            state.changed().await;
            let mut out = ClientResource::of(&client);
            out.client_secret = secret.map(|s| s.expose().to_owned());
            HttpResponse::Created()
                .insert_header((
                    header::LOCATION,
                    format!("/admin/v1/clients/{}", client.id()),
                ))
                .insert_header((header::ETAG, format!("\"{}\"", revision(&client))))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .json(out)
        }
        Err(e) => admin_problem(&e),
    }
}

/// Changes a client.
///
/// `PATCH /admin/v1/clients/{id}` with `If-Match: "<ETag>"` (required: RFC 6585 428 without
/// it, RFC 9110 412 when the client changed since), a JSON object of the fields to change.
#[utoipa::path(
    patch,
    path = "/admin/v1/clients/{id}",
    tag = "Admin",
    operation_id = "admin_update_client",
    params(
        ("id" = String, Path, description = "The client id"),
        ("If-Match" = String, Header, description = "The `ETag` the change is based on"),
    ),
    request_body(content = ClientBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Changed", body = ClientResource, headers(("ETag" = String))),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The client changed since that `ETag`", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "No `If-Match`", body = Problem, content_type = "application/problem+json"),
        Refusals,
    ),
    security(("bearer" = ["tessera:admin"]))
)]
pub(crate) async fn update(
    state: Data<AdminState>,
    req: HttpRequest,
    id: Path<String>,
    body: Bytes,
) -> HttpResponse {
    let (clients, id, now) = match target(&state, &req, AdminAccess::Write, &id).await {
        Ok(t) => t,
        Err(answer) => return answer,
    };
    let body: ClientBody = match parse_body(&body) {
        Ok(b) => b,
        Err(answer) => return answer,
    };
    let if_match = match if_match(&req) {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let changes = match body
        .client_id
        .is_none()
        .then_some(body)
        .ok_or_else(|| "client_id cannot change".to_owned())
        .and_then(|b| b.parsed_changes().map_err(|e| e.to_string()))
    {
        Ok(c) => c,
        Err(detail) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "invalid-client-metadata",
                "The changes are not valid",
                &detail,
            );
        }
    };
    match clients.update(&id, changes, Some(&if_match), now).await {
        Ok(c) => {
            state.changed().await;
            with_etag(StatusCode::OK, &c)
        }
        Err(e) => admin_problem(&e),
    }
}

/// Deletes a client.
///
/// `DELETE /admin/v1/clients/{id}`: 204; its tokens stop working (introspection, the cache).
#[utoipa::path(
    delete,
    path = "/admin/v1/clients/{id}",
    tag = "Admin",
    operation_id = "admin_delete_client",
    params(("id" = String, Path, description = "The client id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        Refusals,
    ),
    security(("bearer" = ["tessera:admin"]))
)]
pub(crate) async fn delete(
    state: Data<AdminState>,
    req: HttpRequest,
    id: Path<String>,
) -> HttpResponse {
    let (clients, id, now) = match target(&state, &req, AdminAccess::Write, &id).await {
        Ok(t) => t,
        Err(answer) => return answer,
    };
    match clients.delete(&id, now).await {
        Ok(()) => {
            state.changed().await;
            HttpResponse::NoContent().finish()
        }
        Err(e) => admin_problem(&e),
    }
}

/// How a secret rotation treats the old secrets.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RotateBody {
    /// How long the old secrets keep working, in seconds (at most 30 days).
    #[serde(default)]
    grace_seconds: u32,
}

/// Rotates a client's secret.
///
/// `POST /admin/v1/clients/{id}/secret` `{"grace_seconds": N}`: a new secret, shown once; the
/// old ones keep working for the grace period (at most 30 days).
#[utoipa::path(
    post,
    path = "/admin/v1/clients/{id}/secret",
    tag = "Admin",
    operation_id = "admin_rotate_client_secret",
    params(("id" = String, Path, description = "The client id")),
    request_body(content = Option<RotateBody>, content_type = "application/json"),
    responses(
        (status = 200, description = "The client with its new `client_secret`", body = ClientResource),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        Refusals,
    ),
    security(("bearer" = ["tessera:admin"]))
)]
pub(crate) async fn rotate(
    state: Data<AdminState>,
    req: HttpRequest,
    id: Path<String>,
    body: Bytes,
) -> HttpResponse {
    let (clients, id, now) = match target(&state, &req, AdminAccess::Write, &id).await {
        Ok(t) => t,
        Err(answer) => return answer,
    };
    let grace = if body.is_empty() {
        0
    } else {
        match parse_body::<RotateBody>(&body) {
            Ok(b) => b.grace_seconds,
            Err(answer) => return answer,
        }
    };
    match clients.rotate_secret(&id, grace, now).await {
        Ok((client, secret)) => {
            state.changed().await;
            let mut out = ClientResource::of(&client);
            out.client_secret = Some(secret.expose().to_owned());
            HttpResponse::Ok()
                .insert_header((header::ETAG, format!("\"{}\"", revision(&client))))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .json(out)
        }
        Err(e) => admin_problem(&e),
    }
}
