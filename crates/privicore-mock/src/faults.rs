//! Fault injection: what may go wrong on purpose, changeable while the server runs.
//!
//! Every random decision comes from one [`SeededRng`](crate::rng::SeededRng) seeded by
//! [`MockServerBuilder::seed`](crate::MockServerBuilder::seed), so the same seed and the same
//! sequence of requests give the same faults.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::http::StatusCode;

use crate::error::ApiFailure;
use crate::rng::SeededRng;
use crate::state::lock;

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
    /// Share of command acknowledgements lost to a dropped connection: instead of the ack
    /// being pushed, every WebSocket is dropped (no close frame), so the client must recover
    /// the outcome through request-status after it reconnects.
    pub lost_ack_rate: f64,
    /// Drop every WebSocket connection (no close frame) each time this period passes.
    pub ws_drop_every: Option<Duration>,
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
}

impl FaultState {
    pub fn new(config: FaultConfig, seed: u64) -> Self {
        Self {
            config: RwLock::new(config),
            rng: Mutex::new(SeededRng::new(seed)),
        }
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
        config.latency + Duration::from_micros(extra)
    }

    /// A 5xx to answer instead of handling the request, if one is due.
    pub fn server_error(&self) -> Option<ApiFailure> {
        let rate = self.config().error_rate;
        if !self.chance(rate) {
            return None;
        }
        Some(if lock(&self.rng).next_u64().is_multiple_of(2) {
            ApiFailure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "fault.service_unavailable",
                "injected fault: the service is unavailable, try again",
            )
        } else {
            ApiFailure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "fault.internal_error",
                "injected fault: internal server error",
            )
        })
    }

    pub fn reject_command(&self) -> bool {
        self.chance(self.config().reject_rate)
    }

    pub fn lose_ack(&self) -> bool {
        self.chance(self.config().lost_ack_rate)
    }

    pub fn expire_early(&self) -> bool {
        self.chance(self.config().early_expiry_rate)
    }

    pub fn mangle(&self) -> Mangle {
        let config = self.config();
        if self.chance(config.truncate_rate) {
            Mangle::Truncate
        } else if self.chance(config.malform_rate) {
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

    /// Turns every fault off.
    pub fn clear(&self) {
        self.set(FaultConfig::default());
    }
}
