//! Wiring storage into the process: opening the database with the configured keys, the
//! background job runner and its schedules, and the `migrate` / `rotate-keys` commands.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use vartalaap_config::ConfigStore;
use vartalaap_store::{
    ANALYZE_TRANSCRIPT_KIND, Clock, HashPepper, PhoneCrypto, PhoneKey, PurgeHandler,
    RETENTION_PURGE_KIND, RunnerConfig, ScheduleSource, ScheduledJob, Store,
    WHATSAPP_FOLLOWUP_KIND, WHATSAPP_RETRY_SWEEP_KIND, WebhookToken, WhatsAppConfig,
    WhatsAppFollowupHandler, WhatsAppRetrySweepHandler, WhatsAppSender,
};

use crate::review_job::AnalyzeTranscriptHandler;
use crate::secrets::Secret;
use crate::settings::Settings;

/// The database file inside the data directory.
pub fn database_path(settings: &Settings) -> PathBuf {
    settings.data_dir.join("vartalaap.redb")
}

pub fn phone_key(key: &Secret) -> anyhow::Result<PhoneKey> {
    // Named by its fingerprint, stored beside each ciphertext: after a rotation the right key
    // is found without any extra configuration.
    PhoneKey::from_text_fingerprinted(key.expose())
        .context("PHONE_ENCRYPTION_KEY is not a valid 32-byte key")
}

/// The keyring from settings: the current key plus any old, decrypt-only keys.
pub fn phone_crypto(settings: &Settings) -> anyhow::Result<PhoneCrypto> {
    let secrets = &settings.secrets;
    let key = secrets.phone_encryption_key.as_ref().context(
        "PHONE_ENCRYPTION_KEY is not set; `vartalaap keys` prints one (development mode generates it)",
    )?;
    let pepper = secrets.phone_hash_pepper.as_ref().context(
        "PHONE_HASH_PEPPER is not set; `vartalaap keys` prints one (development mode generates it)",
    )?;
    let pepper = HashPepper::new(pepper.expose().as_bytes().to_vec())
        .context("PHONE_HASH_PEPPER is too short")?;
    let mut crypto = PhoneCrypto::new(phone_key(key)?, pepper);
    for old in &secrets.phone_encryption_old_keys {
        crypto = crypto.with_old_key(phone_key(old)?);
    }
    Ok(crypto)
}

/// Opens (creating if needed) and migrates the database.
pub fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    std::fs::create_dir_all(&settings.data_dir).with_context(|| {
        format!(
            "could not create the data directory {}",
            settings.data_dir.display()
        )
    })?;
    let path = database_path(settings);
    let crypto = phone_crypto(settings)?;
    Store::open(&path, crypto).with_context(|| format!("could not open {}", path.display()))
}

