//! The request-status endpoint: the polling fallback for a command whose acknowledgement
//! could not be received (no WebSocket yet, or the socket dropped while it was in flight).

use std::time::Duration;

use privicore_api::types::{EmptyObject, RequestStatus};

use crate::commands::CommandId;
use crate::{Client, Error, Result};

/// What request-status says about a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// Still running (`started`).
    Pending,
    /// Finished successfully.
    Completed,
    /// Finished with a failure; the state name is the reason.
    Failed(String),
}

/// Interprets a state name. Only `started` is documented as non-final; the failure names are
/// an educated guess (the probe treats any other string as final).
pub(crate) fn interpret(state: &str) -> Status {
    let state = state.trim();
    match state.to_ascii_lowercase().as_str() {
        "started" | "pending" | "submitted" | "processing" => Status::Pending,
        "failed" | "failure" | "rejected" | "error" => Status::Failed(state.to_string()),
        _ => Status::Completed,
    }
}

/// The status a state name stands for. A blank name is no state at all: read as "any other
/// value is final", it would report a success the server never claimed.
fn named(operation: &'static str, state: &str) -> Result<Status> {
    if state.trim().is_empty() {
        return Err(Error::Decode {
            operation,
            message: "request-status named no state".into(),
            request_id: None,
        });
    }
    Ok(interpret(state))
}

/// Asks request-status once. A `404` (unknown or failed command, per the legacy client)
/// counts as a failure.
pub(crate) async fn check(
    client: &privicore_api::Client,
    owner: &Client,
    id: &CommandId,
) -> Result<Status> {
    const OP: &str = "request_command_status";
    let answer = owner
        .call(OP, || {
            client
                .request_command_status()
                .command_id(id.as_str())
                .body(EmptyObject {})
                .send()
        })
        .await;
    match answer {
        Ok(value) => match value.into_inner() {
            RequestStatus::String(state) | RequestStatus::Array([state]) => named(OP, &state),
        },
        Err(Error::Api {
            status: 404,
            reason,
            message,
            ..
        }) => Ok(Status::Failed(
            reason
                .or(message)
                .unwrap_or_else(|| "unknown command".into()),
        )),
        Err(e) => Err(e),
    }
}

/// Polls request-status until the command is final or `timeout` passes.
pub(crate) async fn poll_until_final(
    client: &privicore_api::Client,
    owner: &Client,
    operation: &'static str,
    id: &CommandId,
    timeout: Duration,
) -> Result<()> {
    let started = tokio::time::Instant::now();
    let mut wait = Duration::from_millis(20);
    loop {
        match check(client, owner, id).await? {
            Status::Completed => return Ok(()),
            Status::Failed(reason) => {
                return Err(Error::CommandRejected {
                    operation,
                    command_id: id.to_string(),
                    reason,
                });
            }
            Status::Pending => {}
        }
        if started.elapsed() + wait > timeout {
            return Err(Error::Timeout {
                operation,
                waiting_for: "the command to complete (request-status)",
                after: started.elapsed(),
            });
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_millis(500));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_interpreted() {
        assert_eq!(interpret("started"), Status::Pending);
        assert_eq!(interpret("completed"), Status::Completed);
        assert_eq!(interpret("Failed"), Status::Failed("Failed".into()));
    }

    #[test]
    fn a_blank_state_is_no_completion() {
        for blank in ["", "  "] {
            let named = named("request_command_status", blank);
            assert!(
                matches!(
                    named,
                    Err(Error::Decode {
                        operation: "request_command_status",
                        ..
                    })
                ),
                "{blank:?}: {named:?}"
            );
        }
        assert_eq!(
            named("request_command_status", "completed").expect("a state"),
            Status::Completed
        );
    }
}
