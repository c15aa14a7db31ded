//! The SerproID dialect: `POST /oauth/v0/oauth/client_token` (by default), a form body with
//! `grant_type=client_credentials`, `client_id` and `client_secret` (`client_secret_post` only).
//!
//! Success is `{access_token, token_type, expires_in}`; errors are `{code, msg, debug}` with the
//! seed's codes and statuses, in Portuguese as the seed writes them. `debug` is always empty: it
//! never carries internals. An id that cannot be a client id is `CLIENTE_OAUTH_NAO_IDENTIFICADO`;
//! every failed authentication (unknown client, wrong secret, disabled client) is the one
//! `AUTENTICACAO_INVALIDA_CLIENT_OAUTH`, so the answer never tells which clients exist.

use actix_web::http::{StatusCode, header};
use actix_web::web::{Data, Payload};
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use tessera_domain::service::{ApiProfile, ClientAuthentication, GrantRequest, TokenRequest};
use tessera_domain::{ClientAuthMethod, ClientId, TokenError};
use utoipa::ToSchema;

use super::{BadForm, MAX_BODY, read_form};
use crate::server::HttpState;

/// One of the seed's error rows.
#[derive(Debug, PartialEq, Eq)]
pub struct SerproError {
    status: StatusCode,
    /// `Retry-After`, for 429.
    retry_after: Option<u32>,
    code: &'static str,
    msg: String,
}

fn campo_obrigatorio(field: &str) -> SerproError {
    SerproError {
        status: StatusCode::PRECONDITION_FAILED,
        retry_after: None,
        code: "CAMPO_OBRIGATORIO",
        msg: format!("O campo {field} é obrigatório"),
    }
}

fn valor_invalido(param: &str) -> SerproError {
    SerproError {
        status: StatusCode::BAD_REQUEST,
        retry_after: None,
        code: "VALOR_PARAMETRO_INVALIDO",
        msg: format!("Valor do parâmetro {param} inválido"),
    }
}

fn cliente_nao_identificado() -> SerproError {
    SerproError {
        status: StatusCode::PRECONDITION_FAILED,
        retry_after: None,
        code: "CLIENTE_OAUTH_NAO_IDENTIFICADO",
        msg: "Não foi possível identificar a aplicação cliente.".into(),
    }
}

fn autenticacao_invalida() -> SerproError {
    SerproError {
        status: StatusCode::UNAUTHORIZED,
        retry_after: None,
        code: "AUTENTICACAO_INVALIDA_CLIENT_OAUTH",
        msg: "Falha na autenticidade do client_id e client_secret.".into(),
    }
}

fn falha_interna() -> SerproError {
    SerproError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        retry_after: None,
        code: "FALHA_TOKEN_MANUTENCAO_APLICACAO",
        msg: "Erro interno na obtenção do token de manutenção da aplicação.".into(),
    }
}

