//! Settings: every knob comes from an environment variable (optionally through a `.env` file).
//!
//! Design decision: parsing takes a plain `name → value` map instead of reading the process
//! environment itself, so tests can check every rule without touching global state, and so one
//! pass can collect *every* problem and report them together ("fix these three things") rather
//! than failing on the first. `.env.example` at the repository root lists each variable.
//!
//! A cloud provider's key is required only when that provider is switched on; with no keys at
//! all the offline defaults run. In development mode missing secrets are generated once into
//! the data directory (see [`crate::secrets::ensure_dev_secrets`]); production never invents
//! them.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::http::edge::TrustedProxies;
use crate::secrets::Secret;

/// Whether missing secrets may be generated for convenience.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AppEnv {
    /// Local use: missing secrets are generated into the data directory.
    Development,
    /// Real deployments: every secret must be given explicitly.
    Production,
}

/// Console log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines for a terminal.
    Pretty,
    /// One JSON object per line for log shippers.
    Json,
}

/// Which speech-to-text engine turns the caller's audio into text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SttProvider {
    /// Local voice activity detection plus the offline recogniser (no cloud).
    Offline,
    /// Deepgram live streaming over WebSocket.
    Deepgram,
}

/// Which language model (if any) helps understand callers and phrase answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LlmProvider {
    /// Rule-based understanding only; fully deterministic.
    None,
    /// Groq's OpenAI-compatible chat completions.
    Groq,
}

/// Deepgram settings, present only when `STT_PROVIDER=deepgram`.
#[derive(Debug, Clone)]
pub struct DeepgramSettings {
    pub api_key: Secret,
    pub base_url: String,
}

/// Groq settings, present only when `LLM_PROVIDER=groq`.
#[derive(Debug, Clone)]
pub struct GroqSettings {
    pub api_key: Secret,
    pub base_url: String,
    /// Model names get retired upstream, so the name lives in settings, never in code.
    pub model: String,
    /// `LLM_TIMEOUT_MS`: the per-turn budget — the whole understanding call, and the first
    /// token of a phrased answer. Past it the turn takes the offline path.
    pub timeout_ms: u64,
    /// `LLM_ANSWER_TIMEOUT_MS`: the longest a phrased answer may stream.
    pub answer_timeout_ms: u64,
    /// `LLM_PHRASE_TEMPLATES`: templates whose answers the model may phrase (empty: none).
    pub phrase_templates: Vec<String>,
}

/// Plivo credentials: the auth token signs every webhook, so telephony is off without it.
#[derive(Debug, Clone)]
pub struct PlivoSettings {
    pub auth_id: String,
    pub auth_token: Secret,
    pub api_base_url: String,
}

/// WhatsApp follow-up webhook; follow-ups are skipped (and said so) when absent.
#[derive(Debug, Clone)]
pub struct WhatsappSettings {
    pub webhook_url: String,
    pub webhook_token: Secret,
}

/// The secrets that protect stored data and the admin API.
#[derive(Debug, Clone)]
pub struct SecretSettings {
    /// 32-byte AES-256-GCM key for caller phone numbers.
    pub phone_encryption_key: Option<Secret>,
    /// Earlier keys, still able to decrypt; numbers under them are re-encrypted with the
    /// current key in the background at start-up (key rotation without read downtime).
    pub phone_encryption_old_keys: Vec<Secret>,
    /// Pepper for the HMAC-SHA256 phone hash used for look-ups.
    pub phone_hash_pepper: Option<Secret>,
    /// Argon2 PHC string of the admin password.
    pub admin_password_hash: Option<Secret>,
    /// Key that signs admin session tokens.
    pub session_secret: Option<Secret>,
}

