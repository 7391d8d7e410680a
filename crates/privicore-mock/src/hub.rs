//! The hub that pushes each profile's frames to every socket joined with a token of that
//! profile (docs/protocol.md §5.4).
//!
//! Frames are pushed only to sockets joined at that moment: nothing is queued for later
//! joiners, as on the real proxy. It knows nothing of the server: the WebSocket listener joins
//! sockets to it and the command worker broadcasts through it.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::{mpsc, watch};

use crate::sync::lock;

/// Joined sockets per profile, and the signal that drops every connection.
pub(crate) struct Hub {
    inner: Mutex<HubInner>,
    drops: watch::Sender<u64>,
}

#[derive(Default)]
struct HubInner {
    next_connection: u64,
    channels: HashMap<String, HashMap<u64, mpsc::Sender<String>>>,
}

impl Hub {
    pub fn new() -> Self {
        Self {
            inner: Mutex::new(HubInner::default()),
            drops: watch::Sender::new(0),
        }
    }

    pub fn connection_id(&self) -> u64 {
        let mut inner = lock(&self.inner);
        inner.next_connection += 1;
        inner.next_connection
    }

    pub fn join(&self, profile_id: &str, connection: u64, sender: mpsc::Sender<String>) {
        lock(&self.inner)
            .channels
            .entry(profile_id.to_owned())
            .or_default()
            .insert(connection, sender);
    }

    pub fn leave(&self, profile_id: &str, connection: u64) {
        let mut inner = lock(&self.inner);
        if let Some(sockets) = inner.channels.get_mut(profile_id) {
            sockets.remove(&connection);
            if sockets.is_empty() {
                inner.channels.remove(profile_id);
            }
        }
    }

    /// Pushes `frames` to every socket joined for `profile_id` now.
    pub fn broadcast(&self, profile_id: &str, frames: &[String]) {
        let inner = lock(&self.inner);
        let Some(sockets) = inner.channels.get(profile_id) else {
            return;
        };
        for sender in sockets.values() {
            for frame in frames {
                // A full queue means the client stopped reading: the frame is lost for it,
                // as it would be behind a real proxy.
                let _ = sender.try_send(frame.clone());
            }
        }
    }

    /// The signal [`drop_all`](Self::drop_all) raises, for a connection task to watch.
    pub fn subscribe_drops(&self) -> watch::Receiver<u64> {
        self.drops.subscribe()
    }

    /// Drops every open connection without a close frame.
    pub fn drop_all(&self) {
        self.drops.send_modify(|generation| *generation += 1);
    }
}
