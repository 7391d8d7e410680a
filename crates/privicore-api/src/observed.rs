//! What the answers normalised in this crate looked like on the wire, before they were
//! rewritten to the form the spec declares (docs/protocol.md §14.4, §14.6).
//!
//! The normalisers (the command-accepted one, and `lists` for list envelopes) make each
//! choice; when the client's [`Inner`](crate::hooks::Inner) carries a [`WireLog`], they record
//! the form they saw in it. A tool such as `privicore doctor` reads it
//! back to tell which reading of an open point a server speaks. Recording is a few relaxed
//! atomic stores: the last answer of each kind wins.

use std::sync::atomic::{AtomicU8, AtomicU16, Ordering};

/// How a command id came in an accepted answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CommandIdEncoding {
    /// JSON, as the spec declares it (a string, a one-element array or `{commandId}`).
    Json,
    /// A bare, unquoted id in a body not declared JSON (`text/plain`).
    PlainText,
}

/// The body of a list answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ListShape {
    /// `{items, meta}`, as the spec declares it.
    Envelope,
    /// A bare JSON array of the page's items.
    BareArray,
}

/// The wire forms seen so far by the clients that share this log.
///
/// ```
/// use privicore_api::observed::{CommandIdEncoding, WireLog};
///
/// let log = WireLog::default();
/// assert_eq!(log.accepted_status(), None);
/// log.record_accepted(200, CommandIdEncoding::PlainText);
/// assert_eq!(log.accepted_status(), Some(200));
/// assert_eq!(log.command_id_encoding(), Some(CommandIdEncoding::PlainText));
/// ```
#[derive(Debug, Default)]
pub struct WireLog {
    /// The status of the last command-accepted answer; 0 before the first.
    accepted_status: AtomicU16,
    /// 0 none yet, 1 JSON, 2 plain text.
    command_id_encoding: AtomicU8,
    /// 0 none yet, 1 envelope, 2 bare array.
    list_shape: AtomicU8,
}

impl WireLog {
    /// Records a command-accepted answer: its status (`200` or `202`) and how its id came.
    pub fn record_accepted(&self, status: u16, encoding: CommandIdEncoding) {
        self.accepted_status.store(status, Ordering::Relaxed);
        let code = match encoding {
            CommandIdEncoding::Json => 1,
            CommandIdEncoding::PlainText => 2,
        };
        self.command_id_encoding.store(code, Ordering::Relaxed);
    }

    /// Records the shape of a list answer.
    pub fn record_list(&self, shape: ListShape) {
        let code = match shape {
            ListShape::Envelope => 1,
            ListShape::BareArray => 2,
        };
        self.list_shape.store(code, Ordering::Relaxed);
    }

    /// The status the last command was accepted with, if one was seen.
    pub fn accepted_status(&self) -> Option<u16> {
        match self.accepted_status.load(Ordering::Relaxed) {
            0 => None,
            status => Some(status),
        }
    }

    /// How the last accepted command's id came, if one was seen.
    pub fn command_id_encoding(&self) -> Option<CommandIdEncoding> {
        match self.command_id_encoding.load(Ordering::Relaxed) {
            1 => Some(CommandIdEncoding::Json),
            2 => Some(CommandIdEncoding::PlainText),
            _ => None,
        }
    }

    /// The shape of the last list answer, if one was seen.
    pub fn list_shape(&self) -> Option<ListShape> {
        match self.list_shape.load(Ordering::Relaxed) {
            1 => Some(ListShape::Envelope),
            2 => Some(ListShape::BareArray),
            _ => None,
        }
    }
}
