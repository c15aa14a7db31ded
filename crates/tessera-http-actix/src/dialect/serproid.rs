//! The SerproID dialect: `POST /oauth/v0/oauth/client_token` (by default), a form body with
//! `grant_type=client_credentials`, `client_id` and `client_secret` (`client_secret_post` only).
//!
//! Success is `{access_token, token_type, expires_in}`; errors are `{code, msg, debug}` with the
//! seed's codes and statuses, in Portuguese as the seed writes them. `debug` is always empty: it
//! never carries internals. An id that cannot be a client id is `CLIENTE_OAUTH_NAO_IDENTIFICADO`;
//! every failed authentication (unknown client, wrong secret, disabled client) is the one
//! `AUTENTICACAO_INVALIDA_CLIENT_OAUTH`, so the answer never tells which clients exist.

use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use actix_web::web::Payload;
use serde::Serialize;
use tessera_domain::service::{
    Admitted, ApiProfile, ClientAuthentication, GrantRequest, IssueRequest,
};
use tessera_domain::token::Issued;
use tessera_domain::{ClientAuthMethod, ClientId, TokenError};
use utoipa::ToSchema;

use super::frame::{BadBody, Dialect, TokenDialect, WireError};
use super::{BadForm, MAX_BODY};
use crate::context::RequestContext;
use crate::form::Form;

/// The SerproID dialect.
pub struct SerproId;

fn campo_obrigatorio(field: &str) -> WireError {
    WireError::new(
        StatusCode::PRECONDITION_FAILED,
        "CAMPO_OBRIGATORIO",
        format!("O campo {field} é obrigatório"),
    )
}

fn valor_invalido(param: &str) -> WireError {
    WireError::new(
        StatusCode::BAD_REQUEST,
        "VALOR_PARAMETRO_INVALIDO",
        format!("Valor do parâmetro {param} inválido"),
    )
}

fn required<'f>(form: &'f Form, name: &'static str) -> Result<&'f str, WireError> {
    form.get(name).ok_or_else(|| campo_obrigatorio(name))
}

fn falha(status: StatusCode) -> WireError {
    WireError::new(
        status,
        "FALHA_TOKEN_MANUTENCAO_APLICACAO",
        "Erro interno na obtenção do token de manutenção da aplicação.",
    )
}

fn cliente_nao_identificado() -> WireError {
    WireError::new(
        StatusCode::PRECONDITION_FAILED,
        "CLIENTE_OAUTH_NAO_IDENTIFICADO",
        "Não foi possível identificar a aplicação cliente.",
    )
}

impl Dialect for SerproId {
    const NAME: &'static str = "serproid";

    /// The seed's error for each domain error.
    fn from_token_error(e: &TokenError) -> WireError {
        match e {
            TokenError::InvalidClient => WireError::new(
                StatusCode::UNAUTHORIZED,
                "AUTENTICACAO_INVALIDA_CLIENT_OAUTH",
                "Falha na autenticidade do client_id e client_secret.",
            ),
            TokenError::UnauthorizedClient
            | TokenError::UnsupportedGrantType(_)
            | TokenError::InvalidGrant(_) => valor_invalido("grant_type"),
            TokenError::InvalidScope(_) => valor_invalido("scope"),
            TokenError::InvalidTarget(_) => valor_invalido("resource"),
            TokenError::InvalidRequest(_) => valor_invalido("da requisição"),
            TokenError::ServerError => falha(StatusCode::INTERNAL_SERVER_ERROR),
            // The seed's one failure row, as 503 with `Retry-After` when retrying will help.
            TokenError::TemporarilyUnavailable => {
                falha(StatusCode::SERVICE_UNAVAILABLE).retry_after(1)
            }
            TokenError::TooManyRequests(secs) => WireError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "LIMITE_REQUISICOES_EXCEDIDO",
                "Limite de requisições excedido. Tente novamente mais tarde.",
            )
            .retry_after(*secs),
        }
    }

    fn bad_body(e: BadBody) -> WireError {
        match e {
            BadBody::Form(BadForm::NotForm) | BadBody::NotJson => valor_invalido("Content-Type"),
            BadBody::Form(BadForm::TooLarge) => WireError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "VALOR_PARAMETRO_INVALIDO",
                format!("Corpo da requisição maior que {MAX_BODY} bytes"),
            ),
            BadBody::Form(BadForm::Repeated(name)) => valor_invalido(&name),
            BadBody::Form(BadForm::NotUtf8 | BadForm::Broken) | BadBody::InvalidJson => {
                valor_invalido("do corpo da requisição")
            }
        }
    }

    fn method_not_allowed() -> WireError {
        WireError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "VALOR_PARAMETRO_INVALIDO",
            "Valor do parâmetro método HTTP inválido: use POST",
        )
    }

    fn body(e: &WireError) -> impl Serialize + '_ {
        ErrorBody {
            code: e.code,
            msg: &e.message,
            debug: "",
        }
    }
}

/// A SerproID error.
#[derive(Serialize, ToSchema)]
#[schema(as = SerproIdError)]
struct ErrorBody<'a> {
    /// `CAMPO_OBRIGATORIO`, `VALOR_PARAMETRO_INVALIDO`, `CLIENTE_OAUTH_NAO_IDENTIFICADO`,
    /// `AUTENTICACAO_INVALIDA_CLIENT_OAUTH`, `LIMITE_REQUISICOES_EXCEDIDO` or
    /// `FALHA_TOKEN_MANUTENCAO_APLICACAO`.
    #[schema(example = "AUTENTICACAO_INVALIDA_CLIENT_OAUTH")]
    code: &'a str,
    /// The message, in Portuguese as SerproID writes it.
    msg: &'a str,
    /// Always empty: causes are logged, never sent.
    debug: &'static str,
}

