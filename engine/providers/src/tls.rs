//! One rustls client configuration for every provider (WebSocket and HTTPS).
//!
//! Why by hand: both reqwest and tokio-tungstenite would otherwise pick a crypto provider from
//! their own features (aws-lc-rs by default, which needs cmake). Building the config here pins
//! the `ring` provider and the compiled-in Mozilla roots (`webpki-roots`), so TLS works the same
//! on a developer laptop, in CI and in a minimal container image.

use std::sync::{Arc, OnceLock};

/// The shared client TLS configuration, built once per process.
pub(crate) fn client_config() -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    if let Some(cfg) = CONFIG.get() {
        return Ok(cfg.clone());
    }
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(CONFIG.get_or_init(|| Arc::new(config)).clone())
}

/// A reqwest client on the shared TLS config, with the given connect timeout.
pub(crate) fn http_client(connect_timeout: std::time::Duration) -> Result<reqwest::Client, String> {
    let tls = client_config().map_err(|e| format!("TLS setup failed: {e}"))?;
    reqwest::Client::builder()
        .tls_backend_preconfigured((*tls).clone())
        .connect_timeout(connect_timeout)
        .build()
        .map_err(|e| format!("HTTP client setup failed: {e}"))
}