/// Everything the server needs to know about its environment, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub app_env: AppEnv,
    pub bind_addr: SocketAddr,
    /// The https origin Plivo reaches us on; stream URLs are built from it.
    pub public_base_url: Option<String>,
    /// `TRUSTED_PROXIES`: peers whose `X-Forwarded-For`/`-Proto` are believed (the reverse
    /// proxy in front of us); empty believes no one.
    pub trusted_proxies: TrustedProxies,
    /// Folder that holds `businesses/`, `flows/`, `plugins/`.
    pub config_root: PathBuf,
    /// Database, generated development secrets.
    pub data_dir: PathBuf,
    /// `DATABASE_URL`: a `postgres://…` URL selects the shared PostgreSQL store (several nodes);
    /// unset keeps the embedded redb file in `data_dir`. A secret: it may hold a password.
    pub database_url: Option<Secret>,
    /// `ADMIN_WEB_DIR`: the built admin web app (`npm run build` in `web/`), served at `/admin`.
    pub admin_web_dir: PathBuf,
    /// `CONVERSATION_TESTS_DIR`: where "Save as test" (`POST /api/calls/{id}/test`) writes
    /// dialogue files; `None` means `tests/conversations` under the configuration folder.
    pub conversation_tests_dir: Option<PathBuf>,
    pub log_level: String,
    pub log_format: LogFormat,
    /// Daily-rotated log files go here; `None` turns file logging off.
    pub log_dir: Option<PathBuf>,
    pub secrets: SecretSettings,
    pub stt: SttProvider,
    pub deepgram: Option<DeepgramSettings>,
    pub llm: LlmProvider,
    pub groq: Option<GroqSettings>,
    pub edge_tts_enabled: bool,
    pub edge_tts_base_url: Option<String>,
    pub plivo: Option<PlivoSettings>,
    pub whatsapp: Option<WhatsappSettings>,
    /// Sample rate TTS audio is converted to before framing (Plivo streams want 8000).
    pub tts_target_sample_rate: u32,
    /// Where `scripts/fetch-models.sh` put ONNX Runtime and the voice/VAD models.
    pub model_dir: Option<PathBuf>,
    /// `MAX_CALL_SECONDS`: the longest phone call; then the bot apologizes and hangs up (a
    /// stuck call cannot run up the bill).
    pub max_call_seconds: u64,
    /// `CALL_DRAIN_SECONDS`: on shutdown, how long live calls get to say goodbye before they
    /// are cut off (their call logs are written either way).
    pub call_drain_seconds: u64,
    /// `MAX_CONCURRENT_CALLS`: calls at once; one more is turned away by the answer URL with
    /// its business's `when_busy` (an apology or a transfer). 0 = no limit.
    pub max_concurrent_calls: u64,
    /// `HTTP_HEADER_TIMEOUT_SECONDS`: a client must send a request's headers within this
    /// long, or its connection is closed (slow-header clients cannot hold sockets).
    pub http_header_timeout_seconds: u64,
    /// `HTTP_IDLE_TIMEOUT_SECONDS`: a kept-alive connection with no request for this long is
    /// closed. WebSocket calls are not affected once upgraded.
    pub http_idle_timeout_seconds: u64,
    /// `MAX_CONNECTIONS`: open client connections (HTTP and WebSocket) at once; more are
    /// closed as soon as they are accepted.
    pub max_connections: u64,
}

/// Every problem found in the settings, each with how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    pub problems: Vec<String>,
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} problem(s) in the settings (environment variables or .env):",
            self.problems.len()
        )?;
        for problem in &self.problems {
            writeln!(f, "  - {problem}")?;
        }
        write!(f, "see .env.example for every variable and its meaning")
    }
}

impl std::error::Error for SettingsError {}

/// Reads variables one by one and records every problem instead of stopping at the first.
struct Reader<'a> {
    vars: &'a HashMap<String, String>,
    problems: Vec<String>,
}

