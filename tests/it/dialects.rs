//! The vendor dialects, replaying each seed's own example request against the real binary.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::harness::{Reply, Server, Tessera, agent, basic, send};
use crate::jwt::verify;

const SERPRO: &str = "/oauth/v0/oauth/client_token";
const EAGLE: &str = "/api/id/v1/auth/token";

fn post(server: &Server, path: &str, auth: Option<&str>, body: &str) -> Reply {
    let mut req = agent()
        .post(&server.url(path))
        .set("Content-Type", "application/x-www-form-urlencoded")
        .set("cache-control", "no-cache");
    if let Some(a) = auth {
        req = req.set("Authorization", a);
    }
    send(req, Some(body.as_bytes()))
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn serpro_error(reply: &Reply, status: u16, code: &str, msg: &str) {
    assert_eq!(
        reply.status,
        status,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let body = reply.json();
    assert_eq!(
        body,
        serde_json::json!({"code": code, "msg": msg, "debug": ""})
    );
}

#[test]
fn serproid_client_token_replays_the_seed() {
    let t = Tessera::new();
    let (id, secret) = t.create_client("serpro-app", &["--auth-method", "client_secret_post"]);
    let (basic_only, basic_secret) =
        t.create_client("basic-only", &["--auth-method", "client_secret_basic"]);
    let (broken, broken_secret) = t.create_client(
        "rsa-app",
        &["--auth-method", "client_secret_post", "--alg", "PS256"],
    );
    // PS256 is switched off for this run: the client's tokens cannot be signed, a server-side fault.
    let server = t.serve(&[
        ("TESSERA_KEYS__ALGORITHMS", "ES256"),
        ("TESSERA_DIALECTS__SEMEAR__ENABLED", "false"),
    ]);

    let ok = post(
        &server,
        SERPRO,
        None,
        &format!("grant_type=client_credentials&client_id={id}&client_secret={secret}"),
    );
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    assert_eq!(ok.header("pragma"), Some("no-cache"));
    assert!(ok.header("cache-control").unwrap().contains("no-cache"));
    let body = ok.json();
    assert_eq!(
        keys(&body),
        ["access_token", "expires_in", "token_type"]
            .map(String::from)
            .into()
    );
    assert_eq!(
        (body["token_type"].as_str(), body["expires_in"].as_u64()),
        (Some("Bearer"), Some(3600))
    );
    let (_, claims) = verify(
        &server,
        body["access_token"].as_str().unwrap(),
        &server.base,
    );
    assert_eq!(claims["client_id"], id.as_str());

    let cc = "grant_type=client_credentials";
    serpro_error(
        &post(
            &server,
            SERPRO,
            None,
            &format!("client_id={id}&client_secret={secret}"),
        ),
        412,
        "CAMPO_OBRIGATORIO",
        "O campo grant_type é obrigatório",
    );
    serpro_error(
        &post(
            &server,
            SERPRO,
            None,
            &format!("{cc}&client_secret={secret}"),
        ),
        412,
        "CAMPO_OBRIGATORIO",
        "O campo client_id é obrigatório",
    );
    serpro_error(
        &post(&server, SERPRO, None, &format!("{cc}&client_id={id}")),
        412,
        "CAMPO_OBRIGATORIO",
        "O campo client_secret é obrigatório",
    );
    serpro_error(
        &post(
            &server,
            SERPRO,
            None,
            &format!("grant_type=password&client_id={id}&client_secret={secret}"),
        ),
        400,
        "VALOR_PARAMETRO_INVALIDO",
        "Valor do parâmetro grant_type inválido",
    );
    serpro_error(
        &post(
            &server,
            SERPRO,
            None,
            &format!("{cc}&client_id=not+an+id&client_secret={secret}"),
        ),
        412,
        "CLIENTE_OAUTH_NAO_IDENTIFICADO",
        "Não foi possível identificar a aplicação cliente.",
    );
    let denied = "Falha na autenticidade do client_id e client_secret.";
    serpro_error(
        &post(
            &server,
            SERPRO,
            None,
            &format!("{cc}&client_id={id}&client_secret=wrong"),
        ),
        401,
        "AUTENTICACAO_INVALIDA_CLIENT_OAUTH",
        denied,
    );
    serpro_error(
        &post(
            &server,
            SERPRO,
            None,
            &format!("{cc}&client_id=nobody&client_secret={secret}"),
        ),
        401,
        "AUTENTICACAO_INVALIDA_CLIENT_OAUTH",
        denied,
    );
    serpro_error(
        &post(
            &server,
            SERPRO,
            None,
            &format!("{cc}&client_id={basic_only}&client_secret={basic_secret}"),
        ),
        401,
        "AUTENTICACAO_INVALIDA_CLIENT_OAUTH",
        denied,
    );
    serpro_error(
        &post(
            &server,
            SERPRO,
            None,
            &format!("{cc}&client_id={broken}&client_secret={broken_secret}"),
        ),
        500,
        "FALHA_TOKEN_MANUTENCAO_APLICACAO",
        "Erro interno na obtenção do token de manutenção da aplicação.",
    );
    serpro_error(
        &post(
            &server,
            SERPRO,
            None,
            &format!("{cc}&{cc}&client_id={id}&client_secret={secret}"),
        ),
        400,
        "VALOR_PARAMETRO_INVALIDO",
        "Valor do parâmetro grant_type inválido",
    );
    let big = format!(
        "{cc}&client_id={id}&client_secret={secret}&pad={}",
        "x".repeat(70_000)
    );
    assert_eq!(post(&server, SERPRO, None, &big).status, 413);
    assert_eq!(send(agent().get(&server.url(SERPRO)), None).status, 405);
    assert!(!server.log().contains(&secret), "secrets never logged");
}

fn eagle_error(reply: &Reply, status: u16, reason: &str) -> String {
    assert_eq!(
        reply.status,
        status,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let body = reply.json();
    assert_eq!(
        keys(&body),
        ["error", "errorDescription"].map(String::from).into()
    );
    assert_eq!(body["error"], reason);
    body["errorDescription"].as_str().unwrap().to_owned()
}

#[test]
fn screening_eagle_auth_token_replays_the_seed() {
    let t = Tessera::new();
    let scopes = "openid email profile inspect";
    let (id, secret) = t.create_client(
        "integration-dev",
        &[
            "--scope",
            scopes,
            "--grant",
            "client_credentials",
            "--grant",
            "refresh_token",
            // The seed documents a refresh token from its client_credentials endpoint.
            "--refresh-with-client-credentials",
        ],
    );
    let (code_only, code_secret) = t.create_client(
        "code-only",
        &[
            "--grant",
            "authorization_code",
            "--redirect-uri",
            "https://app.example/cb",
        ],
    );
    let (broken, broken_secret) = t.create_client("rsa-app", &["--alg", "PS256"]);
    let server = t.serve(&[
        ("TESSERA_KEYS__ALGORITHMS", "ES256"),
        ("TESSERA_DIALECTS__SEMEAR__ENABLED", "false"),
    ]);
    let auth = basic(&id, &secret);

    let ok = post(
        &server,
        EAGLE,
        Some(&auth),
        &format!(
            "grant_type=client_credentials&scope={}",
            scopes.replace(' ', "%20")
        ),
    );
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    assert_eq!(ok.header("cache-control"), Some("no-store"));
    let body = ok.json();
    assert_eq!(
        keys(&body),
        [
            "access_token",
            "expires_in",
            "refresh_token",
            "scope",
            "token_type"
        ]
        .map(String::from)
        .into()
    );
    let granted: BTreeSet<&str> = body["scope"].as_str().unwrap().split(' ').collect();
    assert_eq!(granted, scopes.split(' ').collect());
    assert_eq!(
        (body["token_type"].as_str(), body["expires_in"].as_u64()),
        (Some("Bearer"), Some(604_800))
    );
    let (_, claims) = verify(
        &server,
        body["access_token"].as_str().unwrap(),
        &server.base,
    );
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        604_800
    );
    assert_eq!(claims["sub"], id.as_str());

    // Its refresh token works through the same dialect.
    let refreshed = post(
        &server,
        EAGLE,
        Some(&auth),
        &format!(
            "grant_type=refresh_token&refresh_token={}",
            body["refresh_token"].as_str().unwrap()
        ),
    );
    assert_eq!(refreshed.status, 200);
    assert_ne!(refreshed.json()["refresh_token"], body["refresh_token"]);

    let cc = "grant_type=client_credentials";
    eagle_error(&post(&server, EAGLE, None, cc), 401, "Unauthorized");
    eagle_error(
        &post(&server, EAGLE, Some(&basic(&id, "wrong")), cc),
        401,
        "Unauthorized",
    );
    assert_eq!(
        post(&server, EAGLE, Some(&basic(&id, "wrong")), cc).header("www-authenticate"),
        Some("Basic realm=\"tessera\"")
    );
    eagle_error(
        &post(&server, EAGLE, Some(&auth), "scope=openid"),
        400,
        "Bad Request",
    );
    eagle_error(
        &post(&server, EAGLE, Some(&auth), &format!("{cc}&scope=admin")),
        400,
        "Bad Request",
    );
    eagle_error(
        &post(
            &server,
            EAGLE,
            Some(&auth),
            &format!("{cc}&client_secret={secret}"),
        ),
        400,
        "Bad Request",
    );
    let unknown_code = eagle_error(
        &post(
            &server,
            EAGLE,
            Some(&basic(&code_only, &code_secret)),
            "grant_type=authorization_code&code=x",
        ),
        400,
        "Bad Request",
    );
    assert!(unknown_code.contains("invalid"), "{unknown_code}");
    eagle_error(
        &post(&server, EAGLE, Some(&basic(&code_only, &code_secret)), cc),
        403,
        "Forbidden",
    );
    eagle_error(
        &post(&server, EAGLE, Some(&basic(&broken, &broken_secret)), cc),
        500,
        "Internal Server Error",
    );
}

#[test]
fn dialects_can_be_moved_and_switched_off() {
    let t = Tessera::new();
    let (id, secret) = t.create_client("moved", &["--auth-method", "client_secret_post"]);
    let server = t.serve(&[
        ("TESSERA_DIALECTS__SERPROID__PATH", "/serpro/token"),
        ("TESSERA_DIALECTS__SCREENING_EAGLE__ENABLED", "false"),
        ("TESSERA_SERVER__ISSUER", "https://id.example.test"),
    ]);
    let body = format!("grant_type=client_credentials&client_id={id}&client_secret={secret}");
    assert_eq!(post(&server, "/serpro/token", None, &body).status, 200);
    assert_eq!(post(&server, SERPRO, None, &body).status, 404);
    assert_eq!(
        post(
            &server,
            EAGLE,
            Some(&basic(&id, &secret)),
            "grant_type=client_credentials"
        )
        .status,
        404
    );

    // The OpenAPI document says the same: the moved path, not the old one, no Screening Eagle,
    // the configured issuer as the server.
    let reply = send(agent().get(&server.url("/openapi.json")), None);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let doc = reply.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."));
    assert_eq!(doc["servers"][0]["url"], "https://id.example.test");
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(
        paths["/serpro/token"]["post"]["operationId"],
        "serproid_client_token"
    );
    assert!(!paths.contains_key(SERPRO));
    assert!(!paths.contains_key(EAGLE));
    for path in [
        "/oauth2/token",
        "/security/iam/v1/generate-token",
        "/openapi.json",
    ] {
        assert!(paths.contains_key(path), "{path}");
    }
}

const AUTHME: &str = "/security/iam/v1";

fn json_post(server: &Server, path: &str, auth: Option<&str>, body: &str) -> Reply {
    let mut req = agent()
        .post(&server.url(path))
        .set("Content-Type", "application/json");
    if let Some(a) = auth {
        req = req.set("Authorization", a);
    }
    send(req, Some(body.as_bytes()))
}

fn authme_error(reply: &Reply, status: u16, code: &str) -> String {
    assert_eq!(
        reply.status,
        status,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let body = reply.json();
    let items = body.as_array().expect("an array of errors");
    assert_eq!(items.len(), 1);
    assert_eq!(
        keys(&items[0]),
        ["code", "message"].map(String::from).into()
    );
    assert_eq!(items[0]["code"], code);
    items[0]["message"].as_str().unwrap().to_owned()
}

#[test]
fn authme_generate_token_for_clients_and_products() {
    let t = Tessera::new();
    let id = "5c6e91ed8321222db87124a3";
    let (_, secret) = t.create_client(
        id,
        &[
            "--role",
            "ROLE_CLI-1STPARTY",
            "--role",
            "ROLE_CLI-AUTH-BASIC",
        ],
    );
    let (plain, plain_secret) = t.create_client("no-roles", &["--role", "ROLE_CLI-1STPARTY"]);
    let server = t.serve(&[]);
    let auth = basic(id, &secret);
    let body = |kind: &str| {
        format!(
            r#"{{"clientId": "{id}", "defaultClientId": "6021a87ee80a460ad3791511", "tokenRequestType": "{kind}", "rememberMe": false, "loginGrantedAuthorities": "AUTH-IDENTIFIED"}}"#
        )
    };

    let ok = json_post(
        &server,
        &format!("{AUTHME}/generate-token"),
        Some(&auth),
        &body("CLIENT"),
    );
    assert_eq!(ok.status, 201, "{}", String::from_utf8_lossy(&ok.body));
    let token = ok.json();
    assert_eq!(
        keys(&token),
        ["accessToken", "expiresIn", "tokenType"]
            .map(String::from)
            .into()
    );
    assert_eq!(
        (token["tokenType"].as_str(), token["expiresIn"].as_u64()),
        (Some("Bearer"), Some(1800))
    );
    let (_, claims) = verify(
        &server,
        token["accessToken"].as_str().unwrap(),
        &server.base,
    );
    assert_eq!(claims["client_id"], id);
    assert_eq!(
        claims["roles"],
        serde_json::json!(["ROLE_CLI-1STPARTY", "ROLE_CLI-AUTH-BASIC"])
    );

    // Product tokens are opaque and validated through the product-access endpoint.
    let product = json_post(
        &server,
        &format!("{AUTHME}/generate-token"),
        Some(&auth),
        &body("PRODUCT"),
    )
    .json();
    let opaque = product["accessToken"].as_str().unwrap().to_owned();
    assert!(opaque.starts_with("tat_"), "{opaque}");
    let validate = |token: &str| {
        json_post(
            &server,
            &format!("{AUTHME}/product-accesses/validate-opaque-token"),
            Some(&auth),
            &format!(r#"{{"token": "{token}"}}"#),
        )
        .json()
    };
    let valid = validate(&opaque);
    assert_eq!(
        (valid["active"].as_bool(), valid["clientId"].as_str()),
        (Some(true), Some(id))
    );
    let again = json_post(
        &server,
        &format!("{AUTHME}/product-accesses/generate-opaque-token"),
        Some(&auth),
        &format!(r#"{{"clientId": "{id}"}}"#),
    );
    assert_eq!(again.status, 201);
    let revoke = agent()
        .post(&server.url("/oauth2/revoke"))
        .set("Content-Type", "application/x-www-form-urlencoded")
        .set("Authorization", &auth);
    assert_eq!(
        send(revoke, Some(format!("token={opaque}").as_bytes())).status,
        200
    );
    assert_eq!(validate(&opaque), serde_json::json!({"active": false}));

    // The public key endpoint publishes the JWKS.
    let public = send(
        agent().get(&server.url(&format!("{AUTHME}/public-key"))),
        None,
    )
    .json();
    assert_eq!(
        public,
        serde_json::to_value(crate::jwt::jwks(&server)).unwrap()
    );

    // The error table.
    let generate = format!("{AUTHME}/generate-token");
    assert_eq!(
        authme_error(
            &json_post(&server, &generate, Some(&auth), &body("SOMETHING")),
            400,
            "79"
        ),
        "The TokenRequestType is not implemented."
    );
    authme_error(
        &json_post(
            &server,
            &generate,
            Some(&basic(&plain, &plain_secret)),
            &body("CLIENT").replace(id, &plain),
        ),
        403,
        "11",
    );
    authme_error(
        &json_post(
            &server,
            &generate,
            Some(&basic(id, "wrong")),
            &body("CLIENT"),
        ),
        401,
        "10",
    );
    authme_error(
        &json_post(&server, &generate, None, &body("CLIENT")),
        401,
        "10",
    );
    authme_error(
        &json_post(&server, &generate, Some(&auth), "{not json"),
        400,
        "01",
    );
    authme_error(
        &post(&server, &generate, Some(&auth), "tokenRequestType=CLIENT"),
        400,
        "01",
    );
    authme_error(
        &json_post(
            &server,
            &generate,
            Some(&auth),
            &format!(r#"{{"clientId": "{id}", "loginGrantedAuthorities": "AUTH_BASIC"}}"#),
        ),
        400,
        "02",
    );
    authme_error(
        &json_post(
            &server,
            &generate,
            Some(&auth),
            &body("CLIENT").replace("AUTH-IDENTIFIED", "AUTH_SUPER"),
        ),
        400,
        "03",
    );
    authme_error(
        &json_post(
            &server,
            &generate,
            Some(&auth),
            &body("CLIENT").replace(id, "someone-else"),
        ),
        400,
        "12",
    );
}

#[test]
fn authme_user_tokens_with_params_remember_me_and_renewal() {
    let t = Tessera::new();
    let id = "5c6e91ed8321222db87124a3";
    let roles = [
        "--role",
        "ROLE_CLI-1STPARTY",
        "--role",
        "ROLE_CLI-AUTH-BASIC",
    ];
    let (_, secret) = t.create_client(id, &roles);
    let mut capped = roles.to_vec();
    capped.extend(["--max-assurance", "AUTH_BASIC"]);
    let (_, capped_secret) = t.create_client("capped", &capped);
    let user = "5ef904d4b91ac90414895f3c";
    t.cli_json(&[
        "user",
        "create",
        "--id",
        user,
        "--logon",
        "A123321B",
        "--email",
        "ana@example.com",
        "--name",
        "Ana",
    ]);
    t.cli_json(&[
        "user",
        "create",
        "--id",
        "u-gone",
        "--logon",
        "GONE1",
        "--email",
        "gone@example.com",
        "--name",
        "Gone",
    ]);
    let server = t.serve(&[]);
    let auth = basic(id, &secret);
    let path = |p: &str| format!("{AUTHME}/{p}");
    let param_for = |auth: &str, who: &str| {
        let reply = json_post(
            &server,
            &path("generate-param"),
            Some(auth),
            &format!(r#"{{"userId": "{who}"}}"#),
        );
        assert_eq!(
            reply.status,
            201,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        let body = reply.json();
        assert_eq!(body["expiresIn"], 300);
        body["param"].as_str().unwrap().to_owned()
    };
    let user_body = |param: &str, remember: bool, level: &str, client: &str| {
        format!(
            r#"{{"clientId": "{client}", "defaultClientId": "6021a87ee80a460ad3791511", "tokenRequestType": "USER", "deviceId": "604b856442b4441b91c99fe4", "userId": "{user}", "logon": "A123321B", "param": "{param}", "rememberMe": {remember}, "loginGrantedAuthorities": "{level}"}}"#
        )
    };

    // The seed's own request, with a param this client generated.
    let param = param_for(&auth, user);
    assert_eq!(param.len(), 61);
    let reply = json_post(
        &server,
        &path("generate-token"),
        Some(&auth),
        &user_body(&param, false, "AUTH-IDENTIFIED", id),
    );
    assert_eq!(
        reply.status,
        201,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let body = reply.json();
    assert_eq!(
        keys(&body),
        ["accessToken", "expiresIn", "tokenType"]
            .map(String::from)
            .into()
    );
    assert_eq!(body["expiresIn"], 1800, "30 minutes without remember-me");
    let (_, claims) = verify(&server, body["accessToken"].as_str().unwrap(), &server.base);
    assert_eq!(
        (
            claims["sub"].as_str(),
            claims["userId"].as_str(),
            claims["logon"].as_str()
        ),
        (Some(user), Some(user), Some("A123321B"))
    );
    assert_eq!(
        (claims["acr"].as_str(), claims["authorities"].clone()),
        (
            Some("AUTH-IDENTIFIED"),
            serde_json::json!(["AUTH-IDENTIFIED"])
        )
    );
    assert_eq!(
        (
            claims["deviceId"].as_str(),
            claims["defaultClientId"].as_str()
        ),
        (
            Some("604b856442b4441b91c99fe4"),
            Some("6021a87ee80a460ad3791511")
        )
    );
    assert_eq!(claims["client_id"], id);
    // A param is single-use.
    let reused = json_post(
        &server,
        &path("generate-token"),
        Some(&auth),
        &user_body(&param, false, "AUTH-IDENTIFIED", id),
    );
    authme_error(&reused, 401, "21");

    // Remember-me: a 10-minute token and a refresh token that renews the user's token.
    let reply = json_post(
        &server,
        &path("generate-token"),
        Some(&auth),
        &user_body(&param_for(&auth, user), true, "AUTH_MFA", id),
    );
    let body = reply.json();
    assert_eq!((reply.status, body["expiresIn"].as_u64()), (201, Some(600)));
    let refresh = body["refreshToken"].as_str().unwrap().to_owned();
    let (_, claims) = verify(&server, body["accessToken"].as_str().unwrap(), &server.base);
    assert_eq!(
        claims["authorities"],
        serde_json::json!(["AUTH-IDENTIFIED", "AUTH_BASIC", "AUTH_MFA"])
    );
    let again = json_post(
        &server,
        &path("generate-token"),
        Some(&auth),
        &format!(
            r#"{{"clientId": "{id}", "tokenRequestType": "REMEMBER_ME", "refreshToken": "{refresh}", "loginGrantedAuthorities": "AUTH_MFA"}}"#
        ),
    );
    assert_eq!(
        again.status,
        201,
        "{}",
        String::from_utf8_lossy(&again.body)
    );
    let again = again.json();
    let (_, claims) = verify(
        &server,
        again["accessToken"].as_str().unwrap(),
        &server.base,
    );
    assert_eq!(
        (claims["sub"].as_str(), claims["acr"].as_str()),
        (Some(user), Some("AUTH_MFA")),
        "the user context survives renewal"
    );
    let renewed = json_post(
        &server,
        &path("renew-token"),
        Some(&auth),
        &format!(
            r#"{{"refreshToken": "{}"}}"#,
            again["refreshToken"].as_str().unwrap()
        ),
    );
    assert_eq!(renewed.status, 201);
    assert_eq!(renewed.json()["expiresIn"], 600);
    authme_error(
        &json_post(
            &server,
            &path("renew-token"),
            Some(&auth),
            &format!(r#"{{"refreshToken": "{refresh}"}}"#),
        ),
        401,
        "30",
    );

    // A client limited to AUTH_BASIC cannot mint stronger tokens.
    let capped_auth = basic("capped", &capped_secret);
    let strong = user_body(
        &param_for(&capped_auth, user),
        false,
        "AUTH_STRONG",
        "capped",
    );
    authme_error(
        &json_post(
            &server,
            &path("generate-token"),
            Some(&capped_auth),
            &strong,
        ),
        403,
        "11",
    );
    // Another client's param, or a param for someone else, is refused.
    let foreign = param_for(&capped_auth, user);
    authme_error(
        &json_post(
            &server,
            &path("generate-token"),
            Some(&auth),
            &user_body(&foreign, false, "AUTH_BASIC", id),
        ),
        401,
        "21",
    );
    let other_user = param_for(&auth, "u-gone");
    authme_error(
        &json_post(
            &server,
            &path("generate-token"),
            Some(&auth),
            &user_body(&other_user, false, "AUTH_BASIC", id),
        ),
        401,
        "21",
    );
    // Disabled users: a pending param stops working, and no new one is issued.
    let pending = json_post(
        &server,
        &path("generate-param"),
        Some(&auth),
        r#"{"logon": "GONE1"}"#,
    )
    .json()["param"]
        .as_str()
        .unwrap()
        .to_owned();
    let remembered = json_post(
        &server,
        &path("generate-token"),
        Some(&auth),
        &format!(
            r#"{{"clientId": "{id}", "tokenRequestType": "USER", "userId": "u-gone", "param": "{}", "rememberMe": true, "loginGrantedAuthorities": "AUTH_BASIC"}}"#,
            param_for(&auth, "u-gone")
        ),
    )
    .json()["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    t.cli_json(&["user", "disable", "u-gone"]);
    authme_error(
        &json_post(
            &server,
            &path("renew-token"),
            Some(&auth),
            &format!(r#"{{"refreshToken": "{remembered}"}}"#),
        ),
        401,
        "30",
    );
    let body = format!(
        r#"{{"clientId": "{id}", "tokenRequestType": "USER", "userId": "u-gone", "param": "{pending}", "loginGrantedAuthorities": "AUTH_BASIC"}}"#
    );
    authme_error(
        &json_post(&server, &path("generate-token"), Some(&auth), &body),
        403,
        "22",
    );
    authme_error(
        &json_post(
            &server,
            &path("generate-param"),
            Some(&auth),
            r#"{"userId": "u-gone"}"#,
        ),
        404,
        "20",
    );
    authme_error(
        &json_post(&server, &path("generate-param"), Some(&auth), r#"{}"#),
        400,
        "02",
    );
    authme_error(
        &json_post(
            &server,
            &path("generate-token"),
            Some(&auth),
            &format!(
                r#"{{"clientId": "{id}", "tokenRequestType": "USER", "loginGrantedAuthorities": "AUTH_BASIC"}}"#
            ),
        ),
        400,
        "02",
    );
}

const SEMEAR: &str = "/oauth-apipix/oauth/token";
const PIX_SCOPES: &str = "cob.write cob.read cobv.write cobv.read lotecobv.write lotecobv.read pix.write pix.read webhook.read webhook.write payloadlocation.write payloadlocation.read GI_006_ENDERECAMENTO_CLIENTE_CONSULTA_CHAVE:GET";

/// A self-signed certificate made for the test: its PEM and its RFC 8705 thumbprint.
fn certificate(name: &str) -> (String, String) {
    use base64::Engine as _;
    use sha2::Digest as _;
    let cert = rcgen::generate_simple_self_signed(vec![name.to_owned()]).unwrap();
    let thumbprint = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(cert.cert.der()));
    (cert.cert.pem(), thumbprint)
}

fn semear_request(
    server: &Server,
    cert: Option<&str>,
    gateway: Option<&str>,
    id: &str,
    secret: &str,
) -> Reply {
    let mut req = agent()
        .post(&server.url(SEMEAR))
        .set("Content-Type", "application/x-www-form-urlencoded");
    if let Some(c) = cert {
        req = req.set("client-cert", c);
    }
    if let Some(g) = gateway {
        req = req.set("access_token", g);
    }
    let body = format!(
        "client_id={id}&client_secret={secret}&grant_type=client_credentials&scope={}",
        PIX_SCOPES.replace(' ', "%20").replace(':', "%3A")
    );
    send(req, Some(body.as_bytes()))
}

#[test]
fn semear_pix_token_is_bound_to_the_forwarded_certificate() {
    let t = Tessera::new();
    let dir = tempfile::tempdir().unwrap();
    let (pem, thumbprint) = certificate("pix-app");
    let (next_pem, next_thumbprint) = certificate("pix-app-next");
    let (stranger_pem, _) = certificate("someone-else");
    let (cert_file, next_file) = (dir.path().join("app.pem"), dir.path().join("next.pem"));
    std::fs::write(&cert_file, &pem).unwrap();
    std::fs::write(&next_file, &next_pem).unwrap();
    let (id, secret) = t.create_client(
        "appl_spiAutbank_hml",
        &[
            "--auth-method",
            "client_secret_post",
            "--scope",
            PIX_SCOPES,
            "--cert",
            cert_file.to_str().unwrap(),
            "--cert",
            next_file.to_str().unwrap(),
        ],
    );
    let shown = t.cli_json(&["client", "show", &id]);
    assert_eq!(
        shown["cert_thumbprints"],
        serde_json::json!([thumbprint, next_thumbprint])
    );
    let (gateway_id, gateway_secret) = t.create_client("pix-gateway", &[]);
    let server = t.serve(&[("TESSERA_DIALECTS__SEMEAR__TRUST_CLIENT_CERT_HEADER", "true")]);
    let gateway = crate::harness::token_request(
        &server,
        Some(&basic(&gateway_id, &gateway_secret)),
        "grant_type=client_credentials",
    )
    .json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // The seed's request, with the certificate URL-encoded as a gateway forwards it.
    let encoded: String = pem
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let ok = semear_request(&server, Some(&encoded), Some(&gateway), &id, &secret);
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    let body = ok.json();
    assert_eq!(
        keys(&body),
        ["access_token", "expires_in", "token_type"]
            .map(String::from)
            .into()
    );
    assert_eq!(
        (body["token_type"].as_str(), body["expires_in"].as_u64()),
        (Some("Bearer"), Some(3600))
    );
    let access = body["access_token"].as_str().unwrap();
    let (header, claims) = verify(&server, access, &server.base);
    assert_eq!(
        header.alg,
        jsonwebtoken::Algorithm::RS256,
        "the seed's sample is RS256"
    );
    assert_eq!(claims["cnf"], serde_json::json!({"x5t#S256": thumbprint}));
    assert_eq!(
        (claims["client_id"].as_str(), claims["cid"].as_str()),
        (Some(id.as_str()), Some(id.as_str()))
    );
    let granted: BTreeSet<&str> = claims["scope"].as_str().unwrap().split(' ').collect();
    assert_eq!(granted, PIX_SCOPES.split(' ').collect());
    // Introspection reports the binding.
    let introspected = send(
        agent()
            .post(&server.url("/oauth2/introspect"))
            .set("Content-Type", "application/x-www-form-urlencoded"),
        Some(format!("token={access}&client_id={id}&client_secret={secret}").as_bytes()),
    );
    assert_eq!(introspected.status, 200);
    assert_eq!(
        introspected.json()["cnf"],
        serde_json::json!({"x5t#S256": thumbprint})
    );
    // The second registered certificate works too (rollover), with spaces for newlines.
    let rolled = semear_request(
        &server,
        Some(&next_pem.replace('\n', " ")),
        Some(&gateway),
        &id,
        &secret,
    );
    assert_eq!(rolled.status, 200);
    let (_, claims) = verify(
        &server,
        rolled.json()["access_token"].as_str().unwrap(),
        &server.base,
    );
    assert_eq!(claims["cnf"]["x5t#S256"], next_thumbprint.as_str());

    let check = |reply: Reply, status: u16, code: &str| {
        assert_eq!(
            (reply.status, reply.json()["error"].as_str()),
            (status, Some(code)),
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
    };
    check(
        semear_request(
            &server,
            Some(&stranger_pem.replace('\n', " ")),
            Some(&gateway),
            &id,
            &secret,
        ),
        401,
        "invalid_client",
    );
    check(
        semear_request(&server, None, Some(&gateway), &id, &secret),
        401,
        "invalid_client",
    );
    check(
        semear_request(&server, Some(&encoded), None, &id, &secret),
        401,
        "invalid_client",
    );
    check(
        semear_request(&server, Some(&encoded), Some("not-a-token"), &id, &secret),
        401,
        "invalid_client",
    );
    check(
        semear_request(&server, Some("garbage"), Some(&gateway), &id, &secret),
        401,
        "invalid_client",
    );
    check(
        semear_request(&server, Some(&encoded), Some(&gateway), &id, "wrong"),
        401,
        "invalid_client",
    );
    // A client with a registered certificate cannot get a token without presenting it.
    check(
        crate::harness::token_request(
            &server,
            None,
            &format!("grant_type=client_credentials&client_id={id}&client_secret={secret}"),
        ),
        401,
        "invalid_client",
    );
}

#[test]
fn semear_refuses_the_certificate_header_unless_told_a_gateway_sets_it() {
    let t = Tessera::new();
    let dir = tempfile::tempdir().unwrap();
    let (pem, _) = certificate("pix-app");
    let file = dir.path().join("app.pem");
    std::fs::write(&file, &pem).unwrap();
    let (id, secret) = t.create_client(
        "pix",
        &[
            "--auth-method",
            "client_secret_post",
            "--scope",
            PIX_SCOPES,
            "--cert",
            file.to_str().unwrap(),
        ],
    );
    let (gateway_id, gateway_secret) = t.create_client("gw", &[]);
    let server = t.serve(&[]);
    let gateway = crate::harness::token_request(
        &server,
        Some(&basic(&gateway_id, &gateway_secret)),
        "grant_type=client_credentials",
    )
    .json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = semear_request(
        &server,
        Some(&pem.replace('\n', " ")),
        Some(&gateway),
        &id,
        &secret,
    );
    assert_eq!(
        (reply.status, reply.json()["error"].as_str()),
        (401, Some("invalid_client"))
    );
}

/// Every endpoint of every dialect answers a failed client authentication with its own 401
/// before it judges anything else in the request: a body that is wrong in other ways too (a
/// missing grant type, a mismatched `clientId`, no token) changes nothing.
#[test]
fn a_failed_authentication_is_the_dialects_401_whatever_else_is_wrong() {
    let t = Tessera::new();
    let (serpro, _) = t.create_client("serpro-auth", &["--auth-method", "client_secret_post"]);
    let (eagle, _) = t.create_client("eagle-auth", &[]);
    let (authme, _) = t.create_client(
        "authme-auth",
        &[
            "--role",
            "ROLE_CLI-1STPARTY",
            "--role",
            "ROLE_CLI-AUTH-BASIC",
        ],
    );
    let server = t.serve(&[]);
    let wrong = |id: &str| basic(id, "wrong-secret");

    // RFC 6749: no grant_type, wrong secret; revocation and introspection without a token.
    for path in ["/oauth2/token", "/oauth2/revoke", "/oauth2/introspect"] {
        let reply = post(&server, path, Some(&wrong(&eagle)), "scope=a");
        assert_eq!(reply.status, 401, "{path}");
        assert_eq!(reply.json()["error"], "invalid_client", "{path}");
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Basic realm=\"tessera\""),
            "{path}"
        );
    }
    // SerproID: no grant_type.
    serpro_error(
        &post(
            &server,
            SERPRO,
            None,
            &format!("client_id={serpro}&client_secret=wrong"),
        ),
        401,
        "AUTENTICACAO_INVALIDA_CLIENT_OAUTH",
        "Falha na autenticidade do client_id e client_secret.",
    );
    // Screening Eagle: a repeated parameter and a secret in the body.
    let reply = post(
        &server,
        EAGLE,
        Some(&wrong(&eagle)),
        "grant_type=x&grant_type=y&client_secret=z",
    );
    assert_eq!(
        eagle_error(&reply, 401, "Unauthorized"),
        "client authentication failed"
    );
    // Screening Eagle without credentials: 401 even with a body that is not a form.
    let reply = send(
        agent()
            .post(&server.url(EAGLE))
            .set("Content-Type", "text/plain"),
        Some(b"nonsense"),
    );
    assert_eq!(reply.status, 401);
    // AuthMe: a clientId that is not the caller, a body that is not JSON, no user, no token.
    for (path, body) in [
        (
            "/generate-token",
            r#"{"clientId": "someone-else"}"#.to_owned(),
        ),
        (
            "/product-accesses/generate-opaque-token",
            "not json".to_owned(),
        ),
        ("/generate-param", "{}".to_owned()),
        ("/renew-token", "{}".to_owned()),
        ("/product-accesses/validate-opaque-token", "{}".to_owned()),
    ] {
        let reply = json_post(
            &server,
            &format!("{AUTHME}{path}"),
            Some(&wrong(&authme)),
            &body,
        );
        assert_eq!(
            authme_error(&reply, 401, "10"),
            "Client authentication failed.",
            "{path}"
        );
    }
    // Pix: no gateway token, no certificate, wrong secret: the 401 is for the secret.
    let reply = post(
        &server,
        SEMEAR,
        None,
        &format!("client_id={eagle}&client_secret=wrong&grant_type=password"),
    );
    assert_eq!(reply.status, 401);
    assert_eq!(reply.json()["error"], "invalid_client");
}