/// Starts the background job runner: the review of each finished call, WhatsApp follow-ups,
/// the daily purge per business
/// (03:00 business time) and the hourly retry sweep of failed WhatsApp sends. The schedules
/// follow the live configuration: a business added, or a retention changed, by a hot reload
/// gets its purge at the next poll, without a restart.
pub fn spawn_job_runner(
    store: Arc<Store>,
    config: Arc<ConfigStore>,
    settings: &Settings,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let reviews = AnalyzeTranscriptHandler::new(store.clone(), config.clone(), clock.clone())
        .with_model(crate::llm::review_model(settings)?);
    let schedules: ScheduleSource = Arc::new(move || current_schedules(&config));
    let runner_config = RunnerConfig {
        owner: format!("vartalaap-{}", std::process::id()),
        ..RunnerConfig::default()
    };
    let mut runner = vartalaap_store::JobRunner::new(store.clone(), runner_config)
        .with_schedule_source(schedules)
        .with_clock(clock.clone())
        .register(ANALYZE_TRANSCRIPT_KIND, reviews)
        .register(
            RETENTION_PURGE_KIND,
            PurgeHandler::new(store.clone(), clock.clone()),
        )
        .register(
            WHATSAPP_RETRY_SWEEP_KIND,
            WhatsAppRetrySweepHandler::new(
                store.clone(),
                clock.clone(),
                chrono::TimeDelta::days(2),
            ),
        );
    match &settings.whatsapp {
        Some(whatsapp) => {
            let sender = WhatsAppSender::new(WhatsAppConfig {
                webhook_url: whatsapp.webhook_url.clone(),
                token: WebhookToken::new(whatsapp.webhook_token.expose()),
                timeout: Duration::from_secs(10),
            })
            .context("could not build the WhatsApp webhook client")?;
            runner = runner.register(
                WHATSAPP_FOLLOWUP_KIND,
                WhatsAppFollowupHandler::new(store, sender, clock),
            );
        }
        None => {
            tracing::warn!(
                "WHATSAPP_WEBHOOK_URL is not set: WhatsApp confirmations are queued durably but not sent until it is."
            );
            runner = runner.defer(WHATSAPP_FOLLOWUP_KIND);
        }
    }
    Ok(tokio::spawn(runner.run(shutdown)))
}

/// The recurring jobs for the businesses live right now: each one's retention purge, and the
/// WhatsApp retry sweep.
fn current_schedules(config: &ConfigStore) -> Vec<ScheduledJob> {
    let mut schedules: Vec<ScheduledJob> = config
        .list()
        .iter()
        .map(|snapshot| {
            let business = &snapshot.business;
            ScheduledJob::daily_purge(&business.id, business.timezone, business.retention_days)
        })
        .collect();
    schedules.push(ScheduledJob {
        max_attempts: 3,
        ..ScheduledJob::hourly_whatsapp_retry()
    });
    schedules
}

/// How often the server checks whether the disk takes writes again during a storage outage.
const WRITE_PROBE_INTERVAL: Duration = Duration::from_secs(2);

/// While the database reports a write outage (a write failed with an I/O error), tries a probe
/// write every [`WRITE_PROBE_INTERVAL`]; the first that commits ends the outage, so `/health`
/// and new calls recover by themselves once space is back. Idle (a flag read) otherwise.
pub fn spawn_write_probe(
    store: Arc<Store>,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(WRITE_PROBE_INTERVAL) => {}
            }
            if store.write_outage().is_none() {
                continue;
            }
            let probe = store.clone();
            match tokio::task::spawn_blocking(move || probe.probe_writes()).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::debug!(%error, "The database still refuses writes.");
                }
                Err(error) => tracing::warn!(%error, "The write probe was interrupted."),
            }
        }
    })
}

/// Re-encrypts numbers still under an old key, in the background, when old keys are set.
pub fn spawn_key_rotation(store: Arc<Store>, settings: &Settings) -> anyhow::Result<()> {
    if settings.secrets.phone_encryption_old_keys.is_empty() {
        return Ok(());
    }
    let key = settings
        .secrets
        .phone_encryption_key
        .as_ref()
        .context("PHONE_ENCRYPTION_KEY is not set")?;
    let new_key = phone_key(key)?;
    tokio::task::spawn_blocking(move || match store.rotate_keys(new_key, 200) {
        Ok(report) => tracing::info!(
            re_encrypted = report.reencrypted,
            remaining_old = report.remaining_old,
            "Phone numbers re-encrypted under the current key; PHONE_ENCRYPTION_OLD_KEYS can be removed once remaining_old is 0."
        ),
        Err(error) => tracing::error!(%error, "Key rotation failed; it resumes at the next start."),
    });
    Ok(())
}

/// Whether `error` (from [`open_store`]) means another process — a running server — holds the
/// database, so a command should go through that server instead.
pub fn in_use_by_server(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<vartalaap_store::OpenError>()
            .is_some_and(vartalaap_store::OpenError::is_in_use)
    })
}
