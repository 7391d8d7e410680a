//! Background housekeeping: forgetting what expired, and dropping WebSockets on a schedule
//! when that fault is configured.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::shared::Shared;
use crate::state::lock;

/// How often expired state is swept. Short enough for millisecond test lifetimes to free
/// memory promptly, long enough to cost nothing.
const SWEEP_EVERY: Duration = Duration::from_millis(100);

/// How often an unset `ws_drop_every` is looked at again.
const RECHECK: Duration = Duration::from_millis(50);

pub(crate) async fn sweep(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let retention = shared.config.command_retention;
        lock(&shared.world).sweep(Utc::now(), Instant::now(), retention);
    }
}

pub(crate) async fn drop_websockets(shared: Arc<Shared>) {
    loop {
        match shared.faults.config().ws_drop_every {
            Some(period) if !period.is_zero() => {
                tokio::time::sleep(period).await;
                // Settings may have changed while sleeping: drop only if still asked to.
                if shared.faults.config().ws_drop_every.is_some() {
                    shared.faults.count_ws_drop();
                    shared.hub.drop_all();
                }
            }
            _ => tokio::time::sleep(RECHECK).await,
        }
    }
}
