//! The Rust SDK for [Privicore](https://docs.privicore.com), a client-side tokenization vault.
//!
//! Your application encrypts sensitive data locally (AES-256-GCM, with a key only it holds),
//! hands the ciphertext to Privicore, gets back an opaque data token and stores only that.
//! This crate turns Privicore's protocol (short-lived tokens, Basic-auth OAuth calls, `202` +
//! WebSocket acknowledgements, `page`/`perPage` lists) into plain, typed, async Rust:
//!
//! * [`Client`] holds the configuration; [`Client::login`] and [`Client::oauth_session`] give
//!   a [`Session`], which renews its token ahead of expiry (once, however many tasks need it)
//!   and after a `401` (one renewal, one replay, never a loop);
//! * asynchronous commands are plain `.await`s (a command's `send()`): the session's one
//!   WebSocket is joined before a command is sent, acknowledgements are routed to the waiting
//!   future, and one lost to a dropped socket is recovered through request-status;
//! * every operation of the spec has a typed method: the group handlers generated from the
//!   spec ([`handlers`]: `session.devices()`, `session.directories().directory(id)`, …; one
//!   builder per operation, answers in [`types`]) and the hand-written flows (vault, OAuth,
//!   login, provisioning);
//! * lists are [`Paginator`]s: [`Stream`](futures::Stream)s of [`Page`]s or of items, in
//!   order, a few pages fetched at once once the total is known ([`DataTokens::list`]);
//! * one [`Error`] type; secrets are [`secrecy`] types, never in `Debug`, logs or errors;
//! * your own HTTP stack and TLS: [`ClientBuilder::http_client`] sends every HTTP call with
//!   your `reqwest::Client`; [`ClientBuilder::tls`] adds trusted roots, a client certificate
//!   and an HTTP proxy ([`TlsConfig`]) to the HTTP calls and the WebSocket alike;
//! * the cryptography: [`VaultKey`] and [`cipher`] (AES-256-GCM in the Privicore wire format,
//!   streaming for any size), [`keys`] (the profile's Curve25519 key pair and its signed
//!   public key).
//!
//! The raw generated client stays reachable through [`Session::raw`] and [`Client::raw`] for
//! anything not wrapped here.
//!
//! ```no_run
//! # async fn run() -> privicore::Result<()> {
//! use futures::TryStreamExt;
//! use privicore::Client;
//! use secrecy::SecretString;
//!
//! let client = Client::from_env()?;
//! let session = client.login("alice@example.com", SecretString::from("correct horse battery staple")).await?;
//! let tokens = session.data_tokens().list().per_page(100).collect().await?;
//! println!("{} data tokens", tokens.len());
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
// `unsafe` is denied everywhere but in `cipher::wide`, the intrinsics of the wide AES-GCM engine.
#![deny(unsafe_code)]

mod auth;
pub mod cipher;
mod client;
mod commands;
mod config;
mod data_tokens;
mod error;
#[rustfmt::skip]
#[path = "generated/mod.rs"]
pub mod handlers;
mod handler_support;
#[rustfmt::skip]
#[path = "generated/types.rs"]
pub mod types;
mod key_usage;
pub mod keys;
pub mod oauth;
mod output_file;
pub mod paging;
mod pipeline;
mod provision;
mod raw_call;
mod retry;
mod secret_buf;
mod session;
mod tls;
mod upload_target;
mod vault;
pub mod vault_key;
pub mod wire_report;

pub use auth::placement::OAuthTokenPlacement;
pub use auth::store;
pub use cipher::{CipherError, Decryptor, Encryptor};
pub use client::Client;
pub use commands::{CommandId, CommandState, DataReady};
pub use config::ClientBuilder;
pub use data_tokens::{DataTokens, ListDataTokens};
pub use error::{Error, ErrorBody, Result};
pub use keys::{KeyPair, SignedKeyError, SignedPublicKey};
pub use output_file::RetrieveOptions;
pub use paging::{Page, Paginator};
pub use raw_call::{RawAnswer, RawCall};
pub use retry::RetryPolicy;
pub use session::Session;
pub use store::{FileTokenStore, MemoryTokenStore, OAuthTokens, TokenStore};
pub use tls::TlsConfig;
pub use vault::{DEFAULT_INLINE_THRESHOLD, DataToken, StoreOptions, Vault};
pub use vault_key::{KeyError, VaultKey};
pub use wire_report::WireObservations;

