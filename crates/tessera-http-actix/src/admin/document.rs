//! The admin API's OpenAPI 3.1 document, served on the admin listener at
//! `GET /admin/v1/openapi.json`: every admin operation (tagged `Admin`) at the path the route
//! table serves it at. The public document never lists them: the public listener does not serve
//! them.

use actix_web::HttpResponse;
use actix_web::web::Data;
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as Document;

use super::{audit, clients, keys, registration, schema, users};
use crate::openapi::{Rendered, SecuritySchemes};

/// Every admin handler's description, for the schemas they reference; the paths are replaced by
/// the route table's in [`document`].
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tessera admin API",
        description = "Clients, users, signing keys and the audit trail of a Tessera deployment, \
on the admin listener (`[admin] bind`) only. Every operation takes a Bearer access token this \
server issued to a client holding the role `ROLE_TESSERA-ADMIN`, with the scope `tessera:admin` \
(reads also accept `tessera:admin.read`). Errors are RFC 9457 problem details whose `type` is \
stable per error. Changes take `If-Match` with the `ETag` they are based on.",
        license(name = "Apache-2.0")
    ),
    paths(
        clients::list,
        clients::create,
        clients::show,
        clients::update,
        clients::delete,
        clients::rotate,
        users::list,
        users::create,
        users::show,
        users::update,
        users::set_password,
        users::lock,
        users::unlock,
        users::disable,
        users::sign_out,
        keys::list,
        keys::rotate,
        keys::retire,
        registration::issue,
        registration::list,
        registration::revoke,
        audit::tail,
        serve,
    ),
    // The body of the reusable refusals (`IntoResponses` does not collect it).
    components(schemas(schema::Problem)),
    modifiers(&SecuritySchemes),
    tags((name = "Admin", description = "Managing the deployment over HTTP"))
)]
pub(crate) struct AdminDoc;

/// The admin document: every route of [`super::endpoints`] at the path it is served at.
#[must_use]
pub(crate) fn document() -> Document {
    crate::openapi::assemble(AdminDoc::openapi(), &super::endpoints())
}

/// The admin API's OpenAPI document.
///
/// `GET /admin/v1/openapi.json`: this document (no token needed: it is on the admin listener
/// and describes, it does not grant).
#[utoipa::path(
    get,
    path = "/admin/v1/openapi.json",
    tag = "Admin",
    operation_id = "admin_openapi",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json"))
)]
pub(crate) async fn serve(rendered: Data<Rendered>) -> HttpResponse {
    rendered.answer()
}
