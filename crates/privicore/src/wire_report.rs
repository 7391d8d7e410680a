//! What a server was seen to speak at each open point of the protocol (docs/protocol.md §14),
//! recorded by the code that makes each choice and read back with [`Client::wire_report`].
//!
//! The SDK accepts every reading of an open point the sources allow. Which one a server
//! actually used is worth knowing (a support question, `privicore doctor`), so each choice is
//! recorded where it is made, in state every clone of a [`Client`] shares:
//!
//! | point | recorded by |
//! |---|---|
//! | request-status method | the request-status poller (the method it found routed) |
//! | upload target form | the upload-target parser |
//! | accepted status, command id encoding | `privicore_api`'s command-accepted normaliser |
//! | list shape | `privicore_api`'s list normaliser |
//! | data delivery, status messages | the data-request reader and the WebSocket dispatcher |
//! | reauthorize answer | the profile token's renewer, as it reads reauthorize's answer |
//!
//! Recording is a relaxed atomic store: the last answer of each kind wins. A point the client
//! has not met yet reads `None` (or `false`).
//!
//! [`Client`]: crate::Client
//! [`Client::wire_report`]: crate::Client::wire_report

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use privicore_api::observed::WireLog;
pub use privicore_api::observed::{CommandIdEncoding, ListShape};

/// The HTTP method request-status was found routed with (docs/protocol.md §14.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestStatusMethod {
    /// `POST` with `{}`.
    Post,
    /// `GET` without a body.
    Get,
}

/// How retrieve-temporary-data-token named the upload target (docs/protocol.md §14.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UploadTargetForm {
    /// A `stream` URI (absolute or relative; its token in the `auth` query or field).
    StreamUri,
    /// `stream_server_id` + `stream_server_port` + `auth`.
    StreamServer,
    /// A `streamUrl` URI, the alias no source names.
    StreamUrlAlias,
}

/// How a data request's ciphertext arrived (docs/protocol.md §14.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DataDelivery {
    /// Inline base64 in the WebSocket message (`output_type` 0).
    Inline,
    /// A download link (`output_type` 1, or a transfer URL).
    Link,
}

/// How reauthorize-authorization-token answered (docs/protocol.md §14.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReauthorizeAnswer {
    /// `200` with a new token and its expiry.
    NewToken,
    /// `202` and a command id: the same token lives on, its new expiry taking effect when the
    /// command settles.
    Command,
}

/// A snapshot of what a [`Client`](crate::Client) has observed so far, one field per open
/// point; `None` where the client has not met the point yet.
///
/// ```no_run
/// # async fn run(client: privicore::Client) {
/// let report = client.wire_report();
/// if let Some(method) = report.request_status_method {
///     println!("request-status is routed with {method:?}");
/// }
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WireObservations {
    /// The request-status method the server routed.
    pub request_status_method: Option<RequestStatusMethod>,
    /// The form of the last upload target.
    pub upload_target: Option<UploadTargetForm>,
    /// The status (`200` or `202`) the last command was accepted with.
    pub accepted_status: Option<u16>,
    /// How the last accepted command's id came.
    pub command_id_encoding: Option<CommandIdEncoding>,
    /// The shape of the last list answer.
    pub list_shape: Option<ListShape>,
    /// How the last data request's ciphertext arrived.
    pub data_delivery: Option<DataDelivery>,
    /// Whether `output_type` 0 status messages came before a data request's result.
    pub data_status_messages_seen: bool,
    /// How the last reauthorize of a profile token was answered (recorded as the answer is
    /// read, before a `202`'s command settles, so a command that then fails still shows here).
    pub reauthorize: Option<ReauthorizeAnswer>,
}

/// The recording side, shared by a client's clones.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    /// What `privicore_api`'s normalisers record.
    pub(crate) api: Arc<WireLog>,
    /// 0 none yet, else an [`UploadTargetForm`] code.
    upload_target: AtomicU8,
    /// 0 none yet, 1 inline, 2 link.
    data_delivery: AtomicU8,
    data_status_messages: AtomicBool,
    /// 0 none yet, 1 a new token, 2 a command.
    reauthorize: AtomicU8,
}

impl Recorder {
    pub(crate) fn upload_target(&self, form: UploadTargetForm) {
        let code = match form {
            UploadTargetForm::StreamUri => 1,
            UploadTargetForm::StreamServer => 2,
            UploadTargetForm::StreamUrlAlias => 3,
        };
        self.upload_target.store(code, Ordering::Relaxed);
    }

    pub(crate) fn data_delivery(&self, delivery: DataDelivery) {
        let code = match delivery {
            DataDelivery::Inline => 1,
            DataDelivery::Link => 2,
        };
        self.data_delivery.store(code, Ordering::Relaxed);
    }

    pub(crate) fn data_status_message(&self) {
        self.data_status_messages.store(true, Ordering::Relaxed);
    }

    pub(crate) fn reauthorize(&self, answer: ReauthorizeAnswer) {
        let code = match answer {
            ReauthorizeAnswer::NewToken => 1,
            ReauthorizeAnswer::Command => 2,
        };
        self.reauthorize.store(code, Ordering::Relaxed);
    }

    /// The snapshot, with the request-status method the client keeps itself.
    pub(crate) fn snapshot(&self, status: Option<RequestStatusMethod>) -> WireObservations {
        WireObservations {
            request_status_method: status,
            upload_target: match self.upload_target.load(Ordering::Relaxed) {
                1 => Some(UploadTargetForm::StreamUri),
                2 => Some(UploadTargetForm::StreamServer),
                3 => Some(UploadTargetForm::StreamUrlAlias),
                _ => None,
            },
            accepted_status: self.api.accepted_status(),
            command_id_encoding: self.api.command_id_encoding(),
            list_shape: self.api.list_shape(),
            data_delivery: match self.data_delivery.load(Ordering::Relaxed) {
                1 => Some(DataDelivery::Inline),
                2 => Some(DataDelivery::Link),
                _ => None,
            },
            data_status_messages_seen: self.data_status_messages.load(Ordering::Relaxed),
            reauthorize: match self.reauthorize.load(Ordering::Relaxed) {
                1 => Some(ReauthorizeAnswer::NewToken),
                2 => Some(ReauthorizeAnswer::Command),
                _ => None,
            },
        }
    }
}
