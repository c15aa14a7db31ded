//! Rows and their conversion to and from domain values. Reading goes through the domain's parsers,
//! so a row that breaks an invariant surfaces as `StoreError::Corrupt` instead of a bad value.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::prelude::*;
use tessera_domain::client::ClientSpec;
use tessera_domain::keys::{KeyId, KeyState, PrivateKeyDer, SigningKey};
use tessera_domain::secret::{ClientSecret, SecretVerifier};
use tessera_domain::{
    AccessTokenFormat, Audience, Client, ClientAuthMethod, ClientId, ClientName, GrantType,
    ParseError, Role, RoleSet, ScopeSet, SigningAlgorithm, StoreError, TokenTtl, UnixTime,
};

use crate::schema::{client_secrets, clients, signing_keys};

#[derive(Queryable, Selectable, Insertable, AsChangeset, Debug)]
#[diesel(table_name = clients)]
#[diesel(treat_none_as_null = true)]
pub(crate) struct ClientRow {
    pub id: String,
    pub name: String,
    pub auth_methods: String,
    pub grant_types: String,
    pub allowed_scopes: String,
    pub default_scopes: String,
    pub roles: String,
    pub audience: Option<String>,
    pub access_token_ttl: Option<i64>,
    pub signing_alg: Option<String>,
    pub enabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub access_token_format: String,
    pub max_assurance: Option<String>,
    pub cert_thumbprints: String,
    pub tls_subject_dn: Option<String>,
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub backchannel_logout_uri: Option<String>,
    pub id_token_alg: Option<String>,
    pub refresh_with_client_credentials: bool,
    pub resources: String,
}

#[derive(Queryable, Selectable, Insertable, Debug)]
#[diesel(table_name = client_secrets)]
pub(crate) struct SecretRow {
    pub client_id: String,
    pub position: i32,
    pub kind: String,
    pub verifier: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub(crate) struct KeyRow {
    pub kid: String,
    pub alg: String,
    pub state: String,
    pub private_der: Vec<u8>,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    pub retire_at: Option<i64>,
}

const HMAC: &str = "hmac-sha256";
const ARGON2ID: &str = "argon2id";

pub(crate) fn join<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

fn corrupt(what: &str) -> impl Fn(ParseError) -> StoreError + '_ {
    move |e| StoreError::Corrupt(format!("{what}: {e}"))
}

/// The rows that store `client` at time `now`.
pub(crate) fn client_rows(client: &Client, now: UnixTime) -> (ClientRow, Vec<SecretRow>) {
    let row = ClientRow {
        id: client.id().to_string(),
        name: client.name().to_string(),
        auth_methods: join(client.auth_methods()),
        grant_types: join(client.grant_types()),
        allowed_scopes: client.allowed_scopes().to_string(),
        default_scopes: client.default_scopes().to_string(),
        roles: join(client.roles().iter()),
        audience: client.audience().map(ToString::to_string),
        access_token_ttl: client.access_token_ttl().map(|t| i64::from(t.as_secs())),
        signing_alg: client.signing_alg().map(|a| a.as_str().to_owned()),
        enabled: client.is_enabled(),
        created_at: client.created_at().as_secs(),
        updated_at: now.as_secs(),
        access_token_format: client.access_token_format().as_str().to_owned(),
        max_assurance: client.max_assurance().map(|l| l.as_str().to_owned()),
        cert_thumbprints: join(client.cert_thumbprints()),
        tls_subject_dn: client.tls_subject_dn().map(ToString::to_string),
        redirect_uris: join(client.redirect_uris()),
        post_logout_redirect_uris: join(&client.options().post_logout_redirect_uris),
        backchannel_logout_uri: client
            .options()
            .backchannel_logout_uri
            .as_ref()
            .map(ToString::to_string),
        id_token_alg: client.options().id_token_alg.map(|a| a.as_str().to_owned()),
        refresh_with_client_credentials: client.options().refresh_with_client_credentials,
        resources: join(&client.options().resources),
    };
    let secrets = client
        .secrets()
        .iter()
        .zip(0..)
        .map(|(s, position)| {
            let (kind, verifier) = match &s.verifier {
                SecretVerifier::HmacSha256(mac) => (HMAC, URL_SAFE_NO_PAD.encode(mac)),
                SecretVerifier::Argon2id(phc) => (ARGON2ID, phc.clone()),
            };
            SecretRow {
                client_id: client.id().to_string(),
                position,
                kind: kind.to_owned(),
                verifier,
                created_at: now.as_secs(),
                expires_at: s.expires_at.map(UnixTime::as_secs),
            }
        })
        .collect();
    (row, secrets)
}

fn parse_secret(row: &SecretRow) -> Result<ClientSecret, StoreError> {
    Ok(ClientSecret {
        verifier: parse_verifier(row)?,
        expires_at: row.expires_at.map(UnixTime::from_secs),
    })
}

