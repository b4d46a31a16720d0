//! The sandbox: one place that decides what a script may do and how long it may run.
//!
//! **Design decision:** the engine starts from [`Engine::new_raw`] and adds only pure packages
//! (arithmetic, logic, strings, arrays, maps, math, blobs, bit fields). Left out on purpose:
//! the file module resolver, `eval` and `import` (refused at parse time), and the time package
//! (`timestamp()` would read the system clock; scripts get `now` from the scope so a replayed
//! conversation behaves the same). Rhai has no network or process access at all.
//!
//! The parse-time rules (refused symbols, nesting, function-count and literal-size limits) are
//! listed once, in [`vartalaap_config::apply_parse_rules`]: the config loader parses plugins
//! with them, so `vartalaap validate`, startup and hot reload reject what this engine would
//! refuse, and [`harden`] applies the same function here.
//!
//! Operation, depth and size limits are deterministic. The CPU-time limit is a backstop for
//! the few operations whose cost is not proportional to the operation count; it reads an
//! injected [`Clock`] so tests can make time jump without sleeping.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rhai::module_resolvers::DummyModuleResolver;
use rhai::packages::{
    BasicArrayPackage, BasicBlobPackage, BasicMapPackage, BasicMathPackage, BitFieldPackage,
    CorePackage, LogicPackage, MoreStringPackage, Package,
};
use rhai::{Dynamic, Engine};
use vartalaap_config::{ParseLimits, apply_parse_rules};

/// Limits for one script evaluation or plugin call.
///
/// Defaults suit a phone call: a plugin decides within a few milliseconds, a runaway loop is
/// stopped long before the caller notices, and the shipped plugins use well under 1% of each
/// budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptLimits {
    /// Rhai operations (roughly: expressions and statements evaluated) per call.
    pub max_operations: u64,
    /// CPU time the calling thread spends per call, checked every [`TIME_CHECK_EVERY`]
    /// operations.
    ///
    /// CPU time, not wall time: on a busy machine a thread can be descheduled for longer than
    /// the whole budget, and a wall-clock limit then failed healthy plugins (a `before_booking`
    /// hook failing closed refuses the booking) exactly when the server was loaded.
    pub cpu_time: Duration,
    /// Nested script function calls (recursion depth).
    pub max_call_depth: usize,
    /// Expression nesting at the top level of a script, checked at compile time.
    pub max_expr_depth: usize,
    /// Expression nesting inside function bodies, checked at compile time.
    pub max_function_expr_depth: usize,
    /// Length of any string a script builds, in bytes.
    pub max_string_size: usize,
    /// Elements of any array a script builds.
    pub max_array_size: usize,
    /// Properties of any object map a script builds.
    pub max_map_size: usize,
    /// Variables alive at once.
    pub max_variables: usize,
    /// Functions a plugin may define.
    pub max_functions: usize,
}

impl Default for ScriptLimits {
    fn default() -> Self {
        ScriptLimits {
            max_operations: 100_000,
            cpu_time: Duration::from_millis(50),
            // Each level costs native stack; 24 stays far from overflow even in debug builds.
            max_call_depth: 24,
            // The parse-time limits are the config loader's, so a script valid at `validate`
            // time also compiles here.
            max_expr_depth: ParseLimits::DEFAULT.max_expr_depth,
            max_function_expr_depth: ParseLimits::DEFAULT.max_function_expr_depth,
            max_string_size: ParseLimits::DEFAULT.max_string_size,
            max_array_size: ParseLimits::DEFAULT.max_array_size,
            max_map_size: ParseLimits::DEFAULT.max_map_size,
            max_variables: 256,
            max_functions: ParseLimits::DEFAULT.max_functions,
        }
    }
}

impl ScriptLimits {
    /// The limits that also apply when a script is parsed (see
    /// [`vartalaap_config::apply_parse_rules`]).
    pub fn parse_limits(&self) -> ParseLimits {
        ParseLimits {
            max_expr_depth: self.max_expr_depth,
            max_function_expr_depth: self.max_function_expr_depth,
            max_functions: self.max_functions,
            max_string_size: self.max_string_size,
            max_array_size: self.max_array_size,
            max_map_size: self.max_map_size,
        }
    }
}

/// How often (in operations) the time deadline is checked; reading a clock on every
/// operation would cost more than the operation.
pub const TIME_CHECK_EVERY: u64 = 64;

/// A time source for the time limit.
///
/// The dialog core never reads a clock; the script host does, through this trait, so tests can
/// inject a clock that jumps and stay deterministic. A run starts and is checked on one thread,
/// so a clock may be per thread ([`ThreadCpuClock`]).
pub trait Clock: Send + Sync {
    /// Time elapsed since an arbitrary fixed origin (fixed per thread at least); must never go
    /// backwards on one thread.
    fn now(&self) -> Duration;
}

impl<F: Fn() -> Duration + Send + Sync> Clock for F {
    fn now(&self) -> Duration {
        self()
    }
}

/// The real monotonic clock (`Instant`): wall time, for hosts that want it.
#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock {
    origin: Instant,
}

