//! `tessera keys …`: list, rotate and retire signing keys against the configured database. A
//! running server picks the change up within `cache.refresh_interval_ms`.

use std::sync::Arc;

use anyhow::{anyhow, bail};
use serde_json::{Value, json};
use tessera_domain::SigningAlgorithm;
use tessera_domain::keys::{KeyId, SigningKey};
use tessera_domain::ports::{Clock, TokenSigner};
use tessera_domain::service::KeyService;
use tessera_keys_jwt::{AwsLcKeyGenerator, JwtKeyRing};

use crate::cli::KeysCommand;
use crate::settings::Settings;
use crate::wiring::{SystemClock, open_store};

fn key_json(k: &SigningKey) -> Value {
    json!({
        "kid": k.kid.as_str(),
        "alg": k.alg.as_str(),
        "state": k.state.as_str(),
        "created_at": k.created_at.as_secs(),
        "activated_at": k.activated_at.map(|t| t.as_secs()),
        "retire_at": k.retire_at.map(|t| t.as_secs()),
    })
}

/// Runs a `keys` subcommand.
pub async fn run(settings: Settings, command: KeysCommand) -> anyhow::Result<()> {
    let store = Arc::new(open_store(&settings)?);
    let signer: Arc<dyn TokenSigner> = Arc::new(JwtKeyRing::new());
    let keys = KeyService::new(store, Arc::new(AwsLcKeyGenerator), signer);
    let out = match command {
        KeysCommand::List => Value::Array(keys.list().await?.iter().map(key_json).collect()),
        KeysCommand::Rotate { alg } => {
            let alg = match alg {
                Some(a) => SigningAlgorithm::parse(&a).map_err(|e| anyhow!("{e}"))?,
                None => settings.default_alg,
            };
            if !settings.algorithms.contains(&alg) {
                bail!("alg: {alg} is not enabled on this deployment (keys.algorithms)");
            }
            let key = keys.rotate(alg, SystemClock.now()).await?;
            let mut v = key_json(&key);
            if let Value::Object(map) = &mut v {
                map.insert(
                    "signs_after_seconds".into(),
                    json!(settings.key_policy.publish_lead_secs),
                );
            }
            v
        }
        KeysCommand::Retire { kid } => {
            let kid = KeyId::parse(&kid).map_err(|e| anyhow!("{e}"))?;
            key_json(&keys.retire(&kid, SystemClock.now()).await?)
        }
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