fn parse_verifier(row: &SecretRow) -> Result<SecretVerifier, StoreError> {
    match row.kind.as_str() {
        HMAC => {
            let bytes = URL_SAFE_NO_PAD
                .decode(&row.verifier)
                .map_err(|e| StoreError::Corrupt(format!("secret verifier: {e}")))?;
            let mac: [u8; 32] = bytes
                .try_into()
                .map_err(|_| StoreError::Corrupt("secret verifier: not 32 bytes".into()))?;
            Ok(SecretVerifier::HmacSha256(mac))
        }
        ARGON2ID => {
            SecretVerifier::parse_argon2id(&row.verifier).map_err(corrupt("secret verifier"))
        }
        other => Err(StoreError::Corrupt(format!(
            "unknown secret kind {other:?}"
        ))),
    }
}

pub(crate) fn words<T>(
    s: &str,
    parse: impl Fn(&str) -> Result<T, ParseError>,
) -> Result<Vec<T>, ParseError> {
    s.split(' ').filter(|w| !w.is_empty()).map(parse).collect()
}

/// The client stored in `row` and `secrets`.
pub(crate) fn client_from_rows(
    row: ClientRow,
    secrets: &[SecretRow],
) -> Result<Client, StoreError> {
    let c = corrupt("client");
    let ttl = row
        .access_token_ttl
        .map(|t| {
            u64::try_from(t)
                .map_err(|_| ParseError::new("ttl", "negative"))
                .and_then(TokenTtl::from_secs)
        })
        .transpose()
        .map_err(&c)?;
    let spec = ClientSpec {
        id: ClientId::parse(&row.id).map_err(&c)?,
        name: ClientName::parse(&row.name).map_err(&c)?,
        secrets: secrets.iter().map(parse_secret).collect::<Result<_, _>>()?,
        auth_methods: words(&row.auth_methods, ClientAuthMethod::parse)
            .map_err(&c)?
            .into_iter()
            .collect(),
        grant_types: words(&row.grant_types, GrantType::parse)
            .map_err(&c)?
            .into_iter()
            .collect(),
        allowed_scopes: ScopeSet::parse(&row.allowed_scopes).map_err(&c)?,
        default_scopes: ScopeSet::parse(&row.default_scopes).map_err(&c)?,
        roles: RoleSet::from_roles(words(&row.roles, Role::parse).map_err(&c)?),
        audience: row
            .audience
            .as_deref()
            .map(Audience::parse)
            .transpose()
            .map_err(&c)?,
        access_token_ttl: ttl,
        signing_alg: row
            .signing_alg
            .as_deref()
            .map(SigningAlgorithm::parse)
            .transpose()
            .map_err(&c)?,
        access_token_format: AccessTokenFormat::parse(&row.access_token_format).map_err(&c)?,
        max_assurance: row
            .max_assurance
            .as_deref()
            .map(tessera_domain::assurance::AssuranceLevel::parse)
            .transpose()
            .map_err(&c)?,
        cert_thumbprints: words(
            &row.cert_thumbprints,
            tessera_domain::cert::CertThumbprint::parse,
        )
        .map_err(&c)?,
        redirect_uris: words(
            &row.redirect_uris,
            tessera_domain::authorize::RedirectUri::parse,
        )
        .map_err(&c)?,
        tls_subject_dn: row
            .tls_subject_dn
            .as_deref()
            .map(tessera_domain::cert::SubjectDn::parse)
            .transpose()
            .map_err(&c)?,
        options: tessera_domain::registration::ClientOptions {
            post_logout_redirect_uris: words(
                &row.post_logout_redirect_uris,
                tessera_domain::authorize::RedirectUri::parse,
            )
            .map_err(&c)?,
            backchannel_logout_uri: row
                .backchannel_logout_uri
                .as_deref()
                .map(tessera_domain::registration::BackchannelUri::parse)
                .transpose()
                .map_err(&c)?,
            id_token_alg: row
                .id_token_alg
                .as_deref()
                .map(SigningAlgorithm::parse)
                .transpose()
                .map_err(&c)?,
            refresh_with_client_credentials: row.refresh_with_client_credentials,
            resources: words(&row.resources, tessera_domain::resource::Resource::parse)
                .map_err(&c)?,
        },
        enabled: row.enabled,
        created_at: UnixTime::from_secs(row.created_at),
    };
    Client::new(spec).map_err(&c)
}

/// The row that stores `key`.
pub(crate) fn key_row(key: &SigningKey) -> KeyRow {
    KeyRow {
        kid: key.kid.to_string(),
        alg: key.alg.as_str().to_owned(),
        state: key.state.as_str().to_owned(),
        private_der: key.private_der.expose().to_vec(),
        created_at: key.created_at.as_secs(),
        activated_at: key.activated_at.map(UnixTime::as_secs),
        retire_at: key.retire_at.map(UnixTime::as_secs),
    }
}

/// The key stored in `row`.
pub(crate) fn key_from_row(row: KeyRow) -> Result<SigningKey, StoreError> {
    let c = corrupt("signing key");
    Ok(SigningKey {
        kid: KeyId::parse(&row.kid).map_err(&c)?,
        alg: SigningAlgorithm::parse(&row.alg).map_err(&c)?,
        state: KeyState::parse(&row.state).map_err(&c)?,
        private_der: PrivateKeyDer::new(row.private_der),
        created_at: UnixTime::from_secs(row.created_at),
        activated_at: row.activated_at.map(UnixTime::from_secs),
        retire_at: row.retire_at.map(UnixTime::from_secs),
    })
}