impl MonotonicClock {
    /// A clock whose zero is now.
    pub fn new() -> Self {
        MonotonicClock {
            origin: Instant::now(),
        }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for MonotonicClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// CPU time consumed by the calling thread (`CLOCK_THREAD_CPUTIME_ID`): the production clock.
///
/// Time the thread spends waiting for a core does not count, so a loaded machine does not make
/// a plugin that computes for 1 ms look like one that computes for 50 ms.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadCpuClock;

impl Clock for ThreadCpuClock {
    fn now(&self) -> Duration {
        let mut spec = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `spec` is a valid, writable timespec, and CLOCK_THREAD_CPUTIME_ID is supported
        // on every Linux the server runs on; on failure the zeroed value keeps the deadline
        // check conservative (time appears not to advance; the operation limit still applies).
        let result = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut spec) };
        if result != 0 {
            return Duration::ZERO;
        }
        Duration::new(spec.tv_sec as u64, spec.tv_nsec as u32)
    }
}

/// Token returned by the progress callback when the deadline passed; it comes back as
/// `ErrorTerminated` and is mapped to a time-limit error.
pub(crate) const TIME_TOKEN: &str = "vartalaap:time-limit";

/// What the running call on this thread is: its deadline and the file being run (for logs).
#[derive(Debug, Clone)]
struct Run {
    deadline: Duration,
    file: Arc<str>,
}

thread_local! {
    static RUN: RefCell<Option<Run>> = const { RefCell::new(None) };
}

/// Marks the current thread as running `file` until the guard drops.
///
/// Rhai's progress and print callbacks get no per-call context, and one engine serves every
/// thread, so the per-call deadline lives in a thread-local for exactly the duration of the
/// call. A call never leaves its thread, and the guard restores any outer value.
pub(crate) struct RunGuard {
    previous: Option<Run>,
}

impl RunGuard {
    pub(crate) fn enter(clock: &dyn Clock, limits: &ScriptLimits, file: Arc<str>) -> RunGuard {
        let deadline = clock.now().saturating_add(limits.cpu_time);
        let previous = RUN.with(|r| r.borrow_mut().replace(Run { deadline, file }));
        RunGuard { previous }
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        RUN.with(|r| *r.borrow_mut() = previous);
    }
}

fn current_file() -> Option<Arc<str>> {
    RUN.with(|r| r.borrow().as_ref().map(|run| run.file.clone()))
}

/// A fresh engine with only pure packages, hardened with `limits`.
pub fn sandboxed_engine(limits: &ScriptLimits, clock: Arc<dyn Clock>) -> Engine {
    let mut engine = Engine::new_raw();
    for package in [
        CorePackage::new().as_shared_module(),
        BitFieldPackage::new().as_shared_module(),
        LogicPackage::new().as_shared_module(),
        BasicMathPackage::new().as_shared_module(),
        BasicArrayPackage::new().as_shared_module(),
        BasicBlobPackage::new().as_shared_module(),
        BasicMapPackage::new().as_shared_module(),
        MoreStringPackage::new().as_shared_module(),
    ] {
        engine.register_global_module(package);
    }
    harden(&mut engine, limits, clock);
    engine
}

/// Applies every limit and restriction to `engine`; the only place that sets them.
///
/// Use it on an engine from [`Engine::new_raw`] (see [`sandboxed_engine`]): it cannot remove
/// packages an [`Engine::new`] already registered (such as the time package), but it does
/// replace the file module resolver and the stdout `print`/`debug` of such an engine.
pub fn harden(engine: &mut Engine, limits: &ScriptLimits, clock: Arc<dyn Clock>) {
    // Refused symbols (`eval`, `import`), nesting, function-count and size limits: the same
    // rules the config loader parses with, so `validate` reports what this engine would refuse.
    apply_parse_rules(engine, &limits.parse_limits());
    engine
        .set_max_operations(limits.max_operations)
        .set_max_call_levels(limits.max_call_depth)
        .set_max_variables(limits.max_variables)
        .set_max_modules(0)
        // No file access: `import` resolves nothing (and is refused at parse time anyway).
        .set_module_resolver(DummyModuleResolver::new());

    engine.on_progress(move |ops| {
        if ops % TIME_CHECK_EVERY != 0 {
            return None;
        }
        let deadline = RUN.with(|r| r.borrow().as_ref().map(|run| run.deadline))?;
        (clock.now() >= deadline).then(|| Dynamic::from(TIME_TOKEN))
    });

    // Scripts have no stdout; their output is a log line naming the plugin.
    engine.on_print(|text| {
        let file = current_file();
        tracing::info!(
            plugin = file.as_deref().unwrap_or("?"),
            "Plugin printed: {text}"
        );
    });
    engine.on_debug(|text, source, pos| {
        let file = current_file();
        let file = source.or(file.as_deref()).unwrap_or("?");
        match pos.line() {
            Some(line) => tracing::debug!(at = %format!("{file}:{line}"), "Plugin debug: {text}"),
            None => tracing::debug!(at = %file, "Plugin debug: {text}"),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_cpu_clock_does_not_count_time_spent_waiting() {
        let clock = ThreadCpuClock;
        let before = clock.now();
        // A thread that sleeps uses no CPU: a descheduled plugin thread must not run out of
        // budget while it waits for a core.
        std::thread::sleep(Duration::from_millis(120));
        let slept = clock.now().saturating_sub(before);
        assert!(
            slept < Duration::from_millis(100),
            "sleeping counted {slept:?} of CPU"
        );
        // Computing does count.
        let start = clock.now();
        let mut x = 0u64;
        for i in 0..50_000_000u64 {
            x = std::hint::black_box(x.wrapping_add(i));
        }
        assert!(
            clock.now() > start,
            "50 million additions used no CPU time ({x})"
        );
    }
}
