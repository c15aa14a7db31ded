//! `tessera registration …`: initial access tokens for dynamic client registration (RFC 7591
//! §3), against the configured database — the same use cases as the admin API's.

use std::sync::Arc;

use anyhow::bail;
use serde_json::{Value, json};
use tessera_domain::ports::{Clock, InitialAccessToken};
use tessera_domain::service::InitialTokens;
use tessera_keys_jwt::AwsLcRandom;

use crate::cli::RegistrationCommand;
use crate::settings::Settings;
use crate::wiring::{SystemClock, open_store};

fn token_json(t: &InitialAccessToken) -> Value {
    json!({
        "id": t.id,
        "uses_left": t.uses_left,
        "expires_at": t.expires_at.as_secs(),
        "created_at": t.created_at.as_secs(),
        "note": t.note,
    })
}

/// Runs a `registration` subcommand.
pub async fn run(settings: Settings, command: RegistrationCommand) -> anyhow::Result<()> {
    let store = Arc::new(open_store(&settings)?);
    let audit = Arc::new(crate::audit::CollectedAudit::default());
    let tokens = InitialTokens::new(store.clone(), Arc::new(AwsLcRandom)).with_audit(audit.clone());
    let out = match command {
        RegistrationCommand::IssueToken {
            uses,
            expires_in,
            note,
        } => {
            let uses = (uses > 0).then_some(uses);
            let (record, token) = tokens
                .issue(uses, expires_in, &note, SystemClock.now())
                .await?;
            let mut v = token_json(&record);
            if let Value::Object(map) = &mut v {
                map.insert("token".into(), json!(token.expose()));
            }
            v
        }
        RegistrationCommand::ListTokens => {
            Value::Array(tokens.list().await?.iter().map(token_json).collect())
        }
        RegistrationCommand::RevokeToken { id } => {
            if !tokens.revoke(&id, SystemClock.now()).await? {
                bail!("no initial access token {id}");
            }
            json!({"id": id, "revoked": true})
        }
    };
    audit.flush(store.as_ref()).await?;
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
