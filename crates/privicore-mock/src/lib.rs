//! An embedded, stateful, protocol-faithful Privicore server for tests.
//!
//! Nobody can reach a real Privicore from CI, so this crate plays one: the API, the WebSocket,
//! the stream (upload) server and the download server, each on its own `127.0.0.1` port as in
//! the real deployment, over one in-memory state. It follows `spec/privicore.yaml` (every
//! operation is served) and docs/protocol.md (async commands answer `202` and are acknowledged on
//! the WebSocket; data tokens are reserved, filled, made permanent and read back; OAuth
//! applications get codes and rotating refresh tokens). It is strict where a real server may
//! be lenient: a body field an operation does not take, or one sent twice, is refused rather
//! than ignored, so a client's mistakes show up in its tests. Where the wire has more than one
//! attested form, a setting picks one ([`MockServerBuilder::reply_shape`], and a
//! [`MockConfig`] for the open points of docs/protocol.md §14); a [`Variant`] names a whole
//! wire, [`Variant::Probe`] (the default) being the aligned probe's.
//!
//! * [`MockServer::start`] / [`MockServer::builder`] start a server; dropping it stops it.
//! * [`MockServer::recorded`] and [`MockServer::count`] show what clients sent, secrets masked.
//! * [`MockServer::faults`] injects latency, 5xx answers, rejected commands, early token
//!   expiry, broken bodies and dropped WebSockets, reproducibly from a seed.
//! * [`MockServer::stats`] counts what the server holds, so tests can see state is freed.
//! * [`Faults::counts`] counts the faults injected, by kind; [`FaultConfig::hostile_rate`]
//!   turns the server hostile (garbage answers and WebSocket frames, stalls, oversized bodies).
//! * [`MockServer::stored_data`], [`MockServer::command_outcome`] and
//!   [`MockServer::forbid_plaintext`] let a soak check that nothing was lost, stored twice or
//!   stored unencrypted.
//!
//! The binary `privicore-mock --port P [--variant NAME]` serves the same on `P..P+3` until
//! Ctrl-C.
//!
//! # Rejections
//!
//! Every rejection answers `{status, reason, message}` (`reason` is `<area>.<reason>`; the
//! message names the field or header, never a value sent):
//!
//! | problem | status | reason |
//! |---|---|---|
//! | wrong content type | 422 | `validation.unsupported_content_type` |
//! | missing / empty field | 422 | `validation.missing_field` / `validation.empty_field` |
//! | malformed field (number, enum, base64, …) | 422 | `validation.malformed_field` |
//! | body not valid form / JSON | 422 | `validation.malformed_body` |
//! | body field the operation does not take / a field sent twice | 422 | `validation.unknown_field` / `validation.duplicate_field` |
//! | unknown `filters[...]` key | 422 | `validation.unknown_filter` |
//! | missing `X-DPT-AUTHORIZATION` (or `Authorization: Bearer`, where an OAuth token may go) | 401 | `auth.missing_token` |
//! | unknown / expired / revoked token | 401 | `auth.invalid_token` / `auth.token_expired` / `auth.token_revoked` |
//! | wrong username or password | 401 | `auth.invalid_credentials` |
//! | wrong or malformed Basic credentials | 401 | `auth.invalid_client` / `auth.malformed_authorization` / `auth.missing_credentials` |
//! | OAuth token outside its scope / on a non-data-token operation | 403 | `auth.insufficient_scope` / `auth.oauth_token_not_allowed` |
//! | profile without a public key | 403 | `profile.inactive` |
//! | unknown id on a synchronous operation | 404 | e.g. `command.not_found`, `data_token.reservation_not_found` |
//! | username or name taken | 409 | `profile.username_taken`, `policy.name_taken`, … |
//! | signed public key malformed | 422 | `public_key.malformed` / `.unsupported_version` / `.checksum_mismatch` |
//! | reserve `ttl` over 1440 minutes | 422 | `data_token.ttl_too_large` |
//! | a second fill of a reservation (exchange or stream upload) | 422 | `data_token.already_filled` |
//! | configure-file-meta `size` not the stored length less IV and tag | 422 | `data_token.size_mismatch` |
//! | client secret fetched twice | 422 | `oauth.already_retrieved` |
//! | nonce reused | 422 | `oauth.nonce_reused` |
//! | refresh token used twice | 401 | `oauth.refresh_token_used` |
//! | stream / download token unknown or used | 401 | `stream.invalid_token` / `download.invalid_token` |
//!
//! Asynchronous commands validate their input synchronously and check the records they name
//! when they run: an unknown device, policy, token, … fails the command (`command_status` 3,
//! the reason key in `body`, request-status `"failed"`).

#![deny(missing_docs)]

mod accepted;
mod api;
mod auth;
mod commands;
mod config;
mod dispatch;
mod error;
mod faults;
mod hostile;
mod input;
mod janitor;
mod keys;
pub mod leak_check;
mod plaintext;
mod record;
mod reply;
mod rng;
mod routes;
mod server;
mod shared;
mod state;
mod transfer;
mod variant;
mod ws;

pub use config::{
    CommandAnswer, DataAnswer, ListAnswer, MockConfig, OAuthPlacement, ReauthorizeAnswer,
    RefreshAnswer, ReplyShape, RequestStatusMethod, UploadAnswer,
};
pub use error::Error;
pub use faults::{FaultConfig, FaultCounts, Faults, HostileKind, InjectedFault};
pub use plaintext::PlaintextHit;
pub use record::{Listener, MASK, REQUEST_ID_HEADER, RecordedBody, RecordedRequest};
pub use server::{CommandOutcome, MockServer, MockServerBuilder};
pub use state::Stats;
pub use state::data::StoredData;
pub use variant::{STATUS_MESSAGES, UnknownVariant, Variant};

/// The operation ids the mock serves (the spec's, sorted), for tests that check coverage.
pub fn operation_ids() -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = routes::ROUTES.iter().map(|r| r.op).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}
