//! `tessera client update`: what the operator named, parsed into the domain's `ClientChanges`
//! (the same use case the admin API's `PATCH` runs).

use anyhow::{anyhow, bail};
use tessera_domain::authorize::RedirectUri;
use tessera_domain::service::ClientChanges;
use tessera_domain::{
    AccessTokenFormat, Audience, Client, ClientAuthMethod, ClientName, GrantType, Role, RoleSet,
    ScopeSet, SigningAlgorithm, TokenTtl,
};

use crate::cli::UpdateArgs;

/// A non-empty list of parsed values, or `None` when none were given.
fn list<T, E: std::fmt::Display>(
    values: &[String],
    parse: impl Fn(&str) -> Result<T, E>,
) -> anyhow::Result<Option<Vec<T>>> {
    if values.is_empty() {
        return Ok(None);
    }
    values
        .iter()
        .map(|v| parse(v).map_err(|e| anyhow!("{e}")))
        .collect::<anyhow::Result<Vec<T>>>()
        .map(Some)
}

/// `Some(Some(parsed))` for a value given, `None` when none was.
fn some<T>(
    value: Option<&str>,
    parse: impl Fn(&str) -> Result<T, tessera_domain::ParseError>,
) -> anyhow::Result<Option<Option<T>>> {
    value
        .map(|v| parse(v).map(Some).map_err(|e| anyhow!("{e}")))
        .transpose()
}

/// The changes `args` name for `current` (adding and removing redirect URIs start from its list;
/// whether the result fits the deployment is the use case's check).
///
/// # Errors
/// A value that does not parse, or nothing to change.
pub fn changes(args: &UpdateArgs, current: &Client) -> anyhow::Result<ClientChanges> {
    let e = |e: tessera_domain::ParseError| anyhow!("{e}");
    let signing_alg = args
        .alg
        .as_deref()
        .map(SigningAlgorithm::parse)
        .transpose()
        .map_err(e)?;
    let mut redirect_uris = list(&args.redirect_uris, RedirectUri::parse)?;
    if !args.add_redirect_uris.is_empty() || !args.remove_redirect_uris.is_empty() {
        let mut uris = current.redirect_uris().to_vec();
        for add in list(&args.add_redirect_uris, RedirectUri::parse)?.unwrap_or_default() {
            if !uris.contains(&add) {
                uris.push(add);
            }
        }
        for gone in &args.remove_redirect_uris {
            uris.retain(|u| u.as_str() != gone);
        }
        redirect_uris = Some(uris);
    }
    let roles = if args.no_roles {
        Some(RoleSet::default())
    } else {
        list(&args.roles, Role::parse)?.map(RoleSet::from_roles)
    };
    let changes = ClientChanges {
        name: args
            .name
            .as_deref()
            .map(ClientName::parse)
            .transpose()
            .map_err(e)?,
        allowed_scopes: args
            .scope
            .as_deref()
            .map(ScopeSet::parse)
            .transpose()
            .map_err(e)?,
        default_scopes: args
            .default_scope
            .as_deref()
            .map(ScopeSet::parse)
            .transpose()
            .map_err(e)?,
        roles,
        grant_types: list(&args.grants, GrantType::parse)?.map(|g| g.into_iter().collect()),
        auth_methods: list(&args.auth_methods, ClientAuthMethod::parse)?
            .map(|m| m.into_iter().collect()),
        redirect_uris,
        post_logout_redirect_uris: list(&args.post_logout_redirect_uris, RedirectUri::parse)?,
        resources: list(&args.resources, tessera_domain::resource::Resource::parse)?,
        access_token_ttl: args
            .ttl
            .map(|t| TokenTtl::from_secs(t).map(Some))
            .transpose()
            .map_err(e)?,
        signing_alg: signing_alg.map(Some),
        access_token_format: args
            .access_token_format
            .as_deref()
            .map(AccessTokenFormat::parse)
            .transpose()
            .map_err(e)?,
        audience: args
            .audience
            .as_deref()
            .map(|a| Audience::parse(a).map(Some))
            .transpose()
            .map_err(e)?,
        enabled: (args.enable || args.disable).then_some(args.enable),
        cert_thumbprints: list(
            &args.cert_thumbprints,
            tessera_domain::cert::CertThumbprint::parse,
        )?,
        tls_subject_dn: some(args.tls_subject_dn.as_deref(), |d| {
            tessera_domain::cert::SubjectDn::parse(d)
        })?,
        max_assurance: some(args.max_assurance.as_deref(), |l| {
            tessera_domain::assurance::AssuranceLevel::parse(l)
        })?,
        backchannel_logout_uri: some(args.backchannel_logout_uri.as_deref(), |u| {
            tessera_domain::registration::BackchannelUri::parse(u)
        })?,
        id_token_alg: some(args.id_token_alg.as_deref(), SigningAlgorithm::parse)?,
    };
    if changes.is_empty() {
        bail!("nothing to change: name at least one option (see --help)");
    }
    Ok(changes)
}
