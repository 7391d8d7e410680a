//! A command as a handler builds it and the worker runs it: its effect, what undoes it, and
//! the context the effect sees. Scheduling is [`commands`](crate::commands)'; this module sits
//! below the server state, which queues [`Job`]s.

use std::sync::Mutex;
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::config::Config;
use crate::plaintext::Registry;
use crate::state::World;
use crate::sync::lock;
use crate::urls::Urls;

/// Why a command failed: a reason key such as `device.not_found`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Rejection(pub String);

impl Rejection {
    pub fn new(reason: &str) -> Self {
        Self(reason.to_owned())
    }
}

/// What an effect sees.
pub(crate) struct EffectCtx<'a> {
    /// The command id (which some operations use as the id of what they create).
    pub id: &'a str,
    pub now: DateTime<Utc>,
    pub config: &'a Config,
    pub urls: &'a Urls,
    /// Plaintexts that must never be stored ([`EffectCtx::check_stored`]).
    pub plaintexts: &'a Mutex<Registry>,
}

impl EffectCtx<'_> {
    /// Checks bytes about to be stored against the registered plaintexts.
    pub fn check_stored(&self, operation: &'static str, bytes: &[u8]) {
        lock(self.plaintexts).check(operation, bytes);
    }
}

/// The outcome of a command; an optional extra frame (request-data's result) follows the ack.
pub(crate) type Effect =
    Box<dyn FnOnce(&mut World, &EffectCtx<'_>) -> Result<Option<Value>, Rejection> + Send>;

/// Undoes what the handler reserved synchronously (a pending name) when the command fails.
pub(crate) type Abort = Box<dyn FnOnce(&mut World) + Send>;

/// A command to accept.
pub(crate) struct Command {
    pub id: String,
    pub op: &'static str,
    /// Whose WebSockets get the ack.
    pub profile_id: String,
    pub effect: Effect,
    pub abort: Option<Abort>,
    /// Frames pushed after the ack and before the effect's own frame when the command
    /// succeeds (request-data's status messages, [`crate::DataAnswer::StatusThenLink`]).
    pub progress: Vec<Value>,
}

impl Command {
    pub fn new(
        op: &'static str,
        profile_id: &str,
        effect: impl FnOnce(&mut World, &EffectCtx<'_>) -> Result<Option<Value>, Rejection>
        + Send
        + 'static,
    ) -> Self {
        Self {
            id: crate::rng::uuid(),
            op,
            profile_id: profile_id.to_owned(),
            effect: Box::new(effect),
            abort: None,
            progress: Vec::new(),
        }
    }

    pub fn with_id(mut self, id: String) -> Self {
        self.id = id;
        self
    }

    pub fn with_progress(mut self, frames: Vec<Value>) -> Self {
        self.progress = frames;
        self
    }

    pub fn on_abort(mut self, abort: impl FnOnce(&mut World) + Send + 'static) -> Self {
        self.abort = Some(Box::new(abort));
        self
    }
}

/// A command waiting for its deadline.
pub(crate) struct Job {
    pub deadline: Instant,
    pub command: Command,
}
