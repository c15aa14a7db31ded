//! `/admin/v1/clients`: list, show, change (`PATCH` with `If-Match`), delete and rotate the
//! secret of clients, in RFC 7591's metadata names where one exists plus Tessera's own fields.

use actix_web::http::{StatusCode, header};
use actix_web::web::{self, Data, Json, Path, Query, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_domain::authorize::RedirectUri;
use tessera_domain::service::{
    AdminAccess, ClientAdmin, ClientChanges, NewClient, SecretSource, revision,
};
use tessera_domain::{
    AccessTokenFormat, Audience, Client, ClientAuthMethod, ClientId, ClientName, GrantType, Role,
    RoleSet, ScopeSet, SigningAlgorithm, TokenTtl, UnixTime,
};

use super::{AdminState, admin_problem, caller, if_match, nullable, nullable_of, problem};

pub(super) fn routes(cfg: &mut ServiceConfig) {
    cfg.route("/admin/v1/clients", web::get().to(list))
        .route("/admin/v1/clients", web::post().to(create))
        .route("/admin/v1/clients/{id}", web::get().to(show))
        .route("/admin/v1/clients/{id}", web::patch().to(update))
        .route("/admin/v1/clients/{id}", web::delete().to(delete))
        .route("/admin/v1/clients/{id}/secret", web::post().to(rotate));
}

/// A client as the admin API shows it (the domain's view, in JSON); never a secret.
pub(crate) fn resource(c: &Client) -> Value {
    let v = tessera_domain::client::ClientView::of(c);
    json!({
        "client_id": v.client_id,
        "client_name": v.client_name,
        "client_id_issued_at": v.client_id_issued_at,
        "redirect_uris": v.redirect_uris,
        "post_logout_redirect_uris": v.post_logout_redirect_uris,
        "grant_types": v.grant_types,
        "token_endpoint_auth_method": v.token_endpoint_auth_methods.first(),
        "token_endpoint_auth_methods": v.token_endpoint_auth_methods,
        "scope": v.scope,
        "backchannel_logout_uri": v.backchannel_logout_uri,
        "id_token_signed_response_alg": v.id_token_signed_response_alg,
        "default_scope": v.default_scope,
        "roles": v.roles,
        "resources": v.resources,
        "audience": v.audience,
        "access_token_ttl": v.access_token_ttl,
        "access_token_format": v.access_token_format,
        "access_token_signed_response_alg": v.access_token_signed_response_alg,
        "enabled": v.enabled,
    })
}

/// The client with its revision as the `ETag` (RFC 9110 §8.8.3), strong.
fn with_etag(status: StatusCode, c: &Client) -> HttpResponse {
    super::tagged(status, &revision(c), &resource(c))
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

#[derive(Deserialize)]
struct ListQuery {
    enabled: Option<bool>,
    role: Option<String>,
    /// At most this many (default 100, at most 1000).
    limit: Option<usize>,
    /// The last `client_id` of the previous page.
    after: Option<String>,
}

/// `GET /admin/v1/clients[?enabled=…&role=…&limit=…&after=…]`: by id, a page at a time;
/// `next` is the `after` of the following page (absent on the last).
async fn list(state: Data<AdminState>, req: HttpRequest, query: Query<ListQuery>) -> HttpResponse {
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
        .json(json!({
            "clients": page.iter().map(|c| resource(c)).collect::<Vec<_>>(),
            "next": next.flatten(),
        }))
}

/// `GET /admin/v1/clients/{id}`, with its `ETag`.
async fn show(state: Data<AdminState>, req: HttpRequest, id: Path<String>) -> HttpResponse {
    let (clients, id, _) = match target(&state, &req, AdminAccess::Read, &id).await {
        Ok(t) => t,
        Err(answer) => return answer,
    };
    match clients.show(&id).await {
        Ok(c) => with_etag(StatusCode::OK, &c),
        Err(e) => admin_problem(&e),
    }
}

/// What a `PATCH` may change, in the representation's names; anything else is refused.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ClientPatch {
    client_name: Option<String>,
    scope: Option<String>,
    default_scope: Option<String>,
    roles: Option<Vec<String>>,
    grant_types: Option<Vec<String>>,
    token_endpoint_auth_methods: Option<Vec<String>>,
    redirect_uris: Option<Vec<String>>,
    post_logout_redirect_uris: Option<Vec<String>>,
    resources: Option<Vec<String>>,
    // `null` returns to the deployment's default; absent leaves it as it is.
    #[serde(default, deserialize_with = "nullable")]
    access_token_ttl: Option<Option<u64>>,
    access_token_format: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    access_token_signed_response_alg: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    audience: Option<Option<String>>,
    enabled: Option<bool>,
}

fn list_of<T>(
    values: Option<Vec<String>>,
    parse: impl Fn(&str) -> Result<T, tessera_domain::ParseError>,
) -> Result<Option<Vec<T>>, tessera_domain::ParseError> {
    values
        .map(|v| v.iter().map(|s| parse(s)).collect::<Result<Vec<_>, _>>())
        .transpose()
}

impl ClientPatch {
    /// The domain's changes (parsing each value; the invariants are the use case's).
    fn changes(self) -> Result<ClientChanges, tessera_domain::ParseError> {
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
        })
    }
}