impl<'a> Reader<'a> {
    /// A set, non-blank value (surrounding whitespace removed).
    fn get(&self, name: &str) -> Option<&'a str> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn string_or(&self, name: &str, default: &str) -> String {
        self.get(name).unwrap_or(default).to_string()
    }

    fn bool_or(&mut self, name: &str, default: bool) -> bool {
        match self.get(name).map(str::to_ascii_lowercase).as_deref() {
            None => default,
            Some("1" | "true" | "yes" | "on") => true,
            Some("0" | "false" | "no" | "off") => false,
            Some(other) => {
                self.problems
                    .push(format!("{name} must be true or false, found {other:?}"));
                default
            }
        }
    }

    fn choice<T: Copy>(&mut self, name: &str, default: T, options: &[(&str, T)]) -> T {
        let Some(raw) = self.get(name) else {
            return default;
        };
        let lower = raw.to_ascii_lowercase();
        if let Some((_, value)) = options.iter().find(|(key, _)| *key == lower) {
            return *value;
        }
        let names: Vec<&str> = options.iter().map(|(key, _)| *key).collect();
        self.problems.push(format!(
            "{name} must be one of {}, found {raw:?}",
            names.join(", ")
        ));
        default
    }

    fn url(&mut self, name: &str, default: &str) -> String {
        let value = self.string_or(name, default);
        if !(value.starts_with("http://")
            || value.starts_with("https://")
            || value.starts_with("ws://")
            || value.starts_with("wss://"))
        {
            self.problems.push(format!(
                "{name} must be an http(s):// or ws(s):// URL, found {value:?}"
            ));
        }
        value.trim_end_matches('/').to_string()
    }

    /// A whole number within `range`, or `default` when unset.
    fn number_in(&mut self, name: &str, default: u64, range: std::ops::RangeInclusive<u64>) -> u64 {
        let Some(raw) = self.get(name) else {
            return default;
        };
        match raw.parse::<u64>() {
            Ok(n) if range.contains(&n) => n,
            _ => {
                self.problems.push(format!(
                    "{name} must be a whole number from {} to {}, found {raw:?}",
                    range.start(),
                    range.end()
                ));
                default
            }
        }
    }

    /// `LLM_PHRASE_TEMPLATES`: template names, comma-separated; `none` turns phrasing off.
    fn template_list(&mut self, name: &str, default: &[&str]) -> Vec<String> {
        let Some(raw) = self.get(name) else {
            return default.iter().map(|s| s.to_string()).collect();
        };
        if matches!(raw.to_ascii_lowercase().as_str(), "none" | "off") {
            return Vec::new();
        }
        let mut out = Vec::new();
        for item in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if item
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                out.push(item.to_string());
            } else {
                self.problems.push(format!(
                    "{name} must be template names (lowercase letters, digits, _) separated by commas, or none; {item:?} is not one"
                ));
            }
        }
        out
    }

    fn optional_url(&mut self, name: &str) -> Option<String> {
        self.get(name)?;
        Some(self.url(name, ""))
    }

    fn required(&mut self, name: &str, because: &str) -> Option<&'a str> {
        let value = self.get(name);
        if value.is_none() {
            self.problems.push(format!("{name} is required {because}"));
        }
        value
    }

    fn secret_hex32(&mut self, name: &str) -> Option<Secret> {
        let value = self.get(name)?;
        if value.len() != 64 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
            self.problems.push(format!(
                "{name} must be 64 hex characters (32 bytes); `vartalaap keys` prints a fresh one"
            ));
            return None;
        }
        Some(Secret::new(value))
    }

    fn secret_hex32_list(&mut self, name: &str) -> Vec<Secret> {
        let Some(value) = self.get(name) else {
            return Vec::new();
        };
        let mut keys = Vec::new();
        for (i, key) in value
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .enumerate()
        {
            if key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit()) {
                keys.push(Secret::new(key));
            } else {
                self.problems.push(format!(
                    "{name} must be a comma-separated list of 64-hex-character keys; entry {} is not",
                    i + 1
                ));
            }
        }
        keys
    }

    fn secret_min_len(&mut self, name: &str, min: usize) -> Option<Secret> {
        let value = self.get(name)?;
        if value.len() < min {
            self.problems.push(format!(
                "{name} must be at least {min} characters; `vartalaap keys` prints a fresh one"
            ));
            return None;
        }
        Some(Secret::new(value))
    }
}

impl Settings {
    /// Reads the process environment (after loading `.env` if present) and validates it.
    pub fn from_process_env() -> Result<Self, SettingsError> {
        let vars: HashMap<String, String> = std::env::vars().collect();
        Self::from_vars(&vars)
    }

