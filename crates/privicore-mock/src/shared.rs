//! The state every server task shares.

use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;

use tokio::sync::mpsc;

use crate::config::Config;
use crate::faults::FaultState;
use crate::hub::Hub;
use crate::job::Job;
use crate::record::Recorder;
use crate::state::World;
use crate::urls::Urls;

/// Shared by the listeners, the scheduler, the janitor and the [`MockServer`](crate::MockServer)
/// handle. Lock order: `world` before `hub`, never the other way round.
pub(crate) struct Shared {
    pub config: Config,
    pub urls: Urls,
    pub world: Mutex<World>,
    pub hub: Hub,
    pub faults: std::sync::Arc<FaultState>,
    pub recorder: Recorder,
    pub scheduler: mpsc::UnboundedSender<Job>,
    /// The engine's signed public key (200 hex), fixed for the server's lifetime.
    pub engine_key: String,
    /// Open WebSocket connections.
    pub websockets: AtomicUsize,
    /// Plaintexts that must never be stored.
    pub plaintexts: Mutex<crate::plaintext::Registry>,
}

impl Shared {
    /// Checks bytes about to be stored against the registered plaintexts.
    pub fn check_stored(&self, operation: &'static str, bytes: &[u8]) {
        crate::state::lock(&self.plaintexts).check(operation, bytes);
    }
}
