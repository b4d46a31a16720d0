//! The optional LLM, built once from settings and shared by text chat and phone calls.
//!
//! Without `LLM_PROVIDER=groq` this is the offline default and nothing ever leaves the
//! process. With it, Groq reads utterances the offline extractors miss and phrases the answers
//! listed in `LLM_PHRASE_TEMPLATES`; every outcome is counted in
//! `vartalaap_llm_turns_total{task,outcome}`. See `docs/LLM.md`.

use std::sync::Arc;
use std::time::Duration;

use vartalaap_llm::review::GroqReviewModel;
use vartalaap_llm::{GroqConfig, Llm, LlmSettings};
use vartalaap_review::ReviewModel;

use crate::http::metrics::Metrics;
use crate::settings::Settings;

/// The LLM the settings ask for; outcomes go to `metrics` when given.
pub fn from_settings(
    settings: &Settings,
    metrics: Option<Arc<Metrics>>,
) -> anyhow::Result<Arc<Llm>> {
    let Some(groq) = &settings.groq else {
        return Ok(Arc::new(Llm::offline()));
    };
    let cfg = GroqConfig::new(
        groq.base_url.clone(),
        groq.api_key.expose(),
        groq.model.clone(),
    );
    let tuning = LlmSettings {
        timeout: Duration::from_millis(groq.timeout_ms),
        answer_timeout: Duration::from_millis(groq.answer_timeout_ms),
        phrase_templates: groq.phrase_templates.clone(),
        ..LlmSettings::default()
    };
    let mut llm = Llm::groq(cfg, tuning)
        .map_err(|e| anyhow::anyhow!("the Groq client cannot be built: {e}"))?;
    if let Some(metrics) = metrics {
        llm = llm.with_metrics(Arc::new(move |task, outcome| {
            metrics.llm_turn(task.name(), outcome)
        }));
    }
    tracing::info!(
        model = %groq.model,
        base_url = %groq.base_url,
        timeout_ms = groq.timeout_ms,
        phrased = ?groq.phrase_templates,
        "LLM is on: Groq reads what the offline path misses and phrases listed answers; every failure falls back to the offline path."
    );
    Ok(Arc::new(llm))
}

/// The model the call review asks (each stage, and the summary sentence), from the same Groq
/// settings; `None` (the offline reviewer) without `LLM_PROVIDER=groq`. See `docs/REVIEWS.md`.
pub fn review_model(settings: &Settings) -> anyhow::Result<Option<Arc<dyn ReviewModel>>> {
    let Some(groq) = &settings.groq else {
        return Ok(None);
    };
    let cfg = GroqConfig::new(
        groq.base_url.clone(),
        groq.api_key.expose(),
        groq.model.clone(),
    );
    let model = GroqReviewModel::new(cfg)
        .map_err(|e| anyhow::anyhow!("the Groq client for call reviews cannot be built: {e}"))?;
    Ok(Some(Arc::new(model)))
}
