//! Exponential reconnect backoff with jitter.

use std::time::Duration;

/// Reconnect schedule: `initial`, doubling up to `max`, for at most `max_attempts` tries.
///
/// Jitter (±20 %) keeps many calls that lost their sockets at the same moment (a provider
/// blip) from reconnecting in lockstep.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    /// Delay before the first reconnect attempt.
    pub initial: Duration,
    /// Upper bound for any single delay.
    pub max: Duration,
    /// Attempts before giving up; the caller then falls back (e.g. apologises and transfers).
    pub max_attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(2),
            max_attempts: 5,
        }
    }
}

impl Backoff {
    /// Delay before attempt number `attempt` (1-based), jittered.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(16);
        let base = self.initial.saturating_mul(1u32 << exp).min(self.max);
        let jitter: f64 = rand::random_range(0.8..1.2);
        base.mul_f64(jitter).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_are_capped() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(500),
            max_attempts: 10,
        };
        let first = b.delay(1);
        assert!(first >= Duration::from_millis(80) && first <= Duration::from_millis(120));
        let third = b.delay(3);
        assert!(third >= Duration::from_millis(320) && third <= Duration::from_millis(480));
        for attempt in 4..40 {
            assert!(b.delay(attempt) <= Duration::from_millis(500));
        }
    }
}
