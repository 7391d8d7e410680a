//! Asynchronous commands: a `202` with a command id now, the effect and the `X-DPT-CAB-ID` ack
//! after the configured delay.
//!
//! Business rules are checked when the command runs, as on the real server (docs/protocol.md §5.1:
//! basic validation answers synchronously, business failures arrive as `command_status` 3):
//! an effect that refuses returns a [`Rejection`] whose reason key becomes the ack's `body`.
//!
//! One worker task runs the commands in order. Every command waits the same delay, so
//! deadlines never decrease and a FIFO queue is already sorted by deadline: acks arrive in
//! the order the commands were accepted. With a zero delay the command runs before its `202`
//! is sent, which makes tests deterministic (and checks that a client copes with an ack that
//! overtakes the HTTP answer).

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::reply::Reply;
use crate::shared::Shared;
use crate::state::commands::CommandState;
use crate::state::{World, lock};

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
    pub shared: &'a Shared,
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
    deadline: Instant,
    command: Command,
}

/// Accepts `command`: records it as pending and schedules (or, with a zero delay, runs) it.
/// Returns the `202` answer.
pub(crate) fn submit(shared: &Arc<Shared>, world: &mut World, command: Command) -> Reply {
    let shape = shared.config.shape(command.op);
    let id = command.id.clone();
    world.commands.insert(id.clone(), shape);
    schedule(shared, world, command);
    Reply::Accepted { id, shape }
}

/// Schedules a command already recorded (request-data records its own).
pub(crate) fn schedule(shared: &Arc<Shared>, world: &mut World, command: Command) {
    let delay = shared.config.ack_delay;
    if delay.is_zero() {
        let profile = command.profile_id.clone();
        let frames = complete(shared, world, command);
        deliver(shared, &profile, &frames);
        return;
    }
    let job = Job {
        deadline: Instant::now() + delay,
        command,
    };
    if let Err(mpsc::error::SendError(job)) = shared.scheduler.send(job) {
        // The worker is gone only while the server shuts down: run it now rather than leave
        // the command pending for ever.
        let profile = job.command.profile_id.clone();
        let frames = complete(shared, world, job.command);
        deliver(shared, &profile, &frames);
    }
}

/// Runs a command's effect and records its final state; returns the frames to push.
fn complete(shared: &Shared, world: &mut World, command: Command) -> Vec<String> {
    let Command {
        id,
        effect,
        abort,
        progress,
        ..
    } = command;
    let ctx = EffectCtx {
        id: &id,
        now: Utc::now(),
        shared,
    };
    let outcome = if shared.faults.reject_command(&id) {
        Err(Rejection::new("fault.injected_rejection"))
    } else {
        effect(world, &ctx)
    };
    let (state, extra, progress) = match outcome {
        Ok(extra) => (CommandState::Completed, extra, progress),
        Err(rejection) => {
            if let Some(abort) = abort {
                abort(world);
            }
            (CommandState::Failed(rejection.0), None, Vec::new())
        }
    };
    let mut frames = vec![ack_frame(&id, &state).to_string()];
    frames.extend(progress.iter().map(Value::to_string));
    if let Some(extra) = extra {
        frames.push(extra.to_string());
    }
    world.commands.finish(&id, state, Instant::now());
    frames
}

/// Pushes a finished command's frames to the profile's sockets, unless the lost-ack fault
/// drops the connections instead (the ack is then only known to request-status).
fn deliver(shared: &Shared, profile: &str, frames: &[String]) {
    if shared.faults.lose_ack() {
        shared.hub.drop_all();
        return;
    }
    shared.hub.broadcast(profile, frames);
}

/// The `X-DPT-CAB-ID` frame for a finished command.
pub(crate) fn ack_frame(id: &str, state: &CommandState) -> Value {
    let (status, body) = match state {
        CommandState::Pending => (1, "Command is being processed".to_owned()),
        CommandState::Completed => (2, "Command completed successfully".to_owned()),
        CommandState::Failed(reason) => (3, reason.clone()),
    };
    json!({"data": {"type": "X-DPT-CAB-ID", "id": id, "command_status": status, "body": body}})
}

/// The worker: runs queued commands at their deadlines, in order.
pub(crate) async fn run(shared: Arc<Shared>, mut queue: mpsc::UnboundedReceiver<Job>) {
    while let Some(job) = queue.recv().await {
        tokio::time::sleep_until(job.deadline.into()).await;
        let profile = job.command.profile_id.clone();
        let frames = {
            let mut world = lock(&shared.world);
            complete(&shared, &mut world, job.command)
        };
        deliver(&shared, &profile, &frames);
    }
}
