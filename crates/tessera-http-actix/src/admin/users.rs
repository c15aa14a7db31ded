//! `/admin/v1/users`: create, list, show, change (`PATCH` with `If-Match`), set the password,
//! lock, unlock, disable and sign out users, through the same use cases as `tessera user …`.

use actix_web::http::StatusCode;
use actix_web::web::{Bytes, Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use tessera_domain::ParseError;
use tessera_domain::service::{
    AdminAccess, NewUser, UserAdmin, UserChanges, UserError, user_revision,
};
use tessera_domain::user::{
    Email, Logon, Password, PhoneNumber, PostalAddress, Profile, User, UserId, UserStatus,
};
use tessera_domain::{ClientName, UnixTime};
use utoipa::{IntoParams, ToSchema};

use super::schema::{Problem, Refusals, SessionsEnded, UserPage, UserResource};
use super::{AdminState, caller, if_match, nullable, nullable_of, parse_body, problem, tagged};

fn with_etag(status: StatusCode, u: &User) -> HttpResponse {
    tagged(status, &user_revision(u), &UserResource::of(u))
}

/// A domain error of the user use cases as an RFC 9457 problem.
fn user_problem(e: &UserError) -> HttpResponse {
    let detail = e.to_string();
    let (status, kind, title) = match e {
        UserError::Invalid(_) => (
            StatusCode::BAD_REQUEST,
            "invalid-user",
            "The user would not be valid",
        ),
        UserError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "No such user"),
        UserError::Conflict => (
            StatusCode::CONFLICT,
            "conflict",
            "A user with this id or logon exists",
        ),
        UserError::Stale(_) => (
            StatusCode::PRECONDITION_FAILED,
            "stale",
            "The user changed since it was read",
        ),
        UserError::Store(_) => {
            return problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "The store is unavailable",
                "retry later",
            );
        }
    };
    problem(status, kind, title, &detail)
}

fn invalid(detail: &str) -> HttpResponse {
    problem(
        StatusCode::BAD_REQUEST,
        "invalid-user",
        "The user is not valid",
        detail,
    )
}

/// The user use cases acting for the caller of `req`, the user `raw` names, and now — or the
/// early answer (401/403, or 404 for an id that cannot be a user's).
// The error is the early answer itself, built at most once per request.
#[allow(clippy::result_large_err)]
async fn target(
    state: &AdminState,
    req: &HttpRequest,
    access: AdminAccess,
    raw: &str,
) -> Result<(UserAdmin, UserId, UnixTime), HttpResponse> {
    let (acting, now) = caller(state, req, access).await?;
    let id = UserId::parse(raw).map_err(|e| {
        problem(
            StatusCode::NOT_FOUND,
            "not-found",
            "No such user",
            &e.to_string(),
        )
    })?;
    Ok((state.users.acting_as(&acting), id, now))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Only users in this status (`active`, `locked`, `disabled`).
    status: Option<String>,
    /// At most this many (default 100, at most 1000).
    limit: Option<usize>,
    /// The last `id` of the previous page.
    after: Option<String>,
}

/// Lists users.
///
/// `GET /admin/v1/users[?status=…&limit=…&after=…]`: by id, a page at a time; `next` is the
/// `after` of the following page (absent on the last).
#[utoipa::path(
    get,
    path = "/admin/v1/users",
    tag = "Admin",
    operation_id = "admin_list_users",
    params(ListQuery),
    responses((status = 200, description = "A page of users", body = UserPage), Refusals),
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
    let status = match query.status.as_deref().map(UserStatus::parse).transpose() {
        Ok(s) => s,
        Err(e) => return invalid(&e.to_string()),
    };
    let all = match state.users.list().await {
        Ok(all) => all,
        Err(e) => return user_problem(&e),
    };
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let mut page: Vec<&User> = all
        .iter()
        .filter(|u| status.is_none_or(|s| u.status == s))
        .filter(|u| query.after.as_deref().is_none_or(|a| u.id.as_str() > a))
        .take(limit + 1)
        .collect();
    let next = (page.len() > limit).then(|| {
        page.truncate(limit);
        page.last().map(|u| u.id.to_string())
    });
    HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(UserPage {
            users: page.iter().map(|u| UserResource::of(u)).collect(),
            next: next.flatten(),
        })
}

