//! Admin authentication: password login, signed expiring tokens, login rate limiting.
//!
//! Design decision: a self-contained HMAC-signed token (`v1.<claims>.<signature>`, base64url)
//! instead of server-side sessions. The server keeps no session table, restarts don't log the
//! owner out, and verification is one HMAC — while `SESSION_SECRET` rotation still revokes
//! every token at once. Claims carry an expiry, checked against the injected clock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::secrets::Secret;

/// How long a login token stays valid.
pub const TOKEN_TTL: Duration = Duration::hours(12);
/// Failed logins allowed per client address inside [`LOGIN_WINDOW`].
pub const MAX_FAILED_LOGINS: usize = 5;
/// The sliding window for [`MAX_FAILED_LOGINS`].
pub const LOGIN_WINDOW: Duration = Duration::minutes(15);

type HmacSha256 = Hmac<Sha256>;

/// What a token asserts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Who: always "admin" for now (one owner login per installation).
    pub sub: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds.
    pub exp: i64,
}

/// Why a token was refused (the HTTP layer maps every case to 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error(
        "missing bearer token: log in at POST /api/auth/login and send `Authorization: Bearer <token>`"
    )]
    Missing,
    #[error("malformed token")]
    Malformed,
    #[error("token signature is invalid")]
    BadSignature,
    #[error("token has expired: log in again")]
    Expired,
}

/// Signs `claims` with `secret`.
pub fn sign_token(secret: &str, claims: &Claims) -> String {
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signed = format!("v1.{payload}");
    let signature = URL_SAFE_NO_PAD.encode(mac(secret, &signed).finalize().into_bytes());
    format!("{signed}.{signature}")
}

/// Checks signature and expiry; returns the claims of a valid token.
pub fn verify_token(secret: &str, token: &str, now: DateTime<Utc>) -> Result<Claims, TokenError> {
    let (signed, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
    let payload = signed.strip_prefix("v1.").ok_or(TokenError::Malformed)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| TokenError::Malformed)?;
    mac(secret, signed)
        .verify_slice(&signature)
        .map_err(|_| TokenError::BadSignature)?;
    let claims: Claims = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(TokenError::Malformed)?;
    if now.timestamp() >= claims.exp {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

fn mac(secret: &str, message: &str) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(message.as_bytes());
    mac
}

/// Verifies a password against an argon2 PHC string (slow on purpose: run off async threads).
pub fn verify_password(hash: &Secret, password: &str) -> bool {
    match PasswordHash::new(hash.expose()) {
        Ok(parsed) => argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Counts failed logins per client address in a sliding window.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<IpAddr, Vec<DateTime<Utc>>>>,
}

impl LoginLimiter {
    /// `Err(seconds to wait)` when this address has used up its attempts.
    pub fn check(&self, addr: IpAddr, now: DateTime<Utc>) -> Result<(), i64> {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let recent = failures.entry(addr).or_default();
        recent.retain(|t| now - *t < LOGIN_WINDOW);
        if recent.len() >= MAX_FAILED_LOGINS {
            let oldest = recent.iter().min().copied().unwrap_or(now);
            let wait = (oldest + LOGIN_WINDOW - now).num_seconds().max(1);
            return Err(wait);
        }
        Ok(())
    }

    /// Records a failed attempt.
    pub fn failed(&self, addr: IpAddr, now: DateTime<Utc>) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        // Bound memory: forget addresses whose failures have all aged out.
        if failures.len() > 10_000 {
            failures.retain(|_, times| times.iter().any(|t| now - *t < LOGIN_WINDOW));
        }
        failures.entry(addr).or_default().push(now);
    }

    /// A successful login clears the address's record.
    pub fn succeeded(&self, addr: IpAddr) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: "admin".into(),
            iat: 0,
            exp,
        }
    }

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let token = sign_token("secret-1", &claims(100));
        assert_eq!(
            verify_token("secret-1", &token, at(99)).unwrap().sub,
            "admin"
        );
        assert_eq!(
            verify_token("secret-1", &token, at(100)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn tampering_or_another_secret_is_refused() {
        let token = sign_token("secret-1", &claims(100));
        assert_eq!(
            verify_token("secret-2", &token, at(0)),
            Err(TokenError::BadSignature)
        );
        let forged_claims = URL_SAFE_NO_PAD.encode(br#"{"sub":"admin","iat":0,"exp":999999}"#);
        let signature = token.rsplit_once('.').unwrap().1;
        let forged = format!("v1.{forged_claims}.{signature}");
        assert_eq!(
            verify_token("secret-1", &forged, at(0)),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            verify_token("secret-1", "garbage", at(0)),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn limiter_blocks_after_five_failures_and_forgets_after_the_window() {
        let limiter = LoginLimiter::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for i in 0..5 {
            assert!(limiter.check(ip, at(i)).is_ok());
            limiter.failed(ip, at(i));
        }
        let wait = limiter.check(ip, at(10)).unwrap_err();
        assert_eq!(wait, 15 * 60 - 10);
        assert!(limiter.check(ip, at(15 * 60 + 5)).is_ok());
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(limiter.check(other, at(10)).is_ok());
    }

    #[test]
    fn password_verification_uses_the_phc_hash() {
        let hash = Secret::new(crate::secrets::hash_password("right password").unwrap());
        assert!(verify_password(&hash, "right password"));
        assert!(!verify_password(&hash, "wrong password"));
        assert!(!verify_password(&Secret::new("not a hash"), "x"));
    }
}
