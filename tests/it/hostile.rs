//! Hostile input over every endpoint and dialect: each case gets the exact status and error its
//! spec or dialect gives, and none gets a 500, a panic or a token.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use crate::harness::{Reply, Server, Tessera, agent, basic, send, token_request};

const FORM: &str = "application/x-www-form-urlencoded";
const SERPRO: &str = "/oauth/v0/oauth/client_token";
const EAGLE: &str = "/api/id/v1/auth/token";
const PIX: &str = "/oauth-apipix/oauth/token";
const AUTHME: &str = "/security/iam/v1";

/// What a case must answer.
enum Expect {
    /// RFC 6749 JSON: `error`.
    Oauth(&'static str),
    /// SerproID: `code`.
    Serpro(&'static str),
    /// Screening Eagle: `error` (the reason phrase).
    Eagle(&'static str),
    /// AuthMe: the first row's `code`.
    AuthMe(&'static str),
    /// Introspection: `{"active": false}`.
    Inactive,
    /// An HTML page (never a redirect) containing the text.
    Page(&'static str),
    /// A redirect back to the client with this `error`.
    Redirect(&'static str),
}

struct Case {
    name: &'static str,
    method: &'static str,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    status: u16,
    expect: Expect,
}

fn case(
    name: &'static str,
    method: &'static str,
    path: &str,
    headers: Vec<(&'static str, String)>,
    body: impl Into<Vec<u8>>,
    status: u16,
    expect: Expect,
) -> Case {
    Case {
        name,
        method,
        path: path.to_owned(),
        headers,
        body: body.into(),
        status,
        expect,
    }
}

fn form(extra: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
    let mut h = vec![("Content-Type", FORM.to_owned())];
    h.extend_from_slice(extra);
    h
}

fn run(server: &Server, c: &Case) -> Reply {
    // Redirects are answers here: never follow them.
    let mut req = ureq::AgentBuilder::new()
        .redirects(0)
        .build()
        .request(c.method, &server.url(&c.path));
    for (k, v) in &c.headers {
        req = req.set(k, v);
    }
    let body = (c.method != "GET").then_some(c.body.as_slice());
    send(req, body)
}

fn check(server: &Server, c: &Case) {
    let reply = run(server, c);
    let text = String::from_utf8_lossy(&reply.body).into_owned();
    assert_eq!(reply.status, c.status, "{}: {text}", c.name);
    assert!(reply.status < 500, "{}: a server error", c.name);
    for token_field in [
        "\"access_token\"",
        "\"refresh_token\"",
        "\"id_token\"",
        "\"param\"",
    ] {
        assert!(
            !text.contains(token_field),
            "{}: issued something: {text}",
            c.name
        );
    }
    let json = || -> Value {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("{}: not JSON: {text}", c.name))
    };
    // RFC 6749 §5.2 and §4.1.2.1: an error_description holds %x20-21 / %x23-5B / %x5D-7E only,
    // whatever the hostile request reflected into it.
    let description_ok = |d: &str| {
        d.chars()
            .all(|ch| matches!(ch, '\x20'..='\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E'))
    };
    if let Ok(body) = serde_json::from_str::<Value>(&text) {
        for d in [&body["error_description"], &body["errorDescription"]] {
            if let Some(d) = d.as_str() {
                assert!(description_ok(d), "{}: error_description {d:?}", c.name);
            }
        }
    }
    if let Some(d) = reply
        .header("location")
        .and_then(|l| crate::oidc::query_param(l, "error_description"))
    {
        assert!(description_ok(&d), "{}: error_description {d:?}", c.name);
    }
    match c.expect {
        Expect::Oauth(code) => assert_eq!(json()["error"], code, "{}", c.name),
        Expect::Serpro(code) => assert_eq!(json()["code"], code, "{}", c.name),
        Expect::Eagle(reason) => assert_eq!(json()["error"], reason, "{}", c.name),
        Expect::AuthMe(code) => assert_eq!(json()[0]["code"], code, "{}", c.name),
        Expect::Inactive => assert_eq!(json(), json!({"active": false}), "{}", c.name),
        Expect::Page(fragment) => {
            assert!(reply.header("location").is_none(), "{}: redirected", c.name);
            assert!(text.contains(fragment), "{}: {text}", c.name);
        }
        Expect::Redirect(error) => {
            let location = reply.header("location").unwrap_or_default();
            assert!(
                location.contains(&format!("error={error}")),
                "{}: {location}",
                c.name
            );
        }
    }
}

/// A JWT with any header and claims, signed (or not) as the caller says.
fn jwt(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

/// A token signed by a key this server never published, with the given header fields.
fn foreign(server: &Server, header: Value) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let encoding = jsonwebtoken::EncodingKey::from_ec_der(&key.serialize_der());
    let mut h: jsonwebtoken::Header = serde_json::from_value(header).unwrap();
    h.alg = jsonwebtoken::Algorithm::ES256;
    jsonwebtoken::encode(&h, &claims(server), &encoding).unwrap()
}

fn claims(server: &Server) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    json!({
        "iss": server.base, "sub": "svc", "aud": server.base, "client_id": "svc",
        "exp": now + 600, "iat": now, "jti": "forged", "scope": "read"
    })
}

#[test]
#[allow(clippy::too_many_lines)]
fn hostile_input_gets_the_exact_error_and_never_a_500_or_a_token() {
    let t = Tessera::new();
    let (id, secret) = t.create_client(
        "svc",
        &[
            "--scope",
            "read",
            "--auth-method",
            "client_secret_basic",
            "--auth-method",
            "client_secret_post",
            "--grant",
            "client_credentials",
            "--grant",
            "refresh_token",
        ],
    );
    let (short, short_secret) = t.create_client("short", &["--ttl", "1"]);
    let (authme, authme_secret) = t.create_client(
        "authme",
        &[
            "--role",
            "ROLE_CLI-1STPARTY",
            "--role",
            "ROLE_CLI-AUTH-BASIC",
        ],
    );
    let (web, web_secret) = t.create_client(
        "web",
        &[
            "--grant",
            "authorization_code",
            "--redirect-uri",
            "https://app.example/cb",
            "--scope",
            "openid",
        ],
    );
    let server = t.serve(&[("TESSERA_DIALECTS__SEMEAR__TRUST_CLIENT_CERT_HEADER", "true")]);
    let ok = basic(&id, &secret);
    let auth = || vec![("Authorization", ok.clone())];
    let cc = "grant_type=client_credentials";

    // Tokens for the introspection cases.
    let kid = crate::jwt::jwks(&server).keys[0]
        .common
        .key_id
        .clone()
        .unwrap();
    let expired =
        token_request(&server, Some(&basic(&short, &short_secret)), cc).json()["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
    let revoked = token_request(&server, Some(&ok), cc).json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = send(
        agent()
            .post(&server.url("/oauth2/revoke"))
            .set("Authorization", &ok)
            .set("Content-Type", FORM),
        Some(format!("token={revoked}").as_bytes()),
    );
    assert_eq!(r.status, 200);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let none = jwt(
        &json!({"alg": "none", "typ": "at+jwt", "kid": kid}),
        &claims(&server),
        b"",
    );
    // HS256 "signed" with the public key's own bytes (the classic key-confusion attack).
    let jwks_text =
        String::from_utf8(send(agent().get(&server.url("/oauth2/jwks")), None).body).unwrap();
    let hs256 = jsonwebtoken::encode(
        &jsonwebtoken::Header {
            alg: jsonwebtoken::Algorithm::HS256,
            typ: Some("at+jwt".into()),
            kid: Some(kid.clone()),
            ..jsonwebtoken::Header::default()
        },
        &claims(&server),
        &jsonwebtoken::EncodingKey::from_secret(jwks_text.as_bytes()),
    )
    .unwrap();
    let foreign_kid = foreign(
        &server,
        json!({"typ": "at+jwt", "kid": "not-ours", "alg": "ES256"}),
    );
    let jku = foreign(
        &server,
        json!({"typ": "at+jwt", "kid": kid, "alg": "ES256", "jku": "https://evil.example/jwks"}),
    );
    let x5u = foreign(
        &server,
        json!({"typ": "at+jwt", "kid": kid, "alg": "ES256", "x5u": "https://evil.example/cert"}),
    );
    let future = jwt(
        &json!({"alg": "ES256", "typ": "at+jwt", "kid": kid}),
        &json!({"nbf": 4_000_000_000_u64, "exp": 4_000_000_100_u64}),
        &[0; 64],
    );
    let introspect = |name, token: &str| {
        case(
            name,
            "POST",
            "/oauth2/introspect",
            form(&[("Authorization", ok.clone())]),
            format!("token={token}"),
            200,
            Expect::Inactive,
        )
    };
    let big = "a".repeat(70 * 1024);
    let authme_auth = || {
        vec![
            ("Authorization", basic(&authme, &authme_secret)),
            ("Content-Type", "application/json".to_owned()),
        ]
    };
    let authorize = |query: &str| {
        case(
            "authorize",
            "GET",
            &format!("/oauth2/authorize?{query}"),
            vec![],
            "",
            400,
            Expect::Page("Sign-in cannot continue"),
        )
    };
    let good_authorize = format!(
        "response_type=code&client_id={web}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
    );

    let cases = vec![
        // RFC 6749 token endpoint: parameters.
        case(
            "no grant_type",
            "POST",
            "/oauth2/token",
            form(&auth()),
            "",
            400,
            Expect::Oauth("invalid_request"),
        ),
        case(
            "empty grant_type",
            "POST",
            "/oauth2/token",
            form(&auth()),
            "grant_type=",
            400,
            Expect::Oauth("invalid_request"),
        ),
        case(
            "repeated grant_type",
            "POST",
            "/oauth2/token",
            form(&auth()),
            "grant_type=client_credentials&grant_type=client_credentials",
            400,
            Expect::Oauth("invalid_request"),
        ),
        case(
            "repeated scope",
            "POST",
            "/oauth2/token",
            form(&auth()),
            "grant_type=client_credentials&scope=read&scope=read",
            400,
            Expect::Oauth("invalid_request"),
        ),
        case(
            "unknown grant_type",
            "POST",
            "/oauth2/token",
            form(&auth()),
            "grant_type=password",
            400,
            Expect::Oauth("unsupported_grant_type"),
        ),
        case(
            "grant_type with NUL",
            "POST",
            "/oauth2/token",
            form(&auth()),
            "grant_type=client_credentials%00",
            400,
            Expect::Oauth("unsupported_grant_type"),
        ),
        case(
            "invalid UTF-8",
            "POST",
            "/oauth2/token",
            form(&auth()),
            "grant_type=%FF%FE",
            400,
            Expect::Oauth("invalid_request"),
        ),
        case(
            "raw invalid UTF-8",
            "POST",
            "/oauth2/token",
            form(&auth()),
            b"grant_type=\xff\xfe".to_vec(),
            400,
            Expect::Oauth("invalid_request"),
        ),
        case(
            "oversized body",
            "POST",
            "/oauth2/token",
            form(&auth()),
            format!("grant_type=client_credentials&pad={big}"),
            413,
            Expect::Oauth("invalid_request"),
        ),
        case(
            "oversized scope",
            "POST",
            "/oauth2/token",
            form(&auth()),
            format!("grant_type=client_credentials&scope={}", "s ".repeat(200)),
            400,
            Expect::Oauth("invalid_scope"),
        ),
        case(
            "scope with a newline",
            "POST",
            "/oauth2/token",
            form(&auth()),
            "grant_type=client_credentials&scope=read%0Awrite",
            400,
            Expect::Oauth("invalid_scope"),
        ),
        case(
            "scope with a quote",
            "POST",
            "/oauth2/token",
            form(&auth()),
            "grant_type=client_credentials&scope=re%22ad",
            400,
            Expect::Oauth("invalid_scope"),
        ),
        case(
            "scope not allowed",
            "POST",
            "/oauth2/token",
            form(&auth()),
            "grant_type=client_credentials&scope=admin",
            400,
            Expect::Oauth("invalid_scope"),
        ),
        case(
            "garbage refresh token",
            "POST",
            "/oauth2/token",
            form(&auth()),
            "grant_type=refresh_token&refresh_token=trt_garbage",
            400,
            Expect::Oauth("invalid_grant"),
        ),
        case(
            "huge refresh token",
            "POST",
            "/oauth2/token",
            form(&auth()),
            format!(
                "grant_type=refresh_token&refresh_token={}",
                "x".repeat(10_000)
            ),
            400,
            Expect::Oauth("invalid_grant"),
        ),
        case(
            "garbage code",
            "POST",
            "/oauth2/token",
            form(&[("Authorization", basic(&web, &web_secret))]),
            "grant_type=authorization_code&code=tac_garbage&redirect_uri=x",
            400,
            Expect::Oauth("invalid_grant"),
        ),
        // Content types.
        case(
            "JSON body",
            "POST",
            "/oauth2/token",
            vec![
                ("Authorization", ok.clone()),
                ("Content-Type", "application/json".into()),
            ],
            "{\"grant_type\":\"client_credentials\"}",
            400,
            Expect::Oauth("invalid_request"),
        ),
        case(
            "no content type",
            "POST",
            "/oauth2/token",
            auth(),
            cc,
            400,
            Expect::Oauth("invalid_request"),
        ),
        case(
            "text/plain",
            "POST",
            "/oauth2/token",
            vec![
                ("Authorization", ok.clone()),
                ("Content-Type", "text/plain".into()),
            ],
            cc,
            400,
            Expect::Oauth("invalid_request"),
        ),
        case(
            "multipart",
            "POST",
            "/oauth2/token",
            vec![
                ("Authorization", ok.clone()),
                ("Content-Type", "multipart/form-data; boundary=x".into()),
            ],
            "--x--",
            400,
            Expect::Oauth("invalid_request"),
        ),
        case(
            "GET",
            "GET",
            "/oauth2/token",
            auth(),
            "",
            405,
            Expect::Oauth("invalid_request"),
        ),
        // Client authentication.
        case(
            "no authentication",
            "POST",
            "/oauth2/token",
            form(&[]),
            cc,
            401,
            Expect::Oauth("invalid_client"),
        ),
        case(
            "Basic not base64",
            "POST",
            "/oauth2/token",
            form(&[("Authorization", "Basic !!!notbase64".into())]),
            cc,
            401,
            Expect::Oauth("invalid_client"),
        ),
        case(
            "Basic without colon",
            "POST",
            "/oauth2/token",
            form(&[(
                "Authorization",
                format!("Basic {}", STANDARD.encode("nocolon")),
            )]),
            cc,
            401,
            Expect::Oauth("invalid_client"),
        ),
        case(
            "Basic empty",
            "POST",
            "/oauth2/token",
            form(&[("Authorization", "Basic ".into())]),
            cc,
            401,
            Expect::Oauth("invalid_client"),
        ),
        case(
            "Basic with invalid UTF-8",
            "POST",
            "/oauth2/token",
            form(&[(
                "Authorization",
                format!("Basic {}", STANDARD.encode(b"\xff:\xfe")),
            )]),
            cc,
            401,
            Expect::Oauth("invalid_client"),
        ),
        case(
            "Bearer instead of Basic",
            "POST",
            "/oauth2/token",
            form(&[("Authorization", "Bearer abc".into())]),
            cc,
            401,
            Expect::Oauth("invalid_client"),
        ),
        case(
            "both methods at once",
            "POST",
            "/oauth2/token",
            form(&auth()),
            format!("{cc}&client_id={id}&client_secret={secret}"),
            400,
            Expect::Oauth("invalid_request"),
        ),
        case(
            "SQL-shaped client_id",
            "POST",
            "/oauth2/token",
            form(&[]),
            format!("{cc}&client_id=%27%20OR%201%3D1%20--&client_secret={secret}"),
            401,
            Expect::Oauth("invalid_client"),
        ),
        case(
            "path-traversal client_id",
            "POST",
            "/oauth2/token",
            form(&[]),
            format!("{cc}&client_id=..%2F..%2Fetc%2Fpasswd&client_secret={secret}"),
            401,
            Expect::Oauth("invalid_client"),
        ),
        case(
            "client_id with NUL",
            "POST",
            "/oauth2/token",
            form(&[]),
            format!("{cc}&client_id=svc%00&client_secret={secret}"),
            401,
            Expect::Oauth("invalid_client"),
        ),
        case(
            "oversized client_id",
            "POST",
            "/oauth2/token",
            form(&[]),
            format!("{cc}&client_id={}&client_secret={secret}", "c".repeat(5000)),
            401,
            Expect::Oauth("invalid_client"),
        ),
        // Introspection of tokens that must not be active.
        introspect("alg none", &none),
        introspect("HS256 with the public key", &hs256),
        introspect("foreign kid", &foreign_kid),
        introspect("jku header", &jku),
        introspect("x5u header", &x5u),
        introspect("not yet valid, bad signature", &future),
        introspect("expired", &expired),
        introspect("revoked", &revoked),
        introspect("not a token", "abc"),
        introspect("trailing dot", &format!("{expired}.")),
        case(
            "introspect without token",
            "POST",
            "/oauth2/introspect",
            form(&auth()),
            "",
            400,
            Expect::Oauth("invalid_request"),
        ),
        case(
            "introspect without auth",
            "POST",
            "/oauth2/introspect",
            form(&[]),
            "token=x",
            401,
            Expect::Oauth("invalid_client"),
        ),
        case(
            "revoke without token",
            "POST",
            "/oauth2/revoke",
            form(&auth()),
            "",
            400,
            Expect::Oauth("invalid_request"),
        ),
        case(
            "revoke with bad auth",
            "POST",
            "/oauth2/revoke",
            form(&[("Authorization", basic(&id, "tsec_x"))]),
            "token=x",
            401,
            Expect::Oauth("invalid_client"),
        ),
        // SerproID.
        case(
            "serpro: no client_id",
            "POST",
            SERPRO,
            form(&[]),
            format!("grant_type=client_credentials&client_secret={secret}"),
            412,
            Expect::Serpro("CAMPO_OBRIGATORIO"),
        ),
        case(
            "serpro: no client_secret",
            "POST",
            SERPRO,
            form(&[]),
            format!("grant_type=client_credentials&client_id={id}"),
            412,
            Expect::Serpro("CAMPO_OBRIGATORIO"),
        ),
        case(
            "serpro: wrong grant",
            "POST",
            SERPRO,
            form(&[]),
            format!("grant_type=password&client_id={id}&client_secret={secret}"),
            400,
            Expect::Serpro("VALOR_PARAMETRO_INVALIDO"),
        ),
        case(
            "serpro: SQL client_id",
            "POST",
            SERPRO,
            form(&[]),
            format!(
                "grant_type=client_credentials&client_id=%27%20OR%201%3D1&client_secret={secret}"
            ),
            412,
            Expect::Serpro("CLIENTE_OAUTH_NAO_IDENTIFICADO"),
        ),
        case(
            "serpro: wrong secret",
            "POST",
            SERPRO,
            form(&[]),
            format!("grant_type=client_credentials&client_id={id}&client_secret=tsec_x"),
            401,
            Expect::Serpro("AUTENTICACAO_INVALIDA_CLIENT_OAUTH"),
        ),
        case(
            "serpro: repeated parameter",
            "POST",
            SERPRO,
            form(&[]),
            format!(
                "grant_type=client_credentials&grant_type=client_credentials&client_id={id}&client_secret={secret}"
            ),
            400,
            Expect::Serpro("VALOR_PARAMETRO_INVALIDO"),
        ),
        case(
            "serpro: JSON body",
            "POST",
            SERPRO,
            vec![("Content-Type", "application/json".into())],
            "{}",
            400,
            Expect::Serpro("VALOR_PARAMETRO_INVALIDO"),
        ),
        case(
            "serpro: oversized",
            "POST",
            SERPRO,
            form(&[]),
            format!("pad={big}"),
            413,
            Expect::Serpro("VALOR_PARAMETRO_INVALIDO"),
        ),
        // Screening Eagle.
        case(
            "eagle: no auth",
            "POST",
            EAGLE,
            form(&[]),
            cc,
            401,
            Expect::Eagle("Unauthorized"),
        ),
        case(
            "eagle: malformed Basic",
            "POST",
            EAGLE,
            form(&[("Authorization", "Basic %%%".into())]),
            cc,
            401,
            Expect::Eagle("Unauthorized"),
        ),
        case(
            "eagle: secret in the body",
            "POST",
            EAGLE,
            form(&auth()),
            format!("{cc}&client_secret={secret}"),
            400,
            Expect::Eagle("Bad Request"),
        ),
        case(
            "eagle: unknown grant",
            "POST",
            EAGLE,
            form(&auth()),
            "grant_type=implicit",
            400,
            Expect::Eagle("Bad Request"),
        ),
        case(
            "eagle: invalid UTF-8",
            "POST",
            EAGLE,
            form(&auth()),
            "grant_type=%C3%28",
            400,
            Expect::Eagle("Bad Request"),
        ),
        case(
            "eagle: oversized",
            "POST",
            EAGLE,
            form(&auth()),
            format!("pad={big}"),
            413,
            Expect::Eagle("Payload Too Large"),
        ),
        // AuthMe.
        case(
            "authme: not JSON",
            "POST",
            &format!("{AUTHME}/generate-token"),
            authme_auth(),
            "{not json",
            400,
            Expect::AuthMe("01"),
        ),
        case(
            "authme: no tokenRequestType",
            "POST",
            &format!("{AUTHME}/generate-token"),
            authme_auth(),
            "{\"clientId\":\"authme\"}",
            400,
            Expect::AuthMe("02"),
        ),
        case(
            "authme: unknown tokenRequestType",
            "POST",
            &format!("{AUTHME}/generate-token"),
            authme_auth(),
            "{\"clientId\":\"authme\",\"tokenRequestType\":\"ADMIN\",\"loginGrantedAuthorities\":\"AUTH_BASIC\"}",
            400,
            Expect::AuthMe("79"),
        ),
        case(
            "authme: no auth",
            "POST",
            &format!("{AUTHME}/generate-token"),
            vec![("Content-Type", "application/json".into())],
            "{}",
            401,
            Expect::AuthMe("10"),
        ),
        case(
            "authme: form body",
            "POST",
            &format!("{AUTHME}/generate-token"),
            vec![
                ("Authorization", basic(&authme, &authme_secret)),
                ("Content-Type", FORM.into()),
            ],
            "a=b",
            400,
            Expect::AuthMe("01"),
        ),
        case(
            "authme: NUL in clientId",
            "POST",
            &format!("{AUTHME}/generate-token"),
            authme_auth(),
            "{\"clientId\":\"auth\\u0000me\",\"tokenRequestType\":\"CLIENT\",\"loginGrantedAuthorities\":\"AUTH_BASIC\"}",
            400,
            Expect::AuthMe("12"),
        ),
        case(
            "authme: oversized",
            "POST",
            &format!("{AUTHME}/generate-token"),
            authme_auth(),
            format!("{{\"pad\":\"{big}\"}}"),
            413,
            Expect::AuthMe("01"),
        ),
        case(
            "authme: param without user",
            "POST",
            &format!("{AUTHME}/generate-param"),
            authme_auth(),
            "{}",
            400,
            Expect::AuthMe("02"),
        ),
        // Banco Semear.
        case(
            "pix: no certificate",
            "POST",
            PIX,
            form(&[("access_token", revoked.clone())]),
            format!("{cc}&client_id={id}&client_secret={secret}"),
            401,
            Expect::Oauth("invalid_client"),
        ),
        case(
            "pix: garbage certificate",
            "POST",
            PIX,
            form(&[(
                "client-cert",
                "-----BEGIN CERTIFICATE-----garbage-----END CERTIFICATE-----".into(),
            )]),
            format!("{cc}&client_id={id}&client_secret={secret}"),
            401,
            Expect::Oauth("invalid_client"),
        ),
        case(
            "pix: no gateway token",
            "POST",
            PIX,
            form(&[]),
            format!("{cc}&client_id={id}&client_secret={secret}"),
            401,
            Expect::Oauth("invalid_client"),
        ),
        case(
            "pix: wrong grant",
            "POST",
            PIX,
            form(&[]),
            format!("grant_type=authorization_code&client_id={id}&client_secret={secret}"),
            400,
            Expect::Oauth("unsupported_grant_type"),
        ),
        // The authorization endpoint and userinfo.
        authorize(
            "response_type=code&client_id=web%00&redirect_uri=https%3A%2F%2Fapp.example%2Fcb",
        ),
        authorize(&format!(
            "response_type=code&client_id={web}&redirect_uri=javascript%3Aalert(1)"
        )),
        authorize(&format!(
            "response_type=code&client_id={web}&client_id={web}"
        )),
        authorize("response_type=code&client_id=%27%20OR%201%3D1"),
        authorize(&format!(
            "response_type=code&client_id={web}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%2F..%2Fevil"
        )),
        case(
            "authorize: huge state",
            "GET",
            &format!(
                "/oauth2/authorize?{good_authorize}&state={}",
                "s".repeat(2000)
            ),
            vec![],
            "",
            302,
            Expect::Redirect("invalid_request"),
        ),
        case(
            "authorize: form without anti-forgery token",
            "POST",
            "/oauth2/authorize",
            form(&[]),
            format!("{good_authorize}&logon=a&password=bbbbbbbb&tessera_action=login"),
            403,
            Expect::Page("did not come from this site"),
        ),
        case(
            "userinfo: garbage token",
            "GET",
            "/oauth2/userinfo",
            vec![("Authorization", "Bearer garbage".into())],
            "",
            401,
            Expect::Oauth("invalid_token"),
        ),
        case(
            "userinfo: alg none",
            "GET",
            "/oauth2/userinfo",
            vec![("Authorization", format!("Bearer {none}"))],
            "",
            401,
            Expect::Oauth("invalid_token"),
        ),
        case(
            "userinfo: client token without openid",
            "GET",
            "/oauth2/userinfo",
            vec![("Authorization", format!("Bearer {expired}"))],
            "",
            401,
            Expect::Oauth("invalid_token"),
        ),
    ];
    for c in &cases {
        check(&server, c);
    }
    // Headers beyond the HTTP layer's limit: 431, or the connection closed on a client that keeps
    // sending; never a token, and the server goes on serving.
    let huge_headers = [
        ("Authorization", format!("Basic {}", "A".repeat(200_000))),
        ("X-Junk", "j".repeat(200_000)),
    ];
    for (name, value) in &huge_headers {
        let result = ureq::AgentBuilder::new()
            .build()
            .post(&server.url("/oauth2/token"))
            .set("Content-Type", FORM)
            .set(name, value)
            .send_string(cc);
        match result {
            Err(ureq::Error::Status(code, _)) => assert_eq!(code, 431, "{name}"),
            Ok(r) => panic!("{name}: {}", r.status()),
            Err(ureq::Error::Transport(_)) => {}
        }
    }
    let total = cases.len() + huge_headers.len();
    assert!(total >= 60, "{total} cases");
    // Still serving after all of it.
    assert_eq!(token_request(&server, Some(&ok), cc).status, 200);
    assert!(
        !server.log().contains("panicked"),
        "a handler panicked: {}",
        server.log()
    );
    println!("{total} hostile cases");
}
