//! The request-status endpoint: the polling fallback for a command whose acknowledgement
//! could not be received (no WebSocket yet, or the socket dropped while it was in flight).
//!
//! The sources disagree on its method (docs/protocol.md §5.6, §14.2): the official pages say
//! `GET`, the probe `POST`s `{}`. The SDK sends `POST` first, falls back to `GET` when the
//! server's router refuses (`405`, or a `404` without the API's own error body), and remembers
//! the method that was routed for the client's life (in the client's shared state). The request
//! is sent here rather than through the generated client because its answers include forms
//! the spec cannot declare without guessing (a bodiless `202` or `404` of the legacy client, a
//! router's `405`).

use std::time::Duration;

use futures::StreamExt;
use privicore_api::hooks::credential_header;
use privicore_api::operations::Auth;
use progenitor_client::ClientInfo;
use reqwest::StatusCode;
use serde_json::Value;
use tracing::Instrument;

use crate::commands::CommandId;
use crate::error::status_error;
use crate::{Client, Error, Result};

const OP: &str = "request_command_status";

/// Largest request-status answer read (a state name, or an error body).
const MAX_STATUS_BODY: usize = 16 * 1024;

/// What request-status says about a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// Still running (`started`, a `202`), or a state the SDK does not know: an unknown
    /// state is never taken for success, so the command is polled until it names a known
    /// final state or the wait times out.
    Pending,
    /// Finished successfully.
    Completed,
    /// Finished with a failure; the state name is the reason.
    Failed(String),
}

/// What request-status said about a command, as [`Session::command_status`] gives it.
///
/// [`Session::command_status`]: crate::Session::command_status
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandState {
    /// Still running, or in a state the SDK does not know (never taken for success).
    Pending,
    /// Finished successfully.
    Completed,
    /// Finished with a failure; the server's state name or reason.
    Failed(String),
}

impl From<Status> for CommandState {
    fn from(status: Status) -> Self {
        match status {
            Status::Pending => CommandState::Pending,
            Status::Completed => CommandState::Completed,
            Status::Failed(reason) => CommandState::Failed(reason),
        }
    }
}

/// The HTTP method request-status is sent with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StatusMethod {
    /// `POST` with `{}` (the probe).
    Post,
    /// `GET` without a body (the official pages, a legacy client).
    Get,
}

impl StatusMethod {
    fn other(self) -> Self {
        match self {
            StatusMethod::Post => StatusMethod::Get,
            StatusMethod::Get => StatusMethod::Post,
        }
    }
}

/// Interprets a state name. Only `started` is documented as non-final and `completed` as
/// success; the failure names are an educated guess. Anything else is still pending: the
/// probe takes any other string as final, but guessing success would report a command done
/// that may have failed.
pub(crate) fn interpret(state: &str) -> Status {
    let state = state.trim();
    match state.to_ascii_lowercase().as_str() {
        "completed" | "complete" | "succeeded" | "success" | "successful" | "done" => {
            Status::Completed
        }
        "failed" | "failure" | "rejected" | "error" => Status::Failed(state.to_string()),
        "started" | "pending" | "submitted" | "processing" => Status::Pending,
        _ => {
            tracing::debug!(
                state = %state.chars().take(64).collect::<String>(),
                "unknown request-status state; still waiting"
            );
            Status::Pending
        }
    }
}

/// One request-status answer, read whole (bounded).
struct Answer {
    status: StatusCode,
    body: Vec<u8>,
    /// Whether the answer declared a JSON body (`Content-Type`): an empty body that says it
    /// is JSON is damaged, not the legacy status-code-only answer.
    declares_json: bool,
}

impl Answer {
    /// The `reason` or `message` of the API's own error body, if the body is one.
    fn api_error(&self) -> Option<(Option<String>, Option<String>)> {
        let value: Value = serde_json::from_slice(&self.body).ok()?;
        let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
        let (reason, message) = (text("reason"), text("message"));
        (reason.is_some() || message.is_some()).then_some((reason, message))
    }

    /// Whether a router refused the method rather than the API answering: a `405`, or a
    /// `404` without the API's error body, unless this method is known to be routed (then a
    /// bodiless `404` is the legacy client's "failed").
    fn misrouted(&self, routed: bool) -> bool {
        self.status == StatusCode::METHOD_NOT_ALLOWED
            || (self.status == StatusCode::NOT_FOUND && !routed && self.api_error().is_none())
    }

    /// What the answer says about the command.
    fn interpret(&self) -> Result<Status> {
        match self.status {
            // The legacy client reads only the status code: 202 still submitted.
            StatusCode::ACCEPTED => Ok(Status::Pending),
            // ... and 200 done, so an empty 200 is success.
            StatusCode::OK
                if !self.declares_json && self.body.iter().all(u8::is_ascii_whitespace) =>
            {
                Ok(Status::Completed)
            }
            StatusCode::OK => match serde_json::from_slice::<Value>(&self.body) {
                Ok(Value::String(state)) => Ok(interpret(&state)),
                Ok(Value::Array(items)) => match items.as_slice() {
                    [Value::String(state)] => Ok(interpret(state)),
                    _ => Err(undecodable("an array that is not one state name")),
                },
                Ok(_) => Err(undecodable("neither a state name nor a one-element array")),
                Err(_) => Err(undecodable("not JSON")),
            },
            StatusCode::NOT_FOUND => {
                let (reason, message) = self.api_error().unwrap_or((None, None));
                Ok(Status::Failed(
                    reason
                        .or(message)
                        .unwrap_or_else(|| "unknown command".into()),
                ))
            }
            status => {
                let (reason, message) = self.api_error().unwrap_or((None, None));
                Err(status_error(OP, status.as_u16(), reason, message))
            }
        }
    }
}

