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
        .use_preconfigured_tls((*tls).clone())
        .connect_timeout(connect_timeout)
        .build()
        .map_err(|e| format!("HTTP client setup failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_built_once_and_accepted_by_reqwest() {
        let a = client_config().unwrap();
        let b = client_config().unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        // reqwest rejects a preconfigured TLS value it does not recognise at build time, so
        // this proves the ring-based config is the one it uses.
        assert!(http_client(std::time::Duration::from_secs(1)).is_ok());
    }
}
