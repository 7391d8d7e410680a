//! Fault injection: what may go wrong on purpose, changeable while the server runs.
//!
//! Every random decision comes from one [`SeededRng`](crate::rng::SeededRng) seeded by
//! [`MockServerBuilder::seed`](crate::MockServerBuilder::seed), so the same seed and the same
//! sequence of requests give the same faults.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::http::StatusCode;

use crate::error::ApiFailure;
pub use crate::injected::{HostileKind, InjectedFault};
use crate::rng::SeededRng;
use crate::sync::lock;

/// Which faults to inject. All rates are shares in `[0, 1]`; the default injects nothing.
///
/// ```
/// use std::time::Duration;
/// use privicore_mock::FaultConfig;
///
/// let faults = FaultConfig {
///     latency: Duration::from_millis(20),
///     jitter: Duration::from_millis(10),
///     error_rate: 0.1,
///     ..FaultConfig::default()
/// };
/// assert!(faults.is_active());
/// assert!(!FaultConfig::default().is_active());
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultConfig {
    /// Fixed delay added before every HTTP request is handled (API, stream and download).
    pub latency: Duration,
    /// Extra random delay, uniform in `[0, jitter]`, on top of `latency`.
    pub jitter: Duration,
    /// Share of HTTP requests answered `503` or `500` (even split) without being handled, so
    /// no state changes.
    pub error_rate: f64,
    /// Share of asynchronous commands that fail: the ack carries `command_status` 3 with the
    /// reason `fault.injected_rejection`, and the command has no effect.
    pub reject_rate: f64,
    /// Share of token checks on the API that find the token expired: it is expired for good
    /// on the spot and the request gets `401 auth.token_expired`.
    pub early_expiry_rate: f64,
    /// Share of successful JSON answers whose body is cut in half.
    pub truncate_rate: f64,
    /// Share of successful JSON answers whose body is replaced by something that is not JSON.
    pub malform_rate: f64,
    /// When not empty, `truncate_rate` and `malform_rate` apply only to the answers of these
    /// operations (spec operation ids). Either fault damages an answer **after** the request
    /// was handled: whatever it changed (a command accepted, a data token created) stays
    /// changed, and only the client's view of it is lost. Each one is recorded on its request
    /// ([`RecordedRequest::fault`](crate::RecordedRequest::fault)).
    pub mangle_operations: Vec<String>,
    /// Share of command acknowledgements lost to a dropped connection: instead of the ack
    /// being pushed, every WebSocket is dropped (no close frame), so the client must recover
    /// the outcome through request-status after it reconnects.
    pub lost_ack_rate: f64,
    /// Drop every WebSocket connection (no close frame) each time this period passes.
    pub ws_drop_every: Option<Duration>,
    /// Share of answers replaced by a hostile one (`1.0`: every answer). A hostile server
    /// answers HTTP requests on all three HTTP listeners with malformed, truncated, oversized,
    /// wrong-typed or empty bodies, wrong status codes, a redirect to itself, or not at all
    /// (the request stalls until the client gives up); on the WebSocket, it sends garbage
    /// frames (binary junk, deep nesting, huge text, acks for ids nobody sent, wrong types)
    /// before and instead of real replies. The kinds rotate in a fixed order, so `n` calls
    /// in a row see every kind ([`HostileKind::ALL`]). Nothing it answers changes state.
    pub hostile_rate: f64,
    /// Size of the hostile mode's oversized bodies and frames (default 0 means 8 MiB). The
    /// mock generates them on the fly and never holds them.
    pub hostile_body_len: usize,
}

/// How many faults the mock injected, by kind, since it started (or since
/// [`Faults::reset_counts`]). Read with [`Faults::counts`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FaultCounts {
    /// Requests delayed by `latency` / `jitter`.
    pub delayed: u64,
    /// Requests answered `503` instead of being handled.
    pub unavailable_503: u64,
    /// Requests answered `500` instead of being handled.
    pub internal_500: u64,
    /// Commands failed with `fault.injected_rejection`.
    pub rejected_commands: u64,
    /// Token checks that expired the token early (`401 auth.token_expired`).
    pub early_expiries: u64,
    /// Answers truncated.
    pub truncated: u64,
    /// Answers replaced by a non-JSON body.
    pub malformed: u64,
    /// Acks lost (every WebSocket dropped instead of pushing them).
    pub lost_acks: u64,
    /// Periodic drops of every WebSocket (`ws_drop_every`).
    pub ws_drops: u64,
    /// HTTP answers replaced by a hostile one.
    pub hostile_answers: u64,
    /// Garbage WebSocket frames sent by the hostile mode.
    pub hostile_frames: u64,
}

impl FaultCounts {
    /// The sum of every count.
    pub fn total(&self) -> u64 {
        self.delayed
            + self.unavailable_503
            + self.internal_500
            + self.rejected_commands
            + self.early_expiries
            + self.truncated
            + self.malformed
            + self.lost_acks
            + self.ws_drops
            + self.hostile_answers
            + self.hostile_frames
    }
}