/// A new client, in the representation's names: `client_name` required, `client_id` optional,
/// and any field a `PATCH` may change (unknown names are refused).
struct ClientCreate {
    client_id: Option<String>,
    client_name: String,
    rest: ClientPatch,
}

impl ClientCreate {
    /// Reads the body: the two naming fields, then the rest as a strict [`ClientPatch`].
    fn parse(body: Value) -> Result<Self, String> {
        let Value::Object(mut map) = body else {
            return Err("the body must be a JSON object".into());
        };
        let text = |v: Value, name: &str| match v {
            Value::String(s) => Ok(s),
            _ => Err(format!("{name} must be a string")),
        };
        let client_id = map
            .remove("client_id")
            .map(|v| text(v, "client_id"))
            .transpose()?;
        let client_name = map
            .remove("client_name")
            .map(|v| text(v, "client_name"))
            .transpose()?
            .ok_or("client_name is required")?;
        if map.contains_key("enabled") {
            return Err("a new client is enabled; disable it with PATCH".into());
        }
        let rest = serde_json::from_value(Value::Object(map)).map_err(|e| e.to_string())?;
        Ok(Self {
            client_id,
            client_name,
            rest,
        })
    }
}

impl ClientCreate {
    /// The registration the domain checks (defaults and invariants are the use case's).
    fn new_client(self) -> Result<NewClient, tessera_domain::ParseError> {
        let id = self.client_id.as_deref().map(ClientId::parse).transpose()?;
        let name = ClientName::parse(&self.client_name)?;
        let changes = self.rest.changes()?;
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
            max_assurance: None,
            cert_thumbprints: Vec::new(),
            tls_subject_dn: None,
            redirect_uris: changes.redirect_uris.unwrap_or_default(),
            options: tessera_domain::registration::ClientOptions {
                post_logout_redirect_uris: changes.post_logout_redirect_uris.unwrap_or_default(),
                resources: changes.resources.unwrap_or_default(),
                ..Default::default()
            },
        })
    }
}

/// `POST /admin/v1/clients`: 201 with the client, its `Location` and `ETag`, and its secret
/// (shown this once; none for a public client). Disabled only by a later `PATCH`.
async fn create(state: Data<AdminState>, req: HttpRequest, body: Json<Value>) -> HttpResponse {
    let (acting, now) = match caller(&state, &req, AdminAccess::Write).await {
        Ok(c) => c,
        Err(denied) => return denied,
    };
    let request = match ClientCreate::parse(body.into_inner())
        .and_then(|c| c.new_client().map_err(|e| e.to_string()))
    {
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
            let mut out = resource(&client);
            if let (Some(secret), Value::Object(map)) = (secret, &mut out) {
                map.insert("client_secret".into(), json!(secret.expose()));
            }
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

/// `PATCH /admin/v1/clients/{id}` with `If-Match: "<ETag>"` (required: RFC 6585 428 without
/// it, RFC 9110 412 when the client changed since), a JSON object of the fields to change.
async fn update(
    state: Data<AdminState>,
    req: HttpRequest,
    id: Path<String>,
    body: Json<Value>,
) -> HttpResponse {
    let (clients, id, now) = match target(&state, &req, AdminAccess::Write, &id).await {
        Ok(t) => t,
        Err(answer) => return answer,
    };
    let if_match = match if_match(&req) {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let changes = match serde_json::from_value::<ClientPatch>(body.into_inner())
        .map_err(|e| e.to_string())
        .and_then(|p| p.changes().map_err(|e| e.to_string()))
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

/// `DELETE /admin/v1/clients/{id}`: 204.
async fn delete(state: Data<AdminState>, req: HttpRequest, id: Path<String>) -> HttpResponse {
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

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    /// How long the old secrets keep working, in seconds (at most 30 days).
    #[serde(default)]
    grace_seconds: u32,
}

/// `POST /admin/v1/clients/{id}/secret` `{"grace_seconds": N}`: a new secret, shown once.
async fn rotate(
    state: Data<AdminState>,
    req: HttpRequest,
    id: Path<String>,
    body: Option<Json<RotateBody>>,
) -> HttpResponse {
    let (clients, id, now) = match target(&state, &req, AdminAccess::Write, &id).await {
        Ok(t) => t,
        Err(answer) => return answer,
    };
    let grace = body.map(|b| b.grace_seconds).unwrap_or_default();
    match clients.rotate_secret(&id, grace, now).await {
        Ok((client, secret)) => {
            state.changed().await;
            let mut out = resource(&client);
            if let Value::Object(map) = &mut out {
                map.insert("client_secret".into(), json!(secret.expose()));
            }
            HttpResponse::Ok()
                .insert_header((header::ETAG, format!("\"{}\"", revision(&client))))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .json(out)
        }
        Err(e) => admin_problem(&e),
    }
}
