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

use chrono::Utc;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::job::{EffectCtx, Job};
use crate::reply::Reply;
use crate::shared::Shared;
use crate::state::commands::CommandState;
use crate::state::{World, lock};

pub(crate) use crate::job::{Command, Rejection};

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
        config: &shared.config,
        urls: &shared.urls,
        plaintexts: &shared.plaintexts,
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
