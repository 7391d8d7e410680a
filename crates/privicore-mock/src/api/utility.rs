//! Utility: health and request-status.

use std::sync::Arc;

use serde_json::json;

use super::ok;
use crate::config::ReplyShape;
use crate::error::ApiFailure;
use crate::input::Call;
use crate::reply::{Reply, shaped};
use crate::shared::Shared;
use crate::state::commands::CommandState;
use crate::state::lock;

pub(crate) fn health(_: &Arc<Shared>, _: &Call) -> Result<Reply, ApiFailure> {
    ok(json!({"status": "ok"}))
}

/// `"started"` while pending, `"completed"` or `"failed"` after, as a bare string or (for
/// commands accepted as an array) a one-element array. No credentials needed: a freshly
/// registered profile polls this before it has a token.
pub(crate) fn request_status(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let id = call.param("commandId")?;
    call.json_or_empty(true)?;
    let world = lock(&s.world);
    let command = world
        .commands
        .get(id)
        .ok_or_else(|| ApiFailure::not_found("command.not_found", "no command has this id"))?;
    let state = match command.state {
        CommandState::Pending => "started",
        CommandState::Completed => "completed",
        CommandState::Failed(_) => "failed",
    };
    let shape = match command.shape {
        ReplyShape::Array => ReplyShape::Array,
        _ => ReplyShape::String,
    };
    ok(shaped(state, shape, "status"))
}