/// Shows a user.
///
/// `GET /admin/v1/users/{id}`, with its `ETag` (what a `PATCH` names in `If-Match`).
#[utoipa::path(
    get,
    path = "/admin/v1/users/{id}",
    tag = "Admin",
    operation_id = "admin_show_user",
    params(("id" = String, Path, description = "The user id")),
    responses(
        (status = 200, description = "The user", body = UserResource, headers(("ETag" = String))),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        Refusals,
    ),
    security(("bearer" = ["tessera:admin.read"]))
)]
pub(crate) async fn show(
    state: Data<AdminState>,
    req: HttpRequest,
    id: Path<String>,
) -> HttpResponse {
    let (users, id, _) = match target(&state, &req, AdminAccess::Read, &id).await {
        Ok(t) => t,
        Err(answer) => return answer,
    };
    match users.show(&id).await {
        Ok(u) => with_etag(StatusCode::OK, &u),
        Err(e) => user_problem(&e),
    }
}

/// A postal address as the representation has it (each component optional).
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddressBody {
    street_address: Option<String>,
    locality: Option<String>,
    region: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
    /// Accepted (what a read returns) and ignored: it is derived.
    #[serde(rename = "formatted")]
    _formatted: Option<String>,
}

impl AddressBody {
    fn parse(self) -> Result<PostalAddress, ParseError> {
        let part = |v: Option<String>| v.as_deref().map(ClientName::parse).transpose();
        Ok(PostalAddress {
            street_address: part(self.street_address)?,
            locality: part(self.locality)?,
            region: part(self.region)?,
            postal_code: part(self.postal_code)?,
            country: part(self.country)?,
        })
    }
}

/// A user to create, or the fields to change, in the representation's names (anything else is
/// refused). At creation `logon`, `email` and `name` are required; a change may name neither
/// `id` nor `password` (which has its own operation).
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserBody {
    /// At creation only; generated when absent.
    id: Option<String>,
    /// At creation only: the initial password (at least 8 characters); without one the user
    /// cannot sign in until one is set.
    password: Option<String>,
    logon: Option<String>,
    email: Option<String>,
    name: Option<String>,
    // `null` removes the claim; absent leaves it as it is.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    given_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    family_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    locale: Option<Option<String>>,
    email_verified: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    phone_number: Option<Option<String>>,
    phone_number_verified: Option<bool>,
    /// Replaces the whole address; `null` removes it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<AddressBody>)]
    address: Option<Option<AddressBody>>,
}

impl UserBody {
    /// The domain's changes (parsing each value; the invariants are the use case's).
    fn parsed_changes(self) -> Result<UserChanges, ParseError> {
        let name = |v: Option<Option<String>>| nullable_of(v, |s| ClientName::parse(&s));
        Ok(UserChanges {
            logon: self.logon.as_deref().map(Logon::parse).transpose()?,
            email: self.email.as_deref().map(Email::parse).transpose()?,
            name: self.name.as_deref().map(ClientName::parse).transpose()?,
            given_name: name(self.given_name)?,
            family_name: name(self.family_name)?,
            locale: name(self.locale)?,
            email_verified: self.email_verified,
            phone_number: nullable_of(self.phone_number, |s| PhoneNumber::parse(&s))?,
            phone_number_verified: self.phone_number_verified,
            address: nullable_of(self.address, AddressBody::parse)?,
        })
    }
}

impl UserBody {
    /// The user to create (defaults and invariants are the use case's).
    fn new_user(self) -> Result<NewUser, String> {
        let required =
            |v: &Option<String>, name: &str| v.clone().ok_or(format!("{name} is required"));
        let logon = required(&self.logon, "logon")?;
        let email = required(&self.email, "email")?;
        let name = required(&self.name, "name")?;
        let (id, password) = (self.id.clone(), self.password.clone());
        let patch = self;
        let e = |e: ParseError| e.to_string();
        let mut profile = Profile::default();
        let changes = patch.parsed_changes().map_err(e)?;
        profile.given_name = changes.given_name.flatten();
        profile.family_name = changes.family_name.flatten();
        profile.locale = changes.locale.flatten();
        profile.email_verified = changes.email_verified.unwrap_or_default();
        profile.phone_number = changes.phone_number.flatten();
        profile.phone_number_verified = changes.phone_number_verified.unwrap_or_default();
        profile.address = changes.address.flatten().and_then(PostalAddress::non_empty);
        Ok(NewUser {
            id: id.as_deref().map(UserId::parse).transpose().map_err(e)?,
            logon: Logon::parse(&logon).map_err(e)?,
            email: Email::parse(&email).map_err(e)?,
            name: ClientName::parse(&name).map_err(e)?,
            password: password
                .as_deref()
                .map(Password::parse)
                .transpose()
                .map_err(e)?,
            profile,
        })
    }
}