/// The live counters behind [`FaultCounts`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    delayed: AtomicU64,
    unavailable_503: AtomicU64,
    internal_500: AtomicU64,
    rejected_commands: AtomicU64,
    early_expiries: AtomicU64,
    truncated: AtomicU64,
    malformed: AtomicU64,
    lost_acks: AtomicU64,
    ws_drops: AtomicU64,
    hostile_answers: AtomicU64,
    hostile_frames: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    fn snapshot(&self) -> FaultCounts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        FaultCounts {
            delayed: get(&self.delayed),
            unavailable_503: get(&self.unavailable_503),
            internal_500: get(&self.internal_500),
            rejected_commands: get(&self.rejected_commands),
            early_expiries: get(&self.early_expiries),
            truncated: get(&self.truncated),
            malformed: get(&self.malformed),
            lost_acks: get(&self.lost_acks),
            ws_drops: get(&self.ws_drops),
            hostile_answers: get(&self.hostile_answers),
            hostile_frames: get(&self.hostile_frames),
        }
    }

    fn reset(&self) {
        for c in [
            &self.delayed,
            &self.unavailable_503,
            &self.internal_500,
            &self.rejected_commands,
            &self.early_expiries,
            &self.truncated,
            &self.malformed,
            &self.lost_acks,
            &self.ws_drops,
            &self.hostile_answers,
            &self.hostile_frames,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

impl FaultConfig {
    /// True when any fault is configured.
    pub fn is_active(&self) -> bool {
        *self != FaultConfig::default()
    }
}

/// What the fault injector decided for one answer body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mangle {
    None,
    Truncate,
    Malform,
}

/// The live fault settings and the seeded generator, shared by the server tasks and the
/// [`Faults`] handles.
#[derive(Debug)]
pub(crate) struct FaultState {
    config: RwLock<FaultConfig>,
    rng: Mutex<SeededRng>,
    counters: Counters,
    /// Where the hostile mode is in its rotation of [`HostileKind::ALL`].
    hostile_next: AtomicU64,
    /// The ids of the commands failed on purpose, oldest first (at most [`MAX_REJECTED_LOG`]).
    rejected: Mutex<std::collections::VecDeque<String>>,
    /// The tokens expired early on purpose (cleared past [`MAX_REJECTED_LOG`]).
    expired_tokens: Mutex<std::collections::HashSet<String>>,
}

/// How many rejected command ids (and early-expired tokens) are kept: bounded, so a long run with rejections on stays
/// bounded in memory, like the request log.
const MAX_REJECTED_LOG: usize = 100_000;

/// The oversized length used when `hostile_body_len` is 0.
const DEFAULT_HOSTILE_LEN: usize = 8 * 1024 * 1024;

impl FaultState {
    pub fn new(config: FaultConfig, seed: u64) -> Self {
        Self {
            config: RwLock::new(config),
            rng: Mutex::new(SeededRng::new(seed)),
            counters: Counters::default(),
            hostile_next: AtomicU64::new(0),
            rejected: Mutex::default(),
            expired_tokens: Mutex::default(),
        }
    }

    pub fn counts(&self) -> FaultCounts {
        self.counters.snapshot()
    }

    /// Counts one periodic drop of every WebSocket.
    pub fn count_ws_drop(&self) {
        bump(&self.counters.ws_drops);
    }

    /// Counts one garbage WebSocket frame.
    pub fn count_hostile_frame(&self) {
        bump(&self.counters.hostile_frames);
    }

    /// The hostile answer to give instead of the real one, if one is due.
    pub fn hostile(&self) -> Option<HostileKind> {
        let rate = self.config().hostile_rate;
        if !self.chance(rate) {
            return None;
        }
        bump(&self.counters.hostile_answers);
        let n = self.hostile_next.fetch_add(1, Ordering::Relaxed);
        Some(HostileKind::ALL[(n % HostileKind::ALL.len() as u64) as usize])
    }

    /// Whether the WebSocket should misbehave (same rate as the HTTP answers).
    pub fn hostile_ws(&self) -> bool {
        self.chance(self.config().hostile_rate)
    }

    /// The size of oversized hostile bodies.
    pub fn hostile_len(&self) -> usize {
        match self.config().hostile_body_len {
            0 => DEFAULT_HOSTILE_LEN,
            n => n,
        }
    }

    /// A number from the seeded generator (for the hostile mode's choices).
    pub fn next_u64(&self) -> u64 {
        lock(&self.rng).next_u64()
    }

    pub fn config(&self) -> FaultConfig {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set(&self, config: FaultConfig) {
        *self.config.write().unwrap_or_else(|e| e.into_inner()) = config;
    }

    fn chance(&self, rate: f64) -> bool {
        lock(&self.rng).chance(rate)
    }

    /// The delay to add before handling a request.
    pub fn delay(&self) -> Duration {
        let config = self.config();
        let jitter = config.jitter.as_micros().min(u128::from(u64::MAX)) as u64;
        let extra = if jitter == 0 {
            0
        } else {
            lock(&self.rng).up_to(jitter)
        };
        let delay = config.latency + Duration::from_micros(extra);
        if !delay.is_zero() {
            bump(&self.counters.delayed);
        }
        delay
    }

    /// A 5xx to answer instead of handling the request, if one is due.
    pub fn server_error(&self) -> Option<ApiFailure> {
        let rate = self.config().error_rate;
        if !self.chance(rate) {
            return None;
        }
        Some(if lock(&self.rng).next_u64().is_multiple_of(2) {
            bump(&self.counters.unavailable_503);
            ApiFailure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "fault.service_unavailable",
                "injected fault: the service is unavailable, try again",
            )
            .injected(InjectedFault::Unavailable)
        } else {
            bump(&self.counters.internal_500);
            ApiFailure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "fault.internal_error",
                "injected fault: internal server error",
            )
            .injected(InjectedFault::InternalError)
        })
    }

    /// `chance`, counted in `counter` when it fires.
    fn counted(&self, rate: f64, counter: &AtomicU64) -> bool {
        let fired = self.chance(rate);
        if fired {
            bump(counter);
        }
        fired
    }

    /// Whether command `id` is to fail on purpose; a failed one is remembered
    /// ([`Faults::rejected_commands`]).
    pub fn reject_command(&self, id: &str) -> bool {
        let rejected = self.counted(self.config().reject_rate, &self.counters.rejected_commands);
        if rejected {
            let mut log = lock(&self.rejected);
            if log.len() >= MAX_REJECTED_LOG {
                log.pop_front();
            }
            log.push_back(id.to_owned());
        }
        rejected
    }

    pub fn lose_ack(&self) -> bool {
        self.counted(self.config().lost_ack_rate, &self.counters.lost_acks)
    }

    /// Whether `token` is to expire now; an expired one is remembered, so that the `401`s it
    /// gets later are recorded as faults too ([`InjectedFault::ExpiredToken`]).
    pub fn expire_early(&self, token: &str) -> bool {
        let expired = self.counted(
            self.config().early_expiry_rate,
            &self.counters.early_expiries,
        );
        if expired {
            let mut tokens = lock(&self.expired_tokens);
            if tokens.len() >= MAX_REJECTED_LOG {
                tokens.clear();
            }
            tokens.insert(token.to_owned());
        }
        expired
    }

    /// Whether `token` was expired early on purpose.
    pub fn was_expired_early(&self, token: &str) -> bool {
        lock(&self.expired_tokens).contains(token)
    }

    /// The damage to do to the answer of operation `op` (see
    /// [`FaultConfig::mangle_operations`]).
    pub fn mangle(&self, op: &str) -> Mangle {
        let config = self.config();
        if !config.mangle_operations.is_empty() && !config.mangle_operations.iter().any(|o| o == op)
        {
            return Mangle::None;
        }
        if self.counted(config.truncate_rate, &self.counters.truncated) {
            Mangle::Truncate
        } else if self.counted(config.malform_rate, &self.counters.malformed) {
            Mangle::Malform
        } else {
            Mangle::None
        }
    }
}

