//! The reference handler: the least an HTTP server must do to answer `client_credentials` the way
//! Tessera does, and nothing else, so Tessera's figure can be read as a ratio to it.
//!
//! Same work per request: actix-web with as many workers as cores, the form and the Basic
//! credentials parsed, the client found in an in-memory map, its secret checked by HMAC-SHA256
//! against the stored verifier (constant-time), the same claims signed ES256 with a key parsed
//! once, and the same JSON body with `Cache-Control: no-store`. No request ids, metrics, rate
//! limits, audit, policy or dialects. It runs as its own process (`tessera-bench
//! --serve-reference`) so its peak RSS and its cores are measured like the server's.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use tessera_domain::keys::{KeyState, SigningKey};
use tessera_domain::policy::Issuer;
use tessera_domain::ports::RandomSource as _;
use tessera_domain::resource::Audiences;
use tessera_domain::secret::{PlainSecret, SecretPepper, SecretVerifier};
use tessera_domain::token::AccessTokenClaims;
use tessera_domain::{Audience, ClientId, Role, ScopeSet, SigningAlgorithm, UnixTime};
use tessera_keys_jwt::{AwsLcRandom, LoadedKey, generate_key, sign_with};

/// The environment variable that carries the bench client's secret to the reference process.
pub const SECRET_ENV: &str = "TESSERA_BENCH_REFERENCE_SECRET";

const LIFETIME: i64 = 3600;

struct RefClient {
    id: ClientId,
    verifier: SecretVerifier,
    scope: ScopeSet,
    roles: Vec<Role>,
}

struct Reference {
    clients: HashMap<String, RefClient>,
    pepper: SecretPepper,
    key: LoadedKey,
    issuer: Issuer,
    audience: Audience,
}

#[derive(serde::Deserialize)]
struct Form {
    grant_type: String,
}

#[derive(serde::Serialize)]
struct TokenBody<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: i64,
    scope: String,
}

fn error(status: actix_web::http::StatusCode, code: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "error": code }))
}

/// The Basic credentials of a request (RFC 6749 §2.3.1), undecoded beyond base64.
fn basic(req: &HttpRequest) -> Option<(String, String)> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

async fn token(
    state: web::Data<Arc<Reference>>,
    req: HttpRequest,
    form: web::Form<Form>,
) -> HttpResponse {
    use actix_web::http::StatusCode;
    if form.grant_type != "client_credentials" {
        return error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    let Some((id, secret)) = basic(&req) else {
        return error(StatusCode::UNAUTHORIZED, "invalid_client");
    };
    let Some(client) = state.clients.get(&id) else {
        return error(StatusCode::UNAUTHORIZED, "invalid_client");
    };
    let Ok(secret) = PlainSecret::parse(&secret) else {
        return error(StatusCode::UNAUTHORIZED, "invalid_client");
    };
    if !client.verifier.verify(&state.pepper, &secret) {
        return error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let mut jti = [0u8; 16];
    AwsLcRandom.fill(&mut jti);
    let claims = AccessTokenClaims {
        iss: state.issuer.clone(),
        sub: id.clone(),
        aud: Audiences::one(state.audience.clone()),
        exp: UnixTime::from_secs(now + LIFETIME),
        iat: UnixTime::from_secs(now),
        jti: URL_SAFE_NO_PAD.encode(jti),
        client_id: client.id.clone(),
        scope: client.scope.clone(),
        roles: client.roles.clone(),
        user: None,
        cnf: None,
        cid: None,
    };
    let Ok(token) = sign_with(&state.key, &claims) else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "server_error");
    };
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(TokenBody {
            access_token: token.expose(),
            token_type: "Bearer",
            expires_in: LIFETIME,
            scope: client.scope.to_string(),
        })
}

fn state(secret: &str) -> anyhow::Result<Reference> {
    let p = |e: tessera_domain::ParseError| anyhow::anyhow!("{e}");
    let mut pepper = [0u8; 32];
    AwsLcRandom.fill(&mut pepper);
    let pepper = SecretPepper::from_bytes(pepper);
    let (kid, der) = generate_key(SigningAlgorithm::Es256).map_err(|e| anyhow::anyhow!("{e}"))?;
    let key = LoadedKey::parse(&SigningKey {
        kid,
        alg: SigningAlgorithm::Es256,
        state: KeyState::Active,
        private_der: der,
        created_at: UnixTime::from_secs(0),
        activated_at: None,
        retire_at: None,
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let client = RefClient {
        id: ClientId::parse("bench").map_err(p)?,
        verifier: SecretVerifier::hmac(&pepper, &PlainSecret::parse(secret).map_err(p)?),
        scope: ScopeSet::parse("read write").map_err(p)?,
        roles: vec![
            Role::parse("ROLE_CLI-1STPARTY").map_err(p)?,
            Role::parse("ROLE_CLI-INTROSPECT").map_err(p)?,
        ],
    };
    Ok(Reference {
        clients: HashMap::from([("bench".to_owned(), client)]),
        pepper,
        key,
        issuer: Issuer::parse("http://127.0.0.1").map_err(p)?,
        audience: Audience::parse("http://127.0.0.1").map_err(p)?,
    })
}

/// Serves `POST /oauth2/token` on a free loopback port until killed; prints
/// `reference listening on ADDR` once bound.
pub fn serve() -> anyhow::Result<()> {
    let secret = std::env::var(SECRET_ENV)?;
    let shared = Arc::new(state(&secret)?);
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(Arc::clone(&shared)))
                .route("/oauth2/token", web::post().to(token))
        })
        .bind("127.0.0.1:0")?;
        let addr = server
            .addrs()
            .first()
            .copied()
            .ok_or_else(|| anyhow::anyhow!("no address"))?;
        println!("reference listening on {addr}");
        std::io::stdout().flush()?;
        server.run().await?;
        Ok(())
    })
}