/// Creates a user.
///
/// `POST /admin/v1/users`: 201 with the user, its `Location` and `ETag`.
#[utoipa::path(
    post,
    path = "/admin/v1/users",
    tag = "Admin",
    operation_id = "admin_create_user",
    request_body(content = UserBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = UserResource,
            headers(("Location" = String), ("ETag" = String))),
        (status = 409, description = "The id or the logon is taken", body = Problem, content_type = "application/problem+json"),
        Refusals,
    ),
    security(("bearer" = ["tessera:admin"]))
)]
pub(crate) async fn create(state: Data<AdminState>, req: HttpRequest, body: Bytes) -> HttpResponse {
    let (acting, now) = match caller(&state, &req, AdminAccess::Write).await {
        Ok(c) => c,
        Err(denied) => return denied,
    };
    let body: UserBody = match parse_body(&body) {
        Ok(b) => b,
        Err(answer) => return answer,
    };
    let new = match body.new_user() {
        Ok(n) => n,
        Err(detail) => return invalid(&detail),
    };
    match state.users.acting_as(&acting).create(new, now).await {
        Ok(u) => {
            let mut answer = with_etag(StatusCode::CREATED, &u);
            if let Ok(v) = format!("/admin/v1/users/{}", u.id).parse() {
                answer
                    .headers_mut()
                    .insert(actix_web::http::header::LOCATION, v);
            }
            answer
        }
        Err(e) => user_problem(&e),
    }
}

/// Changes a user's profile.
///
/// `PATCH /admin/v1/users/{id}` with `If-Match: "<ETag>"` (required: 428 without it, 412 when
/// the user changed since), a JSON object of the fields to change.
#[utoipa::path(
    patch,
    path = "/admin/v1/users/{id}",
    tag = "Admin",
    operation_id = "admin_update_user",
    params(
        ("id" = String, Path, description = "The user id"),
        ("If-Match" = String, Header, description = "The `ETag` the change is based on"),
    ),
    request_body(content = UserBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Changed", body = UserResource, headers(("ETag" = String))),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The new logon is taken", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The user changed since that `ETag`", body = Problem, content_type = "application/problem+json"),
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
    let (users, id, now) = match target(&state, &req, AdminAccess::Write, &id).await {
        Ok(t) => t,
        Err(answer) => return answer,
    };
    let body: UserBody = match parse_body(&body) {
        Ok(b) => b,
        Err(answer) => return answer,
    };
    let if_match = match if_match(&req) {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let changes = match (&body.id, &body.password) {
        (Some(_), _) => Err("id cannot change".to_owned()),
        (_, Some(_)) => Err("set the password with PUT /admin/v1/users/{id}/password".to_owned()),
        _ => body.parsed_changes().map_err(|e| e.to_string()),
    };
    let changes = match changes {
        Ok(c) => c,
        Err(detail) => return invalid(&detail),
    };
    match users.update(&id, changes, Some(&if_match), now).await {
        Ok(u) => with_etag(StatusCode::OK, &u),
        Err(e) => user_problem(&e),
    }
}

/// A new password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordBody {
    /// At least 8 characters.
    password: String,
}

/// Sets a user's password.
///
/// `PUT /admin/v1/users/{id}/password` `{"password": "…"}`: the user, with its new `ETag`.
#[utoipa::path(
    put,
    path = "/admin/v1/users/{id}/password",
    tag = "Admin",
    operation_id = "admin_set_user_password",
    params(("id" = String, Path, description = "The user id")),
    request_body(content = PasswordBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Set", body = UserResource, headers(("ETag" = String))),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        Refusals,
    ),
    security(("bearer" = ["tessera:admin"]))
)]
pub(crate) async fn set_password(
    state: Data<AdminState>,
    req: HttpRequest,
    id: Path<String>,
    body: Bytes,
) -> HttpResponse {
    let (users, id, now) = match target(&state, &req, AdminAccess::Write, &id).await {
        Ok(t) => t,
        Err(answer) => return answer,
    };
    let body: PasswordBody = match parse_body(&body) {
        Ok(b) => b,
        Err(answer) => return answer,
    };
    let password = match Password::parse(&body.password) {
        Ok(p) => p,
        Err(e) => return invalid(&e.to_string()),
    };
    match users.set_password(&id, &password, now).await {
        Ok(u) => with_etag(StatusCode::OK, &u),
        Err(e) => user_problem(&e),
    }
}

