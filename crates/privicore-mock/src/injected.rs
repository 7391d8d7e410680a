//! The names of what the fault injector does: a [`HostileKind`] of hostile answer, an
//! [`InjectedFault`] recorded on a request. Kept apart from the injector so that the error
//! type, which carries an [`InjectedFault`], does not depend on the injector.

/// What a hostile server answers instead of the real thing (see
/// [`FaultConfig::hostile_rate`](crate::FaultConfig::hostile_rate)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HostileKind {
    /// `200` with a body that is not JSON.
    Malformed,
    /// `200` with a JSON body cut in the middle.
    Truncated,
    /// `200` with a JSON body of [`FaultConfig::hostile_body_len`](crate::FaultConfig::hostile_body_len) bytes.
    Oversized,
    /// `200` with valid JSON of the wrong shape and types.
    WrongTyped,
    /// `200` with an empty body.
    Empty,
    /// A status the operation never answers with (`201`, `204`, `400`, `418`, `599`...),
    /// with a garbage body.
    WrongStatus,
    /// An error status with an oversized body.
    OversizedError,
    /// `302` to the same URL (a redirect loop).
    RedirectLoop,
    /// No answer at all: the request is held open until the client times out.
    Stall,
}

impl HostileKind {
    /// Every kind, in the order a hostile server rotates through them.
    pub const ALL: [HostileKind; 9] = [
        HostileKind::Malformed,
        HostileKind::Truncated,
        HostileKind::Oversized,
        HostileKind::WrongTyped,
        HostileKind::Empty,
        HostileKind::WrongStatus,
        HostileKind::OversizedError,
        HostileKind::RedirectLoop,
        HostileKind::Stall,
    ];
}

/// A fault injected into one HTTP request's answer, as recorded on that request
/// ([`RecordedRequest::fault`](crate::RecordedRequest::fault)), so that a test can tie each
/// failure a client reports to the one request that explains it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InjectedFault {
    /// Answered `503` instead of being handled: nothing changed.
    Unavailable,
    /// Answered `500` instead of being handled: nothing changed.
    InternalError,
    /// The token was expired on the spot and the request answered `401 auth.token_expired`:
    /// nothing else changed.
    EarlyExpiry,
    /// Answered `401 auth.token_expired` because its token had been expired early on purpose
    /// ([`InjectedFault::EarlyExpiry`] on an earlier request that carried the same token).
    ExpiredToken,
    /// Handled (and its changes kept), then the JSON answer was cut in half.
    Truncated {
        /// The command the request created and that runs regardless, when it was one.
        command_id: Option<String>,
    },
    /// Handled (and its changes kept), then the JSON answer was replaced by something that
    /// is not JSON.
    Malformed {
        /// The command the request created and that runs regardless, when it was one.
        command_id: Option<String>,
    },
    /// Replaced by a hostile answer ([`FaultConfig::hostile_rate`](crate::FaultConfig::hostile_rate)): nothing changed.
    Hostile(HostileKind),
}
