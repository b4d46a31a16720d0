//! Admin authentication: password login, signed expiring tokens, login rate limiting.
//!
//! Design decision: a self-contained signed token (the project's one format, see
//! [`vartalaap_token`]) instead of server-side sessions. The server keeps no session table,
//! restarts don't log the owner out, and verification is one HMAC — while `SESSION_SECRET`
//! rotation still revokes every token at once. The key is derived from `SESSION_SECRET` for
//! this purpose only, so a stream token or Talk-to-it ticket is never accepted as a login.
//! Claims carry an expiry, checked against the injected clock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use vartalaap_token::{Expiring, TokenKey};

use crate::secrets::Secret;

/// How long a login token stays valid.
pub const TOKEN_TTL: Duration = Duration::hours(12);
/// Failed logins allowed per client address inside [`LOGIN_WINDOW`].
pub const MAX_FAILED_LOGINS: usize = 5;
/// The sliding window for [`MAX_FAILED_LOGINS`].
pub const LOGIN_WINDOW: Duration = Duration::minutes(15);
/// Names the admin-login key among the keys derived from `SESSION_SECRET`.
const ADMIN_TOKEN_PURPOSE: &str = "admin-session/v1";

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

impl Claims {
    /// The owner's claims for a token issued at `now`, valid for `ttl`.
    pub fn admin(now: DateTime<Utc>, ttl: Duration) -> Claims {
        Claims {
            sub: "admin".into(),
            iat: now.timestamp(),
            exp: (now + ttl).timestamp(),
        }
    }
}

impl Expiring for Claims {
    fn expires_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.exp, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
}

/// Why a request's token was refused (the HTTP layer maps every case to 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error(
        "missing bearer token: log in at POST /api/auth/login and send `Authorization: Bearer <token>`"
    )]
    Missing,
    #[error("token has expired: log in again")]
    Expired,
    #[error("{0}")]
    Invalid(vartalaap_token::TokenError),
}

impl From<vartalaap_token::TokenError> for TokenError {
    fn from(e: vartalaap_token::TokenError) -> TokenError {
        match e {
            vartalaap_token::TokenError::Expired { .. } => TokenError::Expired,
            other => TokenError::Invalid(other),
        }
    }
}

/// The key that signs and verifies admin login tokens, derived from `SESSION_SECRET`.
pub fn admin_token_key(session_secret: &Secret) -> Result<TokenKey, vartalaap_token::TokenError> {
    TokenKey::for_purpose(session_secret.expose().as_bytes(), ADMIN_TOKEN_PURPOSE)
}

/// Signs `claims` with the admin key.
pub fn sign_token(key: &TokenKey, claims: &Claims) -> String {
    key.sign(claims)
}

/// Checks signature and expiry; returns the claims of a valid token.
pub fn verify_token(key: &TokenKey, token: &str, now: DateTime<Utc>) -> Result<Claims, TokenError> {
    Ok(key.verify(token, now)?)
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

/// Counts login attempts per client address in a sliding window.
///
/// An attempt is counted when it *starts* (before the slow password hash runs) and forgiven
/// only when it succeeds, so a burst of parallel guesses cannot all reach the hash before the
/// first failure is recorded: at most [`MAX_FAILED_LOGINS`] per window are ever checked.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    attempts: Mutex<HashMap<IpAddr, Vec<DateTime<Utc>>>>,
}

impl LoginLimiter {
    /// Reserves one attempt for `addr`; `Err(seconds to wait)` when it has used them all.
    pub fn begin(&self, addr: IpAddr, now: DateTime<Utc>) -> Result<(), i64> {
        let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        // Bound memory: forget addresses whose attempts have all aged out.
        if attempts.len() > 10_000 {
            attempts.retain(|_, times| times.iter().any(|t| now - *t < LOGIN_WINDOW));
        }
        let recent = attempts.entry(addr).or_default();
        recent.retain(|t| now - *t < LOGIN_WINDOW);
        if recent.len() >= MAX_FAILED_LOGINS {
            let oldest = recent.iter().min().copied().unwrap_or(now);
            let wait = (oldest + LOGIN_WINDOW - now).num_seconds().max(1);
            return Err(wait);
        }
        recent.push(now);
        Ok(())
    }

    /// A successful login clears the address's record (its attempts were the owner's).
    pub fn succeeded(&self, addr: IpAddr) {
        let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        attempts.remove(&addr);
    }
}

/// How many password hashes may run at once, whoever asks. argon2 is slow and takes ~19 MiB
/// per check on purpose; one at a time keeps a login flood from many addresses off the CPU
/// (all but one core) and the memory that calls and bookings need. Logins are rare.
pub const PASSWORD_CHECKS_AT_ONCE: usize = 1;
/// Logins allowed to wait for a free password check; beyond this the server answers 503.
pub const PASSWORD_CHECKS_QUEUED: usize = 16;

/// Bounds password checks: at most [`PASSWORD_CHECKS_AT_ONCE`] run on the blocking pool,
/// at most [`PASSWORD_CHECKS_QUEUED`] wait for a turn, the rest are turned away at once.
#[derive(Debug)]
pub struct PasswordChecks {
    running: tokio::sync::Semaphore,
    waiting: std::sync::atomic::AtomicUsize,
}