/// A cheap handle to change fault injection while the server runs
/// ([`MockServer::faults`](crate::MockServer::faults)).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), privicore_mock::Error> {
/// let server = privicore_mock::MockServer::start().await?;
/// server.faults().update(|f| f.error_rate = 1.0);
/// assert_eq!(server.faults().get().error_rate, 1.0);
/// server.faults().clear();
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Faults {
    pub(crate) state: Arc<FaultState>,
}

impl Faults {
    /// The current settings.
    pub fn get(&self) -> FaultConfig {
        self.state.config()
    }

    /// Replaces the settings; applies to the next request, command or tick.
    pub fn set(&self, config: FaultConfig) {
        self.state.set(config);
    }

    /// Changes some settings in place.
    pub fn update(&self, change: impl FnOnce(&mut FaultConfig)) {
        let mut config = self.get();
        change(&mut config);
        self.set(config);
    }

    /// Turns every fault off (the counts are kept).
    pub fn clear(&self) {
        self.set(FaultConfig::default());
    }

    /// How many faults of each kind were injected so far.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = privicore_mock::MockServer::start().await?;
    /// server.faults().update(|f| f.error_rate = 1.0);
    /// let _ = reqwest::get(format!("{}/health", server.api_url())).await?;
    /// let counts = server.faults().counts();
    /// assert_eq!(counts.unavailable_503 + counts.internal_500, 1);
    /// # Ok(()) }
    /// ```
    pub fn counts(&self) -> FaultCounts {
        self.state.counts()
    }

    /// Sets every count back to zero, and forgets the rejected commands.
    pub fn reset_counts(&self) {
        self.state.counters.reset();
        lock(&self.state.rejected).clear();
    }

    /// The ids of the commands failed on purpose ([`FaultConfig::reject_rate`]) since the
    /// start or the last [`Faults::reset_counts`], oldest first (the most recent 100,000).
    pub fn rejected_commands(&self) -> Vec<String> {
        lock(&self.state.rejected).iter().cloned().collect()
    }
}
