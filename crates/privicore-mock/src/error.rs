//! Errors: the `ApiError` body every rejection carries, and the public [`Error`] of start-up.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::injected::InjectedFault;

/// Why a [`MockServer`](crate::MockServer) could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A listener could not be bound (port in use, no permission, ...).
    #[error("cannot listen for the {listener} server on {address}: {source}")]
    Bind {
        /// Which of the four listeners: `api`, `ws`, `stream` or `download`.
        listener: &'static str,
        /// The address it tried.
        address: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The API port is so high that the three ports after it do not exist.
    #[error("port {0} leaves no room for the three listeners after it (max 65532)")]
    PortOutOfRange(u16),
}

/// A rejection, answered as `{status, reason, message}` with the HTTP status.
///
/// `reason` is a stable machine key `<area>.<reason>`; `message` names the problem (the field,
/// the header) but never repeats a value the client sent, so a secret cannot leak through it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ApiFailure {
    pub status: StatusCode,
    pub reason: String,
    pub message: String,
    /// The fault injector's, when it answered this on purpose: recorded on the request.
    pub injected: Option<InjectedFault>,
}

impl ApiFailure {
    pub fn new(status: StatusCode, reason: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.to_owned(),
            message: message.into(),
            injected: None,
        }
    }

    /// Marks this answer as an injected fault (see [`InjectedFault`]).
    pub fn injected(mut self, fault: InjectedFault) -> Self {
        self.injected = Some(fault);
        self
    }

    pub fn unauthorized(reason: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, reason, message)
    }

    pub fn forbidden(reason: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, reason, message)
    }

    pub fn not_found(reason: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, reason, message)
    }

    pub fn conflict(reason: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, reason, message)
    }

    pub fn unprocessable(reason: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, reason, message)
    }

    /// The JSON body, also used by the fault injector for its 5xx answers.
    pub fn body(&self) -> String {
        serde_json::json!({
            "status": self.status.as_u16(),
            "reason": self.reason,
            "message": self.message,
        })
        .to_string()
    }
}

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            self.body(),
        )
            .into_response();
        // Travels with the answer to the listener, which records it with the request.
        if let Some(fault) = self.injected {
            response.extensions_mut().insert(fault);
        }
        response
    }
}