/// Sets the status of the user `raw` names (ending its sessions unless it becomes active).
async fn set_status(
    state: &AdminState,
    req: &HttpRequest,
    raw: &str,
    status: UserStatus,
) -> HttpResponse {
    let (users, id, now) = match target(state, req, AdminAccess::Write, raw).await {
        Ok(t) => t,
        Err(answer) => return answer,
    };
    match users.set_status(&id, status, now).await {
        Ok(u) => with_etag(StatusCode::OK, &u),
        Err(e) => user_problem(&e),
    }
}

/// Locks a user.
///
/// `POST /admin/v1/users/{id}/lock`: refuses its sign-ins and ends its sessions.
#[utoipa::path(
    post,
    path = "/admin/v1/users/{id}/lock",
    tag = "Admin",
    operation_id = "admin_lock_user",
    params(("id" = String, Path, description = "The user id")),
    responses(
        (status = 200, description = "Its new status", body = UserResource, headers(("ETag" = String))),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        Refusals,
    ),
    security(("bearer" = ["tessera:admin"]))
)]
pub(crate) async fn lock(
    state: Data<AdminState>,
    req: HttpRequest,
    id: Path<String>,
) -> HttpResponse {
    set_status(&state, &req, &id, UserStatus::Locked).await
}

/// Unlocks a user.
///
/// `POST /admin/v1/users/{id}/unlock`: active again (from a lock, an automatic lock after
/// failed sign-ins, or a disable).
#[utoipa::path(
    post,
    path = "/admin/v1/users/{id}/unlock",
    tag = "Admin",
    operation_id = "admin_unlock_user",
    params(("id" = String, Path, description = "The user id")),
    responses(
        (status = 200, description = "Its new status", body = UserResource, headers(("ETag" = String))),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        Refusals,
    ),
    security(("bearer" = ["tessera:admin"]))
)]
pub(crate) async fn unlock(
    state: Data<AdminState>,
    req: HttpRequest,
    id: Path<String>,
) -> HttpResponse {
    set_status(&state, &req, &id, UserStatus::Active).await
}

/// Disables a user.
///
/// `POST /admin/v1/users/{id}/disable`: refuses its sign-ins and ends its sessions.
#[utoipa::path(
    post,
    path = "/admin/v1/users/{id}/disable",
    tag = "Admin",
    operation_id = "admin_disable_user",
    params(("id" = String, Path, description = "The user id")),
    responses(
        (status = 200, description = "Its new status", body = UserResource, headers(("ETag" = String))),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        Refusals,
    ),
    security(("bearer" = ["tessera:admin"]))
)]
pub(crate) async fn disable(
    state: Data<AdminState>,
    req: HttpRequest,
    id: Path<String>,
) -> HttpResponse {
    set_status(&state, &req, &id, UserStatus::Disabled).await
}

/// Signs a user out everywhere.
///
/// `POST /admin/v1/users/{id}/sign-out`: ends every browser session of the user (its clients
/// told over back-channel logout); answers how many ended.
#[utoipa::path(
    post,
    path = "/admin/v1/users/{id}/sign-out",
    tag = "Admin",
    operation_id = "admin_sign_out_user",
    params(("id" = String, Path, description = "The user id")),
    responses(
        (status = 200, description = "How many sessions ended", body = SessionsEnded),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        Refusals,
    ),
    security(("bearer" = ["tessera:admin"]))
)]
pub(crate) async fn sign_out(
    state: Data<AdminState>,
    req: HttpRequest,
    id: Path<String>,
) -> HttpResponse {
    let (users, id, now) = match target(&state, &req, AdminAccess::Write, &id).await {
        Ok(t) => t,
        Err(answer) => return answer,
    };
    match users.sign_out(&id, now).await {
        Ok(ended) => HttpResponse::Ok()
            .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
            .json(SessionsEnded {
                id: id.to_string(),
                sessions_ended: ended,
            }),
        Err(e) => user_problem(&e),
    }
}
