//! `tessera user …`: the user directory, against the configured database.

use std::sync::Arc;

use std::io::Read as _;

use anyhow::{Context as _, anyhow};
use serde_json::{Value, json};
use tessera_domain::ClientName;
use tessera_domain::ports::Clock;
use tessera_domain::service::{NewUser, UserAdmin};
use tessera_domain::user::{
    Email, Logon, Password, PhoneNumber, PostalAddress, Profile, User, UserId, UserStatus,
};
use tessera_keys_jwt::AwsLcRandom;

use crate::cli::UserCommand;
use crate::settings::Settings;
use crate::wiring::{SystemClock, open_store};

/// The profile claims of the command line.
fn profile_of(p: Box<crate::cli::ProfileArgs>) -> anyhow::Result<Profile> {
    let e = |e: tessera_domain::ParseError| anyhow!("{e}");
    let opt = |v: Option<String>| v.as_deref().map(ClientName::parse).transpose().map_err(e);
    Ok(Profile {
        given_name: opt(p.given_name)?,
        family_name: opt(p.family_name)?,
        locale: opt(p.locale)?,
        email_verified: p.email_verified,
        phone_number: p
            .phone_number
            .as_deref()
            .map(PhoneNumber::parse)
            .transpose()
            .map_err(e)?,
        phone_number_verified: p.phone_number_verified,
        address: PostalAddress {
            street_address: opt(p.street_address)?,
            locality: opt(p.locality)?,
            region: opt(p.region)?,
            postal_code: opt(p.postal_code)?,
            country: opt(p.country)?,
        }
        .non_empty(),
    })
}

fn user_json(u: &User) -> Value {
    json!({
        "id": u.id.as_str(),
        "logon": u.logon.as_str(),
        "email": u.email.as_str(),
        "name": u.name.as_str(),
        "status": u.status.as_str(),
        "given_name": u.profile.given_name.as_ref().map(ClientName::as_str),
        "family_name": u.profile.family_name.as_ref().map(ClientName::as_str),
        "locale": u.profile.locale.as_ref().map(ClientName::as_str),
        "email_verified": u.profile.email_verified,
        "phone_number": u.profile.phone_number.as_ref().map(PhoneNumber::as_str),
        "phone_number_verified": u.profile.phone_number_verified,
        "address": u.profile.address.as_ref().map(|a| a.formatted()),
        "has_password": u.password.is_some(),
        "failed_sign_ins": u.failed_sign_ins,
        "locked_until": u.locked_until.map(tessera_domain::UnixTime::as_secs),
        "created_at": u.created_at.as_secs(),
        "updated_at": u.updated_at.as_secs(),
    })
}

/// Runs a `user` subcommand.
pub async fn run(settings: Settings, command: UserCommand) -> anyhow::Result<()> {
    let store = Arc::new(open_store(&settings)?);
    // Ending sessions here queues the back-channel notices; a serving node delivers them.
    let backchannel = Arc::new(tessera_domain::service::Backchannel::new(
        Arc::new(tessera_domain::cache::ClientCache::new(store.clone())),
        store.clone(),
        Arc::new(AwsLcRandom),
        settings.oidc.backchannel.1,
    ));
    let audit = Arc::new(crate::audit::CollectedAudit::default());
    let admin = UserAdmin::new(store.clone(), Arc::new(AwsLcRandom))
        .with_sessions(store.clone(), backchannel)
        .with_audit(audit.clone());
    let e = |e: tessera_domain::ParseError| anyhow!("{e}");
    let parse_id = |id: &str| UserId::parse(id).map_err(e);
    let now = SystemClock.now();
    let out = match command {
        UserCommand::Create {
            logon,
            email,
            name,
            id,
            profile,
            password_stdin,
        } => {
            let new = NewUser {
                id: id.as_deref().map(UserId::parse).transpose().map_err(e)?,
                logon: Logon::parse(&logon).map_err(e)?,
                email: Email::parse(&email).map_err(e)?,
                name: ClientName::parse(&name).map_err(e)?,
                password: if password_stdin {
                    Some(read_password()?)
                } else {
                    None
                },
                profile: profile_of(profile)?,
            };
            user_json(&admin.create(new, now).await?)
        }
        UserCommand::List => Value::Array(admin.list().await?.iter().map(user_json).collect()),
        UserCommand::SetPassword { id } => {
            let id = parse_id(&id)?;
            user_json(&admin.set_password(&id, &read_password()?, now).await?)
        }
        UserCommand::SignOut { id } => {
            let id = parse_id(&id)?;
            let ended = admin.sign_out(&id, now).await?;
            serde_json::json!({"id": id.as_str(), "sessions_ended": ended})
        }
        UserCommand::Lock { id } => user_json(
            &admin
                .set_status(&parse_id(&id)?, UserStatus::Locked, now)
                .await?,
        ),
        UserCommand::Unlock { id } => user_json(
            &admin
                .set_status(&parse_id(&id)?, UserStatus::Active, now)
                .await?,
        ),
        UserCommand::Disable { id } => user_json(
            &admin
                .set_status(&parse_id(&id)?, UserStatus::Disabled, now)
                .await?,
        ),
    };
    audit.flush(store.as_ref()).await?;
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// A password from standard input.
fn read_password() -> anyhow::Result<Password> {
    Password::parse(&read_stdin_password()?).map_err(|e| anyhow!("{e}"))
}

/// Standard input without its final line break: a password, as `--password-stdin` reads it
/// (here and with `--server`).
///
/// # Errors
/// When standard input cannot be read.
pub(crate) fn read_stdin_password() -> anyhow::Result<String> {
    let mut raw = String::new();
    std::io::stdin()
        .read_to_string(&mut raw)
        .context("cannot read the password from standard input")?;
    let raw = raw.strip_suffix('\n').unwrap_or(&raw);
    Ok(raw.strip_suffix('\r').unwrap_or(raw).to_owned())
}
