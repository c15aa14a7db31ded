//! `tessera user …`: the user directory, against the configured database.

use std::sync::Arc;

use anyhow::anyhow;
use serde_json::{Value, json};
use tessera_domain::ClientName;
use tessera_domain::ports::Clock;
use tessera_domain::service::UserAdmin;
use tessera_domain::user::{Email, Logon, User, UserId, UserStatus};
use tessera_keys_jwt::AwsLcRandom;

use crate::cli::UserCommand;
use crate::settings::Settings;
use crate::wiring::{SystemClock, open_store};

fn user_json(u: &User) -> Value {
    json!({
        "id": u.id.as_str(),
        "logon": u.logon.as_str(),
        "email": u.email.as_str(),
        "name": u.name.as_str(),
        "status": u.status.as_str(),
        "created_at": u.created_at.as_secs(),
        "updated_at": u.updated_at.as_secs(),
    })
}

/// Runs a `user` subcommand.
pub async fn run(settings: Settings, command: UserCommand) -> anyhow::Result<()> {
    let store = Arc::new(open_store(&settings)?);
    let admin = UserAdmin::new(store, Arc::new(AwsLcRandom));
    let e = |e: tessera_domain::ParseError| anyhow!("{e}");
    let out = match command {
        UserCommand::Create {
            logon,
            email,
            name,
            id,
        } => {
            let id = id.as_deref().map(UserId::parse).transpose().map_err(e)?;
            let user = admin
                .create(
                    id,
                    Logon::parse(&logon).map_err(e)?,
                    Email::parse(&email).map_err(e)?,
                    ClientName::parse(&name).map_err(e)?,
                    SystemClock.now(),
                )
                .await?;
            user_json(&user)
        }
        UserCommand::List => Value::Array(admin.list().await?.iter().map(user_json).collect()),
        UserCommand::Disable { id } => {
            let id = UserId::parse(&id).map_err(e)?;
            user_json(
                &admin
                    .set_status(&id, UserStatus::Disabled, SystemClock.now())
                    .await?,
            )
        }
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