/// The seed's error for each domain error.
#[must_use]
pub fn from_token_error(e: &TokenError) -> SerproError {
    match e {
        TokenError::InvalidClient => autenticacao_invalida(),
        TokenError::UnauthorizedClient
        | TokenError::UnsupportedGrantType(_)
        | TokenError::InvalidGrant(_) => valor_invalido("grant_type"),
        TokenError::InvalidScope(_) => valor_invalido("scope"),
        TokenError::InvalidRequest(_) => valor_invalido("da requisição"),
        TokenError::ServerError | TokenError::TemporarilyUnavailable => falha_interna(),
        TokenError::TooManyRequests(secs) => SerproError {
            status: StatusCode::TOO_MANY_REQUESTS,
            retry_after: Some(*secs),
            code: "LIMITE_REQUISICOES_EXCEDIDO",
            msg: "Limite de requisições excedido. Tente novamente mais tarde.".into(),
        },
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

fn render(e: &SerproError) -> HttpResponse {
    let mut builder = HttpResponse::build(e.status);
    if let Some(secs) = e.retry_after {
        builder.insert_header((header::RETRY_AFTER, secs.to_string()));
    }
    builder
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(ErrorBody {
            code: e.code,
            msg: &e.msg,
            debug: "",
        })
}

/// A SerproID token.
#[derive(Serialize, ToSchema)]
#[schema(as = SerproIdToken)]
struct TokenBody<'a> {
    /// An RFC 9068 JWT.
    access_token: &'a str,
    /// `Bearer`.
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
    #[schema(example = "client_credentials")]
    grant_type: String,
    /// The client (registered with `client_secret_post`).
    client_id: String,
    /// Its secret.
    client_secret: String,
}

/// Parses the request as the seed describes it.
async fn parse(
    req: &HttpRequest,
    payload: Payload,
    state: &HttpState,
) -> Result<TokenRequest, SerproError> {
    let form = read_form(req, payload).await.map_err(|e| match e {
        BadForm::NotForm => valor_invalido("Content-Type"),
        BadForm::TooLarge => SerproError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            retry_after: None,
            code: "VALOR_PARAMETRO_INVALIDO",
            msg: format!("Corpo da requisição maior que {MAX_BODY} bytes"),
        },
        BadForm::Repeated(name) => valor_invalido(&name),
        BadForm::NotUtf8 | BadForm::Broken => valor_invalido("do corpo da requisição"),
    })?;
    let field = |name: &'static str| form.get(name).ok_or_else(|| campo_obrigatorio(name));
    let grant_type = field("grant_type")?;
    let client_id = field("client_id")?;
    let client_secret = field("client_secret")?;
    if grant_type != "client_credentials" {
        return Err(valor_invalido("grant_type"));
    }
    if ClientId::parse(client_id).is_err() {
        return Err(cliente_nao_identificado());
    }
    let auth = ClientAuthentication::from_raw(
        ClientAuthMethod::ClientSecretPost,
        client_id,
        Some(client_secret),
    )
    .map_err(|e| from_token_error(&e))?;
    let grant = GrantRequest::ClientCredentials { scope: None };
    Ok(TokenRequest {
        certificate: None,
        source: super::source(req),
        auth,
        grant,
        profile: ApiProfile {
            default_ttl: state.dialects.serproid.as_ref().and_then(|d| d.default_ttl),
            ..ApiProfile::default()
        },
    })
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
        (status = 500, description = "`FALHA_TOKEN_MANUTENCAO_APLICACAO`: the server failed or the database is unavailable", body = ErrorBody),
    )
)]
pub async fn token(req: HttpRequest, payload: Payload, state: Data<HttpState>) -> HttpResponse {
    let request = match parse(&req, payload, &state).await {
        Ok(r) => r,
        Err(e) => return render(&e),
    };
    match crate::metrics::issue(&state, "serproid", request).await {
        Ok(issued) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-cache, no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .json(TokenBody {
                access_token: issued.access_token.expose(),
                token_type: "Bearer",
                expires_in: issued.expires_in,
            }),
        Err(e) => render(&from_token_error(&e)),
    }
}

/// Any other method on the SerproID token path.
pub async fn method_not_allowed() -> HttpResponse {
    let mut res = render(&SerproError {
        status: StatusCode::METHOD_NOT_ALLOWED,
        retry_after: None,
        code: "VALOR_PARAMETRO_INVALIDO",
        msg: "Valor do parâmetro método HTTP inválido: use POST".into(),
    });
    res.headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
    res
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
                500,
                "FALHA_TOKEN_MANUTENCAO_APLICACAO",
            ),
        ];
        for (e, status, code) in cases {
            let got = from_token_error(&e);
            assert_eq!((got.status.as_u16(), got.code), (status, code), "{e:?}");
        }
        assert_eq!(
            campo_obrigatorio("client_id").msg,
            "O campo client_id é obrigatório"
        );
    }
}