/// A SerproID token.
#[derive(Serialize, ToSchema)]
#[schema(as = SerproIdToken)]
struct TokenBody<'a> {
    /// An RFC 9068 JWT.
    access_token: &'a str,
    /// `Bearer`.
    #[schema(example = "Bearer")]
    token_type: &'static str,
    /// Seconds until it expires.
    expires_in: u32,
}

/// SerproID's token request.
#[derive(ToSchema)]
#[schema(as = SerproIdTokenRequest)]
#[allow(dead_code)] // Describes the form `parse` reads.
struct TokenForm {
    /// `client_credentials`.
    #[schema(inline, example = "client_credentials")]
    grant_type: ClientCredentialsOnly,
    /// The client (registered with `client_secret_post`).
    client_id: String,
    /// Its secret.
    client_secret: String,
}

/// The one grant type SerproID serves.
#[derive(ToSchema)]
#[allow(dead_code, non_camel_case_types)] // Describes the form `parse` reads, in wire spelling.
pub(crate) enum ClientCredentialsOnly {
    client_credentials,
}

impl TokenDialect for SerproId {
    type Body = Form;

    /// `client_id` and `client_secret` from the form, as the seed describes them.
    async fn credentials(
        ctx: &RequestContext,
        payload: Payload,
    ) -> Result<(ClientAuthentication, Form), WireError> {
        let req = &ctx.req;
        let form = super::frame::form::<Self>(req, payload).await?;
        let client_id = required(&form, "client_id")?;
        let client_secret = required(&form, "client_secret")?;
        if ClientId::parse(client_id).is_err() {
            return Err(cliente_nao_identificado());
        }
        let auth = ClientAuthentication::from_raw(
            ClientAuthMethod::ClientSecretPost,
            client_id,
            Some(client_secret),
        )
        .map_err(|e| Self::from_token_error(&e))?;
        Ok((auth, form))
    }

    /// `grant_type=client_credentials`, the one grant served here.
    async fn request(
        ctx: &RequestContext,
        form: Form,
        _: &Admitted,
    ) -> Result<IssueRequest, WireError> {
        let state = &ctx.state;
        if required(&form, "grant_type")? != "client_credentials" {
            return Err(valor_invalido("grant_type"));
        }
        let profile = ApiProfile {
            default_ttl: state.dialects.serproid.as_ref().and_then(|d| d.default_ttl),
            ..ApiProfile::default()
        };
        Ok(ctx.issue_request(GrantRequest::ClientCredentials { scope: None }, profile))
    }

    fn issued(issued: &Issued) -> HttpResponse {
        HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-cache, no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .json(TokenBody {
                access_token: issued.access_token.expose(),
                token_type: "Bearer",
                expires_in: issued.expires_in,
            })
    }
}

/// `POST` on the SerproID token path.
///
/// SerproID's `client_token`: a client-credentials token for a `client_secret_post` client.
#[utoipa::path(
    post,
    path = "/oauth/v0/oauth/client_token",
    tag = "SerproID",
    operation_id = "serproid_client_token",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Issued; `Cache-Control: no-cache, no-store`, `Pragma: no-cache`", body = TokenBody),
        (status = 400, description = "`VALOR_PARAMETRO_INVALIDO`: another grant type, a repeated parameter, a body that is not a UTF-8 form", body = ErrorBody),
        (status = 401, description = "`AUTENTICACAO_INVALIDA_CLIENT_OAUTH`: unknown client, wrong secret, disabled client", body = ErrorBody),
        (status = 405, description = "`VALOR_PARAMETRO_INVALIDO`: a method other than POST", body = ErrorBody),
        (status = 412, description = "`CAMPO_OBRIGATORIO` (a missing field) or `CLIENTE_OAUTH_NAO_IDENTIFICADO` (an id that cannot be a client id)", body = ErrorBody),
        (status = 413, description = "`VALOR_PARAMETRO_INVALIDO`: a body over 64 KiB", body = ErrorBody),
        (status = 429, description = "`LIMITE_REQUISICOES_EXCEDIDO`", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
        (status = 500, description = "`FALHA_TOKEN_MANUTENCAO_APLICACAO`: the server failed", body = ErrorBody),
        (status = 503, description = "`FALHA_TOKEN_MANUTENCAO_APLICACAO`: the database is unavailable; try again", body = ErrorBody,
            headers(("Retry-After" = u32, description = "Seconds to wait"))),
    )
)]
pub async fn token(ctx: RequestContext, payload: Payload) -> HttpResponse {
    super::frame::token::<SerproId>(ctx, payload).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_domain_error_maps_to_a_seed_row() {
        let cases = [
            (
                TokenError::InvalidClient,
                401,
                "AUTENTICACAO_INVALIDA_CLIENT_OAUTH",
            ),
            (
                TokenError::UnauthorizedClient,
                400,
                "VALOR_PARAMETRO_INVALIDO",
            ),
            (
                TokenError::InvalidScope(String::new()),
                400,
                "VALOR_PARAMETRO_INVALIDO",
            ),
            (
                TokenError::ServerError,
                500,
                "FALHA_TOKEN_MANUTENCAO_APLICACAO",
            ),
            (
                TokenError::TemporarilyUnavailable,
                503,
                "FALHA_TOKEN_MANUTENCAO_APLICACAO",
            ),
        ];
        for (e, status, code) in cases {
            let got = SerproId::from_token_error(&e);
            assert_eq!((got.status.as_u16(), got.code), (status, code), "{e:?}");
        }
        assert_eq!(
            campo_obrigatorio("client_id").message,
            "O campo client_id é obrigatório"
        );
    }
}
