//! The one public error type of the crate.
//!
//! Every failure a caller can act on differently has its own variant: an HTTP error from the
//! server ([`Error::Api`]), rejected credentials ([`Error::Unauthorized`]), an asynchronous
//! command the server refused ([`Error::CommandRejected`]), a wait that ran out of time
//! ([`Error::Timeout`]), an answer that could not be decoded ([`Error::Decode`]) and a
//! transport failure ([`Error::Transport`]). No variant ever carries a secret: tokens,
//! passwords and keys are never formatted into messages, and transport errors have their URL
//! removed (stream and download URLs carry single-use tokens).

use std::time::Duration;

use privicore_api::types::ApiError;

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a Privicore call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an HTTP error status.
    #[error(
        "{operation}: the server answered {status}{}",
        describe(reason, message)
    )]
    Api {
        /// The operation id (as in the spec).
        operation: &'static str,
        /// The HTTP status code.
        status: u16,
        /// The machine-readable reason (`<area>.<reason>`), when the body has one.
        reason: Option<String>,
        /// The server's message, when the body has one.
        message: Option<String>,
        /// The `X-Request-Id` of the request that got this answer (see [`Error::request_id`]).
        request_id: Option<String>,
    },
    /// The credentials were refused (`401`), after the one renewal and replay the client
    /// makes.
    #[error("{operation}: unauthorized{}", describe(&None, message))]
    Unauthorized {
        /// The operation id.
        operation: &'static str,
        /// The server's message, when there is one.
        message: Option<String>,
        /// The `X-Request-Id` of the refused request (see [`Error::request_id`]).
        request_id: Option<String>,
    },
    /// An asynchronous command was accepted (`202`) but then failed (`command_status` 3).
    #[error("{operation}: command {command_id} was rejected: {reason}")]
    CommandRejected {
        /// The operation that sent the command.
        operation: &'static str,
        /// The command id.
        command_id: String,
        /// The reason the server gave (e.g. `profile.not_an_owner`).
        reason: String,
    },
    /// A wait ran out of time.
    #[error("{operation}: timed out after {after:?} waiting for {waiting_for}")]
    Timeout {
        /// The operation being waited on.
        operation: &'static str,
        /// What was awaited (an answer, an acknowledgement, a renewal...).
        waiting_for: &'static str,
        /// How long the wait lasted.
        after: Duration,
    },
    /// The answer could not be decoded.
    #[error("{operation}: could not decode the answer: {message}")]
    Decode {
        /// The operation id.
        operation: &'static str,
        /// What did not decode (never the body itself).
        message: String,
        /// The `X-Request-Id` of the request whose answer this was, when it came from one (see
        /// [`Error::request_id`]).
        request_id: Option<String>,
    },
    /// The request could not be sent or the answer not received.
    #[error("{operation}: transport error: {source}")]
    Transport {
        /// The operation id.
        operation: &'static str,
        /// The underlying error, without its URL.
        #[source]
        source: reqwest::Error,
        /// The `X-Request-Id` of the request, when the error came from one (see
        /// [`Error::request_id`]).
        request_id: Option<String>,
    },
    /// A step that stores a payload for good was sent, but its answer was lost or could not
    /// be read: the server may have stored the payload under a data token this client never
    /// learnt. See [`Vault::store`](crate::Vault::store) for what to do about it.
    #[error(
        "{operation}: the payload may have been stored, but the answer with its data token was lost: {source}"
    )]
    StoreUnconfirmed {
        /// The operation whose answer was lost.
        operation: &'static str,
        /// The `X-Request-Id` of that request (see [`Error::request_id`]).
        request_id: Option<String>,
        /// Why the answer could not be read ([`Error::Decode`] or [`Error::Transport`]).
        #[source]
        source: Box<Error>,
    },
    /// The WebSocket that carries acknowledgements failed.
    #[error("websocket: {0}")]
    WebSocket(String),
    /// The WebSocket that carries acknowledgements could not be opened before the wait ran
    /// out: `source` is why the last attempt failed, with its type kept (a server certificate
    /// the client does not trust is a `rustls::Error` inside it; see
    /// [`TlsConfig`](crate::TlsConfig)). The session keeps trying in the background.
    #[error("{operation}: the WebSocket could not be opened within {after:?}: {source}")]
    WebSocketConnect {
        /// The operation that needed the WebSocket.
        operation: &'static str,
        /// How long it waited.
        after: Duration,
        /// The last attempt's error.
        #[source]
        source: std::sync::Arc<dyn std::error::Error + Send + Sync>,
    },
    /// The call needs the WebSocket, and the client has no WebSocket URL
    /// ([`ClientBuilder::ws_url`](crate::ClientBuilder::ws_url)): a data request's result is
    /// only ever pushed there (docs/protocol.md §5.5), while command outcomes can be polled
    /// without it (§5.6). Nothing was sent.
    #[error(
        "{operation}: needs the WebSocket, and no WebSocket URL is configured (its result is only pushed over the WebSocket)"
    )]
    WebSocketRequired {
        /// The operation that needs it (`request_data`).
        operation: &'static str,
    },
    /// The caller passed something unusable.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The client is misconfigured (a bad URL, a missing environment variable...).
    #[error("configuration: {0}")]
    Config(String),
    /// A token store could not load or save tokens.
    #[error("token store: {0}")]
    TokenStore(String),
    /// A payload could not be encrypted or is not authentic: tampered, encrypted with another
    /// key, or truncated.
    #[error("payload: {0}")]
    Cipher(#[from] crate::cipher::CipherError),
    /// Reading or writing local data failed.
    #[error("could not {what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A key is malformed (a vault key, or a signed public key).
    #[error("key: {0}")]
    Key(String),
    /// No credentials could be obtained (log-in failed, refresh token used up...).
    #[error("credentials: {0}")]
    Credentials(String),
}

