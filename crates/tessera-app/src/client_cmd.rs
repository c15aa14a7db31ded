//! `tessera client …`: register and manage clients against the configured database.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::sync::Arc;

use anyhow::{Context as _, anyhow, bail};
use serde_json::{Value, json};
use tessera_domain::ports::Clock;
use tessera_domain::secret::PlainSecret;
use tessera_domain::service::{ClientAdmin, NewClient, SecretSource};
use tessera_domain::{
    AccessTokenFormat, Audience, Client, ClientAuthMethod, ClientId, ClientName, GrantType, Role,
    RoleSet, ScopeSet, SigningAlgorithm, TokenTtl,
};
use tessera_keys_jwt::AwsLcRandom;

use crate::cli::{ClientCommand, CreateArgs};
use crate::settings::Settings;
use crate::wiring::{SystemClock, open_store, pepper};

/// The JSON an operator sees of a client; never a secret or a verifier.
fn client_json(c: &Client) -> Value {
    json!({
        "client_id": c.id().as_str(),
        "name": c.name().as_str(),
        "enabled": c.is_enabled(),
        "grant_types": c.grant_types().iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "token_endpoint_auth_methods": c.auth_methods().iter().map(|m| m.as_str()).collect::<Vec<_>>(),
        "scope": c.allowed_scopes().to_string(),
        "default_scope": c.default_scopes().to_string(),
        "roles": c.roles().iter().map(Role::as_str).collect::<Vec<_>>(),
        "audience": c.audience().map(Audience::as_str),
        "access_token_ttl": c.access_token_ttl().map(TokenTtl::as_secs),
        "alg": c.signing_alg().map(SigningAlgorithm::as_str),
        "access_token_format": c.access_token_format().as_str(),
        "max_assurance": c.max_assurance().map(|l| l.as_str()),
        "cert_thumbprints": c.cert_thumbprints().iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "tls_client_auth_subject_dn": c.tls_subject_dn().map(ToString::to_string),
        "redirect_uris": c.redirect_uris().iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "post_logout_redirect_uris": c.options().post_logout_redirect_uris.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "backchannel_logout_uri": c.options().backchannel_logout_uri.as_ref().map(|u| u.as_str()),
        "id_token_signed_response_alg": c.options().id_token_alg.map(SigningAlgorithm::as_str),
        "refresh_with_client_credentials": c.options().refresh_with_client_credentials,
        "resources": c.options().resources.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "secret_kinds": c.secrets().iter().map(|s| if s.verifier.is_slow() { "argon2id" } else { "hmac-sha256" }).collect::<Vec<_>>(),
        "created_at": c.created_at().as_secs(),
    })
}