impl Default for PasswordChecks {
    fn default() -> Self {
        PasswordChecks {
            running: tokio::sync::Semaphore::new(PASSWORD_CHECKS_AT_ONCE),
            waiting: std::sync::atomic::AtomicUsize::new(0),
        }
    }
}

/// The password checker is saturated; the client should retry shortly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many logins are being checked right now; try again in a few seconds")]
pub struct ChecksBusy;

impl PasswordChecks {
    /// Verifies `password` against `hash` once a check slot is free, off the async threads.
    pub async fn verify(&self, hash: Secret, password: String) -> Result<bool, ChecksBusy> {
        use std::sync::atomic::Ordering;
        if self.waiting.fetch_add(1, Ordering::SeqCst)
            >= PASSWORD_CHECKS_AT_ONCE + PASSWORD_CHECKS_QUEUED
        {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(ChecksBusy);
        }
        let permit = self.running.acquire().await;
        let result = match permit {
            Ok(_permit) => tokio::task::spawn_blocking(move || verify_password(&hash, &password))
                .await
                .unwrap_or(false),
            Err(_) => false,
        };
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        Ok(result)
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

    fn key(secret: &str) -> TokenKey {
        admin_token_key(&Secret::new(secret)).unwrap()
    }

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let token = sign_token(&key("session-secret-number-1"), &claims(100));
        assert_eq!(
            verify_token(&key("session-secret-number-1"), &token, at(99))
                .unwrap()
                .sub,
            "admin"
        );
        assert_eq!(
            verify_token(&key("session-secret-number-1"), &token, at(100)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn tampering_another_secret_or_a_stream_token_is_refused() {
        let token = sign_token(&key("session-secret-number-1"), &claims(100));
        assert_eq!(
            verify_token(&key("session-secret-number-2"), &token, at(0)),
            Err(TokenError::Invalid(vartalaap_token::TokenError::Tampered))
        );
        assert!(matches!(
            verify_token(&key("session-secret-number-1"), "garbage", at(0)),
            Err(TokenError::Invalid(vartalaap_token::TokenError::Malformed(
                _
            )))
        ));
        // The same secret's stream-token key signs something else entirely.
        let stream = TokenKey::new(&vartalaap_token::purpose_secret(
            b"session-secret-number-1",
            "plivo-stream-token/v1",
        ))
        .unwrap();
        let stream_signed = stream.sign(&claims(100));
        assert_eq!(
            verify_token(&key("session-secret-number-1"), &stream_signed, at(0)),
            Err(TokenError::Invalid(vartalaap_token::TokenError::Tampered))
        );
        assert!(admin_token_key(&Secret::new("short")).is_err());
    }

    #[test]
    fn limiter_counts_attempts_as_they_start_and_forgets_after_the_window() {
        let limiter = LoginLimiter::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        // Five attempts in flight at once (none has finished hashing): the sixth is refused.
        for i in 0..5 {
            assert!(limiter.begin(ip, at(i)).is_ok());
        }
        let wait = limiter.begin(ip, at(10)).unwrap_err();
        assert_eq!(wait, 15 * 60 - 10);
        assert!(limiter.begin(ip, at(15 * 60 + 5)).is_ok());
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(limiter.begin(other, at(10)).is_ok());
    }

    #[test]
    fn a_successful_login_forgives_the_address() {
        let limiter = LoginLimiter::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for i in 0..5 {
            limiter.begin(ip, at(i)).unwrap();
        }
        limiter.succeeded(ip);
        assert!(limiter.begin(ip, at(6)).is_ok());
    }

    #[tokio::test]
    async fn password_checks_beyond_the_queue_are_turned_away() {
        let checks = std::sync::Arc::new(PasswordChecks::default());
        // Fill every running and queued slot with checks that wait for a free slot (the hash
        // is not a PHC string, so each check is instant once it runs).
        let hash = Secret::new("not a hash");
        let held = checks
            .running
            .acquire_many(PASSWORD_CHECKS_AT_ONCE as u32)
            .await
            .unwrap();
        let mut queued = Vec::new();
        for _ in 0..PASSWORD_CHECKS_AT_ONCE + PASSWORD_CHECKS_QUEUED {
            let checks = checks.clone();
            let hash = hash.clone();
            queued.push(tokio::spawn(async move {
                checks.verify(hash, "pw".into()).await
            }));
        }
        while checks.waiting.load(std::sync::atomic::Ordering::SeqCst)
            < PASSWORD_CHECKS_AT_ONCE + PASSWORD_CHECKS_QUEUED
        {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            checks.verify(hash.clone(), "pw".into()).await,
            Err(ChecksBusy)
        );
        drop(held);
        for task in queued {
            assert_eq!(task.await.unwrap(), Ok(false));
        }
    }

    #[test]
    fn password_verification_uses_the_phc_hash() {
        let hash = Secret::new(crate::secrets::hash_password("right password").unwrap());
        assert!(verify_password(&hash, "right password"));
        assert!(!verify_password(&hash, "wrong password"));
        assert!(!verify_password(&Secret::new("not a hash"), "x"));
    }
}
