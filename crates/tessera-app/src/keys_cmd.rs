//! `tessera keys …`: list, rotate and retire signing keys against the configured database. A
//! running server picks the change up within `cache.refresh_interval_ms`.

use std::sync::Arc;

use anyhow::{Context as _, anyhow, bail};
use serde_json::{Value, json};
use tessera_domain::SigningAlgorithm;
use tessera_domain::keys::{KeyId, SigningKey};
use tessera_domain::ports::{Clock, TokenSigner};
use tessera_domain::service::KeyService;
use tessera_keys_jwt::{AesGcmSealer, AwsLcKeyGenerator, JwtKeyRing, MasterKey};

use crate::cli::KeysCommand;
use crate::settings::{MasterKeySource, Settings};
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
    let rewrap_store = Arc::clone(&store);
    let signer: Arc<dyn TokenSigner> = Arc::new(JwtKeyRing::new());
    let audit = Arc::new(crate::audit::CollectedAudit::default());
    let keys = KeyService::new(store.clone(), Arc::new(AwsLcKeyGenerator), signer)
        .with_audit(audit.clone())
        .with_algorithms(settings.keys.algorithms.clone());
    let out = match command {
        KeysCommand::List => Value::Array(keys.list().await?.iter().map(key_json).collect()),
        KeysCommand::Rotate { alg } => {
            let alg = match alg {
                Some(a) => SigningAlgorithm::parse(&a).map_err(|e| anyhow!("{e}"))?,
                None => settings.tokens.default_alg,
            };
            let key = keys.rotate(alg, SystemClock.now()).await?;
            let mut v = key_json(&key);
            if let Value::Object(map) = &mut v {
                map.insert(
                    "signs_after_seconds".into(),
                    json!(settings.keys.policy.publish_lead_secs),
                );
            }
            v
        }
        KeysCommand::Retire { kid } => {
            let kid = KeyId::parse(&kid).map_err(|e| anyhow!("{e}"))?;
            key_json(&keys.retire(&kid, SystemClock.now()).await?)
        }
        KeysCommand::Rewrap { new_key_file } => {
            let in_data_dir = settings.master_key == MasterKeySource::None;
            let next = match &new_key_file {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("--new-key-file {}", path.display()))?;
                    MasterKey::parse(&text)
                        .map_err(|e| anyhow!("--new-key-file {}: {e}", path.display()))?
                }
                None if in_data_dir => MasterKey::generate(),
                None => bail!(
                    "the master key is configured (master_key or master_key_file): give the new one with --new-key-file, then configure it"
                ),
            };
            let count = rewrap_store
                .rewrap(Arc::new(AesGcmSealer::new(&next)))
                .await
                .context("rewrap")?;
            if in_data_dir {
                let path = settings.data_dir.join(crate::wiring::MASTER_KEY_FILE);
                crate::wiring::write_master_key(&path, &next)?;
                json!({"rewrapped": count, "master_key_file": path.display().to_string()})
            } else {
                json!({
                    "rewrapped": count,
                    "next": "configure the new key now (master_key or master_key_file): the old one opens nothing any more",
                })
            }
        }
    };
    audit.flush(store.as_ref()).await?;
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