fn print(v: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn parse_id(id: &str) -> anyhow::Result<ClientId> {
    ClientId::parse(id).map_err(|e| anyhow!("{e}"))
}

/// Runs a `client` subcommand.
pub async fn run(settings: Settings, command: ClientCommand) -> anyhow::Result<()> {
    let store = Arc::new(open_store(&settings)?);
    let audit = Arc::new(crate::audit::CollectedAudit::default());
    let admin = ClientAdmin::new(store.clone(), Arc::new(AwsLcRandom), pepper(&store).await?)
        .with_audit(audit.clone())
        .with_limits(limits(&settings));
    let result = match command {
        ClientCommand::Create(args) => {
            let req = new_client(*args, &settings)?;
            let (client, secret) = admin.create(req, SystemClock.now()).await?;
            let mut out = client_json(&client);
            if let (Some(secret), Value::Object(map)) = (secret, &mut out) {
                map.insert("client_secret".into(), json!(secret.expose()));
            }
            print(&out)
        }
        ClientCommand::List => {
            let clients = admin.list().await?;
            print(&Value::Array(clients.iter().map(client_json).collect()))
        }
        ClientCommand::Show { id } => print(&client_json(&admin.show(&parse_id(&id)?).await?)),
        ClientCommand::Update(args) => {
            let id = parse_id(&args.id)?;
            let current = admin.show(&id).await?;
            let changes = crate::client_update_cmd::changes(&args, &current)?;
            // Applied only over the client as read, so a concurrent change is never overwritten.
            let seen = tessera_domain::service::revision(&current);
            print(&client_json(
                &admin
                    .update(&id, changes, Some(&seen), SystemClock.now())
                    .await?,
            ))
        }
        ClientCommand::Disable { id } => print(&client_json(
            &admin.disable(&parse_id(&id)?, SystemClock.now()).await?,
        )),
        ClientCommand::RotateSecret { id, grace } => {
            let grace_secs = u32::try_from(grace.as_secs()).unwrap_or(u32::MAX);
            let (client, secret) = admin
                .rotate_secret(&parse_id(&id)?, grace_secs, SystemClock.now())
                .await?;
            let mut out = client_json(&client);
            if let Value::Object(map) = &mut out {
                map.insert("client_secret".into(), json!(secret.expose()));
                map.insert("previous_secrets_expire_in".into(), json!(grace_secs));
            }
            print(&out)
        }
        ClientCommand::Delete { id } => {
            let id = parse_id(&id)?;
            admin.delete(&id, SystemClock.now()).await?;
            print(&json!({"client_id": id.as_str(), "deleted": true}))
        }
    };
    audit.flush(store.as_ref()).await?;
    result
}

/// The optional registration metadata of `args`.
fn options(
    args: &CreateArgs,
    settings: &Settings,
) -> anyhow::Result<tessera_domain::registration::ClientOptions> {
    let e = |e: tessera_domain::ParseError| anyhow!("{e}");
    let id_token_alg = args
        .id_token_alg
        .as_deref()
        .map(SigningAlgorithm::parse)
        .transpose()
        .map_err(e)?;
    if let Some(alg) = id_token_alg
        && !settings.keys.algorithms.contains(&alg)
    {
        bail!("id-token-alg: {alg} is not enabled on this deployment (keys.algorithms)");
    }
    if args.refresh_with_client_credentials && !args.grants.iter().any(|g| g == "refresh_token") {
        bail!("refresh-with-client-credentials: needs --grant refresh_token");
    }
    Ok(tessera_domain::registration::ClientOptions {
        post_logout_redirect_uris: args
            .post_logout_redirect_uris
            .iter()
            .map(|r| tessera_domain::authorize::RedirectUri::parse(r))
            .collect::<Result<_, _>>()
            .map_err(e)?,
        backchannel_logout_uri: args
            .backchannel_logout_uri
            .as_deref()
            .map(tessera_domain::registration::BackchannelUri::parse)
            .transpose()
            .map_err(e)?,
        id_token_alg,
        refresh_with_client_credentials: args.refresh_with_client_credentials,
        resources: tessera_domain::resource::parse_resources(
            args.resources.iter().map(String::as_str),
        )
        .map_err(e)?,
    })
}

/// What this deployment can serve a client (the domain checks it at registration and on change).
pub(crate) fn limits(settings: &Settings) -> tessera_domain::service::DeploymentLimits {
    tessera_domain::service::DeploymentLimits {
        algorithms: settings.keys.algorithms.clone(),
        max_ttl_secs: settings.keys.policy.retire_after_secs,
    }
}

fn new_client(args: CreateArgs, settings: &Settings) -> anyhow::Result<NewClient> {
    let options = options(&args, settings)?;
    let e = |e: tessera_domain::ParseError| anyhow!("{e}");
    let signing_alg = args
        .alg
        .as_deref()
        .map(SigningAlgorithm::parse)
        .transpose()
        .map_err(e)?;
    let auth_methods: BTreeSet<ClientAuthMethod> = args
        .auth_methods
        .iter()
        .map(|m| ClientAuthMethod::parse(m))
        .collect::<Result<_, _>>()
        .map_err(e)?;
    let secret = if args.secret_stdin {
        let mut raw = String::new();
        std::io::stdin()
            .read_to_string(&mut raw)
            .context("cannot read the secret from standard input")?;
        let raw = raw.strip_suffix('\n').unwrap_or(&raw);
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        SecretSource::Import(PlainSecret::parse(raw).map_err(e)?)
    } else {
        // Public clients and certificate-only clients have no secret.
        SecretSource::for_methods(&auth_methods)
    };
    Ok(NewClient {
        id: args
            .id
            .as_deref()
            .map(ClientId::parse)
            .transpose()
            .map_err(e)?,
        name: ClientName::parse(&args.name).map_err(e)?,
        allowed_scopes: ScopeSet::parse(&args.scope).map_err(e)?,
        default_scopes: args
            .default_scope
            .as_deref()
            .map(ScopeSet::parse)
            .transpose()
            .map_err(e)?,
        roles: RoleSet::from_roles(
            args.roles
                .iter()
                .map(|r| Role::parse(r))
                .collect::<Result<Vec<_>, _>>()
                .map_err(e)?,
        ),
        grant_types: args
            .grants
            .iter()
            .map(|g| GrantType::parse(g))
            .collect::<Result<_, _>>()
            .map_err(e)?,
        auth_methods,
        audience: args
            .audience
            .as_deref()
            .map(Audience::parse)
            .transpose()
            .map_err(e)?,
        access_token_ttl: args.ttl.map(TokenTtl::from_secs).transpose().map_err(e)?,
        signing_alg,
        access_token_format: AccessTokenFormat::parse(&args.access_token_format).map_err(e)?,
        cert_thumbprints: args
            .certs
            .iter()
            .map(|path| {
                let pem = std::fs::read_to_string(path)
                    .with_context(|| format!("cert: cannot read {}", path.display()))?;
                let der = tessera_http_actix::dialect::semear::certificate_from_header(&pem)
                    .ok_or_else(|| anyhow!("cert: {} is not a PEM certificate", path.display()))?;
                Ok(tessera_domain::cert::CertThumbprint::of_der(&der))
            })
            .collect::<anyhow::Result<_>>()?,
        redirect_uris: args
            .redirect_uris
            .iter()
            .map(|r| tessera_domain::authorize::RedirectUri::parse(r))
            .collect::<Result<_, _>>()
            .map_err(e)?,
        tls_subject_dn: args
            .subject_dn
            .as_deref()
            .map(tessera_domain::cert::SubjectDn::parse)
            .transpose()
            .map_err(e)?,
        max_assurance: args
            .max_assurance
            .as_deref()
            .map(tessera_domain::assurance::AssuranceLevel::parse)
            .transpose()
            .map_err(e)?,
        options,
        secret,
    })
}