fn undecodable(what: &str) -> Error {
    Error::Decode {
        operation: OP,
        message: format!("request-status answered {what}"),
        request_id: None,
    }
}

/// Sends request-status once with `method`, with the profile token when the raw client has
/// one (the operation's credential is optional).
async fn send(
    client: &privicore_api::Client,
    owner: &Client,
    method: StatusMethod,
    id: &CommandId,
    request_id: &str,
) -> Result<Answer> {
    let url = format!(
        "{}/request-status/{}",
        client.baseurl().trim_end_matches('/'),
        progenitor_client::encode_path(id.as_str())
    );
    let mut request = match method {
        StatusMethod::Post => owner.http().post(url).json(&serde_json::json!({})),
        StatusMethod::Get => owner.http().get(url),
    };
    // The same `X-Request-Id` the generated client's calls carry, so that a server's records
    // tie a failed poll to the request that explains it.
    request = request.header(privicore_api::hooks::REQUEST_ID, request_id);
    // The credential goes where the generated client would put it (an OAuth session's access
    // token may go in `Authorization: Bearer`, docs/protocol.md §14.7).
    if let Some(source) = client.inner().source()
        && let Ok(Some(credential)) = source.credential(Auth::OptionalProfileToken).await
        && let Ok((name, value)) = credential_header(Auth::OptionalProfileToken, &credential)
    {
        request = request.header(name, value);
    }
    let transport = |source: reqwest::Error| Error::Transport {
        operation: OP,
        source: source.without_url(),
        request_id: Some(request_id.to_owned()),
    };
    let response = request.send().await.map_err(transport)?;
    let status = response.status();
    let declares_json = privicore_api::declares_json(response.headers());
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(transport)?;
        if body.len() + chunk.len() > MAX_STATUS_BODY {
            return Err(undecodable("a body too large for a state"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        body,
        declares_json,
    })
}

/// Sends request-status with the method this client found routed (`POST` until one was
/// found), falling back to the other method once when a router refuses it.
async fn ask(
    client: &privicore_api::Client,
    owner: &Client,
    id: &CommandId,
    request_id: &str,
) -> Result<Answer> {
    let known = owner.status_method();
    let first = known.unwrap_or(StatusMethod::Post);
    let answer = send(client, owner, first, id, request_id).await?;
    if !answer.misrouted(known.is_some()) {
        owner.remember_status_method(first);
        return Ok(answer);
    }
    let second = first.other();
    tracing::debug!(
        refused = ?first,
        status = answer.status.as_u16(),
        "request-status method refused; trying the other"
    );
    let fallback = send(client, owner, second, id, request_id).await?;
    if !fallback.misrouted(false) {
        owner.remember_status_method(second);
        return Ok(fallback);
    }
    if answer.status == StatusCode::NOT_FOUND && fallback.status == StatusCode::METHOD_NOT_ALLOWED {
        // The first method is routed (the other is refused): its bodiless 404 is the API's.
        owner.remember_status_method(first);
        return Ok(answer);
    }
    Ok(fallback)
}

/// Asks request-status once, retrying transient failures per the client's policy. A `404`
/// (unknown or failed command, per the legacy client) counts as a failure.
pub(crate) async fn check(
    client: &privicore_api::Client,
    owner: &Client,
    id: &CommandId,
) -> Result<Status> {
    let span = tracing::debug_span!("privicore", operation = OP);
    async move {
        let retry = &owner.config().retry;
        let call = crate::random_hex(8);
        let mut attempt = 0;
        loop {
            let request_id = format!("{call}-{attempt}");
            let outcome = match ask(client, owner, id, &request_id).await {
                Ok(answer) => answer.interpret(),
                Err(error) => Err(error),
            }
            .map_err(|error| error.with_request_id(&request_id));
            match outcome {
                Err(error) if retry.should_retry(OP, &error, attempt) => {
                    let wait = retry.backoff(attempt);
                    tracing::debug!(%error, attempt, "retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }
    .instrument(span)
    .await
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
        assert_eq!(interpret("archived"), Status::Pending);
    }

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).expect("status"),
            body: body.as_bytes().to_vec(),
            declares_json: false,
        }
    }

    #[test]
    fn status_codes_are_interpreted() {
        assert_eq!(answer(202, "").interpret().ok(), Some(Status::Pending));
        assert_eq!(answer(200, "").interpret().ok(), Some(Status::Completed));
        let damaged = Answer {
            declares_json: true,
            ..answer(200, "")
        };
        assert!(damaged.interpret().is_err(), "an empty body declared JSON");
        assert_eq!(
            answer(200, r#"["completed"]"#).interpret().ok(),
            Some(Status::Completed)
        );
        assert_eq!(
            answer(404, "").interpret().ok(),
            Some(Status::Failed("unknown command".into()))
        );
        assert!(answer(200, "{}").interpret().is_err());
    }

    #[test]
    fn a_router_refusal_is_told_from_the_api_answer() {
        assert!(answer(405, "").misrouted(true));
        assert!(answer(404, "Not Found").misrouted(false));
        assert!(!answer(404, "").misrouted(true));
        assert!(!answer(404, r#"{"reason":"command.not_found"}"#).misrouted(false));
    }

    #[test]
    fn a_blank_state_is_no_completion() {
        for blank in ["", "  "] {
            assert_eq!(interpret(blank), Status::Pending, "{blank:?}");
            let body = format!("{blank:?}");
            assert_eq!(
                answer(200, &body).interpret().ok(),
                Some(Status::Pending),
                "{body}"
            );
        }
    }
}