fn describe(reason: &Option<String>, message: &Option<String>) -> String {
    match (reason, message) {
        (Some(r), Some(m)) => format!(" ({r}: {m})"),
        (Some(r), None) => format!(" ({r})"),
        (None, Some(m)) => format!(" ({m})"),
        (None, None) => String::new(),
    }
}

impl Error {
    pub(crate) fn io(what: &'static str, source: std::io::Error) -> Self {
        Error::Io { what, source }
    }

    /// The id of the HTTP request this error comes from: the `X-Request-Id` header the client
    /// sent with it (a fresh one on every attempt; the replay after a `401` keeps it). Give it
    /// to whoever reads the server's logs; a test server records it with the request.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api { request_id, .. }
            | Error::Unauthorized { request_id, .. }
            | Error::Decode { request_id, .. }
            | Error::Transport { request_id, .. }
            | Error::StoreUnconfirmed { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// This error, naming the request it came from (for the variants that can).
    pub(crate) fn with_request_id(mut self, id: &str) -> Self {
        match &mut self {
            Error::Api { request_id, .. }
            | Error::Unauthorized { request_id, .. }
            | Error::Decode { request_id, .. }
            | Error::Transport { request_id, .. }
            | Error::StoreUnconfirmed { request_id, .. } => *request_id = Some(id.to_owned()),
            _ => {}
        }
        self
    }

    /// The HTTP status, for errors that have one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            Error::Unauthorized { .. } => Some(401),
            Error::Transport { source, .. } => source.status().map(|s| s.as_u16()),
            _ => None,
        }
    }

    /// Whether retrying the same read later may succeed (transport failures, 429, 500, 502,
    /// 503, 504).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Transport { .. } => true,
            Error::Api { status, .. } => matches!(status, 429 | 500 | 502 | 503 | 504),
            _ => false,
        }
    }
}

/// What an error body of the raw client carries; `()` for operations that declare none.
/// What an error body of the raw client carries (implemented for
/// [`ApiError`](privicore_api::types::ApiError) and for `()`, the error type of operations that
/// declare none). It only appears in the bounds of the crate-internal calls the typed methods
/// are built on; the public escape hatch, [`Session::call`](crate::Session::call), names no
/// type of the raw client.
pub trait ErrorBody: sealed::Sealed {
    /// The machine-readable reason, when the body has one.
    fn reason(&self) -> Option<String>;
    /// The human-readable message, when the body has one.
    fn message(&self) -> Option<String>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for privicore_api::types::ApiError {}
    impl Sealed for () {}
}

