//! Asynchronous commands: `202` + an id, then an acknowledgement over the WebSocket.
//!
//! [`id`] normalises the ways an id arrives; [`hub`] owns the session's one WebSocket and
//! routes acknowledgements to the futures waiting for them; [`status`] is the polling
//! fallback.

pub(crate) mod hub;
mod id;
pub(crate) mod status;
pub(crate) mod ws;

pub use hub::DataReady;
pub use id::CommandId;
pub(crate) use id::{command_id, request_id};
pub use status::CommandState;