    /// Validates settings given as a map; collects every problem before failing.
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, SettingsError> {
        let mut r = Reader {
            vars,
            problems: Vec::new(),
        };
        let app_env = r.choice(
            "APP_ENV",
            AppEnv::Development,
            &[
                ("development", AppEnv::Development),
                ("dev", AppEnv::Development),
                ("production", AppEnv::Production),
                ("prod", AppEnv::Production),
            ],
        );
        let bind_raw = r.string_or("BIND_ADDR", "127.0.0.1:8080");
        let bind_addr = match bind_raw.parse::<SocketAddr>() {
            Ok(addr) => addr,
            Err(_) => {
                r.problems.push(format!(
                    "BIND_ADDR must be host:port such as 0.0.0.0:8080, found {bind_raw:?}"
                ));
                SocketAddr::from(([127, 0, 0, 1], 8080))
            }
        };
        let public_base_url = r.optional_url("PUBLIC_BASE_URL");
        if app_env == AppEnv::Production {
            // Plivo only calls https/wss origins, and the admin password travels to this origin.
            match public_base_url.as_deref() {
                Some(url) if url.starts_with("https://") => {}
                Some(url) => r.problems.push(format!(
                    "PUBLIC_BASE_URL must be an https:// origin when APP_ENV=production (Plivo \
                     reaches the bot only over https/wss, and admin passwords must not travel \
                     in clear text), found {url:?}; put a TLS proxy such as Caddy in front \
                     (docs/DEPLOY.md)"
                )),
                None => r.problems.push(
                    "PUBLIC_BASE_URL is required when APP_ENV=production: the https origin \
                     Plivo calls, e.g. https://bot.example.com (docs/DEPLOY.md)"
                        .to_string(),
                ),
            }
        }
        let trusted_proxies = match TrustedProxies::parse(r.get("TRUSTED_PROXIES").unwrap_or("")) {
            Ok(proxies) => proxies,
            Err(e) => {
                r.problems.push(format!(
                    "TRUSTED_PROXIES must be comma-separated addresses or CIDRs of the reverse \
                     proxy in front of the server; {e}"
                ));
                TrustedProxies::default()
            }
        };
        let config_root = PathBuf::from(r.string_or("CONFIG_ROOT", "."));
        let data_dir = PathBuf::from(r.string_or("DATA_DIR", "data"));
        let database_url = match r.get("DATABASE_URL") {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Some(Secret::new(url))
            }
            Some(_) => {
                r.problems.push(
                    "DATABASE_URL must be a PostgreSQL URL, postgres://user:password@host:5432/database \
                     (unset it to keep the embedded database in DATA_DIR)"
                        .to_string(),
                );
                None
            }
            None => None,
        };
        let admin_web_dir = PathBuf::from(r.string_or("ADMIN_WEB_DIR", "web/dist"));
        let conversation_tests_dir = r
            .get("CONVERSATION_TESTS_DIR")
            .map(str::trim)
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from);
        let log_level = r.string_or("LOG_LEVEL", "info");
        if tracing_subscriber::EnvFilter::try_new(&log_level).is_err() {
            r.problems.push(format!(
                "LOG_LEVEL must be a level (error, warn, info, debug, trace) or a filter such as \
                 info,vartalaap=debug, found {log_level:?}"
            ));
        }
        let log_format = r.choice(
            "LOG_FORMAT",
            LogFormat::Pretty,
            &[("pretty", LogFormat::Pretty), ("json", LogFormat::Json)],
        );
        let log_dir = match r.get("LOG_DIR") {
            Some("off" | "none") => None,
            Some(dir) => Some(PathBuf::from(dir)),
            None => Some(PathBuf::from("logs")),
        };

        let secrets = SecretSettings {
            phone_encryption_key: r.secret_hex32("PHONE_ENCRYPTION_KEY"),
            phone_encryption_old_keys: r.secret_hex32_list("PHONE_ENCRYPTION_OLD_KEYS"),
            phone_hash_pepper: r.secret_min_len("PHONE_HASH_PEPPER", 16),
            admin_password_hash: match r.get("ADMIN_PASSWORD_HASH") {
                Some(hash) if hash.starts_with("$argon2") => Some(Secret::new(hash)),
                Some(_) => {
                    r.problems.push(
                        "ADMIN_PASSWORD_HASH must be an argon2 PHC string ($argon2id$...); \
                         `vartalaap keys --admin-password-stdin` makes one"
                            .to_string(),
                    );
                    None
                }
                None => None,
            },
            session_secret: r.secret_min_len("SESSION_SECRET", 32),
        };
        if app_env == AppEnv::Production {
            for (name, present) in [
                (
                    "PHONE_ENCRYPTION_KEY",
                    secrets.phone_encryption_key.is_some(),
                ),
                ("PHONE_HASH_PEPPER", secrets.phone_hash_pepper.is_some()),
                ("ADMIN_PASSWORD_HASH", secrets.admin_password_hash.is_some()),
                ("SESSION_SECRET", secrets.session_secret.is_some()),
            ] {
                if !present && r.get(name).is_none() {
                    r.problems.push(format!(
                        "{name} is required when APP_ENV=production (secrets are never generated \
                         in production); `vartalaap keys` prints fresh values"
                    ));
                }
            }
        }

        let stt = r.choice(
            "STT_PROVIDER",
            SttProvider::Offline,
            &[
                ("offline", SttProvider::Offline),
                ("deepgram", SttProvider::Deepgram),
            ],
        );
        let deepgram_base_url = r.url("DEEPGRAM_BASE_URL", "wss://api.deepgram.com");
        let deepgram = match stt {
            SttProvider::Deepgram => r
                .required("DEEPGRAM_API_KEY", "when STT_PROVIDER=deepgram")
                .map(|key| DeepgramSettings {
                    api_key: Secret::new(key),
                    base_url: deepgram_base_url,
                }),
            SttProvider::Offline => None,
        };

        let llm = r.choice(
            "LLM_PROVIDER",
            LlmProvider::None,
            &[("none", LlmProvider::None), ("groq", LlmProvider::Groq)],
        );
        let groq_base_url = r.url("GROQ_BASE_URL", "https://api.groq.com/openai/v1");
        let groq = match llm {
            LlmProvider::Groq => {
                let key = r.required("GROQ_API_KEY", "when LLM_PROVIDER=groq");
                let model = r.required(
                    "GROQ_MODEL",
                    "when LLM_PROVIDER=groq (model names are retired upstream, so they are a \
                     setting; see .env.example)",
                );
                let timeout_ms = r.number_in("LLM_TIMEOUT_MS", 1500, 100..=30_000);
                let answer_timeout_ms = r.number_in("LLM_ANSWER_TIMEOUT_MS", 6000, 500..=60_000);
                let phrase_templates = r.template_list(
                    "LLM_PHRASE_TEMPLATES",
                    &vartalaap_llm::DEFAULT_PHRASE_TEMPLATES,
                );
                match (key, model) {
                    (Some(key), Some(model)) => Some(GroqSettings {
                        api_key: Secret::new(key),
                        base_url: groq_base_url,
                        model: model.to_string(),
                        timeout_ms,
                        answer_timeout_ms,
                        phrase_templates,
                    }),
                    _ => None,
                }
            }
            LlmProvider::None => None,
        };

        let edge_tts_enabled = r.bool_or("EDGE_TTS_ENABLED", false);
        let edge_tts_base_url = r.optional_url("EDGE_TTS_BASE_URL");

        let plivo = match (r.get("PLIVO_AUTH_ID"), r.get("PLIVO_AUTH_TOKEN")) {
            (None, None) => None,
            (Some(id), Some(token)) => Some(PlivoSettings {
                auth_id: id.to_string(),
                auth_token: Secret::new(token),
                api_base_url: r.url("PLIVO_API_BASE_URL", "https://api.plivo.com"),
            }),
            (Some(_), None) => {
                r.problems.push(
                    "PLIVO_AUTH_TOKEN is required when PLIVO_AUTH_ID is set (it signs every \
                     Plivo webhook)"
                        .to_string(),
                );
                None
            }
            (None, Some(_)) => {
                r.problems
                    .push("PLIVO_AUTH_ID is required when PLIVO_AUTH_TOKEN is set".to_string());
                None
            }
        };

        let whatsapp = match (
            r.get("WHATSAPP_WEBHOOK_URL"),
            r.get("WHATSAPP_WEBHOOK_TOKEN"),
        ) {
            (None, None) => None,
            (Some(_), Some(token)) => Some(WhatsappSettings {
                webhook_url: r.url("WHATSAPP_WEBHOOK_URL", ""),
                webhook_token: Secret::new(token),
            }),
            (Some(_), None) => {
                r.problems.push(
                    "WHATSAPP_WEBHOOK_TOKEN is required when WHATSAPP_WEBHOOK_URL is set"
                        .to_string(),
                );
                None
            }
            (None, Some(_)) => {
                r.problems.push(
                    "WHATSAPP_WEBHOOK_URL is required when WHATSAPP_WEBHOOK_TOKEN is set"
                        .to_string(),
                );
                None
            }
        };

        let rate_raw = r.string_or("TTS_TARGET_SAMPLE_RATE", "8000");
        let tts_target_sample_rate = match rate_raw.parse::<u32>() {
            Ok(rate @ (8000 | 16000 | 22050 | 24000 | 44100 | 48000)) => rate,
            _ => {
                r.problems.push(format!(
                    "TTS_TARGET_SAMPLE_RATE must be one of 8000, 16000, 22050, 24000, 44100, \
                     48000 (Plivo streams use 8000), found {rate_raw:?}"
                ));
                8000
            }
        };
        let model_dir = r.get("VARTALAAP_MODEL_DIR").map(PathBuf::from);
        let max_call_seconds = r.number_in("MAX_CALL_SECONDS", 900, 30..=4 * 3600);
        let call_drain_seconds = r.number_in("CALL_DRAIN_SECONDS", 8, 1..=300);
        let max_concurrent_calls = r.number_in("MAX_CONCURRENT_CALLS", 100, 0..=100_000);
        let http_header_timeout_seconds = r.number_in("HTTP_HEADER_TIMEOUT_SECONDS", 10, 1..=300);
        let http_idle_timeout_seconds = r.number_in("HTTP_IDLE_TIMEOUT_SECONDS", 60, 1..=3600);
        let max_connections = r.number_in("MAX_CONNECTIONS", 4096, 16..=1_000_000);

        if !r.problems.is_empty() {
            return Err(SettingsError {
                problems: r.problems,
            });
        }
        Ok(Settings {
            app_env,
            bind_addr,
            public_base_url,
            trusted_proxies,
            config_root,
            data_dir,
            database_url,
            admin_web_dir,
            conversation_tests_dir,
            log_level,
            log_format,
            log_dir,
            secrets,
            stt,
            deepgram,
            llm,
            groq,
            edge_tts_enabled,
            edge_tts_base_url,
            plivo,
            whatsapp,
            tts_target_sample_rate,
            model_dir,
            max_call_seconds,
            call_drain_seconds,
            max_concurrent_calls,
            http_header_timeout_seconds,
            http_idle_timeout_seconds,
            max_connections,
        })
    }

    /// Every secret value in use, so the log writer can scrub them if one ever slips through.
    pub fn secret_values(&self) -> Vec<String> {
        let s = &self.secrets;
        s.phone_encryption_old_keys
            .iter()
            .chain(
                [
                    s.phone_encryption_key.as_ref(),
                    s.phone_hash_pepper.as_ref(),
                    s.admin_password_hash.as_ref(),
                    s.session_secret.as_ref(),
                    self.deepgram.as_ref().map(|d| &d.api_key),
                    self.groq.as_ref().map(|g| &g.api_key),
                    self.plivo.as_ref().map(|p| &p.auth_token),
                    self.whatsapp.as_ref().map(|w| &w.webhook_token),
                ]
                .into_iter()
                .flatten(),
            )
            .map(|secret| secret.expose().to_string())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn no_variables_at_all_gives_offline_development_defaults() {
        let s = Settings::from_vars(&HashMap::new()).expect("defaults are valid");
        assert_eq!(s.app_env, AppEnv::Development);
        assert_eq!(s.stt, SttProvider::Offline);
        assert_eq!(s.llm, LlmProvider::None);
        assert!(!s.edge_tts_enabled);
        assert!(s.deepgram.is_none() && s.groq.is_none() && s.plivo.is_none());
        assert_eq!(s.tts_target_sample_rate, 8000);
        assert_eq!(s.bind_addr.to_string(), "127.0.0.1:8080");
        assert_eq!((s.max_call_seconds, s.call_drain_seconds), (900, 8));
        assert_eq!(s.max_concurrent_calls, 100);
        assert_eq!(
            (
                s.http_header_timeout_seconds,
                s.http_idle_timeout_seconds,
                s.max_connections
            ),
            (10, 60, 4096)
        );
    }

    #[test]
    fn call_limits_are_checked() {
        let s = Settings::from_vars(&vars(&[
            ("MAX_CALL_SECONDS", "300"),
            ("CALL_DRAIN_SECONDS", "20"),
            ("EDGE_TTS_ENABLED", "true"),
            ("EDGE_TTS_BASE_URL", "ws://127.0.0.1:9/"),
        ]))
        .unwrap();
        assert_eq!((s.max_call_seconds, s.call_drain_seconds), (300, 20));
        assert!(s.edge_tts_enabled);
        assert_eq!(s.edge_tts_base_url.as_deref(), Some("ws://127.0.0.1:9"));
        let err = Settings::from_vars(&vars(&[
            ("MAX_CALL_SECONDS", "5"),
            ("CALL_DRAIN_SECONDS", "soon"),
        ]))
        .unwrap_err();
        assert_eq!(err.problems.len(), 2, "{err}");
        assert!(err.problems[0].contains("MAX_CALL_SECONDS must be a whole number from 30"));
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let err = Settings::from_vars(&vars(&[
            ("PHONE_ENCRYPTION_KEY", "abc"),
            ("STT_PROVIDER", "deepgram"),
            ("LLM_PROVIDER", "groq"),
            ("GROQ_API_KEY", "gsk_x"),
            ("BIND_ADDR", "localhost"),
            ("EDGE_TTS_ENABLED", "maybe"),
        ]))
        .unwrap_err();
        let text = err.to_string();
        assert_eq!(err.problems.len(), 5, "{text}");
        assert!(text.contains("PHONE_ENCRYPTION_KEY must be 64 hex characters"));
        assert!(text.contains("`vartalaap keys` prints a fresh one"));
        assert!(text.contains("DEEPGRAM_API_KEY is required when STT_PROVIDER=deepgram"));
        assert!(text.contains("GROQ_MODEL is required"));
        assert!(text.contains("BIND_ADDR must be host:port"));
        assert!(text.contains("EDGE_TTS_ENABLED must be true or false"));
    }

    #[test]
    fn keys_are_needed_only_for_enabled_providers() {
        let s = Settings::from_vars(&vars(&[
            ("LLM_PROVIDER", "groq"),
            ("GROQ_API_KEY", "gsk_test"),
            ("GROQ_MODEL", "some-model"),
            ("GROQ_BASE_URL", "http://127.0.0.1:9999/openai/v1/"),
        ]))
        .unwrap();
        let groq = s.groq.unwrap();
        assert_eq!(groq.base_url, "http://127.0.0.1:9999/openai/v1");
        assert_eq!(groq.model, "some-model");
        assert!(s.deepgram.is_none());
    }

    #[test]
    fn llm_budgets_and_phrased_templates_are_settings() {
        let base = [
            ("LLM_PROVIDER", "groq"),
            ("GROQ_API_KEY", "gsk_test"),
            ("GROQ_MODEL", "some-model"),
        ];
        let groq = Settings::from_vars(&vars(&base)).unwrap().groq.unwrap();
        assert_eq!((groq.timeout_ms, groq.answer_timeout_ms), (1500, 6000));
        assert_eq!(
            groq.phrase_templates,
            ["faq_not_found", "menu_item_not_found", "not_understood"]
        );
        let mut set = base.to_vec();
        set.extend([
            ("LLM_TIMEOUT_MS", "900"),
            ("LLM_ANSWER_TIMEOUT_MS", "4000"),
            ("LLM_PHRASE_TEMPLATES", "faq_not_found, menu_answer"),
        ]);
        let groq = Settings::from_vars(&vars(&set)).unwrap().groq.unwrap();
        assert_eq!((groq.timeout_ms, groq.answer_timeout_ms), (900, 4000));
        assert_eq!(groq.phrase_templates, ["faq_not_found", "menu_answer"]);
        let mut off = base.to_vec();
        off.push(("LLM_PHRASE_TEMPLATES", "none"));
        let groq = Settings::from_vars(&vars(&off)).unwrap().groq.unwrap();
        assert!(groq.phrase_templates.is_empty());
        let mut bad = base.to_vec();
        bad.extend([
            ("LLM_TIMEOUT_MS", "soon"),
            ("LLM_PHRASE_TEMPLATES", "FAQ Answer"),
        ]);
        let err = Settings::from_vars(&vars(&bad)).unwrap_err();
        assert_eq!(err.problems.len(), 2, "{err}");
        assert!(err.problems[0].contains("LLM_TIMEOUT_MS must be a whole number from 100"));
    }

    #[test]
    fn production_never_runs_without_secrets() {
        let err = Settings::from_vars(&vars(&[
            ("APP_ENV", "production"),
            ("PUBLIC_BASE_URL", "https://bot.example.com"),
        ]))
        .unwrap_err();
        assert_eq!(err.problems.len(), 4);
        assert!(err.to_string().contains("never generated in production"));
    }

    #[test]
    fn production_needs_an_https_public_origin() {
        let key = "ab".repeat(32);
        let secrets = [
            ("APP_ENV", "production"),
            ("PHONE_ENCRYPTION_KEY", key.as_str()),
            ("PHONE_HASH_PEPPER", "pepper-pepper-pepper-123"),
            (
                "ADMIN_PASSWORD_HASH",
                "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
            ),
            ("SESSION_SECRET", "session-secret-session-secret-0123"),
        ];
        let with = |url: Option<&str>| {
            let mut set: Vec<(&str, &str)> = secrets.to_vec();
            if let Some(url) = url {
                set.push(("PUBLIC_BASE_URL", url));
            }
            Settings::from_vars(&vars(&set))
        };
        assert!(with(Some("https://bot.example.com/")).is_ok());
        let err = with(Some("http://bot.example.com")).unwrap_err();
        assert_eq!(err.problems.len(), 1, "{err}");
        assert!(err.problems[0].contains("PUBLIC_BASE_URL must be an https:// origin"));
        let err = with(None).unwrap_err();
        assert!(err.problems[0].contains("PUBLIC_BASE_URL is required when APP_ENV=production"));
        // Development keeps plain http for local tests.
        let dev = Settings::from_vars(&vars(&[("PUBLIC_BASE_URL", "http://127.0.0.1:8080")]));
        assert!(dev.is_ok());
    }

    #[test]
    fn trusted_proxies_are_cidrs() {
        let s = Settings::from_vars(&vars(&[("TRUSTED_PROXIES", "127.0.0.1, ::1")])).unwrap();
        assert!(!s.trusted_proxies.is_empty());
        assert!(
            Settings::from_vars(&HashMap::new())
                .unwrap()
                .trusted_proxies
                .is_empty()
        );
        let err = Settings::from_vars(&vars(&[("TRUSTED_PROXIES", "caddy")])).unwrap_err();
        assert!(err.problems[0].contains("TRUSTED_PROXIES must be"), "{err}");
        assert!(err.problems[0].contains("\"caddy\""), "{err}");
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let secrets = [
            ("PHONE_ENCRYPTION_KEY", "ab".repeat(32)),
            ("PHONE_ENCRYPTION_OLD_KEYS", "cd".repeat(32)),
            ("PHONE_HASH_PEPPER", "pepper-pepper-pepper-123".to_string()),
            (
                "ADMIN_PASSWORD_HASH",
                "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".to_string(),
            ),
            (
                "SESSION_SECRET",
                "session-secret-session-secret-0123456789".to_string(),
            ),
            ("DEEPGRAM_API_KEY", "deepgram-api-key-value".to_string()),
            ("GROQ_API_KEY", "gsk_groq-api-key-value".to_string()),
            ("PLIVO_AUTH_TOKEN", "very-secret-token".to_string()),
            (
                "WHATSAPP_WEBHOOK_TOKEN",
                "whatsapp-webhook-token".to_string(),
            ),
        ];
        let mut all: Vec<(&str, &str)> = secrets.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.extend([
            ("STT_PROVIDER", "deepgram"),
            ("LLM_PROVIDER", "groq"),
            ("GROQ_MODEL", "some-model"),
            ("PLIVO_AUTH_ID", "MAXXXXXXXX"),
            ("WHATSAPP_WEBHOOK_URL", "https://relay.example.in/send"),
        ]);
        let s = Settings::from_vars(&vars(&all)).unwrap();
        let debug = format!("{s:?} {s:#?}");
        for (name, value) in &secrets {
            assert!(!debug.contains(value.as_str()), "{name} in {debug}");
        }
        assert_eq!(s.secret_values().len(), secrets.len());
    }

    #[test]
    fn plivo_id_without_token_is_an_error() {
        let err = Settings::from_vars(&vars(&[("PLIVO_AUTH_ID", "MA123")])).unwrap_err();
        assert!(err.problems[0].contains("PLIVO_AUTH_TOKEN is required"));
    }
}