impl ErrorBody for ApiError {
    fn reason(&self) -> Option<String> {
        self.reason.clone()
    }
    fn message(&self) -> Option<String> {
        self.message.clone()
    }
}

impl ErrorBody for () {
    fn reason(&self) -> Option<String> {
        None
    }
    fn message(&self) -> Option<String> {
        None
    }
}

/// Largest error body read to find a message in an undeclared error answer.
const MAX_ERROR_BODY: usize = 16 * 1024;

/// Longest server-provided text (reason, message) kept in an [`Error`]. A declared error
/// answer is decoded whole by the generated client, so a hostile server could otherwise put
/// megabytes into every error message, and from there into every log line.
const MAX_SERVER_TEXT: usize = 1024;

/// Longest decoder message kept in [`Error::Decode`] (serde's messages quote the unexpected
/// value, which a hostile answer can make arbitrarily long).
const MAX_DECODE_MESSAGE: usize = 256;

/// `text` cut to at most `max` bytes (on a character boundary), marked when cut.
fn bounded(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("… (cut)");
    }
    text
}

/// Converts a raw-client error into [`Error`], naming the operation.
pub(crate) async fn from_raw<E: ErrorBody>(
    operation: &'static str,
    error: progenitor_client::Error<E>,
) -> Error {
    use progenitor_client::Error as Raw;
    match error {
        Raw::ErrorResponse(response) => {
            let status = response.status().as_u16();
            let body = response.into_inner();
            status_error(operation, status, body.reason(), body.message())
        }
        Raw::UnexpectedResponse(response) => {
            let status = response.status().as_u16();
            let (reason, message) = read_error_body(response).await;
            if (200..300).contains(&status) {
                return Error::Decode {
                    operation,
                    message: format!("undeclared success status {status}"),
                    request_id: None,
                };
            }
            status_error(operation, status, reason, message)
        }
        Raw::InvalidResponsePayload(_, e) => Error::Decode {
            operation,
            message: bounded(e.to_string(), MAX_DECODE_MESSAGE),
            request_id: None,
        },
        Raw::CommunicationError(e) | Raw::ResponseBodyError(e) | Raw::InvalidUpgrade(e) => {
            Error::Transport {
                operation,
                source: e.without_url(),
                request_id: None,
            }
        }
        Raw::InvalidRequest(message) => Error::InvalidInput(format!("{operation}: {message}")),
        Raw::Custom(message) => Error::Credentials(format!("{operation}: {message}")),
    }
}

/// An HTTP error status as the right variant.
pub(crate) fn status_error(
    operation: &'static str,
    status: u16,
    reason: Option<String>,
    message: Option<String>,
) -> Error {
    let reason = reason.map(|r| bounded(r, MAX_SERVER_TEXT));
    let message = message.map(|m| bounded(m, MAX_SERVER_TEXT));
    if status == 401 {
        Error::Unauthorized {
            operation,
            message,
            request_id: None,
        }
    } else {
        Error::Api {
            operation,
            status,
            reason,
            message,
            request_id: None,
        }
    }
}

/// Reads `reason` and `message` from an error body that may be anything (bounded, never
/// echoing a body that is not the documented shape).
async fn read_error_body(response: reqwest::Response) -> (Option<String>, Option<String>) {
    use futures::StreamExt;
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        let room = MAX_ERROR_BODY.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_ERROR_BODY {
            break;
        }
    }
    match serde_json::from_slice::<ApiError>(&body) {
        Ok(error) => (error.reason, error.message),
        Err(_) => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_text_in_errors_is_bounded() {
        let huge = "é".repeat(1 << 20);
        let error = status_error("op", 422, Some(huge.clone()), Some(huge));
        let shown = error.to_string();
        assert!(shown.len() < 3 * MAX_SERVER_TEXT, "{} bytes", shown.len());
        assert!(shown.contains("(cut)"));
        assert_eq!(bounded("short".into(), 10), "short");
    }
}
