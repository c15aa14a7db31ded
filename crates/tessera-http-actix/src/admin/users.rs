//! `/admin/v1/users`: create, list, show, change (`PATCH` with `If-Match`), set the password,
//! lock, unlock, disable and sign out users, through the same use cases as `tessera user …`.

use actix_web::http::StatusCode;
use actix_web::web::{self, Data, Json, Path, Query, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_domain::ParseError;
use tessera_domain::service::{AdminAccess, NewUser, UserAdmin, UserChanges, UserError};
use tessera_domain::user::{
    Email, Logon, Password, PhoneNumber, PostalAddress, Profile, User, UserId, UserStatus,
};
use tessera_domain::{ClientName, UnixTime};

use super::{AdminState, caller, if_match, nullable, nullable_of, problem, tagged};

pub(super) fn routes(cfg: &mut ServiceConfig) {
    cfg.route("/admin/v1/users", web::get().to(list))
        .route("/admin/v1/users", web::post().to(create))
        .route("/admin/v1/users/{id}", web::get().to(show))
        .route("/admin/v1/users/{id}", web::patch().to(update))
        .route("/admin/v1/users/{id}/password", web::put().to(set_password))
        .route("/admin/v1/users/{id}/lock", web::post().to(lock))
        .route("/admin/v1/users/{id}/unlock", web::post().to(unlock))
        .route("/admin/v1/users/{id}/disable", web::post().to(disable))
        .route("/admin/v1/users/{id}/sign-out", web::post().to(sign_out));
}

fn text(v: Option<&ClientName>) -> Option<&str> {
    v.map(ClientName::as_str)
}

/// A user as the admin API shows it, in OpenID Connect Core §5.1 claim names; never the
/// password (only whether there is one).
pub(crate) fn resource(u: &User) -> Value {
    let p = &u.profile;
    json!({
        "id": u.id.as_str(),
        "logon": u.logon.as_str(),
        "email": u.email.as_str(),
        "name": u.name.as_str(),
        "status": u.status.as_str(),
        "given_name": text(p.given_name.as_ref()),
        "family_name": text(p.family_name.as_ref()),
        "locale": text(p.locale.as_ref()),
        "email_verified": p.email_verified,
        "phone_number": p.phone_number.as_ref().map(PhoneNumber::as_str),
        "phone_number_verified": p.phone_number_verified,
        "address": p.address.as_ref().map(|a| json!({
            "street_address": text(a.street_address.as_ref()),
            "locality": text(a.locality.as_ref()),
            "region": text(a.region.as_ref()),
            "postal_code": text(a.postal_code.as_ref()),
            "country": text(a.country.as_ref()),
            "formatted": a.formatted(),
        })),
        "has_password": u.password.is_some(),
        "failed_sign_ins": u.failed_sign_ins,
        "locked_until": u.locked_until.map(UnixTime::as_secs),
        "created_at": u.created_at.as_secs(),
        "updated_at": u.updated_at.as_secs(),
    })
}

fn with_etag(status: StatusCode, u: &User) -> HttpResponse {
    tagged(status, &u.revision(), &resource(u))
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

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    /// At most this many (default 100, at most 1000).
    limit: Option<usize>,
    /// The last `id` of the previous page.
    after: Option<String>,
}

/// `GET /admin/v1/users[?status=…&limit=…&after=…]`: by id, a page at a time; `next` is the
/// `after` of the following page (absent on the last).
async fn list(state: Data<AdminState>, req: HttpRequest, query: Query<ListQuery>) -> HttpResponse {
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
        .json(json!({
            "users": page.iter().map(|u| resource(u)).collect::<Vec<_>>(),
            "next": next.flatten(),
        }))
}

/// `GET /admin/v1/users/{id}`, with its `ETag`.
async fn show(state: Data<AdminState>, req: HttpRequest, id: Path<String>) -> HttpResponse {
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
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AddressBody {
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

/// What a `PATCH` may change, in the representation's names; anything else is refused.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    logon: Option<String>,
    email: Option<String>,
    name: Option<String>,
    // `null` removes the claim; absent leaves it as it is.
    #[serde(default, deserialize_with = "nullable")]
    given_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    family_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    locale: Option<Option<String>>,
    email_verified: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    phone_number: Option<Option<String>>,
    phone_number_verified: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    address: Option<Option<AddressBody>>,
}

impl UserPatch {
    /// The domain's changes (parsing each value; the invariants are the use case's).
    fn changes(self) -> Result<UserChanges, ParseError> {
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

/// Reads a new user: `logon`, `email` and `name` required, `id` and `password` optional, and
/// any profile claim a `PATCH` may change (unknown names are refused).
fn new_user(body: Value) -> Result<NewUser, String> {
    let Value::Object(mut map) = body else {
        return Err("the body must be a JSON object".into());
    };
    let mut string = |name: &str| match map.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{name} must be a string")),
    };
    let id = string("id")?;
    let password = string("password")?;
    let patch: UserPatch = serde_json::from_value(Value::Object(map)).map_err(|e| e.to_string())?;
    let required = |v: Option<String>, name: &str| v.ok_or(format!("{name} is required"));
    let logon = required(patch.logon.clone(), "logon")?;
    let email = required(patch.email.clone(), "email")?;
    let name = required(patch.name.clone(), "name")?;
    let e = |e: ParseError| e.to_string();
    let mut profile = Profile::default();
    let changes = patch.changes().map_err(e)?;
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

/// `POST /admin/v1/users`: 201 with the user, its `Location` and `ETag`.
async fn create(state: Data<AdminState>, req: HttpRequest, body: Json<Value>) -> HttpResponse {
    let (acting, now) = match caller(&state, &req, AdminAccess::Write).await {
        Ok(c) => c,
        Err(denied) => return denied,
    };
    let new = match new_user(body.into_inner()) {
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

/// `PATCH /admin/v1/users/{id}` with `If-Match: "<ETag>"` (required: 428 without it, 412 when
/// the user changed since), a JSON object of the fields to change.
async fn update(
    state: Data<AdminState>,
    req: HttpRequest,
    id: Path<String>,
    body: Json<Value>,
) -> HttpResponse {
    let (users, id, now) = match target(&state, &req, AdminAccess::Write, &id).await {
        Ok(t) => t,
        Err(answer) => return answer,
    };
    let if_match = match if_match(&req) {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let changes = match serde_json::from_value::<UserPatch>(body.into_inner())
        .map_err(|e| e.to_string())
        .and_then(|p| p.changes().map_err(|e| e.to_string()))
    {
        Ok(c) => c,
        Err(detail) => return invalid(&detail),
    };
    match users.update(&id, changes, Some(&if_match), now).await {
        Ok(u) => with_etag(StatusCode::OK, &u),
        Err(e) => user_problem(&e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    password: String,
}

/// `PUT /admin/v1/users/{id}/password` `{"password": "…"}`: the user, with its new `ETag`.
async fn set_password(
    state: Data<AdminState>,
    req: HttpRequest,
    id: Path<String>,
    body: Json<PasswordBody>,
) -> HttpResponse {
    let (users, id, now) = match target(&state, &req, AdminAccess::Write, &id).await {
        Ok(t) => t,
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

/// `POST /admin/v1/users/{id}/lock`: refuses its sign-ins and ends its sessions.
async fn lock(state: Data<AdminState>, req: HttpRequest, id: Path<String>) -> HttpResponse {
    set_status(&state, &req, &id, UserStatus::Locked).await
}

/// `POST /admin/v1/users/{id}/unlock`: active again (from a lock, an automatic lock after
/// failed sign-ins, or a disable).
async fn unlock(state: Data<AdminState>, req: HttpRequest, id: Path<String>) -> HttpResponse {
    set_status(&state, &req, &id, UserStatus::Active).await
}

/// `POST /admin/v1/users/{id}/disable`: refuses its sign-ins and ends its sessions.
async fn disable(state: Data<AdminState>, req: HttpRequest, id: Path<String>) -> HttpResponse {
    set_status(&state, &req, &id, UserStatus::Disabled).await
}

/// `POST /admin/v1/users/{id}/sign-out`: ends every browser session of the user (its clients
/// told over back-channel logout); answers how many ended.
async fn sign_out(state: Data<AdminState>, req: HttpRequest, id: Path<String>) -> HttpResponse {
    let (users, id, now) = match target(&state, &req, AdminAccess::Write, &id).await {
        Ok(t) => t,
        Err(answer) => return answer,
    };
    match users.sign_out(&id, now).await {
        Ok(ended) => HttpResponse::Ok()
            .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
            .json(json!({"id": id.as_str(), "sessions_ended": ended})),
        Err(e) => user_problem(&e),
    }
}