/// The raw generated client and its types, for anything not wrapped here.
pub use privicore_api as api;
/// The reqwest this crate is built with: build the client for
/// [`ClientBuilder::http_client`] with it to be sure the versions match.
pub use reqwest;
pub use types::DataTokenItem;

/// The crate-private parsers of server data, for the fuzz targets (`fuzz/`) and the property
/// tests (`tests/properties.rs`). Only built with the non-default `fuzzing` feature; not part
/// of the supported API: unstable, may change in any release.
///
/// Why it exists: these parsers read whatever a server sends (command ids, WebSocket frames,
/// transfer URLs, request-status states, page envelopes), and must be fuzzed directly; they are
/// private because users never call them, so this thin module, behind its own feature, is the
/// only door in.
#[cfg(feature = "fuzzing")]
pub mod fuzzing {
    use futures::stream::BoxStream;

    use crate::api::types::CommandAccepted;
    use crate::{CommandId, Result};

    /// The command id of a `202` body, in whichever of its three shapes.
    pub fn command_id(accepted: CommandAccepted) -> Result<CommandId> {
        crate::commands::command_id("fuzz", accepted)
    }

    /// The request id carried in the `x-dpt-cab-request-id` header.
    pub fn request_id(headers: &reqwest::header::HeaderMap) -> Result<CommandId> {
        crate::commands::request_id("fuzz", headers)
    }

    /// One WebSocket text frame as the ack hub reads it.
    pub fn ws_frame(text: &str) -> impl std::fmt::Debug + use<> {
        crate::commands::ws::parse(text)
    }

    /// The `joinChannel` frame the client sends.
    pub fn join_frame(token: &str, correlation_id: &str) -> String {
        crate::commands::ws::join_frame(token, correlation_id)
    }

    /// A request-status state name as the client interprets it.
    pub fn request_status(state: &str) -> impl std::fmt::Debug + use<> {
        crate::commands::status::interpret(state)
    }

    /// Where a data request's answer points: checks it the way `Vault::retrieve` does
    /// (download URL split into base and single-use token, or inline base64 ciphertext).
    pub fn data_answer(output_type: i64, body: &str) -> Result<()> {
        let ready = crate::DataReady {
            output_type,
            body: body.to_owned(),
            data_context: None,
        };
        crate::vault::locate(&ready).map(drop)
    }

    /// The paging stream behind every list: `fetch(page)` answers a page's items and the
    /// announced total.
    pub fn paged<T, F, Fut>(per_page: u64, fetch: F) -> BoxStream<'static, Result<T>>
    where
        T: Send + 'static,
        F: Fn(u64) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(Vec<T>, Option<u64>)>> + Send + 'static,
    {
        crate::Paginator::from_fn(move |page, _| fetch(page))
            .per_page(per_page)
            .items()
    }
}

/// Fills `buf` from the operating system's random number generator.
///
/// Panics only if the operating system cannot provide random bytes: this does not depend on
/// any input, and no cryptographic operation can continue safely without them.
pub(crate) fn fill_random(buf: &mut [u8]) {
    if let Err(err) = getrandom::fill(buf) {
        panic!("the operating system's random number generator failed: {err}");
    }
}

/// `2 * bytes` random lowercase hex characters (nonces, correlation ids, file names).
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    fill_random(&mut buf);
    hex::encode(buf)
}

/// A uniformly random number in `[0, 1)`, for jitter.
pub(crate) fn random_unit() -> f64 {
    let mut buf = [0u8; 8];
    fill_random(&mut buf);
    (u64::from_le_bytes(buf) >> 11) as f64 / (1u64 << 53) as f64
}
