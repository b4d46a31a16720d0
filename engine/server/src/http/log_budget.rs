//! A budget for repetitive warnings: a client can make the server log a line per bad message,
//! so lines about untrusted input are rate-limited, and the ones left out are counted and
//! reported on the next line that is written.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most `burst` lines per `window`; the rest are counted, not written.
#[derive(Debug)]
pub struct LogBudget {
    burst: u32,
    window: Duration,
    state: Mutex<BudgetState>,
}

#[derive(Debug)]
struct BudgetState {
    window_started: Option<Instant>,
    written: u32,
    suppressed: u64,
}

/// What the caller may do with one warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Write it, saying how many lines were left out since the last one written.
    Write { suppressed: u64 },
    /// Leave it out (it has been counted).
    Skip,
}

impl LogBudget {
    /// A budget of `burst` lines per `window`.
    pub const fn new(burst: u32, window: Duration) -> LogBudget {
        LogBudget {
            burst,
            window,
            state: Mutex::new(BudgetState {
                window_started: None,
                written: 0,
                suppressed: 0,
            }),
        }
    }

    /// Asks to write one line at `now`.
    pub fn admit(&self, now: Instant) -> Verdict {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = state
            .window_started
            .is_none_or(|started| now.saturating_duration_since(started) >= self.window);
        if fresh {
            state.window_started = Some(now);
            state.written = 0;
        }
        if state.written < self.burst {
            state.written += 1;
            let suppressed = std::mem::take(&mut state.suppressed);
            Verdict::Write { suppressed }
        } else {
            state.suppressed += 1;
            Verdict::Skip
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_burst_per_window_and_reports_what_it_left_out() {
        let budget = LogBudget::new(3, Duration::from_secs(10));
        let t0 = Instant::now();
        let verdicts: Vec<Verdict> = (0..2000).map(|_| budget.admit(t0)).collect();
        let written = verdicts.iter().filter(|v| **v != Verdict::Skip).count();
        assert_eq!(written, 3);
        assert_eq!(verdicts[0], Verdict::Write { suppressed: 0 });
        // The next window's first line carries the count of what was left out.
        assert_eq!(
            budget.admit(t0 + Duration::from_secs(10)),
            Verdict::Write { suppressed: 1997 }
        );
        assert_eq!(
            budget.admit(t0 + Duration::from_secs(11)),
            Verdict::Write { suppressed: 0 }
        );
    }
}
