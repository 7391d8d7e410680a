//! The in-memory world: one struct per domain, all behind one lock so that a command's effect
//! and its status change together.

pub(crate) mod commands;
pub(crate) mod data;
pub(crate) mod devices;
pub(crate) mod directories;
pub(crate) mod oauth;
pub(crate) mod policies;
pub(crate) mod profiles;
pub(crate) mod voting;

pub(crate) use crate::sync::lock;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// Adds a `std` duration to a time, saturating far in the future instead of overflowing.
pub(crate) fn after(now: DateTime<Utc>, lifetime: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(lifetime)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// An RFC 3339 time with an explicit offset, as the official examples show
/// (`2026-02-21T15:33:44.123+00:00`; milliseconds so that short test lifetimes stay exact).
pub(crate) fn wire_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}

/// Everything the server knows.
#[derive(Debug, Default)]
pub(crate) struct World {
    pub profiles: profiles::Profiles,
    pub oauth: oauth::OAuth,
    pub data: data::DataStore,
    pub devices: devices::Devices,
    pub voting: voting::Voting,
    pub policies: policies::Policies,
    pub directories: directories::Directories,
    pub commands: commands::Commands,
}

/// Live counts, as [`MockServer::stats`](crate::MockServer::stats) returns them, so a test
/// can see that state is freed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Registered profiles (including directory users).
    pub profiles: usize,
    /// Profile tokens and OAuth access tokens that are neither expired nor revoked.
    pub tokens: usize,
    /// Token-space reservations not yet turned into data tokens.
    pub reservations: usize,
    /// Stored (permanent) data tokens.
    pub data_tokens: usize,
    /// Commands whose status is still kept (pending, or finished within the retention).
    pub commands: usize,
    /// Download links issued but not yet used or expired.
    pub pending_downloads: usize,
    /// Open WebSocket connections.
    pub websockets: usize,
    /// Requests held in the recording log.
    pub recorded: usize,
}

impl World {
    /// Counts for [`Stats`]; the server adds the WebSocket and recording figures.
    pub fn stats(&self, now: DateTime<Utc>) -> Stats {
        Stats {
            profiles: self.profiles.count(),
            tokens: self.profiles.live_tokens(now) + self.oauth.live_tokens(now),
            reservations: self.data.reservation_count(),
            data_tokens: self.data.token_count(),
            commands: self.commands.len(),
            pending_downloads: self.data.download_count(),
            websockets: 0,
            recorded: 0,
        }
    }

    /// Drops what has expired: tokens (after a grace period in which they still answer
    /// `auth.token_expired`), reservations, codes, download links and old command statuses.
    pub fn sweep(&mut self, now: DateTime<Utc>, instant: Instant, retention: Duration) {
        self.profiles.sweep(now);
        self.oauth.sweep(now);
        self.data.sweep(now);
        self.commands.sweep(instant, retention);
    }

    /// Expires every profile token, OAuth token and authorization code now.
    pub fn expire_tokens(&mut self, now: DateTime<Utc>) {
        self.profiles.expire_all(now);
        self.oauth.expire_all(now);
    }
}
